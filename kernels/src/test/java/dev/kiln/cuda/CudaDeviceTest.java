package dev.kiln.cuda;

import dev.kiln.data.Shuffle;
import dev.kiln.engine.device.DType;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.DeviceCheck;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.ReferenceDevice;
import dev.kiln.engine.device.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CUDA device, run in CI against the CPU stand-in of the driver and cuBLAS (kernels/src/test/standin; not a
 * GPU): every operation against the reference (DeviceCheck), with and without a sync after each launch; a captured
 * and replayed step against the same ops run eagerly on the reference; and the guard rails (capture forbids host
 * work, errors name the call). Run by the Surefire execution "standin", which points KILN_CUDA_DRIVER and
 * KILN_CUBLAS at the stand-in; the stand-in failing to load fails these tests (they are never skipped).
 */
@Tag("standin")
class CudaDeviceTest {

    @BeforeEach
    void requireStandIn() {
        StandIn.require();
    }

    private static CudaDevice open(boolean cudaSync) {
        return (CudaDevice) new CudaDeviceProvider().open(new DeviceOptions(0, false, cudaSync, 0));
    }

    @Test
    void everyOperationMatchesTheReference() {
        for (boolean sync : new boolean[]{false, true}) {
            try (CudaDevice gpu = open(sync)) {
                List<DeviceCheck.Result> results = DeviceCheck.run(gpu, sync ? 7 : 42);
                String report = String.join("\n", results.stream().map(Object::toString).toList());
                System.out.println(gpu.description() + "\n" + report);
                assertTrue(DeviceCheck.allPassed(results), report);
            }
        }
    }

    /** A step: gather a batch, z = x W^T, bias + ReLU, advance the cursor. */
    private record Step(Tensor images, Tensor labels, Tensor order, Tensor cursor, Tensor w, Tensor bias, Tensor x,
                        Tensor y, Tensor z) implements Runnable {
        static Step on(Device d, byte[] img, int[] lab, int[] ord, float[] w, float[] b, int n, int p, int o, int batch) {
            Step s = new Step(d.allocate(DType.U8, n, p), d.allocate(DType.I32, n, 1), d.allocate(DType.I32, n, 1),
                    d.allocate(DType.I32, 1, 1), d.allocate(DType.F32, o, p), d.allocate(DType.F32, 1, o),
                    d.allocate(DType.F32, batch, p), d.allocate(DType.I32, batch, 1), d.allocate(DType.F32, batch, o));
            d.upload(img, s.images);
            d.upload(lab, s.labels);
            d.upload(ord, s.order);
            d.upload(w, s.w);
            d.upload(b, s.bias);
            return s;
        }

        @Override
        public void run() {
            Device d = x.device();
            d.gatherBatch(images, labels, order, cursor, x, y);
            d.gemm(false, true, 1f, x, w, 0f, z);
            d.biasActivation(z, bias, true);
            d.addInt(cursor, x.rows());
        }
    }

    @Test
    void aReplayedStepEqualsTheSameOpsRunEagerlyOnTheReference() {
        int n = 300, p = 784, o = 25, batch = 63;
        SplittableRandom rng = new SplittableRandom(11);
        byte[] img = new byte[n * p];
        for (int i = 0; i < img.length; i++) {
            img[i] = (byte) rng.nextInt(256);
        }
        int[] lab = new int[n];
        for (int i = 0; i < n; i++) {
            lab[i] = rng.nextInt(10);
        }
        int[] ord = Shuffle.order(n, 5, 0);
        float[] w = new float[o * p], b = new float[o];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rng.nextDouble(-0.1, 0.1);
        }
        for (int i = 0; i < o; i++) {
            b[i] = (float) rng.nextDouble(-0.5, 0.5);
        }
        ReferenceDevice ref = new ReferenceDevice();
        try (CudaDevice gpu = open(false)) {
            Step onGpu = Step.on(gpu, img, lab, ord, w, b, n, p, o, batch);
            Step onRef = Step.on(ref, img, lab, ord, w, b, n, p, o, batch);
            Runnable replay = gpu.replayable(onGpu);
            long captures = StandIn.counter("captures"), launches = StandIn.counter("graph launches");
            for (int step = 0; step < 4; step++) {
                replay.run();
                onRef.run();
                float[] got = new float[batch * o], want = new float[batch * o];
                gpu.download(onGpu.z, got);
                ref.download(onRef.z, want);
                DeviceCheck.Tolerance tol = DeviceCheck.sum(p);
                for (int i = 0; i < got.length; i++) {
                    assertTrue(Math.abs(got[i] - want[i]) <= tol.atol() + tol.rtol() * Math.abs(want[i]),
                            "step " + step + " z[" + i + "]: got " + got[i] + ", want " + want[i]);
                }
                int[] gotY = new int[batch], wantY = new int[batch], cursor = new int[1];
                gpu.download(onGpu.y, gotY);
                ref.download(onRef.y, wantY);
                assertArrayEquals(wantY, gotY, "labels of step " + step);
                gpu.download(onGpu.cursor, cursor);
                assertEquals((step + 1) * batch, cursor[0], "the replayed graph advanced the cursor on the device");
            }
            assertEquals(1, StandIn.counter("captures") - captures, "run eagerly once, then captured once");
            assertEquals(3, StandIn.counter("graph launches") - launches, "then replayed");
        }
    }

    /**
     * The element-wise kernels stride over the grid, but Kiln's grids cover every element at once below 16.7 M
     * elements, so DeviceCheck never takes a second lap. Here bias + ReLU runs with 2 blocks of 32 threads over
     * 63 x 25 elements: each thread takes 25 laps, and its column must follow along.
     */
    @Test
    void aGridStrideLoopWithFewThreadsMatchesTheReference() {
        int rows = 63, cols = 25, n = rows * cols;
        SplittableRandom rng = new SplittableRandom(3);
        float[] z = new float[n], bias = new float[cols];
        for (int i = 0; i < n; i++) {
            z[i] = (float) rng.nextDouble(-1, 1);
        }
        for (int j = 0; j < cols; j++) {
            bias[j] = (float) rng.nextDouble(-1, 1);
        }
        ReferenceDevice ref = new ReferenceDevice();
        Tensor rz = ref.allocate(DType.F32, rows, cols), rb = ref.allocate(DType.F32, 1, cols);
        ref.upload(z, rz);
        ref.upload(bias, rb);
        ref.biasActivation(rz, rb, true);
        float[] want = new float[n], got = new float[n];
        ref.download(rz, want);

        CudaDriver driver = StandIn.require().driver;
        try (CudaDevice gpu = open(false); java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            Tensor gz = gpu.allocate(DType.F32, rows, cols), gb = gpu.allocate(DType.F32, 1, cols);
            gpu.upload(z, gz);
            gpu.upload(bias, gb);
            java.lang.foreign.MemorySegment stream = driver.streamCreate(CudaDriver.CU_STREAM_NON_BLOCKING);
            try (PtxModule module = PtxModule.load(driver, "activation")) {
                new Launcher(driver, stream, false, () -> false, arena).args()
                        .ptr(((CudaDevice.DeviceMemory) gz.storage()).address())
                        .ptr(((CudaDevice.DeviceMemory) gb.storage()).address()).i64(n).i32(cols).i32(1)
                        .launch(module.kernel("bias_activation_forward"), 2, 1, 32, 1);
                driver.streamSynchronize(stream);
            } finally {
                driver.streamDestroy(stream);
            }
            gpu.download(gz, got);
        }
        assertArrayEquals(want, got, "one IEEE add and a ReLU: exact");
    }

    @Test
    void everyParameterTensorStartsSixteenByteAlignedAndRoundTripsPacked() {
        dev.kiln.engine.model.LayerSpec spec = new dev.kiln.engine.model.LayerSpec(784, 25, 25, 10);
        try (CudaDevice gpu = open(false)) {
            dev.kiln.engine.model.Mlp m = new dev.kiln.engine.model.Mlp(gpu, spec);
            for (int l = 0; l < spec.layerCount(); l++) {
                for (Tensor t : List.of(m.weight(l), m.bias(l))) {
                    long address = ((CudaDevice.DeviceMemory) t.storage()).address() + 4L * t.offset();
                    assertEquals(0, address % 16, "layer " + l + " " + t + " at byte " + 4L * t.offset());
                }
            }
            float[] p = new float[spec.parameterCount()];
            SplittableRandom rng = new SplittableRandom(5);
            for (int i = 0; i < p.length; i++) {
                p[i] = (float) rng.nextDouble(-1, 1);
            }
            m.setParameters(p);
            assertArrayEquals(p, m.parameters(), "packed in, packed out");
            assertTrue(m.flatSize() > spec.parameterCount(), "packed, 2.weight would start at float 19,625 (byte 78,500)");
        }
    }

    @Test
    void theJitHintsSayWhatToDo() {
        assertTrue(CudaDriver.hint(221).contains("libnvidia-ptxjitcompiler"), CudaDriver.hint(221));
        assertTrue(CudaDriver.hint(222).contains("update the NVIDIA driver"), CudaDriver.hint(222));
    }

    @Test
    void cudaSyncWaitsAfterEveryGemmAndMemsetToo() {
        try (CudaDevice gpu = open(true)) {
            Tensor a = gpu.allocate(DType.F32, 3, 4), b = gpu.allocate(DType.F32, 4, 5), c = gpu.allocate(DType.F32, 3, 5);
            long syncs = StandIn.counter("stream syncs");
            gpu.gemm(false, false, 1f, a, b, 0f, c);
            assertEquals(1, StandIn.counter("stream syncs") - syncs, "a sync after the GEMM");
            gpu.fill(c, 1f);
            assertEquals(2, StandIn.counter("stream syncs") - syncs, "a sync after the memset");
        }
    }

    @Test
    void anAllocationInsideAStepIsRefusedEvenOnItsEagerFirstRun() {
        try (CudaDevice gpu = open(false)) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> gpu.replayable(() -> gpu.allocate(DType.F32, 1, 1)).run());
            assertTrue(e.getMessage().startsWith("allocate inside a replayable body"), e.getMessage());
        }
    }

    @Test
    void aPtxNewerThanTheDriverGetsTheUpdateHint() {
        try (CudaDevice gpu = open(false)) {
            gpu.synchronize(); // makes the device's context current on this thread
            CudaDriver driver = CudaRuntime.get().runtime().driver;
            try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
                CudaException e = assertThrows(CudaException.class, () -> driver.moduleLoadData("future.ptx",
                        a.allocateFrom(".version 9.9\n.target sm_100\n.visible .entry k(\n)\n{\nret;\n}\n")));
                assertEquals("CUDA_ERROR_UNSUPPORTED_PTX_VERSION", e.errorName());
                assertTrue(e.getMessage().contains("Unsupported .version 9.9"), e.getMessage());
                assertTrue(e.oneLine().contains("update the NVIDIA driver"), e.oneLine());
            }
        }
    }

    @Test
    void hostWorkInsideACaptureIsRefusedAndTheDeviceStaysUsable() {
        try (CudaDevice gpu = open(false)) {
            Tensor t = gpu.allocate(DType.F32, 2, 3);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> gpu.replayable(() -> gpu.upload(new float[6], t)).run());
            assertTrue(e.getMessage().startsWith("upload inside a replayable body"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> gpu.replayable(() -> gpu.download(t, new float[6])).run());
            assertThrows(IllegalStateException.class, () -> gpu.replayable(gpu::synchronize).run());
            gpu.fill(t, 2.5f);
            float[] back = new float[6];
            gpu.download(t, back);
            assertArrayEquals(new float[]{2.5f, 2.5f, 2.5f, 2.5f, 2.5f, 2.5f}, back);
            float ms = gpu.timeMillis(() -> gpu.fill(t, 1f));
            assertTrue(ms >= 0f, "event time " + ms);
        }
    }

    @Test
    void aFailedCallIsNamedWithCudasErrorName() {
        try (CudaDevice gpu = open(false)) {
            CudaException e = assertThrows(CudaException.class, () -> gpu.allocate(DType.F32, 1 << 20, 1 << 20)); // 4 TiB
            assertEquals("cuMemAlloc_v2", e.call());
            assertEquals("CUDA_ERROR_OUT_OF_MEMORY", e.errorName());
        }
    }
}
