package dev.kiln.data;

import java.util.Arrays;
import java.util.List;

/**
 * A user's own data before it becomes a {@link Dataset}: rows of numeric features, each with a class label, as
 * read from a CSV file ({@link Csv}) or NumPy arrays ({@link Npy}). {@link FeatureScaling} turns it into the
 * network's inputs.
 *
 * @param source       for messages: the file it came from
 * @param featureNames one per feature column (the header's names, or {@code column 1}, ... without one)
 * @param features     (N, F) values, all finite
 * @param labels       (N) class indices into {@code classNames}, or null when the rows have no labels (predict)
 * @param classNames   the classes' names, index = class: {@code 0, 1, ...} for integer labels, else the labels
 *                     seen, sorted
 */
public record Table(String source, List<String> featureNames, float[][] features, int[] labels, List<String> classNames) {
    public Table {
        featureNames = List.copyOf(featureNames);
        classNames = List.copyOf(classNames);
        if (labels != null && labels.length != features.length) {
            throw new IllegalArgumentException(source + ": " + features.length + " rows but " + labels.length + " labels");
        }
    }

    /** Number of rows N. */
    public int size() {
        return features.length;
    }

    /** Number of feature columns F: the network's input size. */
    public int featureCount() {
        return featureNames.size();
    }

    /** Number of classes: the network's output size. */
    public int classes() {
        return classNames.size();
    }

    /** The first {@code k} rows (all of them when k >= size), for {@code --limit}. */
    public Table first(int k) {
        return k >= size() ? this : new Table(source, featureNames, Arrays.copyOf(features, k),
                labels == null ? null : Arrays.copyOf(labels, k), classNames);
    }

    /** A training part and a held-out test part. */
    public record Split(Table train, Table test) {
    }

    /**
     * Holds out {@code round(testFraction * N)} rows (at least one, and at least one is left to train on), chosen
     * by a shuffle seeded with {@code seed}; both parts keep the file's order.
     */
    public Split split(double testFraction, long seed) {
        if (!(testFraction > 0 && testFraction < 1)) {
            throw new KilnException("the test fraction must lie between 0 and 1, got " + testFraction);
        }
        if (size() < 2) {
            throw new KilnException(source + " has " + size() + " row(s); at least 2 are needed to hold some out for testing");
        }
        int test = (int) Math.min(size() - 1, Math.max(1, Math.round(testFraction * size())));
        int[] order = Shuffle.order(size(), seed, -1);
        boolean[] held = new boolean[size()];
        for (int i = 0; i < test; i++) {
            held[order[i]] = true;
        }
        return new Split(select(held, false, "train"), select(held, true, "test"));
    }

    private Table select(boolean[] held, boolean want, String part) {
        int n = 0;
        for (boolean h : held) {
            n += h == want ? 1 : 0;
        }
        float[][] x = new float[n][];
        int[] y = labels == null ? null : new int[n];
        for (int i = 0, j = 0; i < held.length; i++) {
            if (held[i] == want) {
                x[j] = features[i];
                if (y != null) {
                    y[j] = labels[i];
                }
                j++;
            }
        }
        return new Table(source + " (" + part + ")", featureNames, x, y, classNames);
    }
}
