package dev.kiln.engine.cpu;

import dev.kiln.engine.device.DType;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.ReferenceDevice;
import dev.kiln.engine.device.Tensor;
import dev.kiln.engine.model.Init;
import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.model.Mlp;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the conformance suite does not show: results independent of the thread count, no allocation per step. */
class CpuDeviceTest {

    /** A few layers' worth of ops, at sizes above the parallel thresholds; returns every output. */
    private static List<float[]> opSequence(Device d, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int b = 130, in = 784, out = 300;
        Tensor x = random(d, rng, b, in), w = random(d, rng, out, in), bias = random(d, rng, 1, out);
        Tensor z = d.allocate(DType.F32, b, out), dz = random(d, rng, b, out);
        Tensor dw = d.allocate(DType.F32, out, in), dx = d.allocate(DType.F32, b, in), tt = d.allocate(DType.F32, in, b);
        Tensor db = d.allocate(DType.F32, 1, out), sums = d.allocate(DType.F32, 1, in);
        d.gemm(false, true, 1f, x, w, 0f, z);       // z (B, O) = x W^T
        d.biasActivation(z, bias, true);
        d.reluBackward(dz, z, db);
        d.gemm(true, false, 1f, dz, x, 0f, dw);     // dW (O, I) = dz^T x
        d.gemm(false, false, 0.5f, dz, w, 0f, dx);  // dx (B, I) = dz W
        d.gemm(true, true, 1f, w, dz, 0f, tt);      // (I, B) = W^T dz^T
        // one 48-wide panel and many rows: the blocked GEMM splits the rows instead, by the thread count
        Tensor narrowIn = random(d, rng, b, 20), narrow = d.allocate(DType.F32, in, 20);
        d.gemm(true, false, 1f, x, narrowIn, 0f, narrow); // (I, 20) = x^T (I, B) x (B, 20)
        d.columnSums(dx, sums);
        Tensor m = d.allocate(DType.F32, out, in), v = d.allocate(DType.F32, out, in);
        Tensor step = d.allocate(DType.I32, 1, 1), lr = d.allocate(DType.F32, 1, 1);
        d.fill(lr, 1e-3f);
        for (int s = 0; s < 2; s++) {
            d.addInt(step, 1);
            d.adam(w, dw, m, v, step, lr, 0.9f, 0.999f, 1e-8f, 1e-2f, true);
        }
        List<float[]> all = new ArrayList<>();
        for (Tensor t : List.of(z, dz, db, dw, dx, tt, narrow, sums, w, m, v)) {
            float[] host = new float[(int) t.size()];
            d.download(t, host);
            all.add(host);
        }
        return all;
    }

    private static Tensor random(Device d, SplittableRandom rng, int rows, int cols) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rng.nextDouble(-1, 1);
        }
        Tensor t = d.allocate(DType.F32, rows, cols);
        d.upload(v, t);
        return t;
    }

    /** Inside a replica every op runs whole on one thread: the same bits as the op split over the pool. */
    @Test
    void aForwardPassInAReplicaGivesTheSameBitsAsOneOverThePool() {
        LayerSpec spec = new LayerSpec(784, 25, 25, 10);
        try (CpuDevice d = new CpuDevice(CpuDevice.widestVectorBits(), 2)) {
            Mlp model = Mlp.initialized(d, spec, Init.PYTORCH_DEFAULT, 3);
            Tensor x = random(d, new SplittableRandom(5), 1000, 784); // enough work to split over the pool
            Tensor[] pooled = model.allocateActivations(1000), inReplica = model.allocateActivations(1000);
            model.forward(x, pooled);
            d.forEachReplica(2, r -> {
                if (r == 0) {
                    model.forward(x, inReplica);
                }
            });
            for (int l = 0; l < 3; l++) {
                assertArrayEquals(download(d, pooled[l]), download(d, inReplica[l]), "layer " + l);
            }
        }
    }

    private static float[] download(Device d, Tensor t) {
        float[] v = new float[(int) t.size()];
        d.download(t, v);
        return v;
    }

    @Test
    void resultsAreBitIdenticalForOneTwoAndThreeThreads() {
        for (int bits : new int[]{0, CpuDevice.widestVectorBits()}) {
            List<float[]> one;
            try (CpuDevice d = new CpuDevice(bits, 1)) {
                one = opSequence(d, 7);
            }
            for (int threads : new int[]{2, 3}) {
                try (CpuDevice d = new CpuDevice(bits, threads)) {
                    List<float[]> many = opSequence(d, 7);
                    for (int i = 0; i < one.size(); i++) {
                        assertArrayEquals(one.get(i), many.get(i), bits + "-bit, " + threads + " threads, output " + i);
                    }
                }
            }
        }
    }

    @Test
    void gatherDividesEveryByteExactlyLikeTheReference() {
        byte[] img = new byte[256 * 3];
        for (int i = 0; i < img.length; i++) {
            img[i] = (byte) i;
        }
        int[] order = new int[256];
        Arrays.setAll(order, i -> 255 - i);
        for (Device d : new Device[]{new ReferenceDevice(), new CpuDevice(0, 1), new CpuDevice(CpuDevice.widestVectorBits(), 2)}) {
            Tensor images = d.allocate(DType.U8, 256, 3), labels = d.allocate(DType.I32, 256, 1);
            Tensor ord = d.allocate(DType.I32, 256, 1), cursor = d.allocate(DType.I32, 1, 1);
            Tensor x = d.allocate(DType.F32, 256, 3), y = d.allocate(DType.I32, 256, 1);
            d.upload(img, images);
            d.upload(order, ord);
            d.gatherBatch(images, labels, ord, cursor, x, y);
            float[] got = new float[256 * 3];
            d.download(x, got);
            for (int r = 0; r < 256; r++) {
                for (int p = 0; p < 3; p++) {
                    int value = ((255 - r) * 3 + p) & 0xff;
                    assertEquals(value / 255f, got[r * 3 + p], d.description() + ", byte " + value);
                }
            }
            d.close();
        }
    }

    /** The ops of a 784-25-25-10 training step at batch 64, plus a wide GEMM that is split over threads. */
    private static final class Step implements Runnable {
        final Device d;
        final Tensor images, labels, order, cursor, x, y, w1, b1, h1, w2, b2, h2, w3, b3, logits, dlogits, stats;
        final Tensor dh2, dh1, dw1, db1, dw2, db2, dw3, db3, params, grads, m, v, step, lr, wide, wideW, wideOut;

        Step(Device d) {
            this.d = d;
            SplittableRandom rng = new SplittableRandom(3);
            int n = 256, batch = 64;
            images = d.allocate(DType.U8, n, 784);
            byte[] pixels = new byte[n * 784];
            for (int i = 0; i < pixels.length; i++) {
                pixels[i] = (byte) rng.nextInt(256);
            }
            d.upload(pixels, images);
            labels = d.allocate(DType.I32, n, 1);
            order = d.allocate(DType.I32, n, 1);
            int[] perm = new int[n];
            Arrays.setAll(perm, i -> (i * 37) % n);
            d.upload(perm, order);
            cursor = d.allocate(DType.I32, 1, 1);
            x = d.allocate(DType.F32, batch, 784);
            y = d.allocate(DType.I32, batch, 1);
            int q = 25 * 784 + 25 + 25 * 25 + 25 + 10 * 25 + 10;
            params = random(d, rng, q, 1);
            grads = d.allocate(DType.F32, q, 1);
            m = d.allocate(DType.F32, q, 1);
            v = d.allocate(DType.F32, q, 1);
            Tensor[] p = views(params), g = views(grads);
            w1 = p[0]; b1 = p[1]; w2 = p[2]; b2 = p[3]; w3 = p[4]; b3 = p[5];
            dw1 = g[0]; db1 = g[1]; dw2 = g[2]; db2 = g[3]; dw3 = g[4]; db3 = g[5];
            h1 = d.allocate(DType.F32, batch, 25);
            h2 = d.allocate(DType.F32, batch, 25);
            logits = d.allocate(DType.F32, batch, 10);
            dlogits = d.allocate(DType.F32, batch, 10);
            dh2 = d.allocate(DType.F32, batch, 25);
            dh1 = d.allocate(DType.F32, batch, 25);
            stats = d.allocate(DType.F32, 1, 2);
            step = d.allocate(DType.I32, 1, 1);
            lr = d.allocate(DType.F32, 1, 1);
            d.fill(lr, 1e-3f);
            wide = random(d, rng, 256, 300);
            wideW = random(d, rng, 300, 300);
            wideOut = d.allocate(DType.F32, 256, 300);
        }

        private static Tensor[] views(Tensor flat) {
            int[][] shapes = {{25, 784}, {1, 25}, {25, 25}, {1, 25}, {10, 25}, {1, 10}};
            Tensor[] out = new Tensor[shapes.length];
            long at = 0;
            for (int i = 0; i < shapes.length; i++) {
                out[i] = flat.slice(at, shapes[i][0], shapes[i][1]);
                at += (long) shapes[i][0] * shapes[i][1];
            }
            return out;
        }

        @Override
        public void run() {
            d.fill(cursor, 0);
            d.gatherBatch(images, labels, order, cursor, x, y);
            d.gemm(false, true, 1f, x, w1, 0f, h1);
            d.biasActivation(h1, b1, true);
            d.gemm(false, true, 1f, h1, w2, 0f, h2);
            d.biasActivation(h2, b2, true);
            d.gemm(false, true, 1f, h2, w3, 0f, logits);
            d.biasActivation(logits, b3, false);
            d.softmaxCrossEntropy(logits, y, dlogits, stats);
            d.countCorrect(logits, y, stats);
            d.gemm(true, false, 1f, dlogits, h2, 0f, dw3);
            d.columnSums(dlogits, db3);
            d.gemm(false, false, 1f, dlogits, w3, 0f, dh2);
            d.reluBackward(dh2, h2, db2);
            d.gemm(true, false, 1f, dh2, h1, 0f, dw2);
            d.gemm(false, false, 1f, dh2, w2, 0f, dh1);
            d.reluBackward(dh1, h1, db1);
            d.gemm(true, false, 1f, dh1, x, 0f, dw1);
            d.addInt(step, 1);
            d.adam(params, grads, m, v, step, lr, 0.9f, 0.999f, 1e-8f, 0f, false);
            d.gemm(false, true, 1f, wide, wideW, 0f, wideOut);
        }
    }

    @Test
    void aTrainingStepAllocatesNothingOnAnyThread() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (CpuDevice d = new CpuDevice(CpuDevice.widestVectorBits(), 3)) {
            Step step = new Step(d);
            long[] workers = d.workerThreadIds();
            int steps = 50, opsPerStep = 21;
            long best = Long.MAX_VALUE;
            // rounds until the JIT has compiled the step (interpreted Vector API code boxes every vector): at least
            // 40, for up to a minute on a loaded machine, where the compiler threads get less of the CPU
            long deadline = System.nanoTime() + 60_000_000_000L;
            for (int round = 0; best > 0 && (round < 40 || System.nanoTime() < deadline); round++) {
                long before = Arrays.stream(threads.getThreadAllocatedBytes(workers)).sum();
                long mine = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < steps; i++) {
                    step.run();
                }
                mine = threads.getCurrentThreadAllocatedBytes() - mine;
                long theirs = Arrays.stream(threads.getThreadAllocatedBytes(workers)).sum() - before;
                best = Math.min(best, mine + theirs);
            }
            // a small array is 16 bytes or more: allow far less than one per op
            assertTrue(best < (long) steps * opsPerStep, "a compiled step still allocates: " + best + " bytes over "
                    + steps + " steps of " + opsPerStep + " ops");
        }
    }

    @Test
    void dotProductGemmHandlesAlphaBetaRaggedTilesAndVectorTails() {
        // A B^T with k >= CpuDevice.DOT_MIN_K takes the dot-product tiles; k = 301 leaves a tail at every width
        int m = 11, n = 13, k = 301;
        SplittableRandom rng = new SplittableRandom(11);
        ReferenceDevice ref = new ReferenceDevice();
        for (int bits : new int[]{0, 128, CpuDevice.widestVectorBits()}) {
            if (bits > CpuDevice.widestVectorBits()) {
                continue;
            }
            for (int threads : new int[]{1, 2}) {
                try (CpuDevice d = new CpuDevice(bits, threads)) {
                    float[] av = floats(rng, m * k), bv = floats(rng, n * k), cv = floats(rng, m * n);
                    float[] got = new float[m * n], want = new float[m * n];
                    Device[] both = {d, ref};
                    for (Device dev : both) {
                        Tensor a = dev.allocate(DType.F32, m, k), b = dev.allocate(DType.F32, n, k), c = dev.allocate(DType.F32, m, n);
                        dev.upload(av, a);
                        dev.upload(bv, b);
                        dev.upload(cv, c);
                        dev.gemm(false, true, -0.5f, a, b, 0.25f, c);
                        dev.download(c, dev == ref ? want : got);
                    }
                    for (int i = 0; i < got.length; i++) {
                        assertEquals(want[i], got[i], 1e-4, bits + "-bit, " + threads + " threads, C[" + i + "]");
                    }
                }
            }
        }
    }

    private static float[] floats(SplittableRandom rng, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rng.nextDouble(-1, 1);
        }
        return v;
    }

    @Test
    void adamLeavesOutTheSquaresOfTinyGradientsAndMatchesTheReferenceElsewhere() {
        // g = 1e-19 would add (1 - beta2) g^2 = 1e-41 (a subnormal product) to v = 2e-38: left out, v is exactly
        // 0.999 v, a few ulps below the reference's v and no different a step (sqrt(v) is far below eps); m takes
        // the gradient as usual. g = 1e-8 adds a normal 1e-19: as the reference.
        float[] g0 = new float[67], m0 = new float[67], v0 = new float[67];
        for (int i = 0; i < 67; i++) {
            g0[i] = i % 2 == 0 ? 1e-19f : -1e-8f;
            m0[i] = 1e-6f;
            v0[i] = i % 2 == 0 ? 2e-38f : 1e-12f;
        }
        for (int bits : new int[]{0, CpuDevice.widestVectorBits()}) {
            try (CpuDevice d = new CpuDevice(bits, 1)) {
                ReferenceDevice r = new ReferenceDevice();
                float[][] got = adamOnce(d, g0, m0, v0), want = adamOnce(r, g0, m0, v0);
                for (int i = 0; i < 67; i++) {
                    if (i % 2 == 0) {
                        assertEquals(0.999f * v0[i], got[1][i], bits + "-bit v[" + i + "]: the tiny g^2 left out");
                        assertTrue(want[1][i] > got[1][i], "the reference adds it: " + want[1][i] + " vs " + got[1][i]);
                    }
                    assertEquals(want[0][i], got[0][i], 1e-12f, bits + "-bit m[" + i + "]");
                    assertEquals(want[1][i], got[1][i], 1e-18f, bits + "-bit v[" + i + "]");
                    assertEquals(want[2][i], got[2][i], 1e-9f, bits + "-bit p[" + i + "]");
                }
            }
        }
    }

    /** One Adam step (t = 1, lr 1e-3) from p = 0.5: {m, v, p} afterwards. */
    private static float[][] adamOnce(Device d, float[] g0, float[] m0, float[] v0) {
        int n = g0.length;
        Tensor p = d.allocate(DType.F32, 1, n), g = d.allocate(DType.F32, 1, n);
        Tensor m = d.allocate(DType.F32, 1, n), v = d.allocate(DType.F32, 1, n);
        Tensor step = d.allocate(DType.I32, 1, 1), lr = d.allocate(DType.F32, 1, 1);
        d.fill(p, 0.5f);
        d.upload(g0, g);
        d.upload(m0, m);
        d.upload(v0, v);
        d.fill(step, 1);
        d.fill(lr, 1e-3f);
        d.adam(p, g, m, v, step, lr, 0.9f, 0.999f, 1e-8f, 0f, false);
        float[][] out = new float[3][n];
        d.download(m, out[0]);
        d.download(v, out[1]);
        d.download(p, out[2]);
        return out;
    }

    @Test
    void adamFlushesSubnormalMomentsToZeroAndKeepsNormalOnes() {
        // with g = 0, m = 0.9 m and v = 0.999 v: 1.2e-38 and 1.1e-38 decay below 1.18e-38 (subnormal); 1e-30 stays normal
        float[] m0 = new float[67], v0 = new float[67];
        for (int i = 0; i < m0.length; i++) {
            m0[i] = i % 2 == 0 ? 1.2e-38f : -1e-30f;
            v0[i] = i % 2 == 0 ? 1.1e-38f : 1e-30f;
        }
        for (int bits : new int[]{0, CpuDevice.widestVectorBits()}) {
            try (CpuDevice d = new CpuDevice(bits, 1)) {
                Tensor p = d.allocate(DType.F32, 1, 67), g = d.allocate(DType.F32, 1, 67);
                Tensor m = d.allocate(DType.F32, 1, 67), v = d.allocate(DType.F32, 1, 67);
                Tensor step = d.allocate(DType.I32, 1, 1), lr = d.allocate(DType.F32, 1, 1);
                d.upload(m0, m);
                d.upload(v0, v);
                d.fill(step, 1);
                d.fill(lr, 1e-3f);
                d.adam(p, g, m, v, step, lr, 0.9f, 0.999f, 1e-8f, 0f, false);
                float[] mm = new float[67], vv = new float[67];
                d.download(m, mm);
                d.download(v, vv);
                for (int i = 0; i < 67; i++) {
                    assertEquals(i % 2 == 0 ? 0f : 0.9f * m0[i], mm[i], bits + "-bit m[" + i + "]");
                    assertEquals(i % 2 == 0 ? 0f : 0.999f * v0[i], vv[i], bits + "-bit v[" + i + "]");
                }
            }
        }
    }

    @Test
    void expIsWithinTwoUlpsOfMathExpAndTheSameAtEveryWidth() {
        SplittableRandom rng = new SplittableRandom(7);
        float[] special = {0f, -0f, -1e-30f, -0.34657f, -0.34658f, -1f, -86.99f, -87f, -87.01f, -100f, -1e4f,
                Float.NEGATIVE_INFINITY, Float.NaN, -Float.MIN_VALUE};
        float[] x = new float[1037]; // not a multiple of any vector length: the scalar tail runs too
        System.arraycopy(special, 0, x, 0, special.length);
        for (int i = special.length; i < x.length; i++) {
            x[i] = (float) (i % 2 == 0 ? rng.nextDouble(-20, 0) : rng.nextDouble(-90, 0));
        }
        float[] first = null;
        for (int bits : new int[]{0, 128, 256, 512}) {
            if (bits > CpuDevice.widestVectorBits()) {
                continue;
            }
            float[] got = x.clone();
            KernelLoader.load(bits).expNonPositive(got, 0, got.length);
            for (int i = 0; i < x.length; i++) {
                float want = (float) Math.exp(x[i]);
                if (Float.isNaN(x[i])) {
                    assertTrue(Float.isNaN(got[i]), bits + "-bit exp(NaN)");
                } else if (x[i] < -87f) {
                    assertEquals(0f, got[i], bits + "-bit exp(" + x[i] + ")");
                } else {
                    assertEquals(want, got[i], 2 * Math.ulp(want), bits + "-bit exp(" + x[i] + ")");
                }
            }
            if (first == null) {
                first = got;
            } else {
                assertArrayEquals(first, got, bits + "-bit exp differs from the 0-bit kernels'");
            }
        }
    }

    @Test
    void widthsBeyondTheCpuOrOutsideTheListAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new CpuDevice(96, 1));
        assertThrows(IllegalArgumentException.class, () -> new CpuDevice(CpuDevice.widestVectorBits() * 2 + 128, 1));
        assertThrows(IllegalArgumentException.class, () -> new CpuDevice(0, 0));
    }

    @Test
    void autoPicksTheCpuDeviceWithTheThreadsAskedFor() {
        var selection = dev.kiln.engine.device.Devices.open("auto", new dev.kiln.engine.device.DeviceOptions(2, false, false, 0));
        try (Device d = selection.device()) {
            assertEquals("cpu", d.name());
            assertEquals(2, ((CpuDevice) d).threads());
        }
    }

    @Test
    void describesItself() {
        try (CpuDevice d = new CpuDevice(0, 2)) {
            assertEquals("cpu", d.name());
            assertEquals("CPU, 2 threads, scalar loops (no vectors)", d.description());
        }
    }
}
