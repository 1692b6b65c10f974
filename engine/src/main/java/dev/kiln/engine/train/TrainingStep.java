package dev.kiln.engine.train;

import dev.kiln.engine.DeviceDataset;
import dev.kiln.engine.Shards;
import dev.kiln.engine.device.DType;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.Tensor;
import dev.kiln.engine.model.Mlp;
import dev.kiln.engine.model.TransposedWeights;
import dev.kiln.engine.optim.OptimizerState;

/**
 * One training step, written once as a sequence of device operations and wrapped with
 * {@link Device#replayable}: gather a batch at the device-side cursor, forward, softmax cross-entropy (loss and
 * correct count accumulate in a device-side stats tensor), backward, optimizer update, advance the cursor. A GPU
 * captures it as a graph; the host only calls {@link #fullBatch()} again and again.
 *
 * <p>When the device asks for it ({@link Device#preferredShards}; the CPU does for small networks), the batch is
 * cut into S shards of consecutive rows that run everything up to the gradients on their own
 * ({@link Device#forEachShard}), each into its own gradient copy, loss and count; the copies are then summed,
 * weighted by each shard's share of the rows, and one optimizer update follows. Each shard keeps a cursor that
 * runs its first row ahead of the batch's.
 *
 * <p>When N is not a multiple of B, {@link #partialBatch()} is the same body on the first {@code N mod B} rows of
 * every buffer, so the last batch's loss is averaged over its real size. This class holds no epoch logic.
 */
public final class TrainingStep {
    private final Device device;
    private final DeviceDataset data;
    private final Mlp model;
    private final OptimizerState optimizer;
    private final int batchSize;
    private final Tensor x;          // F32 (B, P), or (lanes x laneRows, P) where a lane's shards take turns in one block
    private final Tensor y;          // I32 (B, 1)
    private final Tensor[] acts;     // (B, O_l) per layer; the last is the logits (B, C)
    private final Tensor[] deltas;   // (B, O_l) per layer; the last is dLoss/dlogits
    private final Tensor stats;      // F32 (S, 2): per shard loss sum and correct count, since the last resetStats
    private final Tensor cursors;    // I32 (S, 1): per shard position in the epoch order, of its first row
    private final Tensor[] cursor;   // (1, 1) views of cursors, one per slot
    private final Tensor shardGrads; // F32 (S, Q): per shard gradient copies; null when no step is sharded
    private final int[] fullStarts;  // first row of each cursor's shard in a full batch (0 past its shards)
    private final int laneRows;      // rows of x per lane (the longest shard), or 0: each shard has its own rows of x
    private final TransposedWeights transposed; // where the device prefers them in sharded steps
    private final Runnable full;
    private final Runnable partial;  // null when B divides N

    public TrainingStep(Mlp model, OptimizerState optimizer, DeviceDataset data, int batchSize) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch size " + batchSize);
        }
        this.device = model.device();
        this.data = data;
        this.model = model;
        this.optimizer = optimizer;
        this.batchSize = Math.min(batchSize, data.size());
        int b = this.batchSize, rest = data.size() % b, q = model.flatSize();
        int fullShards = device.preferredShards(b, q);
        int partialShards = rest == 0 ? 1 : device.preferredShards(rest, q);
        int slots = Math.max(fullShards, partialShards);
        // a shard's batch rows are read by its own pass only: where there are fewer lanes than shards, the shards of a
        // lane take turns in one block of x, which then stays in that core's cache (a batch of 1024 is 3.2 MB of x)
        int lanes = device.shardLanes();
        laneRows = lanes < slots ? Math.max(Shards.longest(b, fullShards), Shards.longest(rest, partialShards)) : 0;
        x = device.allocate(DType.F32, laneRows > 0 ? lanes * laneRows : b, model.spec().inputSize());
        y = device.allocate(DType.I32, b, 1);
        acts = model.allocateActivations(b);
        deltas = model.allocateActivations(b);
        stats = device.allocate(DType.F32, slots, 2);
        cursors = device.allocate(DType.I32, slots, 1);
        cursor = new Tensor[slots];
        for (int s = 0; s < slots; s++) {
            cursor[s] = cursors.rows(s, 1);
        }
        shardGrads = slots > 1 ? device.allocate(DType.F32, slots, q) : null;
        transposed = new TransposedWeights(model, slots > 1);
        fullStarts = new int[slots];
        System.arraycopy(Shards.starts(b, fullShards), 0, fullStarts, 0, fullShards);
        full = device.replayable(plan(b, fullShards));
        partial = rest == 0 ? null : device.replayable(plan(rest, partialShards));
        rewind();
    }

    /** The body of a step over the first {@code rows} rows of the buffers, cut into {@code shards}. */
    private Runnable plan(int rows, int shards) {
        if (shards == 1) {
            Device.ShardBody pass = pass(0, rows, 0, model.gradientTensor());
            return () -> {
                transposed.refresh();
                pass.run(0, 0);
                advanceCursors(rows);
                optimizer.issueUpdate(model.parameterTensor(), model.gradientTensor());
            };
        }
        int[] start = Shards.starts(rows, shards);
        Device.ShardBody[] passes = new Device.ShardBody[shards];
        float[] share = new float[shards]; // each shard's loss is its own rows' mean: weigh it by its rows
        for (int s = 0; s < shards; s++) {
            passes[s] = pass(s, start[s + 1] - start[s], start[s], shardGrads.rows(s, 1));
            share[s] = (float) (start[s + 1] - start[s]) / rows;
        }
        Tensor weights = device.allocate(DType.F32, 1, shards); // (1, S)
        device.upload(share, weights);
        Tensor copies = shardGrads.firstRows(shards);           // (S, Q)
        Device.ShardBody shard = (s, lane) -> passes[s].run(s, lane);
        return () -> {
            transposed.refresh();
            device.forEachShard(shards, shard);
            device.gemm(false, false, 1f, weights, copies, 0f, model.gradientTensor()); // (1, S) x (S, Q)
            advanceCursors(rows);
            optimizer.issueUpdate(model.parameterTensor(), model.gradientTensor());
        };
    }

    /**
     * Gather, forward, loss and backward for rows {@code [start, start + rows)} of the buffers, with cursor and stats
     * slot {@code slot}, into {@code grads (1, Q)}, on a lane: the batch rows go to the lane's block of x. The slot's
     * cursor is moved to the first row before the gather and back after it, so between steps every cursor is the
     * batch's position plus its full-batch start.
     */
    private Device.ShardBody pass(int slot, int rows, int start, Tensor grads) {
        Tensor[] xl = new Tensor[device.shardLanes()];
        for (int lane = 0; lane < xl.length; lane++) {
            xl[lane] = x.rows(laneRows > 0 ? lane * laneRows : start, rows); // (rows, P)
        }
        Tensor ys = y.rows(start, rows);                          // (rows, 1)
        Tensor[] as = new Tensor[acts.length], ds = new Tensor[acts.length];
        for (int l = 0; l < acts.length; l++) {
            as[l] = acts[l].rows(start, rows);                    // (rows, O_l)
            ds[l] = deltas[l].rows(start, rows);
        }
        Tensor st = stats.rows(slot, 1);
        Tensor at = cursor[slot];
        Mlp.Gradients into = model.gradients(grads);
        int shift = start - fullStarts[slot], last = acts.length - 1;
        return (shard, lane) -> {
            Tensor xs = xl[lane];
            if (shift != 0) {
                device.addInt(at, shift);
            }
            device.gatherBatch(data.images(), data.labels(), data.order(), at, xs, ys);
            if (shift != 0) {
                device.addInt(at, -shift);
            }
            model.forward(xs, as, transposed.copies());
            device.softmaxCrossEntropy(as[last], ys, ds[last], st);
            device.countCorrect(as[last], ys, st);
            model.backward(xs, as, ds, into);
        };
    }

    /** Moves every cursor on by the step's rows (after the shards: each moves its own during the gather). */
    private void advanceCursors(int rows) {
        for (Tensor c : cursor) {
            device.addInt(c, rows);
        }
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

    /** Puts the cursors back at the start of the order (before an epoch). */
    public void rewind() {
        device.upload(fullStarts, cursors);
    }

    /** Zeroes the loss sum and correct count. */
    public void resetStats() {
        device.fill(stats, 0);
    }

    /** Downloads {loss sum, correct count} accumulated since {@link #resetStats}; waits for the device. */
    public float[] readStats() {
        return Shards.sumStats(device, stats);
    }

    /** The logits buffer (B, C) of the last step's forward pass, for tests. */
    public Tensor logits() { return acts[acts.length - 1]; }
}
