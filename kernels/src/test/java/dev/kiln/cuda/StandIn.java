package dev.kiln.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU stand-in of the CUDA driver and cuBLAS as tests see it (kernels/src/test/standin/cuda_standin.cpp): the
 * Surefire execution "standin" points KILN_CUDA_DRIVER and KILN_CUBLAS at it. Not a GPU; what passes against it
 * proves the Java side of the CUDA backend and the kernels' source, not GPU speed or GPU numerics.
 */
final class StandIn {
    private StandIn() {
    }

    /** The runtime on the stand-in; fails (never skips) when it did not load. */
    static CudaRuntime require() {
        CudaRuntime.Probe p = CudaRuntime.get();
        assertTrue(p.usable(), () -> "the CUDA stand-in is not usable (KILN_CUDA_DRIVER="
                + System.getenv("KILN_CUDA_DRIVER") + "): " + p.reason());
        assertTrue(p.runtime().gpus.getFirst().name().contains("stand-in"), "KILN_CUDA_DRIVER is not the stand-in");
        return p.runtime();
    }

    private static MethodHandle counter;

    /** How often the stand-in did something since it loaded: "captures", "graph launches", "launches", "gemms"... */
    static synchronized long counter(String name) {
        try {
            if (counter == null) {
                SymbolLookup lib = SymbolLookup.libraryLookup(Path.of(System.getenv("KILN_CUDA_DRIVER")), Arena.global());
                counter = Linker.nativeLinker().downcallHandle(lib.find("kiln_standin_counter").orElseThrow(),
                        FunctionDescriptor.of(JAVA_LONG, ADDRESS));
            }
            try (Arena a = Arena.ofConfined()) {
                return (long) counter.invokeExact(a.allocateFrom(name));
            }
        } catch (Throwable t) {
            throw new AssertionError("cannot read the stand-in's counter " + name, t);
        }
    }
}
