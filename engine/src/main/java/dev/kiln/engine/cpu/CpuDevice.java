package dev.kiln.engine.cpu;

import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.ReferenceDevice;
import dev.kiln.engine.device.Tensor;
import jdk.incubator.vector.FloatVector;

/**
 * The fast CPU device: the {@link ReferenceDevice}'s storage (plain Java arrays) with its hot operations
 * vectorised ({@link VectorKernels}) and split over a persistent {@link WorkerPool}.
 *
 * <p>Results do not depend on the thread count: every op cuts its work into fixed units (GEMM tiles of
 * {@link Kernels#MR} rows by one panel, 64-column strips, element ranges) and each output element is computed by
 * one thread in a fixed order. A training step allocates nothing: GEMM packing buffers and tile scratch are made per
 * thread when the device opens, and each op reuses one preallocated job object. Ops on fewer than a few tens of
 * thousands of elements run on the caller, where a hand-off would cost more than it saves.
 *
 * <p>Dimension glossary as in {@link Device}: B batch rows, I layer inputs, O layer outputs, C classes.
 * Not thread-safe: one caller thread at a time, like every device.
 */
public final class CpuDevice extends ReferenceDevice {

    /** System property that forces the vector width: 0 (scalar loops), 128, 256 or 512. */
    public static final String VECTOR_BITS_PROPERTY = "kiln.vectorBits";

    /** Rows of op(B) packed per panel block: a 256 x 32 block of floats fits in L1 with the A rows beside it. */
    static final int KC = 256;
    /** Below this many multiply-adds a GEMM runs on the caller (a hand-off costs about a microsecond). */
    static final long GEMM_PARALLEL_MIN = 1 << 17;
    /** Below this many elements an elementwise op runs on the caller. */
    static final long ELEMENTWISE_PARALLEL_MIN = 1 << 15;
    /** Adam does a division and a square root per element, so it pays to split sooner. */
    static final long ADAM_PARALLEL_MIN = 1 << 13;
    /** Columns per unit of column-sum work; a multiple of every vector length, so tails stay at the end. */
    static final int COLUMN_STRIP = 64;

    private final Kernels kernels;
    private final WorkerPool pool;
    private final GemmJob gemmJob = new GemmJob();
    private final ColumnJob columnJob = new ColumnJob();
    private final BiasJob biasJob = new BiasJob();
    private final AdamJob adamJob = new AdamJob();
    private final SgdJob sgdJob = new SgdJob();
    private final GatherJob gatherJob = new GatherJob();
    // per thread, indexed by worker: packed op(B) blocks (KC x panelWidth) and one accumulated tile (MR x panelWidth)
    private final float[][] packed;
    private final float[][] tileScratch;

    /** The device for {@code kiln --device cpu}: width from {@value #VECTOR_BITS_PROPERTY} or the CPU's widest. */
    public CpuDevice(DeviceOptions options) {
        this(defaultVectorBits(), options.effectiveThreads());
    }

    /**
     * A device with a forced vector width (0 = scalar loops, 128, 256, 512; at most the CPU's widest) and thread
     * count (the caller included; at least 1).
     */
    public CpuDevice(int vectorBits, int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        int widest = widestVectorBits();
        if (vectorBits > widest) {
            throw new IllegalArgumentException(vectorBits + "-bit vectors asked for, but this CPU's widest are "
                    + widest + " bits");
        }
        this.kernels = KernelLoader.load(vectorBits);
        this.pool = new WorkerPool(threads, "kiln-cpu");
        int nr = kernels.panelWidth();
        this.packed = new float[threads][KC * nr];
        this.tileScratch = new float[threads][Kernels.MR * nr];
    }

    /** The CPU's widest float vectors the JIT compiles to, in bits (0 when it has none of at least 128 bits). */
    public static int widestVectorBits() {
        int bits = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        return bits >= 128 ? bits : 0;
    }

    /** {@value #VECTOR_BITS_PROPERTY} when set, else {@link #widestVectorBits()}. */
    public static int defaultVectorBits() {
        String forced = System.getProperty(VECTOR_BITS_PROPERTY);
        if (forced == null || forced.isBlank()) {
            return widestVectorBits();
        }
        try {
            return Integer.parseInt(forced.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + VECTOR_BITS_PROPERTY + "=" + forced + " is not a number of bits");
        }
    }

    /** 0 for the scalar loops, else the vector width in bits. */
    public int vectorBits() {
        return kernels.bits();
    }

    /** Threads that run each large op, the caller included. */
    public int threads() {
        return pool.size();
    }

    /** Thread ids of the pool's workers (not the caller), for allocation accounting. */
    long[] workerThreadIds() {
        return pool.workerThreadIds();
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String description() {
        return "CPU, " + threads() + (threads() == 1 ? " thread, " : " threads, ") + isaName(vectorBits());
    }

    /** "AVX-512 (512-bit vectors)", "NEON (128-bit vectors)", "scalar loops (no vectors)". */
    static String isaName(int bits) {
        if (bits == 0) {
            return "scalar loops (no vectors)";
        }
        boolean x86 = System.getProperty("os.arch", "").matches("amd64|x86_64");
        boolean arm = System.getProperty("os.arch", "").equals("aarch64");
        String isa = x86 ? switch (bits) {
            case 512 -> "AVX-512";
            case 256 -> "AVX2";
            default -> "SSE";
        } : arm ? (bits == 128 ? "NEON" : "SVE") : "SIMD";
        return isa + " (" + bits + "-bit vectors)";
    }

    // ---- GEMM ----

    @Override
    public void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c) {
        int m = transA ? a.cols() : a.rows();
        int k = transA ? a.rows() : a.cols();
        int kb = transB ? b.cols() : b.rows();
        int n = transB ? b.rows() : b.cols();
        if (k != kb) {
            throw new IllegalArgumentException("gemm: inner dimensions differ: op(A) is " + m + "x" + k + ", op(B) is " + kb + "x" + n);
        }
        requireShape("gemm", "C", c, m, n);
        float[] cv = f32(c);
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            for (int i = off(c), end = i + m * n; i < end; i++) {
                cv[i] = beta == 0f ? alpha * 0f : alpha * 0f + beta * cv[i];
            }
            return;
        }
        GemmJob j = gemmJob;
        j.a = f32(a);
        j.aOff = off(a);
        // op(A)(i, p) = a[aOff + i * rowStride + p * kStride]
        j.rowStride = transA ? 1 : a.cols();
        j.kStride = transA ? a.cols() : 1;
        j.b = f32(b);
        j.bOff = off(b);
        j.ldb = b.cols();
        j.transB = transB;
        j.c = cv;
        j.cOff = off(c);
        j.m = m;
        j.n = n;
        j.k = k;
        j.alpha = alpha;
        j.beta = beta;
        j.rowTiles = (m + Kernels.MR - 1) / Kernels.MR;
        j.panels = (n + kernels.panelWidth() - 1) / kernels.panelWidth();
        dispatch(j, (long) m * n * k, GEMM_PARALLEL_MIN);
    }

    /**
     * {@code C (M, N) = alpha op(A) (M, K) op(B) (K, N) + beta C}. Work units are (panel, row tile) pairs, panel-major;
     * each thread takes a contiguous run of units, packs each panel's op(B) k-block once into its own buffer, and
     * runs the tiles of its run over it. Tiles and k-blocks are fixed, so the split never changes a sum's order.
     */
    private final class GemmJob implements WorkerPool.Job {
        float[] a, b, c;
        int aOff, rowStride, kStride, bOff, ldb, cOff, m, n, k, rowTiles, panels;
        boolean transB;
        float alpha, beta;

        @Override
        public void run(int worker, int workers) {
            int units = rowTiles * panels;
            int u = share(units, worker, workers), end = share(units, worker + 1, workers);
            int nr = kernels.panelWidth();
            float[] pack = packed[worker], tmp = tileScratch[worker];
            while (u < end) {
                int panel = u / rowTiles, t0 = u % rowTiles, t1 = Math.min(rowTiles, t0 + (end - u));
                int j0 = panel * nr, width = Math.min(nr, n - j0);
                // a full panel of an untransposed B is read in place: its rows are already contiguous
                boolean inPlace = !transB && width == nr;
                for (int p0 = 0; p0 < k; p0 += KC) {
                    int kc = Math.min(KC, k - p0);
                    if (!inPlace) {
                        pack(pack, nr, j0, width, p0, kc);
                    }
                    float[] block = inPlace ? b : pack;
                    int blockOff = inPlace ? bOff + p0 * ldb + j0 : 0, blockStride = inPlace ? ldb : nr;
                    for (int t = t0; t < t1; t++) {
                        int i0 = t * Kernels.MR;
                        kernels.gemmTile(a, aOff + i0 * rowStride + p0 * kStride, Math.min(Kernels.MR, m - i0), rowStride,
                                kStride, block, blockOff, blockStride, kc, c, cOff + i0 * n + j0, n, width, alpha, beta,
                                p0 == 0, tmp);
                    }
                }
                u += t1 - t0;
            }
        }

        /** packed[p * nr + j] = op(B)(p0 + p, j0 + j) for j < width, zero beyond: a k-major, zero-padded block. */
        private void pack(float[] dst, int nr, int j0, int width, int p0, int kc) {
            if (transB) { // op(B)(p, j) = b[j * ldb + p]: read rows of b, write columns of the block
                for (int j = 0; j < width; j++) {
                    int src = bOff + (j0 + j) * ldb + p0;
                    for (int p = 0, d = j; p < kc; p++, d += nr) {
                        dst[d] = b[src + p];
                    }
                }
            } else {
                for (int p = 0; p < kc; p++) {
                    System.arraycopy(b, bOff + (p0 + p) * ldb + j0, dst, p * nr, width);
                }
            }
            if (width < nr) {
                for (int p = 0; p < kc; p++) {
                    java.util.Arrays.fill(dst, p * nr + width, (p + 1) * nr, 0f);
                }
            }
        }
    }

    // ---- bias, ReLU, column sums ----

    @Override
    public void biasActivation(Tensor z, Tensor bias, boolean relu) {
        requireShape("biasActivation", "bias", bias, 1, z.cols());
        BiasJob j = biasJob;
        j.z = f32(z);
        j.zOff = off(z);
        j.bias = f32(bias);
        j.bOff = off(bias);
        j.rows = z.rows();
        j.cols = z.cols();
        j.relu = relu;
        dispatch(j, z.size(), ELEMENTWISE_PARALLEL_MIN);
    }

    /** z (B, O) += bias (1, O), ReLU optional: rows split over threads (elementwise, so any split is exact). */
    private final class BiasJob implements WorkerPool.Job {
        float[] z, bias;
        int zOff, bOff, rows, cols;
        boolean relu;

        @Override
        public void run(int worker, int workers) {
            kernels.biasActivation(z, zOff, bias, bOff, cols, share(rows, worker, workers), share(rows, worker + 1, workers), relu);
        }
    }

    @Override
    public void reluBackward(Tensor dh, Tensor h, Tensor dbias) {
        requireShape("reluBackward", "h", h, dh.rows(), dh.cols());
        requireShape("reluBackward", "dbias", dbias, 1, dh.cols());
        columns(dh, f32(h), off(h), dbias);
    }

    @Override
    public void columnSums(Tensor x, Tensor out) {
        requireShape("columnSums", "out", out, 1, x.cols());
        columns(x, null, 0, out);
    }

    private void columns(Tensor x, float[] h, int hOff, Tensor out) {
        ColumnJob j = columnJob;
        j.x = f32(x);
        j.xOff = off(x);
        j.h = h;
        j.hOff = hOff;
        j.rows = x.rows();
        j.cols = x.cols();
        j.out = f32(out);
        j.outOff = off(out);
        dispatch(j, x.size(), ELEMENTWISE_PARALLEL_MIN);
        j.h = null;
    }

    /**
     * Column sums (optionally after the ReLU mask), split by 64-column strips so that every column is summed by one
     * thread, top row first: the same order as the reference, whatever the thread count.
     */
    private final class ColumnJob implements WorkerPool.Job {
        float[] x, h, out;
        int xOff, hOff, rows, cols, outOff;

        @Override
        public void run(int worker, int workers) {
            int strips = (cols + COLUMN_STRIP - 1) / COLUMN_STRIP;
            int j0 = share(strips, worker, workers) * COLUMN_STRIP;
            int j1 = Math.min(cols, share(strips, worker + 1, workers) * COLUMN_STRIP);
            if (j0 < j1) {
                kernels.columnSums(x, xOff, h, hOff, rows, cols, j0, j1, out, outOff);
            }
        }
    }

    // ---- loss ----

    /** The reference's arithmetic with one exp per logit instead of two; rows on the caller (B x C is small). */
    @Override
    public void softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits, Tensor stats) {
        int rows = logits.rows(), classes = logits.cols();
        requireShape("softmaxCrossEntropy", "labels", labels, rows, 1);
        requireShape("softmaxCrossEntropy", "dlogits", dlogits, rows, classes);
        requireShape("softmaxCrossEntropy", "stats", stats, 1, 2);
        float[] z = f32(logits), dz = f32(dlogits), s = f32(stats);
        int[] y = i32(labels);
        int zo = off(logits), dzo = off(dlogits), yo = off(labels);
        float invRows = 1f / rows;
        float lossSum = 0f;
        for (int r = 0; r < rows; r++) {
            int row = zo + r * classes, drow = dzo + r * classes;
            int label = y[yo + r];
            checkLabel(label, classes);
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < classes; j++) {
                max = Math.max(max, z[row + j]);
            }
            float sum = 0f;
            for (int j = 0; j < classes; j++) {
                float e = (float) Math.exp(z[row + j] - max);
                dz[drow + j] = e;
                sum += e;
            }
            lossSum += (float) Math.log(sum) - (z[row + label] - max);
            for (int j = 0; j < classes; j++) {
                dz[drow + j] = (dz[drow + j] / sum - (j == label ? 1f : 0f)) * invRows;
            }
        }
        s[off(stats)] += lossSum;
    }

    // ---- batch gather ----

    @Override
    public void gatherBatch(Tensor images, Tensor labels, Tensor order, Tensor cursor, Tensor x, Tensor y) {
        int n = images.rows(), pixels = images.cols(), rows = x.rows();
        requireShape("gatherBatch", "labels", labels, n, 1);
        requireShape("gatherBatch", "order", order, n, 1);
        requireShape("gatherBatch", "cursor", cursor, 1, 1);
        requireShape("gatherBatch", "x", x, rows, pixels);
        requireShape("gatherBatch", "y", y, rows, 1);
        int start = i32(cursor)[off(cursor)];
        if (start < 0 || start + rows > n) {
            throw new IllegalArgumentException("gatherBatch: rows [" + start + ", " + (start + rows) + ") outside 0.." + n);
        }
        GatherJob j = gatherJob;
        j.images = u8(images);
        j.imagesOff = off(images);
        j.labels = i32(labels);
        j.labelsOff = off(labels);
        j.order = i32(order);
        j.orderOff = off(order) + start;
        j.x = f32(x);
        j.xOff = off(x);
        j.y = i32(y);
        j.yOff = off(y);
        j.rows = rows;
        j.pixels = pixels;
        j.n = n;
        dispatch(j, (long) rows * pixels, ELEMENTWISE_PARALLEL_MIN);
    }

    /** x (B, P) = images[order[s + r]] / 255 and y (B, 1) = labels[order[s + r]], rows split over threads. */
    private final class GatherJob implements WorkerPool.Job {
        byte[] images;
        int[] labels, order, y;
        float[] x;
        int imagesOff, labelsOff, orderOff, xOff, yOff, rows, pixels, n;

        @Override
        public void run(int worker, int workers) {
            for (int r = share(rows, worker, workers), end = share(rows, worker + 1, workers); r < end; r++) {
                int sample = order[orderOff + r];
                if (sample < 0 || sample >= n) {
                    throw new IllegalArgumentException("gatherBatch: order names sample " + sample + ", outside 0.." + (n - 1));
                }
                kernels.scaleBytes(images, imagesOff + sample * pixels, x, xOff + r * pixels, pixels);
                y[yOff + r] = labels[labelsOff + sample];
            }
        }
    }

    // ---- optimizers ----

    @Override
    public void sgd(Tensor params, Tensor grads, Tensor velocity, Tensor lr, float momentum, float weightDecay) {
        requireShape("sgd", "grads", grads, params.rows(), params.cols());
        requireShape("sgd", "velocity", velocity, params.rows(), params.cols());
        SgdJob j = sgdJob;
        j.p = f32(params);
        j.po = off(params);
        j.g = f32(grads);
        j.go = off(grads);
        j.v = f32(velocity);
        j.vo = off(velocity);
        j.q = (int) params.size();
        j.rate = f32(lr)[off(lr)];
        j.momentum = momentum;
        j.weightDecay = weightDecay;
        dispatch(j, params.size(), ELEMENTWISE_PARALLEL_MIN);
    }

    /** One SGD pass over Q parameters, split in 64-element-aligned ranges. */
    private final class SgdJob implements WorkerPool.Job {
        float[] p, g, v;
        int po, go, vo, q;
        float rate, momentum, weightDecay;

        @Override
        public void run(int worker, int workers) {
            kernels.sgd(p, po, g, go, v, vo, aligned(q, worker, workers), aligned(q, worker + 1, workers),
                    rate, momentum, weightDecay);
        }
    }

    @Override
    public void adam(Tensor params, Tensor grads, Tensor m, Tensor v, Tensor step, Tensor lr,
                     float beta1, float beta2, float eps, float weightDecay, boolean decoupled) {
        requireShape("adam", "grads", grads, params.rows(), params.cols());
        requireShape("adam", "m", m, params.rows(), params.cols());
        requireShape("adam", "v", v, params.rows(), params.cols());
        int t = i32(step)[off(step)];
        AdamJob j = adamJob;
        j.p = f32(params);
        j.po = off(params);
        j.g = f32(grads);
        j.go = off(grads);
        j.m = f32(m);
        j.mo = off(m);
        j.v = f32(v);
        j.vo = off(v);
        j.q = (int) params.size();
        j.rate = f32(lr)[off(lr)];
        j.beta1 = beta1;
        j.beta2 = beta2;
        j.eps = eps;
        j.weightDecay = weightDecay;
        j.decoupled = decoupled;
        j.bc1 = 1f - (float) Math.pow(beta1, t); // bias corrections, once per call
        j.bc2 = 1f - (float) Math.pow(beta2, t);
        dispatch(j, params.size(), ADAM_PARALLEL_MIN);
    }

    /** One Adam pass over Q parameters, split in 64-element-aligned ranges. */
    private final class AdamJob implements WorkerPool.Job {
        float[] p, g, m, v;
        int po, go, mo, vo, q;
        float rate, beta1, beta2, eps, weightDecay, bc1, bc2;
        boolean decoupled;

        @Override
        public void run(int worker, int workers) {
            kernels.adam(p, po, g, go, m, mo, v, vo, aligned(q, worker, workers), aligned(q, worker + 1, workers),
                    rate, beta1, beta2, eps, weightDecay, decoupled, bc1, bc2);
        }
    }

    // ---- splitting work ----

    private void dispatch(WorkerPool.Job job, long work, long parallelMin) {
        if (work < parallelMin || pool.size() == 1) {
            job.run(0, 1);
        } else {
            pool.run(job);
        }
    }

    /** Start of worker {@code w}'s contiguous share of {@code units} (w = workers gives the end). */
    static int share(int units, int w, int workers) {
        return (int) ((long) units * w / workers);
    }

    /** Like {@link #share} over elements, cut at multiples of 64 so vector loops stay aligned. */
    static int aligned(int elements, int w, int workers) {
        return w == workers ? elements : Math.min(elements, share((elements + 63) / 64, w, workers) * 64);
    }

    @Override
    public void close() {
        pool.close();
    }
}
