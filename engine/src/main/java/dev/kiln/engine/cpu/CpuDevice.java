package dev.kiln.engine.cpu;

import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.GemmShape;
import dev.kiln.engine.device.ReferenceDevice;
import dev.kiln.engine.device.Tensor;
import java.util.function.IntConsumer;
import jdk.incubator.vector.FloatVector;

/**
 * The fast CPU device: the {@link ReferenceDevice}'s storage (plain Java arrays) with its hot operations
 * vectorised ({@link VectorKernels}) and split over a persistent {@link WorkerPool}.
 *
 * <p>Results do not depend on the thread count: every op cuts its work into fixed units (blocks of GEMM tiles,
 * 64-column strips, element ranges) whose outputs are disjoint and computed in a fixed order, and threads claim
 * units as they come (see {@link WorkerPool}). A training step allocates nothing: GEMM packing buffers and tile
 * scratch are made per thread when the device opens, and each op reuses one preallocated job object. Ops on fewer
 * than a few tens of thousands of elements run on the caller, where a hand-off would cost more than it saves.
 *
 * <p>GEMM forms: {@code C = A B^T} with A untransposed, a long k and a small B (the seed net's first layer,
 * {@code x W^T}) is a tile of dot products, because both operands are contiguous along k and need no packing; a
 * one-row product with a short k (summing replica gradients) streams B's rows once; every other form is blocked as in
 * BLIS, both operands packed, a 5 x 48 register tile broadcasting op(A) against op(B).
 *
 * <p>Small networks' training steps run as replicas, one per core ({@link #forEachReplica}): each replica's ops run
 * whole on the thread that claimed it, with that thread's job objects and scratch (a {@code Lane} per thread).
 *
 * <p>Dimension glossary as in {@link Device}: B batch rows, I layer inputs, O layer outputs, C classes.
 * Not thread-safe: one caller thread at a time, like every device.
 */
public final class CpuDevice extends ReferenceDevice {

    /** System property that forces the vector width: 0 (scalar loops), 128, 256 or 512. */
    public static final String VECTOR_BITS_PROPERTY = "kiln.vectorBits";

    /**
     * Longest k block of a blocked GEMM: a packed 128 x 48 panel of op(B) (24 KiB at 512 bits) stays in L1 beside
     * the stream of op(A) (256 was 10% slower: its 48 KiB panel filled L1).
     */
    static final int KC = 128;
    /** Below this many multiply-adds a GEMM runs on the caller (a hand-off costs about a microsecond). */
    static final long GEMM_PARALLEL_MIN = 1 << 17;
    /** Below this many elements an elementwise op runs on the caller. */
    static final long ELEMENTWISE_PARALLEL_MIN = 1 << 15;
    /** Adam does a division and a square root per element, so it pays to split sooner. */
    static final long ADAM_PARALLEL_MIN = 1 << 13;
    /** Columns per unit of column-sum work; a multiple of every vector length, so tails stay at the end. */
    static final int COLUMN_STRIP = 64;
    /** Rows per unit of batch gathering. */
    static final int GATHER_ROWS = 8;
    /**
     * How many rows of the order ahead a gather touches (see GatherJob): a whole small batch (the next step's rows
     * then wait in L1/L2), or far enough ahead in a large batch that the touched rows are not evicted again before
     * their turn (at batch 1024 the batch's 3 MB of floats go through L2 in between). A step replica's gather touches
     * only its own rows, its first ones before it starts.
     */
    static final int GATHER_AHEAD = 64;
    /** Elements per unit of optimizer work (a multiple of 64, so vector loops stay aligned). */
    static final int ELEMENT_CHUNK = 4096;
    /** Rows of op(A) per block of a GEMM unit, packed per k block into a thread's buffer (260 x 128 floats, in L2). */
    static final int MC = 52 * Kernels.MR;
    /** Most panels of op(B) per GEMM unit, packed once per k block for all the unit's rows (KC x 16 x 48 floats). */
    static final int MAX_PANELS_PER_UNIT = 16;
    /**
     * Most tiles of op(A) rows for which a GEMM reads a non-transposed B's full panels in place instead of packing
     * them: a copy of B pays for itself over many tiles, not over the seed net's five (dW1 = dz1^T x: packing x
     * cost 20 of a 128-row replica's 220 µs). The panel's k rows are then a row of B apart; they still fit in L1.
     */
    static final int IN_PLACE_MAX_TILES = 8;
    /**
     * Shortest k for the dot-product GEMM: each of its outputs ends in a horizontal vector sum and a scalar tail,
     * which only long dot products amortise (at k = 25 it is seven times slower than packing B^T).
     */
    static final int DOT_MIN_K = 128;
    /**
     * Largest B (floats) for the dot-product GEMM: beyond it B streams from L2 or memory for every tile of A rows,
     * and the blocked GEMM is faster (wide net: 210 against 130 GFLOP/s). Below it, B's few rows would fill few
     * columns of the blocked GEMM's 48-wide panels: at 25 outputs the dot tiles were 35% faster.
     */
    static final long DOT_MAX_B = 1 << 16;
    /** Dot-product GEMM (A B^T): B rows per unit (16 tiles of {@link Kernels#DOT_B_ROWS}). */
    static final int DOT_B_BLOCK = 16 * Kernels.DOT_B_ROWS;
    /** Dot-product GEMM: A rows per unit (4 tiles of {@link Kernels#DOT_A_ROWS}). */
    static final int DOT_A_BLOCK = 4 * Kernels.DOT_A_ROWS;
    /** Longest k for the one-row GEMM ({@code RowJob}), which reads B's k rows side by side: a few replicas' worth. */
    static final int ROW_MAX_K = 16;

    /**
     * Fewest rows a step replica gets ({@link #localReplicas}). Each step, every replica's core must fetch the
     * parameters the others updated and hand its gradient copy over for the sum, about 160 KB for the seed net:
     * at batch 64, two replicas of 32 rows were slower than one (this VM moves a cache line between cores slowly).
     */
    static final int REPLICA_MIN_ROWS = 64;
    /** Most replicas a step is cut into: each keeps its own gradient buffer, which the reduction reads back. */
    static final int MAX_REPLICAS = 8;
    /** System property that lowers {@link #MAX_REPLICAS}, for benchmarks (1 runs every step whole). */
    public static final String MAX_REPLICAS_PROPERTY = "kiln.maxReplicas";
    /**
     * Largest network whose steps are cut into replicas: beyond it, the per-replica gradient copies cost more memory
     * traffic than the replicas save, and each GEMM is large enough to split well on its own (the wide net).
     */
    static final long REPLICA_MAX_PARAMETERS = 1 << 18;

    private final Kernels kernels;
    private final WorkerPool pool;
    /** Per thread, indexed by worker: each op's job object, so replicas on several threads can issue ops at once. */
    private final Lane[] lanes;
    private final ReplicaJob replicaJob = new ReplicaJob();
    private final int maxReplicas = Math.clamp(Integer.getInteger(MAX_REPLICAS_PROPERTY, MAX_REPLICAS), 1, MAX_REPLICAS);
    /** True while the caller runs replicas: its ops then run inline, as the workers' do. Only the caller touches it. */
    private boolean callerInReplica;
    // per thread, indexed by worker: packed op(B) blocks (KC x panelWidth) and one accumulated tile (MR x panelWidth,
    // or the dot tile's DOT_A_ROWS x DOT_B_ROWS vectors)
    private final float[][] packed;
    private final float[][] packedA; // per thread: MC x KC floats of op(A), tile by tile
    private final int[][] gatherIndex; // per thread: row offsets for packing a transposed op(B)
    private final int[][] tileIndex;   // per thread: element offsets for packing a tile of op(A)
    private final float[][] biasPattern; // per thread: scratch of Kernels.biasActivation
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
        this.packed = new float[threads][MAX_PANELS_PER_UNIT * KC * nr];
        this.packedA = new float[threads][MC * KC];
        this.gatherIndex = new int[threads][nr];
        this.tileIndex = new int[threads][Kernels.MR * 16];
        this.biasPattern = new float[threads][Kernels.BIAS_PATTERN];
        this.tileScratch = new float[threads][Math.max(Kernels.MR * nr, Kernels.DOT_A_ROWS * Kernels.DOT_B_ROWS * nr)];
        this.lanes = new Lane[threads];
        for (int i = 0; i < threads; i++) {
            lanes[i] = new Lane();
        }
    }

    /** One thread's op state: a job object per op kind and the softmax scratch. */
    private final class Lane {
        final GemmJob gemm = new GemmJob();
        final RowJob row = new RowJob();
        final DotJob dot = new DotJob();
        final ColumnJob column = new ColumnJob();
        final BiasJob bias = new BiasJob();
        final AdamJob adam = new AdamJob();
        final SgdJob sgd = new SgdJob();
        final GatherJob gather = new GatherJob();
        /** Softmax: z_label - row max of each row, kept across the exp pass. */
        float[] shiftedLabels = new float[0];
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

    /** The forms {@link #gemm} computes a product in: {@link #gemmPath} picks one by shape. */
    enum GemmPath {
        /** One row of C, a short k ({@link RowJob}: a replica gradient sum). */
        ROW,
        /** At most two vectors of columns, one k block, little work ({@link #narrowGemm}: small later layers). */
        NARROW,
        /** {@code A B^T} with a long k and a small B ({@link DotJob}: a small first layer outside replicas). */
        DOT,
        /** Everything else, blocked as in BLIS ({@link GemmJob}). */
        BLOCKED
    }

    /** The form {@link #gemm} uses for {@code C (m, n) = op(A) (m, k) op(B) (k, n)} (outside replicas, see below). */
    GemmPath gemmPath(boolean transA, boolean transB, int m, int n, int k) {
        if (m == 1 && !transB && k <= ROW_MAX_K) {
            return GemmPath.ROW;
        }
        if (n <= kernels.narrowWidth() && k <= KC && (long) m * n * k < GEMM_PARALLEL_MIN) {
            return GemmPath.NARROW;
        }
        if (!transA && transB && k >= DOT_MIN_K && (long) n * k <= DOT_MAX_B) {
            return GemmPath.DOT;
        }
        return GemmPath.BLOCKED;
    }

    @Override
    public void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c) {
        GemmShape shape = GemmShape.of(transA, transB, a, b, c);
        int m = shape.m(), n = shape.n(), k = shape.k();
        int worker = pool.currentWorker();
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
        switch (gemmPath(transA, transB, m, n, k)) {
            case ROW -> rowGemm(worker, transA, alpha, a, b, beta, c, n, k);
            case NARROW -> narrowGemm(worker, transA, transB, alpha, f32(a), off(a), a.cols(), f32(b), off(b),
                    b.cols(), beta, cv, off(c), m, n, k);
            case DOT -> dotGemm(worker, alpha, a, b, beta, c, m, n, k);
            case BLOCKED -> blockedGemm(worker, transA, transB, alpha, a, b, beta, c, m, n, k);
        }
    }

    private void rowGemm(int worker, boolean transA, float alpha, Tensor a, Tensor b, float beta, Tensor c, int n, int k) {
        RowJob j = lanes[worker].row;
        j.a = f32(a);
        j.aOff = off(a);
        j.kStride = transA ? a.cols() : 1;
        j.b = f32(b);
        j.bOff = off(b);
        j.ldb = b.cols();
        j.c = f32(c);
        j.cOff = off(c);
        j.n = n;
        j.k = k;
        j.alpha = alpha;
        j.beta = beta;
        dispatch(worker, j, chunks(n), (long) n * k, GEMM_PARALLEL_MIN);
    }

    private void dotGemm(int worker, float alpha, Tensor a, Tensor b, float beta, Tensor c, int m, int n, int k) {
        DotJob j = lanes[worker].dot;
        j.a = f32(a);
        j.aOff = off(a);
        j.lda = a.cols();
        j.b = f32(b);
        j.bOff = off(b);
        j.ldb = b.cols();
        j.c = f32(c);
        j.cOff = off(c);
        j.m = m;
        j.n = n;
        j.k = k;
        j.alpha = alpha;
        j.beta = beta;
        j.bBlocks = (n + DOT_B_BLOCK - 1) / DOT_B_BLOCK;
        int aBlocks = (m + DOT_A_BLOCK - 1) / DOT_A_BLOCK;
        dispatch(worker, j, aBlocks * j.bBlocks, (long) m * n * k, GEMM_PARALLEL_MIN);
    }

    private void blockedGemm(int worker, boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta,
                             Tensor c, int m, int n, int k) {
        GemmJob j = lanes[worker].gemm;
        j.a = f32(a);
        j.aOff = off(a);
        // op(A)(i, p) = a[aOff + i * rowStride + p * kStride]
        j.rowStride = transA ? 1 : a.cols();
        j.kStride = transA ? a.cols() : 1;
        j.b = f32(b);
        j.bOff = off(b);
        j.ldb = b.cols();
        j.transB = transB;
        j.c = f32(c);
        j.cOff = off(c);
        j.m = m;
        j.n = n;
        j.k = k;
        j.alpha = alpha;
        j.beta = beta;
        // k in near-equal blocks of at most KC (784 is 4 x 196, not 3 x 256 + 16), a multiple of 4 where it can be
        int blocks = (k + KC - 1) / KC;
        j.kc = Math.min(KC, ((k + blocks - 1) / blocks + 3) & ~3);
        // Units: one per thread where the shape allows, since each column block packs all its rows of A again and
        // each row split packs its panels of B again; columns first (B, often a transposed weight, costs more to
        // pack). How the units fall never changes a result, so this may follow the thread count (1 inside a replica,
        // where the op runs whole on one thread).
        int threads = alone(worker) ? 1 : pool.size();
        int panels = (n + kernels.panelWidth() - 1) / kernels.panelWidth();
        j.panelsPerUnit = Math.min(MAX_PANELS_PER_UNIT, (panels + threads - 1) / threads);
        j.colBlocks = (panels + j.panelsPerUnit - 1) / j.panelsPerUnit;
        j.rowTiles = (m + Kernels.MR - 1) / Kernels.MR;
        j.rowSplits = Math.clamp((threads + j.colBlocks - 1) / j.colBlocks, 1, Math.max(1, j.rowTiles / 8));
        j.bInPlace = !transB && j.rowTiles <= IN_PLACE_MAX_TILES;
        dispatch(worker, j, j.rowSplits * j.colBlocks, (long) m * n * k, GEMM_PARALLEL_MIN);
    }

    /**
     * A small GEMM with at most two vectors of columns and one k block (the seed net's layers after the first):
     * on the calling thread, op(B) packed once two vectors wide, op(A) read in place, tiles of MR rows. The blocked
     * path would pack A too and fill a quarter or half of its three-vector panels: this is about twice as fast.
     */
    private void narrowGemm(int worker, boolean transA, boolean transB, float alpha, float[] a, int aOff, int lda,
                            float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int m, int n, int k) {
        int nr = kernels.narrowWidth(), mr = Kernels.MR;
        float[] pack = packed[worker];
        packPanel(b, bOff, ldb, transB, 0, n, 0, k, pack, 0, nr, worker);
        // op(A)(i, p) = a[aOff + i * rowStride + p * kStride]
        int rowStride = transA ? 1 : lda, kStride = transA ? lda : 1;
        for (int i0 = 0; i0 < m; i0 += mr) {
            kernels.narrowTile(a, aOff + i0 * rowStride, rowStride, kStride, Math.min(mr, m - i0), pack, 0, k,
                    c, cOff + i0 * n, n, n, alpha, beta, tileScratch[worker]);
        }
    }

    /**
     * {@code c (1, N) = alpha a (1, K) B (K, N) + beta c} for a short k (summing a training step's replica gradient
     * copies, weighted): each unit streams {@link #ELEMENT_CHUNK} columns of B's k rows once.
     */
    private final class RowJob implements WorkerPool.Job {
        float[] a, b, c;
        int aOff, kStride, bOff, ldb, cOff, n, k;
        float alpha, beta;

        @Override
        public void run(int unit, int worker) {
            int j0 = unit * ELEMENT_CHUNK;
            if (kStride == 1) {
                kernels.rowTimesMatrix(a, aOff, b, bOff, ldb, k, c, cOff, j0, Math.min(n, j0 + ELEMENT_CHUNK), alpha, beta);
            } else { // op(A) is a column of a: gather its k values first (k is short)
                float[] row = tileScratch[worker];
                for (int p = 0; p < k; p++) {
                    row[p] = a[aOff + p * kStride];
                }
                kernels.rowTimesMatrix(row, 0, b, bOff, ldb, k, c, cOff, j0, Math.min(n, j0 + ELEMENT_CHUNK), alpha, beta);
            }
        }
    }

    /**
     * {@code C (M, N) = alpha A (M, K) B (N, K)^T + beta C}: units are blocks of {@link #DOT_A_BLOCK} A rows by
     * {@link #DOT_B_BLOCK} B rows; inside, tiles of {@link Kernels#DOT_A_ROWS} x {@link Kernels#DOT_B_ROWS} dot
     * products over all of k. No packing: rows of A and of B are both contiguous along k.
     */
    private final class DotJob implements WorkerPool.Job {
        float[] a, b, c;
        int aOff, lda, bOff, ldb, cOff, m, n, k, bBlocks;
        float alpha, beta;

        @Override
        public void run(int unit, int worker) {
            int i0 = unit / bBlocks * DOT_A_BLOCK, j0 = unit % bBlocks * DOT_B_BLOCK;
            int i1 = Math.min(m, i0 + DOT_A_BLOCK), j1 = Math.min(n, j0 + DOT_B_BLOCK);
            for (int i = i0; i < i1; i += Kernels.DOT_A_ROWS) {
                int rows = Math.min(Kernels.DOT_A_ROWS, i1 - i);
                for (int j = j0; j < j1; j += Kernels.DOT_B_ROWS) {
                    kernels.dotTile(a, aOff + i * lda, lda, rows, b, bOff + j * ldb, ldb, Math.min(Kernels.DOT_B_ROWS, j1 - j),
                            k, c, cOff + i * n + j, n, alpha, beta, tileScratch[worker]);
                }
            }
        }
    }

    /**
     * {@code C (M, N) = alpha op(A) (M, K) op(B) (K, N) + beta C}, blocked as in BLIS (Van Zee and van de Geijn,
     * 2015). Units are (a share of the rows, a block of up to {@link #MAX_PANELS_PER_UNIT} panels). For each k block a unit
     * packs its panels of op(B) into its thread's buffer once, then, {@link #MC} rows at a time, packs op(A) tile by tile and k-major (so the kernel reads A in one
     * stream whatever A's layout, dW's transposed dz included) and runs every tile over every panel. With few rows
     * of op(A) and a non-transposed B, the kernel reads B's whole panels in place instead. Every C element
     * is summed over the same k blocks in the same order however the units fall, so the split never changes a result.
     */
    private final class GemmJob implements WorkerPool.Job {
        float[] a, b, c;
        int aOff, rowStride, kStride, bOff, ldb, cOff, m, n, k, kc, rowTiles, rowSplits, colBlocks, panelsPerUnit;
        boolean transB;
        /** The kernel reads op(B)'s full panels where they lie (see {@link #IN_PLACE_MAX_TILES}). */
        boolean bInPlace;
        float alpha, beta;

        @Override
        public void run(int unit, int worker) {
            int nr = kernels.panelWidth(), mr = Kernels.MR;
            float[] pack = packed[worker], aPack = packedA[worker], tmp = tileScratch[worker];
            int split = unit / colBlocks;
            int iBegin = (int) ((long) rowTiles * split / rowSplits) * mr;
            int iEnd = Math.min(m, (int) ((long) rowTiles * (split + 1) / rowSplits) * mr);
            int jBegin = unit % colBlocks * panelsPerUnit * nr, jEnd = Math.min(n, jBegin + panelsPerUnit * nr);
            kernels.tileIndex(rowStride, kStride, tileIndex[worker]);
            for (int p0 = 0; p0 < k; p0 += kc) {
                int depth = Math.min(kc, k - p0);
                if (!bInPlace) {
                    for (int j0 = jBegin, q = 0; j0 < jEnd; j0 += nr, q += depth * nr) {
                        packPanel(b, bOff, ldb, transB, j0, Math.min(nr, n - j0), p0, depth, pack, q, nr, worker);
                    }
                }
                for (int i0 = iBegin; i0 < iEnd; i0 += MC) {
                    int i1 = Math.min(iEnd, i0 + MC);
                    packA(aPack, i0, i1, p0, depth, worker);
                    for (int j0 = jBegin, q = 0; j0 < jEnd; j0 += nr, q += depth * nr) {
                        int width = Math.min(nr, n - j0);
                        if (bInPlace && width == nr) {
                            int panel = bOff + p0 * ldb + j0;
                            for (int t = i0, at = 0; t < i1; t += mr, at += mr * depth) {
                                kernels.gemmTileInPlace(aPack, at, Math.min(mr, i1 - t), b, panel, ldb, depth,
                                        c, cOff + t * n + j0, n, alpha, beta, p0 == 0, tmp);
                            }
                            continue;
                        }
                        int panel = q;
                        if (bInPlace) { // a short last panel: packed, zero-padded to the kernel's width
                            packPanel(b, bOff, ldb, false, j0, width, p0, depth, pack, 0, nr, worker);
                            panel = 0;
                        }
                        for (int t = i0, at = 0; t < i1; t += mr, at += mr * depth) {
                            kernels.gemmTile(aPack, at, Math.min(mr, i1 - t), pack, panel, depth,
                                    c, cOff + t * n + j0, n, width, alpha, beta, p0 == 0, tmp);
                        }
                    }
                }
            }
        }

        /**
         * Rows {@code [i0, i1)} of op(A), columns {@code [p0, p0 + depth)}, as consecutive tiles of MR rows, each
         * k-major: {@code dst[t * MR * depth + p * MR + r] = op(A)(i0 + t * MR + r, p0 + p)}. The missing rows of a
         * short last tile are left as they are: the kernel never reads them.
         */
        private void packA(float[] dst, int i0, int i1, int p0, int depth, int worker) {
            int mr = Kernels.MR;
            for (int t = i0, d = 0; t < i1; t += mr, d += mr * depth) {
                int rows = Math.min(mr, i1 - t);
                int src = aOff + t * rowStride + p0 * kStride;
                if (rows == mr) {
                    kernels.packTile(a, src, rowStride, kStride, depth, dst, d, tileIndex[worker]);
                } else { // the short last tile, one element at a time
                    for (int p = 0; p < depth; p++) {
                        for (int r = 0; r < rows; r++) {
                            dst[d + p * mr + r] = a[src + p * kStride + r * rowStride];
                        }
                    }
                }
            }
        }

    }

    /**
     * Packs a panel of op(B) for a GEMM tile kernel: {@code dst[q + p * nr + j] = op(B)(p0 + p, j0 + j)} for j < width,
     * zero for j in {@code [width, nr)}, p in {@code [0, kc)}: k-major, zero-padded. op(B) is {@code b} from
     * {@code bOff}, {@code ldb} apart, transposed when {@code transB}.
     */
    private void packPanel(float[] b, int bOff, int ldb, boolean transB, int j0, int width, int p0, int kc,
                           float[] dst, int q, int nr, int worker) {
        if (transB) { // op(B)(p, j) = b[j * ldb + p]: read rows of b, write columns of the panel
            kernels.packTransposed(b, bOff + j0 * ldb + p0, ldb, width, kc, dst, q, nr, gatherIndex[worker]);
        } else {
            for (int p = 0; p < kc; p++) { // a vector copy: System.arraycopy's call costs more for 48 floats
                kernels.copy(b, bOff + (p0 + p) * ldb + j0, dst, q + p * nr, width);
            }
        }
        if (width < nr) {
            for (int p = 0; p < kc; p++) {
                java.util.Arrays.fill(dst, q + p * nr + width, q + (p + 1) * nr, 0f);
            }
        }
    }

    // ---- bias, ReLU, column sums ----

    @Override
    public void biasActivation(Tensor z, Tensor bias, boolean relu) {
        requireShape("biasActivation", "bias", bias, 1, z.cols());
        int worker = pool.currentWorker();
        BiasJob j = lanes[worker].bias;
        j.z = f32(z);
        j.zOff = off(z);
        j.bias = f32(bias);
        j.bOff = off(bias);
        j.rows = z.rows();
        j.cols = z.cols();
        j.relu = relu;
        j.rowsPerUnit = Math.max(1, ELEMENT_CHUNK / Math.max(1, j.cols));
        dispatch(worker, j, (j.rows + j.rowsPerUnit - 1) / j.rowsPerUnit, z.size(), ELEMENTWISE_PARALLEL_MIN);
    }

    /** z (B, O) += bias (1, O), ReLU optional: rows split over threads (elementwise, so any split is exact). */
    private final class BiasJob implements WorkerPool.Job {
        float[] z, bias;
        int zOff, bOff, rows, cols, rowsPerUnit;
        boolean relu;

        @Override
        public void run(int unit, int worker) {
            int r0 = unit * rowsPerUnit;
            kernels.biasActivation(z, zOff, bias, bOff, cols, r0, Math.min(rows, r0 + rowsPerUnit), relu,
                    biasPattern[worker]);
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
        int worker = pool.currentWorker();
        ColumnJob j = lanes[worker].column;
        j.x = f32(x);
        j.xOff = off(x);
        j.h = h;
        j.hOff = hOff;
        j.rows = x.rows();
        j.cols = x.cols();
        j.out = f32(out);
        j.outOff = off(out);
        dispatch(worker, j, (j.cols + COLUMN_STRIP - 1) / COLUMN_STRIP, x.size(), ELEMENTWISE_PARALLEL_MIN);
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
        public void run(int unit, int worker) {
            int j0 = unit * COLUMN_STRIP;
            kernels.columnSums(x, xOff, h, hOff, rows, cols, j0, Math.min(cols, j0 + COLUMN_STRIP), out, outOff,
                    tileScratch[worker]);
        }
    }

    // ---- loss ----

    /**
     * The reference's arithmetic with one exp per logit instead of two, and an exp made of fused multiply-adds
     * ({@link Kernels#expNonPositive}, faster than {@link Math#exp}) over the whole (B, C) block at once. On the
     * caller (B x C is small); the log stays {@link Math#log}, one per row.
     */
    @Override
    public void softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits, Tensor stats) {
        int rows = logits.rows(), classes = logits.cols();
        requireShape("softmaxCrossEntropy", "labels", labels, rows, 1);
        requireShape("softmaxCrossEntropy", "dlogits", dlogits, rows, classes);
        requireShape("softmaxCrossEntropy", "stats", stats, 1, 2);
        float[] z = f32(logits), dz = f32(dlogits), s = f32(stats);
        int[] y = i32(labels);
        int zo = off(logits), dzo = off(dlogits), yo = off(labels);
        Lane lane = lanes[pool.currentWorker()];
        if (lane.shiftedLabels.length < rows) {
            lane.shiftedLabels = new float[rows]; // once per larger batch, not per step
        }
        float[] shifted = lane.shiftedLabels;
        // dz (B, C) = z - row max, then exp of it in place. The max is a > b ? a : b, not Math.max: one maxss instead
        // of a NaN-and-signed-zero sequence on the critical path. The results are the same: a row with a NaN is
        // all NaN either way (its exp is NaN, so is the sum), and a max of -0 or +0 subtracts to the same values.
        for (int r = 0; r < rows; r++) {
            int row = zo + r * classes, drow = dzo + r * classes, label = y[yo + r];
            checkLabel(label, classes);
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < classes; j++) {
                float v = z[row + j];
                max = v > max ? v : max;
            }
            for (int j = 0; j < classes; j++) {
                dz[drow + j] = z[row + j] - max;
            }
            shifted[r] = dz[drow + label];
        }
        kernels.expNonPositive(dz, dzo, rows * classes);
        float invRows = 1f / rows;
        float lossSum = 0f;
        for (int r = 0; r < rows; r++) {
            int drow = dzo + r * classes, label = y[yo + r];
            float sum = 0f;
            for (int j = 0; j < classes; j++) {
                sum += dz[drow + j];
            }
            lossSum += (float) Math.log(sum) - shifted[r];
            float inv = 1f / sum; // one division a row; e * (1 / sum) is within 1.5 ulps of e / sum
            for (int j = 0; j < classes; j++) {
                dz[drow + j] = dz[drow + j] * inv * invRows;
            }
            dz[drow + label] -= invRows;
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
        int worker = pool.currentWorker();
        GatherJob j = lanes[worker].gather;
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
        // In a step replica, touch only the replica's own rows: the rows after them are the next replica's, most likely
        // run by another core, which would then fetch them from this core's cache (slow between these vCPUs).
        j.ownRows = alone(worker);
        j.touchEnd = j.ownRows ? j.orderOff + rows : off(order) + n;
        dispatch(worker, j, (rows + GATHER_ROWS - 1) / GATHER_ROWS, (long) rows * pixels, ELEMENTWISE_PARALLEL_MIN);
    }

    /**
     * x (B, P) = images[order[s + r]] / 255 and y (B, 1) = labels[order[s + r]], rows split over threads.
     *
     * <p>Each row also touches one byte of every cache line of the row {@link #GATHER_AHEAD} places further in the
     * order (in the next batch when the batch is small), when the order has one: real data sets are tens of
     * megabytes read in random rows, and a row that has to come from memory while it is converted stalls the
     * conversion (MNIST at batch 64: 6 µs a batch from cache, 35 µs from memory). The touches are independent
     * loads, so the memory system fetches many lines at once, and the row is in the cache by its turn. They only
     * read; results are unchanged.
     */
    private final class GatherJob implements WorkerPool.Job {
        byte[] images;
        int[] labels, order, y;
        float[] x;
        int imagesOff, labelsOff, orderOff, xOff, yOff, rows, pixels, n, touchEnd;
        /** A replica's gather: touches stay inside its rows, so the first unit touches the first rows itself. */
        boolean ownRows;
        /** Folds the touched bytes, so that the JIT cannot drop the loads; never read for anything else. */
        int touched;

        @Override
        public void run(int unit, int worker) {
            int fold = 0;
            int r0 = unit * GATHER_ROWS, r1 = Math.min(rows, r0 + GATHER_ROWS);
            if (ownRows && unit == 0) {
                for (int r = 0; r < Math.min(rows, GATHER_AHEAD); r++) {
                    fold += touch(orderOff + r);
                }
            }
            // all touches first: more misses in flight at once. The bound is computed, not tested in the loop: the JIT
            // hoists such a test on the strength of its profile and recompiles when a replica's last unit fails it
            int ahead = orderOff + GATHER_AHEAD;
            for (int at = ahead + r0, end = Math.min(ahead + r1, touchEnd); at < end; at++) {
                fold += touch(at);
            }
            for (int r = r0; r < r1; r++) {
                int sample = order[orderOff + r];
                if (sample < 0 || sample >= n) {
                    throw new IllegalArgumentException("gatherBatch: order names sample " + sample + ", outside 0.." + (n - 1));
                }
                kernels.scaleBytes(images, imagesOff + sample * pixels, x, xOff + r * pixels, pixels);
                y[yOff + r] = labels[labelsOff + sample];
            }
            touched = fold; // a plain write: a race between threads here is harmless
        }

        /** Loads one byte of every cache line of the image at order position {@code at} (none if out of range). */
        private int touch(int at) {
            int sample = order[at], fold = 0;
            if (sample >= 0 && sample < n) {
                int base = imagesOff + sample * pixels;
                for (int p = 0; p < pixels; p += 64) {
                    fold += images[base + p];
                }
                fold += images[base + pixels - 1];
            }
            return fold;
        }
    }

    // ---- optimizers ----

    @Override
    public void sgd(Tensor params, Tensor grads, Tensor velocity, Tensor lr, float momentum, float weightDecay) {
        requireShape("sgd", "grads", grads, params.rows(), params.cols());
        requireShape("sgd", "velocity", velocity, params.rows(), params.cols());
        int worker = pool.currentWorker();
        SgdJob j = lanes[worker].sgd;
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
        dispatch(worker, j, chunks(j.q), params.size(), ELEMENTWISE_PARALLEL_MIN);
    }

    /** One SGD pass over Q parameters, in units of {@link #ELEMENT_CHUNK} elements. */
    private final class SgdJob implements WorkerPool.Job {
        float[] p, g, v;
        int po, go, vo, q;
        float rate, momentum, weightDecay;

        @Override
        public void run(int unit, int worker) {
            int i0 = unit * ELEMENT_CHUNK;
            kernels.sgd(p, po, g, go, v, vo, i0, Math.min(q, i0 + ELEMENT_CHUNK), rate, momentum, weightDecay);
        }
    }

    @Override
    public void adam(Tensor params, Tensor grads, Tensor m, Tensor v, Tensor step, Tensor lr,
                     float beta1, float beta2, float eps, float weightDecay, boolean decoupled) {
        requireShape("adam", "grads", grads, params.rows(), params.cols());
        requireShape("adam", "m", m, params.rows(), params.cols());
        requireShape("adam", "v", v, params.rows(), params.cols());
        int t = i32(step)[off(step)];
        int worker = pool.currentWorker();
        AdamJob j = lanes[worker].adam;
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
        dispatch(worker, j, chunks(j.q), params.size(), ADAM_PARALLEL_MIN);
    }

    /** One Adam pass over Q parameters, in units of {@link #ELEMENT_CHUNK} elements. */
    private final class AdamJob implements WorkerPool.Job {
        float[] p, g, m, v;
        int po, go, mo, vo, q;
        float rate, beta1, beta2, eps, weightDecay, bc1, bc2;
        boolean decoupled;

        @Override
        public void run(int unit, int worker) {
            int i0 = unit * ELEMENT_CHUNK;
            kernels.adam(p, po, g, go, m, mo, v, vo, i0, Math.min(q, i0 + ELEMENT_CHUNK),
                    rate, beta1, beta2, eps, weightDecay, decoupled, bc1, bc2);
        }
    }

    // ---- splitting work ----

    /**
     * Runs {@code units} units of {@code job} issued on thread {@code worker}: all on that thread inside a replica
     * (the other threads run replicas of their own) or when {@code work} is below {@code parallelMin}, else over the
     * pool.
     */
    private void dispatch(int worker, WorkerPool.Job job, int units, long work, long parallelMin) {
        if (alone(worker) || work < parallelMin || pool.size() == 1) {
            for (int u = 0; u < units; u++) {
                job.run(u, worker);
            }
        } else {
            pool.run(job, units);
        }
    }

    /**
     * Whether an op issued on thread {@code worker} must run whole on it: on a pool worker, or on the caller while
     * it runs replicas (the other threads run replicas of their own).
     */
    private boolean alone(int worker) {
        return worker != 0 || callerInReplica;
    }

    // ---- replicas ----

    /**
     * Up to {@value #MAX_REPLICAS} replicas of at least {@value #REPLICA_MIN_ROWS} rows for networks of up to
     * {@link #REPLICA_MAX_PARAMETERS} parameters, else 1. Small networks leave each op too little work to split
     * (the seed net's ops take microseconds, and every hand-off costs one); whole replicas split well and keep a
     * replica's rows in its core's cache from the gather to the weight gradient. Independent of the thread count.
     */
    @Override
    public int localReplicas(int rows, long parameters) {
        if (parameters > REPLICA_MAX_PARAMETERS) {
            return 1;
        }
        return Math.clamp(rows / REPLICA_MIN_ROWS, 1, maxReplicas);
    }

    /**
     * Runs the replicas over the pool; every op a replica issues runs whole on the thread that claimed it. A single
     * replica runs on the caller like any sequence of ops, each split over the pool.
     */
    @Override
    public void forEachReplica(int replicas, IntConsumer body) {
        if (alone(pool.currentWorker())) {
            throw new IllegalStateException("forEachReplica inside a replica");
        }
        if (replicas == 1) {
            body.accept(0);
            return;
        }
        ReplicaJob j = replicaJob;
        j.body = body;
        callerInReplica = true;
        try {
            pool.run(j, replicas);
        } finally {
            callerInReplica = false;
            j.body = null;
        }
    }

    private static final class ReplicaJob implements WorkerPool.Job {
        IntConsumer body;

        @Override
        public void run(int unit, int worker) {
            body.accept(unit);
        }
    }

    private static int chunks(int elements) {
        return (elements + ELEMENT_CHUNK - 1) / ELEMENT_CHUNK;
    }

    @Override
    public void close() {
        pool.close();
    }
}
