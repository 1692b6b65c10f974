package dev.kiln.cuda;

import dev.kiln.data.KilnException;
import dev.kiln.engine.device.DType;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * NCCL with one rank on the CPU stand-ins of the CUDA driver and NCCL (kernels/src/test/standin: nccl_standin.cpp
 * enqueues its allreduce on the driver stand-in's streams): an in-place allreduce with PreMulSum on the device's
 * stream, run eagerly and then captured in a CUDA graph and replayed, as a GPU rank's step issues it. Run by the
 * Surefire execution "standin" with KILN_NCCL pointing at the stand-in; skipped elsewhere.
 */
@Tag("standin")
class NcclStandinTest {

    @Test
    void anAllreduceOnTheDevicesStreamRunsInsideTheCapturedStep() throws Throwable {
        String nccl = System.getenv("KILN_NCCL"), driver = System.getenv("KILN_CUDA_DRIVER");
        assumeTrue(nccl != null && driver != null, "KILN_NCCL and KILN_CUDA_DRIVER do not name the stand-ins");
        CudaRuntime.Probe p = CudaRuntime.get();
        assertTrue(p.usable(), () -> "the CUDA stand-in is not usable: " + p.reason());
        Nccl lib = Nccl.load();
        assertEquals("2.27.3", Nccl.versionString(lib.version()));
        try (CudaDevice gpu = (CudaDevice) new CudaDeviceProvider().open(new DeviceOptions(0, false, false, 0))) {
            gpu.makeCurrent();
            MemorySegment comm = lib.commInitRank(1, lib.uniqueId(), 0);
            Tensor grads = gpu.allocate(DType.F32, 1, 5);
            gpu.upload(new float[] {8f, -16f, 1f, 0.5f, 1024f}, grads);
            int half = lib.preMulSum(0.5f, comm);
            long address = gpu.f32Address(grads);
            Runnable step = gpu.replayable(() -> lib.allReduceFloats(address, address, 5, half, comm, gpu.stream()));
            long graphs = counter(driver, "graph launches"), reduces = counter(driver, "nccl allreduces");
            for (int i = 0; i < 3; i++) {
                step.run();
            }
            float[] out = new float[5];
            gpu.download(grads, out);
            assertArrayEquals(new float[] {1f, -2f, 0.125f, 0.0625f, 128f}, out); // halved three times
            assertEquals(3, counter(driver, "nccl allreduces") - reduces);
            assertTrue(counter(driver, "graph launches") > graphs, "the allreduce ran inside a replayed CUDA graph");
            KilnException e = assertThrows(KilnException.class, () -> {
                try (Arena a = Arena.ofConfined()) {
                    long host = a.allocate(20).address(); // not device memory: a GPU would fault
                    lib.allReduceFloats(host, host, 5, Nccl.NCCL_SUM, comm, gpu.stream());
                }
            });
            assertTrue(e.getMessage().startsWith("ncclAllReduce failed: invalid argument"), e.getMessage());
            lib.redOpDestroy(half, comm);
            lib.commDestroy(comm);
        }
    }

    private static long counter(String driver, String name) throws Throwable {
        SymbolLookup lib = SymbolLookup.libraryLookup(Path.of(driver), Arena.global());
        var counter = Linker.nativeLinker().downcallHandle(lib.find("kiln_standin_counter").orElseThrow(),
                FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        try (Arena a = Arena.ofConfined()) {
            return (long) counter.invokeExact(a.allocateFrom(name));
        }
    }
}
