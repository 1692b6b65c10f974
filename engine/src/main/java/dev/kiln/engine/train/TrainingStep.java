package dev.kiln.engine.train;

import dev.kiln.engine.DeviceDataset;
import dev.kiln.engine.device.DType;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.Tensor;
import dev.kiln.engine.model.Mlp;
import dev.kiln.engine.optim.OptimizerState;

/**
 * One training step, written once as a sequence of device operations and wrapped with
 * {@link Device#replayable}: gather a batch at the device-side cursor, forward, softmax cross-entropy (loss and
 * correct count accumulate in a device-side stats tensor), backward, optimizer update, advance the cursor. A GPU
 * captures it as a graph; the host only calls {@link #fullBatch()} again and again.
 *
 * <p>When N is not a multiple of B, {@link #partialBatch()} is the same body on the first {@code N mod B} rows of
 * every buffer, so the last batch's loss is averaged over its real size. This class holds no epoch logic.
 */
public final class TrainingStep {
    private final Device device;
    private final DeviceDataset data;
    private final int batchSize;
    private final Tensor x;         // F32 (B, P)
    private final Tensor y;         // I32 (B, 1)
    private final Tensor[] acts;    // (B, O_l) per layer; the last is the logits (B, C)
    private final Tensor[] deltas;  // (B, O_l) per layer; the last is dLoss/dlogits
    private final Tensor stats;     // F32 (1, 2): loss sum, correct count, since the last resetStats
    private final Tensor cursor;    // I32 (1, 1): position in the epoch order
    private final Runnable full;
    private final Runnable partial; // null when B divides N

    public TrainingStep(Mlp model, OptimizerState optimizer, DeviceDataset data, int batchSize) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch size " + batchSize);
        }
        this.device = model.device();
        this.data = data;
        this.batchSize = Math.min(batchSize, data.size());
        int b = this.batchSize;
        x = device.allocate(DType.F32, b, model.spec().inputSize());
        y = device.allocate(DType.I32, b, 1);
        acts = model.allocateActivations(b);
        deltas = model.allocateActivations(b);
        stats = device.allocate(DType.F32, 1, 2);
        cursor = device.allocate(DType.I32, 1, 1);
        full = device.replayable(() -> body(model, optimizer, x, y, acts, deltas, b));
        int rest = data.size() % b;
        partial = rest == 0 ? null : device.replayable(() -> body(model, optimizer,
                x.firstRows(rest), y.firstRows(rest), Mlp.firstRows(acts, rest), Mlp.firstRows(deltas, rest), rest));
    }

    private void body(Mlp model, OptimizerState optimizer, Tensor x, Tensor y, Tensor[] acts, Tensor[] deltas, int rows) {
        int last = acts.length - 1;
        device.gatherBatch(data.images(), data.labels(), data.order(), cursor, x, y);
        model.forward(x, acts);
        device.softmaxCrossEntropy(acts[last], y, deltas[last], stats);
        device.countCorrect(acts[last], y, stats);
        model.backward(x, acts, deltas);
        optimizer.issueUpdate(model.parameterTensor(), model.gradientTensor());
        device.addInt(cursor, rows);
    }

    /** Batch rows B (the requested size, or N when N is smaller). */
    public int batchSize() { return batchSize; }

    /** Full batches per epoch: N / B. */
    public int fullBatches() { return data.size() / batchSize; }

    /** Rows of the last, partial batch: N mod B (0 when there is none). */
    public int partialRows() { return data.size() % batchSize; }

    /** Steps per epoch: full batches plus one if there is a partial batch. */
    public int stepsPerEpoch() { return fullBatches() + (partialRows() == 0 ? 0 : 1); }

    /** Runs a step on the next B samples of the order. */
    public Runnable fullBatch() { return full; }

    /** Runs a step on the last N mod B samples; null when there is no partial batch. */
    public Runnable partialBatch() { return partial; }

    /** Puts the cursor back at the start of the order (before an epoch). */
    public void rewind() {
        device.fill(cursor, 0);
    }

    /** Zeroes the loss sum and correct count. */
    public void resetStats() {
        device.fill(stats, 0);
    }

    /** Downloads {loss sum, correct count} accumulated since {@link #resetStats}; waits for the device. */
    public float[] readStats() {
        float[] s = new float[2];
        device.download(stats, s);
        return s;
    }

    /** The logits buffer (B, C) of the last step's forward pass, for tests. */
    public Tensor logits() { return acts[acts.length - 1]; }
}
