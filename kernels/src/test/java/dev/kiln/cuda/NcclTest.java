package dev.kiln.cuda;

import dev.kiln.data.KilnException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The NCCL binding against a stand-in compiled from NCCL's prototypes (nccl_prototypes.h, with -Werror): every
 * function called through {@link Nccl} with the arguments a correct caller passes (the 128-byte unique id by
 * value among them), the stand-in checking each; and the search's "NCCL not found".
 */
class NcclTest {

    @Test
    void theBindingCallsEveryFunctionAsNcclsHeaderDeclaresIt(@TempDir Path dir) throws Exception {
        Nccl nccl = new Nccl(new NcclSearch(standIn(dir).toString(), false, List.of()).find());
        assertEquals(22703, nccl.version());
        assertEquals("2.27.3", Nccl.versionString(nccl.version()));
        byte[] id = nccl.uniqueId();
        assertEquals(Nccl.UNIQUE_ID_BYTES, id.length);
        MemorySegment comm = nccl.commInitRank(1, id, 0); // the stand-in checks the id it got by value
        try (Arena a = Arena.ofConfined()) {
            MemorySegment send = a.allocateFrom(JAVA_FLOAT, 1f, -2f, 3.5f), recv = a.allocate(JAVA_FLOAT, 3);
            nccl.allReduceFloats(send.address(), recv.address(), 3, Nccl.NCCL_SUM, comm, MemorySegment.NULL);
            assertArrayEquals(new float[] {1f, -2f, 3.5f}, recv.toArray(JAVA_FLOAT));
            int op = nccl.preMulSum(0.25f, comm);
            nccl.allReduceFloats(send.address(), send.address(), 3, op, comm, MemorySegment.NULL);
            assertArrayEquals(new float[] {0.25f, -0.5f, 0.875f}, send.toArray(JAVA_FLOAT));
            nccl.redOpDestroy(op, comm);
        }
        byte[] wrong = id.clone();
        wrong[127] ^= 1;
        KilnException e = assertThrows(KilnException.class, () -> nccl.commInitRank(1, wrong, 0));
        assertEquals("ncclCommInitRank failed: invalid usage (run with NCCL_DEBUG=WARN for details) (ncclResult_t 5); "
                + "hint: rerun with NCCL_DEBUG=WARN for NCCL's own account", e.oneLine());
        nccl.commDestroy(comm);
    }

    @Test
    void ncclNotFoundIsOneLineNamingThePlacesLooked(@TempDir Path dir) {
        KilnException e = assertThrows(KilnException.class,
                () -> new NcclSearch(null, false, List.of(dir.resolve("site-packages/nvidia/nccl/lib"))).find());
        assertEquals("NCCL not found: looked in " + dir.resolve("site-packages/nvidia/nccl/lib") + "; hint: install it "
                + "(pip install nvidia-nccl-cu12, or NVIDIA's libnccl2 package), or set KILN_NCCL to libnccl.so.2", e.oneLine());
    }

    @Test
    void theSearchLooksWherePipsNvidiaWheelsGo(@TempDir Path dir) throws Exception {
        Path lib = dir.resolve("python3.12/site-packages/nvidia/nccl/lib");
        Files.createDirectories(lib);
        Files.copy(standIn(dir.resolve("build")), lib.resolve(NcclSearch.SONAME));
        NcclSearch.Found found = new NcclSearch(null, false, List.of(dir.resolve("elsewhere"), lib)).find();
        assertEquals(lib.resolve(NcclSearch.SONAME).toAbsolutePath().toString(), found.location());
    }

    /** Compiles nccl_fake.c against nccl_prototypes.h into libnccl.so.2. */
    static Path standIn(Path dir) throws Exception {
        Path cc = PtxTest.onPath("cc");
        assumeTrue(cc != null, "no C compiler (cc) on PATH to build the NCCL stand-in");
        Files.createDirectories(dir);
        for (String name : List.of("nccl_prototypes.h", "nccl_fake.c")) {
            try (InputStream in = NcclTest.class.getResourceAsStream("/nccl/" + name)) {
                Files.copy(in, dir.resolve(name));
            }
        }
        Path out = dir.resolve(NcclSearch.SONAME);
        Process p = new ProcessBuilder(cc.toString(), "-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                "-o", out.toString(), dir.resolve("nccl_fake.c").toString()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "building the NCCL stand-in: " + log);
        return out;
    }
}
