package dev.kiln.cuda;

import dev.kiln.engine.device.DType;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.Tensor;
import dev.kiln.engine.dist.Ranks;
import dev.kiln.engine.train.GradientReduction;

import java.lang.foreign.MemorySegment;

/**
 * The gradient reduction of GPU ranks: one {@code ncclAllReduce} of the gradient, in place on the device, issued on
 * the device's stream inside the step, so that the captured CUDA graph holds it (NCCL supports stream capture). Each
 * rank's input is its replicas' gradient, the mean over its own rows; NCCL's PreMulSum multiplies it by the rank's
 * share of the global batch's rows as it sums, which makes the result the gradient of the global batch's mean loss.
 *
 * <p>The communicator is made once per device: rank 0 draws the ncclUniqueId and {@link Ranks#broadcast} hands it
 * to the others (over MPI; with one rank, NCCL needs no MPI). It is destroyed when the device closes.
 */
final class NcclReduction implements GradientReduction {
    private final CudaDevice device;
    private final Ranks ranks;
    private final Nccl nccl;
    private final MemorySegment comm;

    private NcclReduction(CudaDevice device, Ranks ranks, Nccl nccl, MemorySegment comm) {
        this.device = device;
        this.ranks = ranks;
        this.nccl = nccl;
        this.comm = comm;
    }

    /** Loads NCCL (a clean error where it is missing) and joins this rank's communicator on {@code device}. */
    static NcclReduction open(CudaDevice device, Ranks ranks) {
        Nccl nccl = Nccl.load();
        byte[] id = ranks.broadcast(ranks.isRoot() ? nccl.uniqueId() : null);
        device.makeCurrent();
        MemorySegment comm = nccl.commInitRank(ranks.size(), id, ranks.rank());
        device.onClose(() -> nccl.commDestroy(comm));
        return new NcclReduction(device, ranks, nccl, comm);
    }

    @Override
    public Runnable plan(Device d, Tensor replicaGrads, int[] rows, Tensor grads) {
        long local = 0;
        for (int r : rows) {
            local += r;
        }
        double[] total = {local};
        ranks.sum(total); // at planning time, once per plan, in the same order on every rank
        long global = (long) total[0];
        Runnable weigh = () -> { };
        int op = Nccl.NCCL_SUM;
        if (local == 0) {
            weigh = () -> device.fill(grads, 0f); // an empty slice of the batch adds nothing
        } else if (replicaGrads == grads) {
            device.makeCurrent();
            op = nccl.preMulSum((float) rows[0] / global, comm);
            int created = op;
            device.onClose(() -> nccl.redOpDestroy(created, comm));
        } else {
            float[] share = new float[rows.length];
            for (int r = 0; r < rows.length; r++) {
                share[r] = (float) rows[r] / global;
            }
            Tensor weights = device.allocate(DType.F32, 1, rows.length);
            device.upload(share, weights);
            weigh = () -> device.gemm(false, false, 1f, weights, replicaGrads, 0f, grads); // (1, R) x (R, Q)
        }
        long address = device.f32Address(grads), count = grads.size();
        Runnable weighFirst = weigh;
        int reduceOp = op;
        return () -> {
            weighFirst.run();
            nccl.allReduceFloats(address, address, count, reduceOp, comm, device.stream());
        };
    }
}
