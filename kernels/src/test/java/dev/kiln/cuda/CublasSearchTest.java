package dev.kiln.cuda;

import dev.kiln.data.KilnException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Where cuBLAS is looked for, what the error says when it is nowhere, and that libcublasLt is loaded first. */
class CublasSearchTest {

    @Test
    void nothingFoundNamesEveryPlaceLooked(@TempDir Path tmp) {
        Path a = tmp.resolve("a"), b = tmp.resolve("b");
        CublasSearch search = new CublasSearch(null, List.of(13, 12), false, List.of(a, b));
        KilnException e = assertThrows(KilnException.class, search::find);
        assertTrue(e.getMessage().startsWith("cuBLAS not found: looked in "), e.getMessage());
        assertTrue(e.getMessage().contains(a.toString()) && e.getMessage().contains(b.toString()), e.getMessage());
        assertTrue(e.hint().contains("KILN_CUBLAS"), e.hint());
    }

    @Test
    void theDynamicLoaderIsAskedByEverySoname() {
        // a major no system has, so the loader cannot find it
        CublasSearch search = new CublasSearch(null, List.of(99), true, List.of());
        KilnException e = assertThrows(KilnException.class, search::find);
        assertTrue(e.getMessage().contains("the dynamic loader (libcublas.so.99)"), e.getMessage());
    }

    @Test
    void aMissingKilnCublasIsAnErrorNamingIt(@TempDir Path tmp) {
        Path missing = tmp.resolve("nope/libcublas.so.13");
        CublasSearch search = new CublasSearch(missing.toString(), List.of(13, 12), true, List.of(tmp));
        KilnException e = assertThrows(KilnException.class, search::find);
        assertTrue(e.getMessage().startsWith("KILN_CUBLAS=" + missing), e.getMessage());
        assertTrue(e.getMessage().contains("no such file"), e.getMessage());
    }

    @Test
    void theDriverVersionBoundsTheMajor() {
        assertEquals(List.of(13, 12), CublasSearch.majorsFor(13000));
        assertEquals(List.of(12), CublasSearch.majorsFor(12080));
    }

    @Test
    void pythonFoldersAreSearched() {
        CublasSearch env = CublasSearch.fromEnvironment(13000);
        // fromEnvironment lists /usr/local/cuda/lib64 first; its python folders depend on the machine
        KilnException e = null;
        try {
            env.find();
        } catch (KilnException ex) {
            e = ex;
        }
        if (e != null) {
            assertTrue(e.getMessage().contains("/usr/local/cuda/lib64"), e.getMessage());
        }
    }

    @Test
    void theCuda13WheelLayoutInAVirtualEnvironmentIsFound(@TempDir Path tmp) throws Exception {
        // pip's CUDA 13 wheels (PyTorch cu130): <venv>/lib/python3.12/site-packages/nvidia/cu13/lib/libcublas.so.13
        Path venv = tmp.resolve("venv");
        Path wheelLib = venv.resolve("lib/python3.12/site-packages/nvidia/cu13/lib");
        java.nio.file.Files.createDirectories(wheelLib);
        Path built = FakeLibraries.cublas(tmp.resolve("build"), 31, false);
        java.nio.file.Files.copy(built, wheelLib.resolve("libcublas.so.31"));
        java.nio.file.Files.copy(built.resolveSibling("libcublasLt.so.31"), wheelLib.resolve("libcublasLt.so.31"));
        List<Path> sitePackages = CublasSearch.sitePackages(java.util.Map.of("VIRTUAL_ENV", venv.toString()), null, List.of());
        assertEquals(venv.resolve("lib/python3.12/site-packages"), sitePackages.getFirst());
        CublasSearch search = new CublasSearch(null, List.of(31), false, CublasSearch.wheelFolders(sitePackages));
        assertEquals(wheelLib.resolve("libcublas.so.31").toString(), search.find().location());
    }

    @Test
    void whatPython3ReportsIsSearchedToo(@TempDir Path tmp) {
        Path reported = tmp.resolve("site-packages");
        List<Path> sitePackages = CublasSearch.sitePackages(java.util.Map.of(), null, List.of(reported));
        assertTrue(sitePackages.contains(reported), sitePackages.toString());
        // this machine's python3, when it has one, answers with absolute folders
        CublasSearch.pythonSitePackages().forEach(p -> assertTrue(p.isAbsolute(), p.toString()));
    }

    @Test
    void aFolderWithCublasAndLtLoadsWithLtFirst(@TempDir Path tmp) throws Exception {
        Path lib = FakeLibraries.cublas(tmp.resolve("ok"), 13, false);
        CublasSearch search = new CublasSearch(null, List.of(13, 12), false, List.of(tmp.resolve("empty"), lib.getParent()));
        CublasSearch.Found found = search.find();
        assertEquals(lib.toAbsolutePath().toString(), found.location());
        Cublas cublas = new Cublas(found);
        assertEquals("13.1.0", cublas.version());
        CudaException e = assertThrows(CudaException.class, cublas::create);
        assertEquals("cublasCreate_v2", e.call());
        assertEquals(1, e.code());
        assertEquals("cublasCreate_v2 failed: CUBLAS_STATUS_NOT_INITIALIZED (1)", e.getMessage());
    }

    @Test
    void withoutLtBesideItTheLoadFailureIsNamed(@TempDir Path tmp) throws Exception {
        Path lib = FakeLibraries.cublas(tmp.resolve("nolt"), 12, true);
        CublasSearch search = new CublasSearch(lib.toString(), List.of(12), false, List.of());
        KilnException e = assertThrows(KilnException.class, search::find);
        assertTrue(e.getMessage().contains(lib + " (did not load"), e.getMessage());
    }
}
