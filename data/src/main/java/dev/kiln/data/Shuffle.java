package dev.kiln.data;

import java.util.SplittableRandom;

/**
 * The order in which an epoch visits samples: a pure function of (seed, epoch), so a resumed run sees exactly
 * the batches an uninterrupted run would have seen.
 */
public final class Shuffle {
    private Shuffle() {
    }

    /**
     * Loops run in pieces of at most this many elements, so that the JIT sees them end: a loop compiled in the middle
     * of its first 60,000 iterations (on-stack replacement) treated its never-seen exit as impossible, took a trap
     * there at the end of every shuffle, and was compiled again while the next epoch trained (40 ms of compiler
     * time on two cores, inside epochs 3 and 4 of a run at batch 1024).
     */
    private static final int PIECE = 4096;

    /** A permutation of 0 .. n-1 for epoch {@code epoch} (0-based) of a run seeded with {@code seed}. */
    public static int[] order(int n, long seed, int epoch) {
        int[] order = new int[n];
        for (int lo = 0; lo < n; lo += PIECE) {
            identity(order, lo, Math.min(n, lo + PIECE));
        }
        // One independent stream per epoch: SplittableRandom's mixing makes nearby (seed, epoch) pairs unrelated.
        SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch);
        for (int hi = n - 1; hi > 0; hi -= PIECE) {
            swap(order, rng, hi, Math.max(0, hi - PIECE));
        }
        return order;
    }

    private static void identity(int[] order, int from, int to) {
        for (int i = from; i < to; i++) {
            order[i] = i;
        }
    }

    /** Fisher-Yates steps for i = hi down to lo + 1 (exclusive of lo), in that order. */
    private static void swap(int[] order, SplittableRandom rng, int hi, int lo) {
        for (int i = hi; i > lo; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    }
}
