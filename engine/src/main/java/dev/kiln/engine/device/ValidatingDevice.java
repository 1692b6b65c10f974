package dev.kiln.engine.device;

import dev.kiln.data.KilnException;

import java.util.Arrays;
import java.util.function.Supplier;

/**
 * A device that turns any run into a differential test ({@code --validate}, like tinygrad's
 * {@code VALIDATE_WITH_CPU=1}): every operation runs on a candidate device and on a {@link ReferenceDevice} mirror,
 * then the outputs it wrote are downloaded from both and compared with {@link DeviceCheck}'s tolerances. The first
 * disagreement is a {@link KilnException} naming the op, the shapes, the first mismatching element, the max error
 * and the tolerance.
 *
 * <p>After each agreeing op the candidate's outputs are copied into the reference twin, so every op is checked on
 * identical inputs and rounding differences (float sums in another order) cannot compound across a run into a
 * false alarm. Results the caller sees ({@link #download}) are the candidate's, so a validated run computes what
 * the candidate alone would, bit for bit.
 *
 * <p>It is deliberately slow (every op waits for the candidate and transfers its outputs), never captures graphs
 * ({@link #replayable} runs the body eagerly, so each op is checked) and prints nothing.
 */
public final class ValidatingDevice implements Device {

    /** The storage of every tensor this device hands out: the candidate's allocation and its reference twin. */
    private record Twin(Tensor candidate, Tensor reference) {
    }

    private final Device candidate;
    private final ReferenceDevice reference = new ReferenceDevice();
    private long validatedOps;
    private float[] gotF = new float[0], wantF = new float[0]; // download buffers, grown on demand
    private int[] gotI = new int[0], wantI = new int[0];

    /** Validates {@code candidate}; closing this device closes it. */
    public ValidatingDevice(Device candidate) {
        if (candidate instanceof ValidatingDevice) {
            throw new IllegalArgumentException("the device is already validated: " + candidate.name());
        }
        this.candidate = candidate;
    }

    /** The device under test. */
    public Device candidate() {
        return candidate;
    }

    /** Operations run on both devices and found to agree so far. */
    public long validatedOps() {
        return validatedOps;
    }

    @Override
    public String name() {
        return candidate.name() + "+validate";
    }

    @Override
    public String description() {
        return candidate.description() + ", every op validated against the reference CPU device";
    }

    /** The description, so that printing a device says what it is. */
    @Override
    public String toString() {
        return description();
    }

    @Override
    public Tensor allocate(DType dtype, int rows, int cols) {
        Twin twin = new Twin(candidate.allocate(dtype, rows, cols), reference.allocate(dtype, rows, cols));
        return new Tensor(this, twin, dtype, 0, rows, cols);
    }

    // ---- from a tensor of this device to the same window on each inner device ----

    private Twin twin(Tensor t) {
        if (t.device() != this || !(t.storage() instanceof Twin tw)) {
            throw new IllegalArgumentException("tensor " + t + " was not allocated by the validating device " + name());
        }
        return tw;
    }

    private Tensor cand(Tensor t) {
        return window(t, twin(t).candidate());
    }

    private Tensor ref(Tensor t) {
        return window(t, twin(t).reference());
    }

    /**
     * The view {@code outer} is of this device's allocation, applied to an inner allocation. Tensors of this device
     * start at offset 0, so a view's offset is its distance from the allocation's start; the inner device may
     * place its allocation at any offset of its own storage.
     */
    private static Tensor window(Tensor outer, Tensor base) {
        if (outer.offset() == 0 && outer.rows() == base.rows() && outer.cols() == base.cols()) {
            return base;
        }
        return new Tensor(base.device(), base.storage(), outer.dtype(), base.offset() + outer.offset(),
                outer.rows(), outer.cols());
    }

    // ---- transfers: uploads go to both, downloads come from the candidate ----

    @Override
    public void upload(float[] src, Tensor dst) {
        candidate.upload(src, cand(dst));
        reference.upload(src, ref(dst));
    }

    @Override
    public void upload(int[] src, Tensor dst) {
        candidate.upload(src, cand(dst));
        reference.upload(src, ref(dst));
    }

    @Override
    public void upload(byte[] src, Tensor dst) {
        candidate.upload(src, cand(dst));
        reference.upload(src, ref(dst));
    }

    @Override
    public void download(Tensor src, float[] dst) {
        candidate.download(cand(src), dst);
    }

    @Override
    public void download(Tensor src, int[] dst) {
        candidate.download(cand(src), dst);
    }

    // ---- operations: run on both, then compare what each wrote ----

    @Override
    public void fill(Tensor t, float value) {
        candidate.fill(cand(t), value);
        reference.fill(ref(t), value);
        check("fill", () -> "t " + dims(t) + ", value " + value, new Output("t", t, DeviceCheck.EXACT));
    }

    @Override
    public void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c) {
        candidate.gemm(transA, transB, alpha, cand(a), cand(b), beta, cand(c));
        reference.gemm(transA, transB, alpha, ref(a), ref(b), beta, ref(c));
        int k = transA ? a.rows() : a.cols();
        check("gemm" + (transA ? "T" : "N") + (transB ? "T" : "N"),
                () -> "A " + dims(a) + ", B " + dims(b) + ", C " + dims(c) + ", alpha " + alpha + ", beta " + beta,
                new Output("C", c, DeviceCheck.sum(k)));
    }

    @Override
    public void biasActivation(Tensor z, Tensor bias, boolean relu) {
        candidate.biasActivation(cand(z), cand(bias), relu);
        reference.biasActivation(ref(z), ref(bias), relu);
        check(relu ? "biasActivation(relu)" : "biasActivation", () -> "z " + dims(z) + ", bias " + dims(bias),
                new Output("z", z, DeviceCheck.EXACT));
    }

    @Override
    public void reluBackward(Tensor dh, Tensor h, Tensor dbias) {
        candidate.reluBackward(cand(dh), cand(h), cand(dbias));
        reference.reluBackward(ref(dh), ref(h), ref(dbias));
        check("reluBackward", () -> "dh " + dims(dh) + ", h " + dims(h) + ", dbias " + dims(dbias),
                new Output("dh", dh, DeviceCheck.EXACT), new Output("dbias", dbias, DeviceCheck.sum(dh.rows())));
    }

    @Override
    public void columnSums(Tensor x, Tensor out) {
        candidate.columnSums(cand(x), cand(out));
        reference.columnSums(ref(x), ref(out));
        check("columnSums", () -> "x " + dims(x) + ", out " + dims(out), new Output("out", out, DeviceCheck.sum(x.rows())));
    }

    @Override
    public void softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits, Tensor stats) {
        candidate.softmaxCrossEntropy(cand(logits), cand(labels), cand(dlogits), cand(stats));
        reference.softmaxCrossEntropy(ref(logits), ref(labels), ref(dlogits), ref(stats));
        check("softmaxCrossEntropy", () -> "logits " + dims(logits) + ", labels " + dims(labels),
                new Output("dlogits", dlogits, DeviceCheck.TRANSCENDENTAL),
                new Output("stats", stats, DeviceCheck.lossSum(logits.rows())));
    }

    @Override
    public void countCorrect(Tensor logits, Tensor labels, Tensor stats) {
        candidate.countCorrect(cand(logits), cand(labels), cand(stats));
        reference.countCorrect(ref(logits), ref(labels), ref(stats));
        check("countCorrect", () -> "logits " + dims(logits) + ", labels " + dims(labels),
                new Output("stats", stats, DeviceCheck.EXACT));
    }

    @Override
    public void argmax(Tensor logits, Tensor predictions) {
        candidate.argmax(cand(logits), cand(predictions));
        reference.argmax(ref(logits), ref(predictions));
        check("argmax", () -> "logits " + dims(logits), new Output("predictions", predictions, DeviceCheck.EXACT));
    }

    @Override
    public void gatherBatch(Tensor images, Tensor labels, Tensor order, Tensor cursor, Tensor x, Tensor y) {
        candidate.gatherBatch(cand(images), cand(labels), cand(order), cand(cursor), cand(x), cand(y));
        reference.gatherBatch(ref(images), ref(labels), ref(order), ref(cursor), ref(x), ref(y));
        check("gatherBatch", () -> "images " + dims(images) + ", x " + dims(x),
                new Output("x", x, DeviceCheck.ELEMENTWISE), new Output("y", y, DeviceCheck.EXACT));
    }

    @Override
    public void addInt(Tensor counter, int delta) {
        candidate.addInt(cand(counter), delta);
        reference.addInt(ref(counter), delta);
        check("addInt", () -> "delta " + delta, new Output("counter", counter, DeviceCheck.EXACT));
    }

    @Override
    public void sgd(Tensor params, Tensor grads, Tensor velocity, Tensor lr, float momentum, float weightDecay) {
        candidate.sgd(cand(params), cand(grads), cand(velocity), cand(lr), momentum, weightDecay);
        reference.sgd(ref(params), ref(grads), ref(velocity), ref(lr), momentum, weightDecay);
        Supplier<String> shapes = () -> "params " + dims(params) + ", momentum " + momentum + ", weight decay " + weightDecay;
        Output p = new Output("params", params, DeviceCheck.ELEMENTWISE);
        if (momentum != 0f) {
            check("sgd", shapes, p, new Output("velocity", velocity, DeviceCheck.ELEMENTWISE));
        } else {
            check("sgd", shapes, p); // the velocity is not used
        }
    }

    @Override
    public void adam(Tensor params, Tensor grads, Tensor m, Tensor v, Tensor step, Tensor lr,
                     float beta1, float beta2, float eps, float weightDecay, boolean decoupled) {
        candidate.adam(cand(params), cand(grads), cand(m), cand(v), cand(step), cand(lr), beta1, beta2, eps, weightDecay, decoupled);
        reference.adam(ref(params), ref(grads), ref(m), ref(v), ref(step), ref(lr), beta1, beta2, eps, weightDecay, decoupled);
        check(decoupled ? "adamw" : "adam", () -> "params " + dims(params) + ", weight decay " + weightDecay,
                new Output("params", params, DeviceCheck.TRANSCENDENTAL),
                new Output("m", m, DeviceCheck.ELEMENTWISE), new Output("v", v, DeviceCheck.ELEMENTWISE));
    }

    /** The body itself, run eagerly through this device: a captured graph would hide its ops from the check. */
    /** The candidate's, so that a validated run cuts its steps as the candidate alone would. */
    @Override
    public int localReplicas(int rows, long parameters) {
        return candidate.localReplicas(rows, parameters);
    }

    @Override
    public Runnable replayable(Runnable body) {
        return body;
    }

    @Override
    public void synchronize() {
        candidate.synchronize();
        reference.synchronize();
    }

    @Override
    public void close() {
        try {
            candidate.close();
        } finally {
            reference.close();
        }
    }

    // ---- comparison ----

    /** A tensor an op wrote, and how far the candidate may stray from the reference there. */
    private record Output(String name, Tensor tensor, DeviceCheck.Tolerance tolerance) {
    }

    /**
     * Compares every output of the op just issued on both devices; on agreement copies the candidate's values into
     * the reference twins (so the next op starts from identical inputs), else throws.
     */
    private void check(String op, Supplier<String> shapes, Output... outputs) {
        for (Output out : outputs) {
            if (out.tensor.dtype() == DType.F32) {
                compareFloats(op, shapes, out);
            } else {
                compareInts(op, shapes, out);
            }
        }
        validatedOps++;
    }

    private void compareFloats(String op, Supplier<String> shapes, Output out) {
        int n = (int) out.tensor.size();
        if (gotF.length < n) {
            gotF = new float[n];
            wantF = new float[n];
        }
        float[] got = gotF, want = wantF;
        candidate.download(cand(out.tensor), got);
        reference.download(ref(out.tensor), want);
        int first = -1, bad = 0;
        double maxError = 0;
        for (int i = 0; i < n; i++) {
            if (!out.tolerance.accepts(got[i], want[i])) {
                if (first < 0) {
                    first = i;
                }
                bad++;
                // a NaN on one side only is an infinite error; NaN on both sides agrees
                double e = Math.abs((double) got[i] - want[i]);
                maxError = Math.max(maxError, Double.isNaN(e) ? Double.POSITIVE_INFINITY : e);
            } else if (!Float.isNaN(got[i])) {
                maxError = Math.max(maxError, Math.abs((double) got[i] - want[i]));
            }
        }
        if (bad > 0) {
            throw mismatch(op, shapes, out, first, bad, String.valueOf(got[first]), String.valueOf(want[first]), maxError);
        }
        if (!Arrays.equals(got, 0, n, want, 0, n)) {
            reference.upload(got, ref(out.tensor));
        }
    }

    private void compareInts(String op, Supplier<String> shapes, Output out) {
        int n = (int) out.tensor.size();
        if (gotI.length < n) {
            gotI = new int[n];
            wantI = new int[n];
        }
        int[] got = gotI, want = wantI;
        candidate.download(cand(out.tensor), got);
        reference.download(ref(out.tensor), want);
        int first = -1, bad = 0;
        double maxError = 0;
        for (int i = 0; i < n; i++) {
            if (got[i] != want[i]) {
                if (first < 0) {
                    first = i;
                }
                bad++;
                maxError = Math.max(maxError, Math.abs((double) got[i] - want[i]));
            }
        }
        if (bad > 0) {
            throw mismatch(op, shapes, out, first, bad, String.valueOf(got[first]), String.valueOf(want[first]), maxError);
        }
        // equal: the twin already holds these values
    }

    private KilnException mismatch(String op, Supplier<String> shapes, Output out, int first, int bad,
                                   String got, String want, double maxError) {
        Tensor t = out.tensor;
        DeviceCheck.Tolerance tol = out.tolerance;
        String message = String.format(
                "validate: %s (%s) disagrees with the reference after %d agreeing ops: %s[%d] (row %d, col %d) got %s want %s;"
                        + " %d of %d elements outside tolerance, max abs error %.3g; tolerance |got - want| <= %.2g + %.2g * |want| (%s)",
                op, shapes.get(), validatedOps, out.name, first, first / t.cols(), first % t.cols(), got, want,
                bad, t.size(), maxError, tol.atol(), tol.rtol(), tol.reason());
        String rerun = candidate.name().startsWith("cuda") ? "rerun with --cuda-sync to rule out an asynchronous fault, then " : "";
        return new KilnException(message, "the " + candidate.name() + " implementation of " + op
                + " disagrees with the reference; " + rerun + "report it with this line");
    }

    private static String dims(Tensor t) {
        return t.rows() + "x" + t.cols();
    }
}
