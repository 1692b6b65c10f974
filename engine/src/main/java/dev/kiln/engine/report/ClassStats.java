package dev.kiln.engine.report;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * A confusion matrix and what follows from it: per-class precision and recall. {@code confusion[t][p]} counts the
 * samples of true class t predicted as class p (C classes). It holds counts only; it is not an evaluator.
 *
 * @param confusion  (C, C) counts, [true][predicted]; copied
 * @param classNames C names, e.g. "0" .. "9"
 */
public record ClassStats(int[][] confusion, List<String> classNames) {
    public ClassStats {
        classNames = List.copyOf(classNames);
        int c = classNames.size();
        if (confusion.length != c) {
            throw new IllegalArgumentException("confusion matrix has " + confusion.length + " rows for " + c + " classes");
        }
        int[][] copy = new int[c][];
        for (int t = 0; t < c; t++) {
            if (confusion[t].length != c) {
                throw new IllegalArgumentException("confusion row " + t + " has " + confusion[t].length + " columns, not " + c);
            }
            for (int n : confusion[t]) {
                if (n < 0) {
                    throw new IllegalArgumentException("negative count in confusion row " + t);
                }
            }
            copy[t] = confusion[t].clone();
        }
        confusion = copy;
    }

    /** Counts the pairs (labels[i], predicted[i]) into a matrix; names are "0" .. "classes-1". */
    public static ClassStats of(int classes, int[] labels, int[] predicted) {
        if (labels.length != predicted.length) {
            throw new IllegalArgumentException(labels.length + " labels but " + predicted.length + " predictions");
        }
        int[][] m = new int[classes][classes];
        for (int i = 0; i < labels.length; i++) {
            m[labels[i]][predicted[i]]++;
        }
        return new ClassStats(m, IntStream.range(0, classes).mapToObj(Integer::toString).toList());
    }

    /** The matrix itself (a copy, so the record stays immutable). */
    @Override
    public int[][] confusion() {
        int[][] copy = new int[confusion.length][];
        for (int t = 0; t < confusion.length; t++) {
            copy[t] = confusion[t].clone();
        }
        return copy;
    }

    public int classes() { return classNames.size(); }

    /** Samples of true class t predicted as p. */
    public int count(int t, int p) { return confusion[t][p]; }

    /** All samples counted. */
    public long total() {
        long n = 0;
        for (int[] row : confusion) {
            for (int v : row) {
                n += v;
            }
        }
        return n;
    }

    /** Samples on the diagonal. */
    public long correct() {
        long n = 0;
        for (int c = 0; c < confusion.length; c++) {
            n += confusion[c][c];
        }
        return n;
    }

    /** correct / total, NaN when empty. */
    public double accuracy() {
        long total = total();
        return total == 0 ? Double.NaN : (double) correct() / total;
    }

    /** Samples whose true class is c (row sum): the class's support. */
    public long support(int c) {
        long n = 0;
        for (int v : confusion[c]) {
            n += v;
        }
        return n;
    }

    /** Samples predicted as c (column sum). */
    public long predictedAs(int c) {
        long n = 0;
        for (int[] row : confusion) {
            n += row[c];
        }
        return n;
    }

    /** Of the samples predicted as c, the fraction that are c; NaN when nothing was predicted as c. */
    public double precision(int c) {
        long predicted = predictedAs(c);
        return predicted == 0 ? Double.NaN : (double) confusion[c][c] / predicted;
    }

    /** Of the samples that are c, the fraction predicted as c; NaN when the class has no samples. */
    public double recall(int c) {
        long support = support(c);
        return support == 0 ? Double.NaN : (double) confusion[c][c] / support;
    }

    /** Harmonic mean of precision and recall; NaN when either is NaN, 0 when both are 0. */
    public double f1(int c) {
        double p = precision(c);
        double r = recall(c);
        if (Double.isNaN(p) || Double.isNaN(r)) {
            return Double.NaN;
        }
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    /** The largest single cell (for the heatmap's colour scale). */
    public int maxCount() {
        int max = 0;
        for (int[] row : confusion) {
            for (int v : row) {
                max = Math.max(max, v);
            }
        }
        return max;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClassStats other && classNames.equals(other.classNames)
                && Arrays.deepEquals(confusion, other.confusion);
    }

    @Override
    public int hashCode() {
        return Objects.hash(classNames, Arrays.deepHashCode(confusion));
    }

    @Override
    public String toString() {
        return "ClassStats[" + classes() + " classes, " + total() + " samples, accuracy " + accuracy() + "]";
    }
}
