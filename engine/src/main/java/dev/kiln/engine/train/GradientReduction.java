package dev.kiln.engine.train;

import dev.kiln.engine.device.DType;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.Tensor;

/**
 * The reduction stage of a data-parallel step. Each replica of a step wrote the gradient of its own rows' mean loss
 * into a buffer of its own; the reduction sums those buffers, each weighted by its share of the batch's rows, into
 * the one gradient that the optimizer update reads. Its stage is issued inside the replayable step, so it must not
 * read anything on the host.
 *
 * <p>{@link #local()} sums the replicas of this process with one GEMM. It is the hook for replicas in other
 * processes: such a reduction weighs each local buffer by its rows over the global batch's, sums them as the local
 * one does, then adds the processes' sums in place with a collective ({@code MPI_Allreduce} for CPU gradients,
 * {@code ncclAllReduce} inside the captured graph for GPU ones). The steps' loss and correct counts then need the
 * same sum before the host reads them.
 */
public interface GradientReduction {

    /**
     * Prepares the sum of {@code replicaGrads (R, Q)}, replica r having {@code rows[r]} rows of the batch, into
     * {@code grads (1, Q)}, and returns the stage that issues it. With one replica, {@code replicaGrads} may be
     * {@code grads} itself (the replica wrote the gradient in place).
     */
    Runnable plan(Device device, Tensor replicaGrads, int[] rows, Tensor grads);

    /**
     * The replicas of this process: {@code grads = sum over r of (rows[r] / sum of rows) * replicaGrads[r]}, as a
     * {@code (1, R) x (R, Q)} GEMM; nothing for one replica that wrote {@code grads} in place.
     */
    static GradientReduction local() {
        return (device, replicaGrads, rows, grads) -> {
            if (replicaGrads == grads) {
                return () -> { };
            }
            long total = 0;
            for (int r : rows) {
                total += r;
            }
            float[] share = new float[rows.length]; // each replica's loss is its own rows' mean: weigh it by its rows
            for (int r = 0; r < rows.length; r++) {
                share[r] = (float) rows[r] / total;
            }
            Tensor weights = device.allocate(DType.F32, 1, rows.length); // (1, R)
            device.upload(share, weights);
            return () -> device.gemm(false, false, 1f, weights, replicaGrads, 0f, grads); // (1, R) x (R, Q)
        };
    }
}
