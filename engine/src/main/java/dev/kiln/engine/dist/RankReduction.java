package dev.kiln.engine.dist;

import dev.kiln.engine.device.DType;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.Tensor;
import dev.kiln.engine.train.GradientReduction;

/**
 * The gradient reduction of a step whose replicas span processes: each process weighs its replicas' gradients by
 * their rows over the global batch's ({@code rows[r] / B}, B summed over every rank once, when the step is planned),
 * adds them up as {@link GradientReduction#local()} does, then the processes' sums are added with
 * {@link Ranks#sum(float[])} ({@code MPI_Allreduce}). A process whose slice of the batch is empty contributes zeros.
 *
 * <p>The sum passes through the host, so this is for devices whose steps run on the host (the CPU devices); GPU
 * ranks reduce on the device, inside the captured step.
 */
public final class RankReduction implements GradientReduction {
    private final Ranks ranks;

    public RankReduction(Ranks ranks) {
        this.ranks = ranks;
    }

    @Override
    public Runnable plan(Device device, Tensor replicaGrads, int[] rows, Tensor grads) {
        long local = 0;
        for (int r : rows) {
            local += r;
        }
        double[] total = {local};
        ranks.sum(total); // every rank plans its steps in the same order, so this collective matches up
        long global = (long) total[0];
        Runnable weigh = () -> { };
        float scale = 1f; // one replica wrote the mean over its rows in place: it is scaled on the host
        if (local == 0) {
            weigh = () -> device.fill(grads, 0f);
        } else if (replicaGrads == grads) {
            scale = (float) rows[0] / global;
        } else {
            float[] share = new float[rows.length];
            for (int r = 0; r < rows.length; r++) {
                share[r] = (float) rows[r] / global;
            }
            Tensor weights = device.allocate(DType.F32, 1, rows.length); // (1, R)
            device.upload(share, weights);
            weigh = () -> device.gemm(false, false, 1f, weights, replicaGrads, 0f, grads); // (1, R) x (R, Q)
        }
        float[] host = new float[(int) grads.size()];
        Runnable weighOnDevice = weigh;
        float share = scale;
        return () -> {
            weighOnDevice.run();
            device.download(grads, host);
            if (share != 1f) {
                for (int i = 0; i < host.length; i++) {
                    host[i] *= share; // one rounding, as the GEMM's (1, 1) x (1, Q) product would
                }
            }
            ranks.sum(host);
            device.upload(host, grads);
        };
    }
}
