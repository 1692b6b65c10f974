package dev.kiln.data;

import java.util.Arrays;
import java.util.Objects;

/**
 * Labelled images in memory: n samples of rows x cols unsigned-byte pixels, each with an int label.
 * Pixels stay as bytes (47 MB for MNIST's training set, not 188 MB of floats); the device scales them to [0, 1]
 * when it gathers a batch. The arrays are shared, not copied: treat them as read-only.
 */
public final class Dataset {
    private final String name;
    private final int rows;
    private final int cols;
    private final int classes;
    private final byte[] pixels; // (n, rows * cols), row-major per image
    private final int[] labels;  // (n)

    /**
     * @param name    for messages and reports, e.g. "mnist/train"
     * @param classes labels lie in 0 .. classes - 1
     */
    public Dataset(String name, int rows, int cols, int classes, byte[] pixels, int[] labels) {
        this.name = Objects.requireNonNull(name);
        if (rows <= 0 || cols <= 0 || classes <= 0) {
            throw new IllegalArgumentException("bad dataset geometry: " + rows + "x" + cols + ", " + classes + " classes");
        }
        if ((long) labels.length * rows * cols != pixels.length) {
            throw new IllegalArgumentException(name + ": " + labels.length + " labels but " + pixels.length
                    + " pixel bytes, not " + labels.length + " x " + rows + " x " + cols);
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= classes) {
                throw new KilnException(name + ": label " + labels[i] + " at index " + i + " is outside 0.." + (classes - 1));
            }
        }
        this.rows = rows;
        this.cols = cols;
        this.classes = classes;
        this.pixels = pixels;
        this.labels = labels;
    }

    public String name() { return name; }

    /** Number of samples. */
    public int size() { return labels.length; }

    /** Image height. */
    public int rows() { return rows; }

    /** Image width. */
    public int cols() { return cols; }

    /** rows * cols: the input width of a network that reads this dataset. */
    public int pixelsPerSample() { return rows * cols; }

    public int classes() { return classes; }

    /** All pixels, (size, rows * cols) row-major; shared, do not modify. */
    public byte[] pixels() { return pixels; }

    /** All labels; shared, do not modify. */
    public int[] labels() { return labels; }

    public int label(int i) { return labels[i]; }

    /** Pixel {@code p} of sample {@code i} as 0..255. */
    public int pixel(int i, int p) { return pixels[i * pixelsPerSample() + p] & 0xff; }

    /** Sample {@code i} as a network sees it: its pixels / 255, in [0, 1] (what {@code Model.predict} takes). */
    public float[] inputs(int i) {
        int p = pixelsPerSample();
        float[] x = new float[p];
        for (int j = 0; j < p; j++) {
            x[j] = (pixels[i * p + j] & 0xff) / 255f;
        }
        return x;
    }

    /** The first {@code k} samples (all of them when k >= size), for {@code --limit}. */
    public Dataset first(int k) {
        if (k < 0) {
            throw new IllegalArgumentException("limit must not be negative: " + k);
        }
        if (k >= size()) {
            return this;
        }
        return new Dataset(name, rows, cols, classes,
                Arrays.copyOf(pixels, k * pixelsPerSample()), Arrays.copyOf(labels, k));
    }

    /** How many samples have each label, indexed by label. */
    public int[] labelHistogram() {
        int[] h = new int[classes];
        for (int label : labels) {
            h[label]++;
        }
        return h;
    }

    @Override
    public String toString() {
        return name + " (" + size() + " images of " + rows + "x" + cols + ", " + classes + " classes)";
    }

    /** A training set and its test set. */
    public record Pair(Dataset train, Dataset test) {
        public Pair {
            if (train.rows() != test.rows() || train.cols() != test.cols()) {
                throw new KilnException("training images are " + train.rows() + "x" + train.cols()
                        + " but test images are " + test.rows() + "x" + test.cols());
            }
        }

        /** Both sets cut to their first {@code k} samples. */
        public Pair first(int k) {
            return new Pair(train.first(k), test.first(k));
        }
    }
}
