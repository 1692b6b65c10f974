package dev.kiln.engine.device;

/**
 * The readable definition of every {@link Device} operation: plain loops in Java, one element at a time, in a
 * fixed order, so results are reproducible bit for bit. It is the spec the vectorized CPU path and the CUDA
 * kernels are tested against, and a slow but honest device in its own right. It is deliberately not fast.
 *
 * <p>Storage is a {@code float[]}, {@code int[]} or {@code byte[]} per allocation; offsets index into it.
 */
public class ReferenceDevice implements Device {

    @Override
    public String name() {
        return "reference";
    }

    @Override
    public String description() {
        return "reference CPU device (plain Java loops, one thread)";
    }

    /** The description, so that printing a device says what it is. */
    @Override
    public String toString() {
        return description();
    }

    @Override
    public Tensor allocate(DType dtype, int rows, int cols) {
        long n = (long) rows * cols;
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("tensor of " + rows + "x" + cols + " is too large for one Java array");
        }
        Object storage = switch (dtype) {
            case F32 -> new float[(int) n];
            case I32 -> new int[(int) n];
            case U8 -> new byte[(int) n];
        };
        return new Tensor(this, storage, dtype, 0, rows, cols);
    }

    // ---- storage access, for this device and the CPU devices built on it ----

    protected static float[] f32(Tensor t) {
        require(t, DType.F32);
        return (float[]) t.storage();
    }

    protected static int[] i32(Tensor t) {
        require(t, DType.I32);
        return (int[]) t.storage();
    }

    protected static byte[] u8(Tensor t) {
        require(t, DType.U8);
        return (byte[]) t.storage();
    }

    protected static int off(Tensor t) {
        return (int) t.offset();
    }

    private static void require(Tensor t, DType dtype) {
        if (t.dtype() != dtype) {
            throw new IllegalArgumentException("expected a " + dtype + " tensor, got " + t);
        }
        if (!(t.storage() instanceof float[] || t.storage() instanceof int[] || t.storage() instanceof byte[])) {
            throw new IllegalArgumentException("tensor " + t + " does not live in CPU memory");
        }
    }

    protected static void requireShape(String op, String what, Tensor t, int rows, int cols) {
        if (t.rows() != rows || t.cols() != cols) {
            throw new IllegalArgumentException(op + ": " + what + " is " + t.rows() + "x" + t.cols()
                    + ", expected " + rows + "x" + cols);
        }
    }

    // ---- transfers ----

    @Override
    public void upload(float[] src, Tensor dst) {
        System.arraycopy(src, 0, f32(dst), off(dst), (int) dst.size());
    }

    @Override
    public void upload(int[] src, Tensor dst) {
        System.arraycopy(src, 0, i32(dst), off(dst), (int) dst.size());
    }

    @Override
    public void upload(byte[] src, Tensor dst) {
        System.arraycopy(src, 0, u8(dst), off(dst), (int) dst.size());
    }

    @Override
    public void download(Tensor src, float[] dst) {
        System.arraycopy(f32(src), off(src), dst, 0, (int) src.size());
    }

    @Override
    public void download(Tensor src, int[] dst) {
        System.arraycopy(i32(src), off(src), dst, 0, (int) src.size());
    }

    @Override
    public void fill(Tensor t, float value) {
        int from = off(t), to = from + (int) t.size();
        switch (t.dtype()) {
            case F32 -> java.util.Arrays.fill(f32(t), from, to, value);
            case I32 -> java.util.Arrays.fill(i32(t), from, to, (int) value);
            case U8 -> throw new IllegalArgumentException("fill: U8 tensors are read-only data");
        }
    }

    // ---- math ----

    @Override
    public void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c) {
        GemmShape shape = GemmShape.of(transA, transB, a, b, c);
        int m = shape.m(), n = shape.n(), k = shape.k();
        float[] av = f32(a), bv = f32(b), cv = f32(c);
        int ao = off(a), bo = off(b), co = off(c);
        int lda = a.cols(), ldb = b.cols();
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float sum = 0f;
                for (int p = 0; p < k; p++) {
                    float x = transA ? av[ao + p * lda + i] : av[ao + i * lda + p];
                    float y = transB ? bv[bo + j * ldb + p] : bv[bo + p * ldb + j];
                    sum += x * y;
                }
                int ci = co + i * n + j;
                cv[ci] = beta == 0f ? alpha * sum : alpha * sum + beta * cv[ci];
            }
        }
    }

    @Override
    public void biasActivation(Tensor z, Tensor bias, boolean relu) {
        int rows = z.rows(), cols = z.cols();
        requireShape("biasActivation", "bias", bias, 1, cols);
        float[] zv = f32(z), bv = f32(bias);
        int zo = off(z), bo = off(bias);
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                float v = zv[zo + r * cols + j] + bv[bo + j];
                zv[zo + r * cols + j] = relu ? Math.max(v, 0f) : v;
            }
        }
    }

    @Override
    public void reluBackward(Tensor dh, Tensor h, Tensor dbias) {
        int rows = dh.rows(), cols = dh.cols();
        requireShape("reluBackward", "h", h, rows, cols);
        requireShape("reluBackward", "dbias", dbias, 1, cols);
        float[] dv = f32(dh), hv = f32(h);
        int dofs = off(dh), ho = off(h);
        for (int i = 0; i < rows * cols; i++) {
            if (!(hv[ho + i] > 0f)) {
                dv[dofs + i] = 0f;
            }
        }
        columnSums(dh, dbias);
    }

    @Override
    public void columnSums(Tensor x, Tensor out) {
        int rows = x.rows(), cols = x.cols();
        requireShape("columnSums", "out", out, 1, cols);
        float[] xv = f32(x), ov = f32(out);
        int xo = off(x), oo = off(out);
        for (int j = 0; j < cols; j++) {
            float sum = 0f;
            for (int r = 0; r < rows; r++) {
                sum += xv[xo + r * cols + j];
            }
            ov[oo + j] = sum;
        }
    }

    @Override
    public void softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits, Tensor stats) {
        int rows = logits.rows(), classes = logits.cols();
        requireShape("softmaxCrossEntropy", "labels", labels, rows, 1);
        requireShape("softmaxCrossEntropy", "dlogits", dlogits, rows, classes);
        requireShape("softmaxCrossEntropy", "stats", stats, 1, 2);
        float[] z = f32(logits), dz = f32(dlogits), s = f32(stats);
        int[] y = i32(labels);
        int zo = off(logits), dzo = off(dlogits), yo = off(labels), so = off(stats);
        float invRows = 1f / rows;
        float lossSum = 0f;
        for (int r = 0; r < rows; r++) {
            int row = zo + r * classes;
            int label = y[yo + r];
            checkLabel(label, classes);
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < classes; j++) {
                max = Math.max(max, z[row + j]);
            }
            float sum = 0f;
            for (int j = 0; j < classes; j++) {
                sum += (float) Math.exp(z[row + j] - max);
            }
            // loss = -log(exp(z_y - max) / sum) = log(sum) - (z_y - max)
            lossSum += (float) Math.log(sum) - (z[row + label] - max);
            for (int j = 0; j < classes; j++) {
                float p = (float) Math.exp(z[row + j] - max) / sum;
                dz[dzo + r * classes + j] = (p - (j == label ? 1f : 0f)) * invRows;
            }
        }
        s[so] += lossSum;
    }

    @Override
    public void countCorrect(Tensor logits, Tensor labels, Tensor stats) {
        int rows = logits.rows(), classes = logits.cols();
        requireShape("countCorrect", "labels", labels, rows, 1);
        requireShape("countCorrect", "stats", stats, 1, 2);
        float[] z = f32(logits), s = f32(stats);
        int[] y = i32(labels);
        int correct = 0;
        for (int r = 0; r < rows; r++) {
            if (argmaxRow(z, off(logits) + r * classes, classes) == y[off(labels) + r]) {
                correct++;
            }
        }
        s[off(stats) + 1] += correct;
    }

    @Override
    public void argmax(Tensor logits, Tensor predictions) {
        int rows = logits.rows(), classes = logits.cols();
        requireShape("argmax", "predictions", predictions, rows, 1);
        float[] z = f32(logits);
        int[] p = i32(predictions);
        for (int r = 0; r < rows; r++) {
            p[off(predictions) + r] = argmaxRow(z, off(logits) + r * classes, classes);
        }
    }

    /** Index of the first largest value of {@code v[from .. from + n)}. */
    protected static int argmaxRow(float[] v, int from, int n) {
        int best = 0;
        for (int j = 1; j < n; j++) {
            if (v[from + j] > v[from + best]) {
                best = j;
            }
        }
        return best;
    }

    protected static void checkLabel(int label, int classes) {
        if (label < 0 || label >= classes) {
            throw new IllegalArgumentException("label " + label + " is outside 0.." + (classes - 1));
        }
    }

    @Override
    public void gatherBatch(Tensor images, Tensor labels, Tensor order, Tensor cursor, Tensor x, Tensor y) {
        int n = images.rows(), pixels = images.cols(), rows = x.rows();
        requireShape("gatherBatch", "labels", labels, n, 1);
        requireShape("gatherBatch", "order", order, n, 1);
        requireShape("gatherBatch", "cursor", cursor, 1, 1);
        requireShape("gatherBatch", "x", x, rows, pixels);
        requireShape("gatherBatch", "y", y, rows, 1);
        byte[] img = u8(images);
        int[] lab = i32(labels), ord = i32(order);
        float[] xv = f32(x);
        int[] yv = i32(y);
        int start = i32(cursor)[off(cursor)];
        if (start < 0 || start + rows > n) {
            throw new IllegalArgumentException("gatherBatch: rows [" + start + ", " + (start + rows) + ") outside 0.." + n);
        }
        for (int r = 0; r < rows; r++) {
            int sample = ord[off(order) + start + r];
            int src = off(images) + sample * pixels;
            int dst = off(x) + r * pixels;
            for (int p = 0; p < pixels; p++) {
                xv[dst + p] = (img[src + p] & 0xff) / 255f;
            }
            yv[off(y) + r] = lab[off(labels) + sample];
        }
    }

    @Override
    public void addInt(Tensor counter, int delta) {
        i32(counter)[off(counter)] += delta;
    }

    @Override
    public void sgd(Tensor params, Tensor grads, Tensor velocity, Tensor lr, float momentum, float weightDecay) {
        int q = (int) params.size();
        requireShape("sgd", "grads", grads, params.rows(), params.cols());
        requireShape("sgd", "velocity", velocity, params.rows(), params.cols());
        float[] p = f32(params), g = f32(grads), v = f32(velocity);
        int po = off(params), go = off(grads), vo = off(velocity);
        float rate = f32(lr)[off(lr)];
        for (int i = 0; i < q; i++) {
            float d = g[go + i] + weightDecay * p[po + i];
            if (momentum != 0f) {
                d = momentum * v[vo + i] + d;
                v[vo + i] = d;
            }
            p[po + i] -= rate * d;
        }
    }

    @Override
    public void adam(Tensor params, Tensor grads, Tensor m, Tensor v, Tensor step, Tensor lr,
                     float beta1, float beta2, float eps, float weightDecay, boolean decoupled) {
        int q = (int) params.size();
        requireShape("adam", "grads", grads, params.rows(), params.cols());
        requireShape("adam", "m", m, params.rows(), params.cols());
        requireShape("adam", "v", v, params.rows(), params.cols());
        float[] p = f32(params), g = f32(grads), mv = f32(m), vv = f32(v);
        int po = off(params), go = off(grads), mo = off(m), vo = off(v);
        int t = i32(step)[off(step)];
        float rate = f32(lr)[off(lr)];
        float bc1 = 1f - (float) Math.pow(beta1, t); // bias corrections, 1 - beta^t
        float bc2 = 1f - (float) Math.pow(beta2, t);
        for (int i = 0; i < q; i++) {
            float w = p[po + i];
            float grad = g[go + i];
            if (decoupled) {
                w -= rate * weightDecay * w;
            } else {
                grad += weightDecay * w;
            }
            float mi = beta1 * mv[mo + i] + (1f - beta1) * grad;
            float vi = beta2 * vv[vo + i] + (1f - beta2) * grad * grad;
            mv[mo + i] = mi;
            vv[vo + i] = vi;
            float mHat = mi / bc1;
            float vHat = vi / bc2;
            p[po + i] = w - rate * mHat / ((float) Math.sqrt(vHat) + eps);
        }
    }

    @Override
    public Runnable replayable(Runnable body) {
        return body;
    }

    @Override
    public void synchronize() {
        // every operation has finished when it returns
    }

    @Override
    public void close() {
        // arrays are garbage collected
    }
}
