package dev.kiln.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A PTX the driver cannot JIT names the module, the status and the JIT's own log (fake driver: no GPU needed). */
class ModuleLoadTest {

    @Test
    void aJitFailureCarriesTheJitErrorLog(@TempDir Path tmp) throws Exception {
        Path lib = FakeLibraries.driver(tmp.resolve("jit"), false);
        CudaDriver driver = new CudaDriver(SymbolLookup.libraryLookup(lib, Arena.global()));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment image = a.allocateFrom(".version 8.0\n");
            CudaException e = assertThrows(CudaException.class, () -> driver.moduleLoadData("activation.ptx", image));
            assertEquals("cuModuleLoadDataEx(activation.ptx)", e.call());
            assertEquals(218, e.code());
            assertTrue(e.getMessage().contains("JIT log: ptxas fatal : fake JIT failure | in line 7"), e.getMessage());
            assertTrue(e.oneLine().contains("could not compile Kiln's kernels"), e.oneLine());
        }
    }
}
