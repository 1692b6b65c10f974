package dev.kiln.engine;

import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.Tensor;

/** How a batch is cut into replicas ({@link Device#forEachReplica}), and how their per-replica statistics add up. */
public final class Replicas {
    private Replicas() {
    }

    /** First row of each of {@code replicas} near-equal runs of consecutive rows out of {@code rows}, and the end. */
    public static int[] starts(int rows, int replicas) {
        int[] s = new int[replicas + 1];
        for (int i = 0; i <= replicas; i++) {
            s[i] = (int) ((long) rows * i / replicas);
        }
        return s;
    }

    /** Rows {@code [start, start + rows)} of every buffer (one per layer). */
    public static Tensor[] rows(Tensor[] buffers, int start, int rows) {
        Tensor[] v = new Tensor[buffers.length];
        for (int l = 0; l < v.length; l++) {
            v[l] = buffers[l].rows(start, rows);
        }
        return v;
    }

    /**
     * Downloads {@code stats (R, 2)}, each replica's {loss sum, correct count}, and adds them up in replica order, so
     * that the sums do not depend on which thread ran which replica. Waits for the device.
     */
    public static float[] sumStats(Device device, Tensor stats) {
        float[] perReplica = new float[(int) stats.size()];
        device.download(stats, perReplica);
        float[] s = new float[2];
        for (int i = 0; i < perReplica.length; i += 2) {
            s[0] += perReplica[i];
            s[1] += perReplica[i + 1];
        }
        return s;
    }
}
