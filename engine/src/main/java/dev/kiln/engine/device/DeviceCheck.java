package dev.kiln.engine.device;

import dev.kiln.data.Shuffle;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiConsumer;

/**
 * Runs every {@link Device} operation on a candidate device and on the {@link ReferenceDevice} with the same
 * seeded random inputs, over awkward shapes (1, 7, 10, 25, 784; batches that are not multiples of a vector lane or
 * a thread block), and compares: {@code |got - ref| <= atol + rtol * |ref|}. Outputs are poisoned with NaN first
 * where an operation must overwrite them. It backs the conformance tests of every backend and
 * {@code kiln devices --check}, which turns it on real hardware.
 *
 * <p>It is deliberately not a benchmark: shapes are small enough for the reference to run in a second.
 */
public final class DeviceCheck {
    private DeviceCheck() {
    }

    /** {@code |got - ref| <= atol + rtol * |ref|}; the reason says why these numbers. */
    public record Tolerance(double atol, double rtol, String reason) {
        boolean accepts(double got, double ref) {
            if (Double.isNaN(got) || Double.isNaN(ref)) {
                return Double.isNaN(got) && Double.isNaN(ref);
            }
            return Math.abs(got - ref) <= atol + rtol * Math.abs(ref);
        }
    }

    // ---- every tolerance in one place ----

    /** Exact: integer outputs, copies, and elementwise ops whose IEEE result is unique. */
    public static final Tolerance EXACT = new Tolerance(0, 0, "integers, copies and single IEEE operations are exact");
    /** One rounding of difference: x / 255 against x * (1 / 255f), fused multiply-add against two roundings. */
    public static final Tolerance ELEMENTWISE = new Tolerance(1e-7, 1e-6, "a single op may round once differently (FMA, reciprocal)");

    /** A dot product of length k summed in another order: error grows with k; inputs are U(-1, 1). */
    public static Tolerance sum(int k) {
        return new Tolerance(2e-6 * k, 1e-5, "sums of " + k + " terms in a different order (blocked, parallel, FMA)");
    }

    /** exp/log from another library (CUDA's expf, a vector exp) differ by a few ulps; the loss is a sum over rows. */
    public static final Tolerance TRANSCENDENTAL = new Tolerance(1e-6, 1e-5, "exp/log/sqrt/pow implementations differ by a few ulps");

    /** The loss sum of a batch of {@code rows}: one log per row, each a few ulps apart, summed in another order. */
    public static Tolerance lossSum(int rows) {
        return new Tolerance(1e-5 * rows, 1e-5, "a sum of " + rows + " logs");
    }

    /** One comparison: which op, on which shape, how far apart, and whether that is within tolerance. */
    public record Result(String op, String shape, double maxAbsError, double maxRelError, Tolerance tolerance,
                         boolean passed, String firstMismatches) {
        @Override
        public String toString() {
            return String.format("%-20s %-28s max abs %.2e  max rel %.2e  %s%s", op, shape, maxAbsError, maxRelError,
                    passed ? "ok" : "FAIL", passed ? "" : "  " + firstMismatches);
        }
    }

    // (m, n, k): C (m, n) = op(A) (m, k) op(B) (k, n). Forward, weight-gradient and input-gradient shapes of
    // 784-25-10 nets, with batches 1, 7, 63, 65, 1000; then a slice of the wide net (784-1024-1024-10): many column
    // panels, a sum longer than one cache block (k = 260), a ragged last row and column block.
    private static final int[][] GEMM_SHAPES = {
            {1, 1, 1}, {7, 10, 25}, {63, 25, 784}, {25, 784, 65}, {65, 784, 25}, {1000, 10, 25}, {10, 25, 1000}, {1, 25, 784},
            {37, 1030, 260},
    };

    /** The (m, n, k) shapes every GEMM is checked at, each with op(A) and op(B) transposed or not. */
    public static int[][] gemmShapes() {
        int[][] copy = new int[GEMM_SHAPES.length][];
        for (int i = 0; i < copy.length; i++) {
            copy[i] = GEMM_SHAPES[i].clone();
        }
        return copy;
    }

    /** Runs every operation on the candidate with inputs drawn from {@code seed}; one result per op and shape. */
    public static List<Result> run(Device candidate, long seed) {
        Run run = new Run(candidate, new ReferenceDevice(), seed);
        run.gemms();
        run.elementwise();
        run.losses();
        run.gather();
        run.optimizers();
        return run.results;
    }

    /** True when every result passed. */
    public static boolean allPassed(List<Result> results) {
        return results.stream().allMatch(Result::passed);
    }

    /** The same input tensor on both devices. */
    private record Twin(Tensor got, Tensor ref) {
    }

    private static final class Run {
        final Device dev;
        final Device ref;
        final SplittableRandom rng;
        final List<Result> results = new ArrayList<>();

        Run(Device dev, Device ref, long seed) {
            this.dev = dev;
            this.ref = ref;
            this.rng = new SplittableRandom(seed);
        }

        Twin floats(int rows, int cols, float lo, float hi) {
            float[] v = new float[rows * cols];
            for (int i = 0; i < v.length; i++) {
                v[i] = lo + (hi - lo) * (float) rng.nextDouble();
            }
            return upload(v, rows, cols);
        }

        Twin upload(float[] v, int rows, int cols) {
            Tensor a = dev.allocate(DType.F32, rows, cols), b = ref.allocate(DType.F32, rows, cols);
            dev.upload(v, a);
            ref.upload(v, b);
            return new Twin(a, b);
        }

        Twin ints(int rows, int cols, int bound) {
            int[] v = new int[rows * cols];
            for (int i = 0; i < v.length; i++) {
                v[i] = rng.nextInt(bound);
            }
            return uploadInts(v, rows, cols);
        }

        Twin uploadInts(int[] v, int rows, int cols) {
            Tensor a = dev.allocate(DType.I32, rows, cols), b = ref.allocate(DType.I32, rows, cols);
            dev.upload(v, a);
            ref.upload(v, b);
            return new Twin(a, b);
        }

        /** An output tensor on both devices, poisoned with NaN on the candidate so unwritten elements show. */
        Twin poisoned(int rows, int cols) {
            Twin t = new Twin(dev.allocate(DType.F32, rows, cols), ref.allocate(DType.F32, rows, cols));
            dev.fill(t.got, Float.NaN);
            return t;
        }

        void compare(String op, String shape, Twin t, Tolerance tol) {
            float[] got = new float[(int) t.got.size()], want = new float[(int) t.ref.size()];
            dev.download(t.got, got);
            ref.download(t.ref, want);
            double maxAbs = 0, maxRel = 0;
            StringBuilder first = new StringBuilder();
            int bad = 0;
            for (int i = 0; i < got.length; i++) {
                double abs = Math.abs((double) got[i] - want[i]);
                if (!Double.isNaN(abs)) {
                    maxAbs = Math.max(maxAbs, abs);
                    maxRel = Math.max(maxRel, abs / Math.max(Math.abs(want[i]), 1e-30));
                }
                if (!tol.accepts(got[i], want[i])) {
                    if (bad++ < 3) {
                        first.append(String.format("[%d] got %s want %s; ", i, got[i], want[i]));
                    }
                }
            }
            if (bad > 0) {
                first.append(bad).append(" of ").append(got.length).append(" outside tolerance (").append(tol.reason()).append(')');
            }
            results.add(new Result(op, shape, maxAbs, maxRel, tol, bad == 0, first.toString()));
        }

        void compareInts(String op, String shape, Twin t) {
            int[] got = new int[(int) t.got.size()], want = new int[(int) t.ref.size()];
            dev.download(t.got, got);
            ref.download(t.ref, want);
            int bad = 0;
            StringBuilder first = new StringBuilder();
            double maxAbs = 0;
            for (int i = 0; i < got.length; i++) {
                if (got[i] != want[i]) {
                    maxAbs = Math.max(maxAbs, Math.abs((double) got[i] - want[i]));
                    if (bad++ < 3) {
                        first.append(String.format("[%d] got %d want %d; ", i, got[i], want[i]));
                    }
                }
            }
            if (bad > 0) {
                first.append(bad).append(" of ").append(got.length).append(" differ");
            }
            results.add(new Result(op, shape, maxAbs, maxAbs, EXACT, bad == 0, first.toString()));
        }

        void both(Twin a, BiConsumer<Device, Tensor> op) {
            op.accept(dev, a.got);
            op.accept(ref, a.ref);
        }

        void gemms() {
            for (int[] s : GEMM_SHAPES) { // each with op(A) and op(B) transposed or not
                int m = s[0], n = s[1], k = s[2];
                for (int variant = 0; variant < 4; variant++) {
                    boolean ta = (variant & 1) != 0, tb = (variant & 2) != 0;
                    Twin a = ta ? floats(k, m, -1, 1) : floats(m, k, -1, 1);
                    Twin b = tb ? floats(n, k, -1, 1) : floats(k, n, -1, 1);
                    Twin c = poisoned(m, n);
                    dev.gemm(ta, tb, 1f, a.got, b.got, 0f, c.got);
                    ref.gemm(ta, tb, 1f, a.ref, b.ref, 0f, c.ref);
                    compare("gemm" + (ta ? "T" : "N") + (tb ? "T" : "N"), m + "x" + n + "x" + k, c, sum(k));
                }
            }
            // alpha and beta: C = 0.5 A B + 1 C, accumulating into existing values
            alphaBeta("gemm alpha,beta", false, false, 7, 10, 25, 0.5f, 1f);
            // the same over a long sum (k = 300), which blocked GEMMs accumulate into C in several passes
            alphaBeta("gemm TT alpha,beta", true, true, 23, 41, 300, -0.75f, 0.5f);
            // and for a few columns over a long sum
            alphaBeta("gemm NN alpha,beta", false, false, 9, 17, 300, -0.75f, 0.5f);
        }

        /** {@code C (m, n) = alpha op(A) op(B) + beta C} on random operands and a random C, against the reference. */
        private void alphaBeta(String op, boolean ta, boolean tb, int m, int n, int k, float alpha, float beta) {
            Twin a = ta ? floats(k, m, -1, 1) : floats(m, k, -1, 1);
            Twin b = tb ? floats(n, k, -1, 1) : floats(k, n, -1, 1);
            Twin c = floats(m, n, -1, 1);
            dev.gemm(ta, tb, alpha, a.got, b.got, beta, c.got);
            ref.gemm(ta, tb, alpha, a.ref, b.ref, beta, c.ref);
            compare(op, m + "x" + n + "x" + k, c, sum(k));
        }

        static final int[][] ROWS_COLS = {{1, 1}, {1, 25}, {7, 10}, {63, 25}, {64, 25}, {65, 784}, {1000, 10}};

        void elementwise() {
            for (int[] s : ROWS_COLS) {
                int rows = s[0], cols = s[1];
                String shape = rows + "x" + cols;
                for (boolean relu : new boolean[]{false, true}) {
                    Twin z = floats(rows, cols, -1, 1), bias = floats(1, cols, -1, 1);
                    dev.biasActivation(z.got, bias.got, relu);
                    ref.biasActivation(z.ref, bias.ref, relu);
                    compare(relu ? "biasRelu" : "bias", shape, z, EXACT);
                }
                Twin dh = floats(rows, cols, -1, 1), h = reluOutput(rows, cols), db = poisoned(1, cols);
                dev.reluBackward(dh.got, h.got, db.got);
                ref.reluBackward(dh.ref, h.ref, db.ref);
                compare("reluBackward", shape, dh, EXACT);
                compare("reluBackward dbias", shape, db, sum(rows));

                Twin x = floats(rows, cols, -1, 1), sums = poisoned(1, cols);
                dev.columnSums(x.got, sums.got);
                ref.columnSums(x.ref, sums.ref);
                compare("columnSums", shape, sums, sum(rows));
            }
        }

        /** A ReLU output: about half exact zeros, the rest positive. */
        Twin reluOutput(int rows, int cols) {
            float[] v = new float[rows * cols];
            for (int i = 0; i < v.length; i++) {
                v[i] = rng.nextBoolean() ? 0f : (float) rng.nextDouble();
            }
            return upload(v, rows, cols);
        }

        void losses() {
            int[][] shapes = {{1, 10}, {7, 10}, {63, 10}, {65, 3}, {1000, 10}, {64, 1}};
            for (int[] s : shapes) {
                int rows = s[0], classes = s[1];
                String shape = rows + "x" + classes;
                Twin logits = floats(rows, classes, -8, 8), labels = ints(rows, 1, classes);
                Twin dz = poisoned(rows, classes);
                Twin stats = upload(new float[]{0.25f, 3f}, 1, 2);
                dev.softmaxCrossEntropy(logits.got, labels.got, dz.got, stats.got);
                ref.softmaxCrossEntropy(logits.ref, labels.ref, dz.ref, stats.ref);
                compare("softmaxXent dlogits", shape, dz, TRANSCENDENTAL);
                dev.countCorrect(logits.got, labels.got, stats.got);
                ref.countCorrect(logits.ref, labels.ref, stats.ref);
                compare("softmaxXent+count stats", shape, stats, lossSum(rows));

                Twin pred = uploadInts(new int[rows], rows, 1);
                dev.argmax(logits.got, pred.got);
                ref.argmax(logits.ref, pred.ref);
                compareInts("argmax", shape, pred);
            }
            // huge logits must not overflow: the row max is subtracted first
            Twin big = upload(new float[]{1e4f, -1e4f, 0f, 9990f, 1e4f, 5f}, 2, 3);
            Twin labels = uploadInts(new int[]{1, 2}, 2, 1);
            Twin dz = poisoned(2, 3), stats = upload(new float[2], 1, 2);
            dev.softmaxCrossEntropy(big.got, labels.got, dz.got, stats.got);
            ref.softmaxCrossEntropy(big.ref, labels.ref, dz.ref, stats.ref);
            compare("softmaxXent 1e4", "2x3", dz, TRANSCENDENTAL);
            compare("softmaxXent 1e4 loss", "2x3", stats, TRANSCENDENTAL);
        }

        void gather() {
            int n = 130, pixels = 784;
            byte[] img = new byte[n * pixels];
            for (int i = 0; i < img.length; i++) {
                img[i] = (byte) rng.nextInt(256);
            }
            Tensor imgGot = dev.allocate(DType.U8, n, pixels), imgRef = ref.allocate(DType.U8, n, pixels);
            dev.upload(img, imgGot);
            ref.upload(img, imgRef);
            Twin labels = ints(n, 1, 10);
            int[] perm = Shuffle.order(n, rng.nextLong(), 0);
            Twin order = uploadInts(perm, n, 1);
            for (int[] s : new int[][]{{0, 1}, {0, 64}, {64, 65}, {129, 1}, {7, 63}}) {
                int start = s[0], rows = s[1];
                Twin cursor = uploadInts(new int[]{start}, 1, 1);
                Twin x = poisoned(rows, pixels);
                Twin y = uploadInts(new int[rows], rows, 1);
                dev.gatherBatch(imgGot, labels.got, order.got, cursor.got, x.got, y.got);
                ref.gatherBatch(imgRef, labels.ref, order.ref, cursor.ref, x.ref, y.ref);
                String shape = rows + " rows from " + start;
                compare("gatherBatch x", shape, x, ELEMENTWISE);
                compareInts("gatherBatch y", shape, y);
                dev.addInt(cursor.got, rows);
                ref.addInt(cursor.ref, rows);
                compareInts("addInt", shape, cursor);
            }
        }

        void optimizers() {
            for (int q : new int[]{1, 7, 19_885, 100_000}) {
                String shape = "Q=" + q;
                for (float momentum : new float[]{0f, 0.9f}) {
                    Twin p = floats(q, 1, -1, 1), g = floats(q, 1, -1, 1), vel = floats(q, 1, -0.1f, 0.1f);
                    Twin lr = upload(new float[]{0.05f}, 1, 1);
                    for (int step = 0; step < 3; step++) {
                        dev.sgd(p.got, g.got, vel.got, lr.got, momentum, 1e-4f);
                        ref.sgd(p.ref, g.ref, vel.ref, lr.ref, momentum, 1e-4f);
                    }
                    compare("sgd m=" + momentum, shape, p, ELEMENTWISE);
                }
                for (boolean decoupled : new boolean[]{false, true}) {
                    Twin p = floats(q, 1, -1, 1), g = floats(q, 1, -1, 1);
                    Twin m = floats(q, 1, -0.1f, 0.1f), v = floats(q, 1, 0f, 0.01f);
                    Twin lr = upload(new float[]{1e-3f}, 1, 1);
                    Twin step = uploadInts(new int[]{0}, 1, 1);
                    for (int s = 0; s < 3; s++) {
                        both(step, (d, t) -> d.addInt(t, 1));
                        dev.adam(p.got, g.got, m.got, v.got, step.got, lr.got, 0.9f, 0.999f, 1e-8f, 0.01f, decoupled);
                        ref.adam(p.ref, g.ref, m.ref, v.ref, step.ref, lr.ref, 0.9f, 0.999f, 1e-8f, 0.01f, decoupled);
                    }
                    String op = decoupled ? "adamw" : "adam";
                    compare(op + " params", shape, p, TRANSCENDENTAL);
                    compare(op + " m", shape, m, ELEMENTWISE);
                    compare(op + " v", shape, v, ELEMENTWISE);
                }
            }
        }
    }
}
