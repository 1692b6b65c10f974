package dev.kiln.data;

import java.util.SplittableRandom;

/**
 * The order in which an epoch visits samples: a pure function of (seed, epoch), so a resumed run sees exactly
 * the batches an uninterrupted run would have seen.
 */
public final class Shuffle {
    private Shuffle() {
    }

    /** A permutation of 0 .. n-1 for epoch {@code epoch} (0-based) of a run seeded with {@code seed}. */
    public static int[] order(int n, long seed, int epoch) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        // One independent stream per epoch: SplittableRandom's mixing makes nearby (seed, epoch) pairs unrelated.
        SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch);
        for (int i = n - 1; i > 0; i--) { // Fisher-Yates
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }
}
