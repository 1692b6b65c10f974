package dev.kiln.engine;

import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.Tensor;

/** How a batch is cut into shards ({@link Device#forEachShard}), and how their per-shard statistics add up. */
public final class Shards {
    private Shards() {
    }

    /** First row of each of {@code shards} near-equal runs of consecutive rows out of {@code rows}, and the end. */
    public static int[] starts(int rows, int shards) {
        int[] s = new int[shards + 1];
        for (int i = 0; i <= shards; i++) {
            s[i] = (int) ((long) rows * i / shards);
        }
        return s;
    }

    /** Rows of the longest of {@link #starts}' {@code shards} runs out of {@code rows} (0 for no rows). */
    public static int longest(int rows, int shards) {
        return (rows + shards - 1) / shards;
    }

    /**
     * Downloads {@code stats (S, 2)}, each shard's {loss sum, correct count}, and adds them up in slot order, so that
     * the sums do not depend on which thread ran which shard. Waits for the device.
     */
    public static float[] sumStats(Device device, Tensor stats) {
        float[] perSlot = new float[(int) stats.size()];
        device.download(stats, perSlot);
        float[] s = new float[2];
        for (int i = 0; i < perSlot.length; i += 2) {
            s[0] += perSlot[i];
            s[1] += perSlot[i + 1];
        }
        return s;
    }
}
