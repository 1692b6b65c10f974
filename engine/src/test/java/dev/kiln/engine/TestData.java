package dev.kiln.engine;

import dev.kiln.data.Dataset;

import java.util.SplittableRandom;

/** Small seeded datasets for engine tests. */
public final class TestData {
    private TestData() {
    }

    /**
     * {@code n} images of {@code pixels} bytes in {@code classes} easily separated classes: class c is bright in its
     * own band of pixels and dim elsewhere, with noise.
     */
    public static Dataset separable(String name, int n, int pixels, int classes, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        byte[] px = new byte[n * pixels];
        int[] labels = new int[n];
        int band = pixels / classes;
        for (int i = 0; i < n; i++) {
            int c = rng.nextInt(classes);
            labels[i] = c;
            for (int p = 0; p < pixels; p++) {
                boolean bright = p / band == c;
                px[i * pixels + p] = (byte) (bright ? 150 + rng.nextInt(106) : rng.nextInt(90));
            }
        }
        return new Dataset(name, 1, pixels, classes, px, labels);
    }

    /** Uniformly random pixels and labels: nothing to learn, but every code path runs. */
    public static Dataset random(String name, int n, int pixels, int classes, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        byte[] px = new byte[n * pixels];
        int[] labels = new int[n];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) rng.nextInt(256);
        }
        for (int i = 0; i < n; i++) {
            labels[i] = rng.nextInt(classes);
        }
        return new Dataset(name, 1, pixels, classes, px, labels);
    }
}
