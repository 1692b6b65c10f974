package dev.kiln.engine.train;

import dev.kiln.engine.DeviceDataset;
import dev.kiln.engine.Replicas;
import dev.kiln.engine.device.DType;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.Tensor;
import dev.kiln.engine.model.Mlp;
import dev.kiln.engine.optim.OptimizerState;

import java.util.function.IntConsumer;

/**
 * One training step: gather a batch, forward, loss, backward, reduce the gradients, update. It is written once as
 * device operations and wrapped with {@link Device#replayable}, so a GPU captures it as a graph and the host only
 * calls {@link #fullBatch()} again and again.
 *
 * <p>A step runs as R replicas ({@link Device#localReplicas}: the CPU runs small networks one replica per core, a
 * GPU runs one), each on its own consecutive rows of the batch into its own gradient buffer, loss and count; a
 * {@link GradientReduction} then sums the buffers, weighted by rows, before the one optimizer update. Each replica
 * reads the epoch's order at its own cursor, which its step moves on by the batch's rows.
 *
 * <p>When N is not a multiple of B, {@link #partialBatch()} is the same step on the first {@code N mod B} rows of
 * every buffer, so the last batch's loss is averaged over its real size. This class holds no epoch logic.
 *
 * <p>Processes of a data-parallel run ({@link dev.kiln.engine.dist.Ranks}) are more replicas: process {@code rank}
 * of {@code ranks} runs only its contiguous slice of every batch ({@link Replicas#starts}, a slice that may be
 * empty), and the reduction adds the processes' gradients up.
 */
public final class TrainingStep {
    private final Device device;
    private final DeviceDataset data;
    private final Mlp model;
    private final OptimizerState optimizer;
    private final int batchSize;
    private final int rank, ranks;     // this process's place among the data-parallel processes (0 of 1 alone)
    private final Tensor x;            // F32 (B, P)
    private final Tensor y;            // I32 (B, 1)
    private final Tensor[] acts;       // (B, O_l) per layer; the last is the logits (B, C)
    private final Tensor[] deltas;     // (B, O_l) per layer; the last is dLoss/dlogits
    private final Tensor stats;        // F32 (R, 2): per replica loss sum and correct count, since the last resetStats
    private final Tensor replicaGrads; // F32 (R, Q): per replica gradients; the model's own (1, Q) when R is 1
    private final Plan full;
    private final Plan partial;        // null when B divides N

    /** One replica's share of a step: its rows of the batch buffers, its cursor, stats and gradient buffer. */
    private record Replica(Tensor x, Tensor y, Tensor[] acts, Tensor[] deltas, Tensor cursor, Tensor stats,
                           Mlp.Gradients grads) {
        Tensor logits() { return acts[acts.length - 1]; }

        Tensor dlogits() { return deltas[deltas.length - 1]; }
    }

    /** The step over a batch of one size: the replicas' cursors (I32 (R, 1)), where an epoch starts them, the step. */
    private record Plan(Tensor cursors, int[] epochStart, Runnable step) {
    }

    /** A step whose replicas are those of this process ({@link GradientReduction#local()}). */
    public TrainingStep(Mlp model, OptimizerState optimizer, DeviceDataset data, int batchSize) {
        this(model, optimizer, data, batchSize, GradientReduction.local());
    }

    public TrainingStep(Mlp model, OptimizerState optimizer, DeviceDataset data, int batchSize,
                        GradientReduction reduction) {
        this(model, optimizer, data, batchSize, reduction, 0, 1);
    }

    /** A step of process {@code rank} of {@code ranks}: it runs its slice of every batch of the global size B. */
    public TrainingStep(Mlp model, OptimizerState optimizer, DeviceDataset data, int batchSize,
                        GradientReduction reduction, int rank, int ranks) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch size " + batchSize);
        }
        this.device = model.device();
        this.data = data;
        this.model = model;
        this.optimizer = optimizer;
        this.batchSize = Math.min(batchSize, data.size());
        this.rank = rank;
        this.ranks = ranks;
        int b = this.batchSize, rest = data.size() % b, q = model.spec().parameterCount();
        int mine = slice(b)[1], mineOfRest = rest == 0 ? 0 : slice(rest)[1];
        int fullReplicas = device.localReplicas(mine, q);
        int partialReplicas = mineOfRest == 0 ? 1 : device.localReplicas(mineOfRest, q);
        int most = Math.max(fullReplicas, partialReplicas), rowsHere = Math.max(1, Math.max(mine, mineOfRest));
        x = device.allocate(DType.F32, rowsHere, model.spec().inputSize());
        y = device.allocate(DType.I32, rowsHere, 1);
        acts = model.allocateActivations(rowsHere);
        deltas = model.allocateActivations(rowsHere);
        stats = device.allocate(DType.F32, most, 2);
        replicaGrads = most > 1 ? device.allocate(DType.F32, most, model.flatSize()) : model.gradientTensor();
        full = plan(b, fullReplicas, 0, reduction);
        partial = rest == 0 ? null : plan(rest, partialReplicas, data.size() - rest, reduction);
        rewind();
    }

    /** This process's slice of a batch of {@code rows} rows: {first row, rows}. */
    private int[] slice(int rows) {
        int[] s = Replicas.starts(rows, ranks);
        return new int[] {s[rank], s[rank + 1] - s[rank]};
    }

    /**
     * The step over a batch of {@code batchRows} rows, whose epoch starts at row {@code from} of the order: this
     * process's slice of it, in the first rows of the buffers, as {@code count} replicas (none for an empty slice).
     */
    private Plan plan(int batchRows, int count, int from, GradientReduction reduction) {
        int[] mine = slice(batchRows);
        int rows = mine[1];
        from += mine[0];
        count = rows == 0 ? 0 : count;
        int[] first = count == 0 ? new int[1] : Replicas.starts(rows, count), rowsOf = new int[count];
        int[] epochStart = new int[Math.max(1, count)];           // an empty slice keeps one idle cursor
        Tensor cursors = device.allocate(DType.I32, epochStart.length, 1);
        Replica[] replicas = new Replica[count];
        for (int r = 0; r < count; r++) {
            int r0 = first[r], n = first[r + 1] - r0;
            rowsOf[r] = n;
            epochStart[r] = from + r0;
            Tensor grads = count == 1 ? model.gradientTensor() : replicaGrads.rows(r, 1);
            replicas[r] = new Replica(x.rows(r0, n), y.rows(r0, n), Replicas.rows(acts, r0, n),
                    Replicas.rows(deltas, r0, n), cursors.rows(r, 1), stats.rows(r, 1), model.gradients(grads));
        }
        Tensor gradient = model.gradientTensor(), params = model.parameterTensor();
        Runnable reduce = reduction.plan(device, count <= 1 ? gradient : replicaGrads.firstRows(count), rowsOf, gradient);
        IntConsumer replica = r -> {
            Replica p = replicas[r];
            device.gatherBatch(data.images(), data.labels(), data.order(), p.cursor(), p.x(), p.y()); // gather
            model.forward(p.x(), p.acts());                                                         // forward
            device.softmaxCrossEntropy(p.logits(), p.y(), p.dlogits(), p.stats());                  // loss
            device.countCorrect(p.logits(), p.y(), p.stats());
            model.backward(p.x(), p.acts(), p.deltas(), p.grads());                                 // backward
            device.addInt(p.cursor(), batchRows);                                                   // next batch
        };
        int replicaCount = count;
        return new Plan(cursors, epochStart, device.replayable(() -> {
            if (replicaCount > 0) {                        // an empty slice of the batch has none
                device.forEachReplica(replicaCount, replica);
            }
            reduce.run();                                  // reduce gradients
            optimizer.issueUpdate(params, gradient);       // update
        }));
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
    public Runnable fullBatch() { return full.step(); }

    /** Runs a step on the last N mod B samples; null when there is no partial batch. */
    public Runnable partialBatch() { return partial == null ? null : partial.step(); }

    /** Puts the cursors back at the start of the order (before an epoch). */
    public void rewind() {
        device.upload(full.epochStart(), full.cursors());
        if (partial != null) {
            device.upload(partial.epochStart(), partial.cursors());
        }
    }

    /** Zeroes the loss sum and correct count. */
    public void resetStats() {
        device.fill(stats, 0);
    }

    /** Downloads {loss sum, correct count} accumulated since {@link #resetStats}; waits for the device. */
    public float[] readStats() {
        return Replicas.sumStats(device, stats);
    }

    /** The logits buffer (B, C) of the last step's forward pass, for tests. */
    public Tensor logits() { return acts[acts.length - 1]; }
}
