package dev.kiln.engine.eval;

import dev.kiln.data.Dataset;
import dev.kiln.data.KilnException;
import dev.kiln.engine.DeviceDataset;
import dev.kiln.engine.Replicas;
import dev.kiln.engine.device.DType;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.Tensor;
import dev.kiln.engine.model.Mlp;

import java.util.Arrays;

/**
 * Forward passes only: scores a dataset in batches (gathered on the device in the identity order) or turns raw
 * inputs into class probabilities. Its buffers are allocated once for batches of up to {@code batchRows}.
 * It never changes the network.
 *
 * <p>A batch is scored the way a training step runs its forward pass: as the device's replicas
 * ({@link Device#localReplicas}), each gathering and scoring its own rows into its own loss and count. Scoring then
 * runs on every core and through the same code as training, so the JIT's code for training is not recompiled after
 * each evaluation.
 */
public final class Evaluator {
    private final Mlp model;
    private final Device device;
    private final int batchRows;
    private final int classes;
    private final Tensor x;        // F32 (R, P)
    private final Tensor y;        // I32 (R, 1)
    private final Tensor[] acts;   // (R, O_l); the last is the logits (R, C)
    private final Tensor dlogits;  // F32 (R, C): required by the loss op, unused here
    private final Tensor preds;    // I32 (R, 1)
    private final Tensor stats;    // F32 (S, 2): per replica loss sum and correct count
    private final Tensor cursors;  // I32 (S, 1): per replica position of its first row in the identity order
    private final int replicas;    // S for a batch of R rows

    /** A loss and an accuracy, without per-sample detail. */
    public record Summary(double loss, double accuracy) {
    }

    public Evaluator(Mlp model, int batchRows) {
        if (batchRows <= 0) {
            throw new IllegalArgumentException("batch rows " + batchRows);
        }
        this.model = model;
        this.device = model.device();
        this.batchRows = batchRows;
        this.classes = model.spec().outputSize();
        x = device.allocate(DType.F32, batchRows, model.spec().inputSize());
        y = device.allocate(DType.I32, batchRows, 1);
        acts = model.allocateActivations(batchRows);
        dlogits = device.allocate(DType.F32, batchRows, classes);
        preds = device.allocate(DType.I32, batchRows, 1);
        replicas = device.localReplicas(batchRows, model.spec().parameterCount());
        stats = device.allocate(DType.F32, replicas, 2);
        cursors = device.allocate(DType.I32, replicas, 1);
    }

    /** Uploads {@code data} and evaluates it in full. */
    public Evaluation evaluate(Dataset data) {
        return evaluate(DeviceDataset.upload(device, data));
    }

    /** Evaluates in full: loss, predictions, confidences, confusion matrix. */
    public Evaluation evaluate(DeviceDataset data) {
        requireCompatible(data.source());
        int n = data.size();
        int[] predictions = new int[n];
        float[] confidence = new float[n];
        float[] logits = new float[batchRows * classes];
        int[] batchPreds = new int[batchRows];
        float[] s = run(data, (start, rows, logitsView, predsView) -> {
            device.argmax(logitsView, predsView);
            device.download(predsView, batchPreds);
            device.download(logitsView, logits);
            for (int r = 0; r < rows; r++) {
                predictions[start + r] = batchPreds[r];
                confidence[start + r] = (float) softmaxAt(logits, r * classes, classes, batchPreds[r]);
            }
        });
        return new Evaluation(classes, data.source().labels().clone(), predictions, confidence, s[0] / n);
    }

    /** Mean loss and accuracy only, with one read from the device at the end. */
    public Summary summarize(DeviceDataset data) {
        requireCompatible(data.source());
        if (data.size() == 0) {
            return new Summary(Double.NaN, Double.NaN);
        }
        float[] s = run(data, null);
        return new Summary((double) s[0] / data.size(), (double) s[1] / data.size());
    }

    private interface BatchSink {
        void accept(int start, int rows, Tensor logits, Tensor predictions);
    }

    private float[] run(DeviceDataset data, BatchSink sink) {
        int n = data.size(), last = acts.length - 1;
        data.useIdentityOrder();
        device.fill(stats, 0);
        int[] placed = null; // the split the cursors were last placed for; they move on by a batch on the device
        for (int start = 0; start < n; start += batchRows) {
            int rows = Math.min(batchRows, n - start);
            int[] first = Replicas.starts(rows, Math.min(replicas, device.localReplicas(rows, model.spec().parameterCount())));
            if (!Arrays.equals(first, placed)) { // the first batch, or a shorter last one cut differently
                int[] at = new int[replicas];
                for (int i = 0; i + 1 < first.length; i++) {
                    at[i] = start + first[i];
                }
                device.upload(at, cursors);
                placed = first;
            }
            device.forEachReplica(first.length - 1, i -> {
                int r0 = first[i], r = first[i + 1] - r0;
                Tensor xs = x.rows(r0, r), ys = y.rows(r0, r), st = stats.rows(i, 1), cursor = cursors.rows(i, 1);
                Tensor[] as = Replicas.rows(acts, r0, r);                                   // (r, O_l)
                device.gatherBatch(data.images(), data.labels(), data.order(), cursor, xs, ys);
                device.addInt(cursor, rows);
                model.forward(xs, as);
                device.softmaxCrossEntropy(as[last], ys, dlogits.rows(r0, r), st);
                device.countCorrect(as[last], ys, st);
            });
            if (sink != null) {
                sink.accept(start, rows, acts[last].firstRows(rows), preds.firstRows(rows));
            }
        }
        return Replicas.sumStats(device, stats);
    }

    /**
     * Class probabilities (softmax of the logits, computed on the host in double) for raw inputs.
     *
     * @param inputs one row of P values per sample, scaled as in training (pixels / 255)
     */
    public float[][] probabilities(float[][] inputs) {
        int p = model.spec().inputSize();
        float[][] out = new float[inputs.length][];
        float[] logits = new float[batchRows * classes];
        for (int start = 0; start < inputs.length; start += batchRows) {
            int rows = Math.min(batchRows, inputs.length - start);
            float[] flat = new float[rows * p];
            for (int r = 0; r < rows; r++) {
                float[] in = inputs[start + r];
                if (in.length != p) {
                    throw new KilnException("input " + (start + r) + " has " + in.length + " values, the network takes " + p);
                }
                System.arraycopy(in, 0, flat, r * p, p);
            }
            Tensor xs = x.firstRows(rows);
            Tensor[] as = Mlp.firstRows(acts, rows);
            device.upload(flat, xs);
            model.forward(xs, as);
            device.download(as[as.length - 1], logits);
            for (int r = 0; r < rows; r++) {
                float[] prob = new float[classes];
                for (int c = 0; c < classes; c++) {
                    prob[c] = (float) softmaxAt(logits, r * classes, classes, c);
                }
                out[start + r] = prob;
            }
        }
        return out;
    }

    /** softmax(z[from .. from + n))[k], with the max subtracted so large logits do not overflow. */
    static double softmaxAt(float[] z, int from, int n, int k) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            max = Math.max(max, z[from + j]);
        }
        double sum = 0;
        for (int j = 0; j < n; j++) {
            sum += Math.exp(z[from + j] - max);
        }
        return Math.exp(z[from + k] - max) / sum;
    }

    private void requireCompatible(Dataset data) {
        requireCompatible(model, data);
    }

    /** A KilnException when {@code data} cannot be fed to {@code model}: input width or classes differ. */
    public static void requireCompatible(Mlp model, Dataset data) {
        if (data.pixelsPerSample() != model.spec().inputSize()) {
            throw new KilnException(data.name() + " has " + data.pixelsPerSample() + " pixels per sample ("
                    + data.rows() + "x" + data.cols() + ") but network " + model.spec() + " takes "
                    + model.spec().inputSize() + " inputs", "make the first layer size " + data.pixelsPerSample());
        }
        if (data.classes() > model.spec().outputSize()) {
            throw new KilnException(data.name() + " has " + data.classes() + " classes but network " + model.spec()
                    + " scores only " + model.spec().outputSize(), "make the last layer size " + data.classes());
        }
    }
}
