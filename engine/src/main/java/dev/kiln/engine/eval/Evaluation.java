package dev.kiln.engine.eval;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * How a network did on a labelled dataset: mean loss, accuracy, each sample's predicted class and confidence (its
 * largest softmax probability), the confusion matrix and per-class precision and recall. Computed by
 * {@link Evaluator}; arrays are shared, treat them as read-only.
 */
public final class Evaluation {
    private final int classes;
    private final int[] labels;       // (N)
    private final int[] predictions;  // (N): argmax of the logits, ties to the lowest class
    private final float[] confidence; // (N): softmax probability of the predicted class
    private final double meanLoss;
    private final int[][] confusion;  // [true][predicted]
    private final int correct;

    public Evaluation(int classes, int[] labels, int[] predictions, float[] confidence, double meanLoss) {
        if (labels.length != predictions.length || labels.length != confidence.length) {
            throw new IllegalArgumentException("labels, predictions and confidences differ in length");
        }
        this.classes = classes;
        this.labels = labels;
        this.predictions = predictions;
        this.confidence = confidence;
        this.meanLoss = meanLoss;
        confusion = new int[classes][classes];
        int c = 0;
        for (int i = 0; i < labels.length; i++) {
            confusion[labels[i]][predictions[i]]++;
            if (labels[i] == predictions[i]) {
                c++;
            }
        }
        correct = c;
    }

    /** Number of samples N. */
    public int size() { return labels.length; }

    public int classes() { return classes; }

    /** Mean cross-entropy over the samples. */
    public double loss() { return meanLoss; }

    /** Samples predicted right. */
    public int correct() { return correct; }

    /** Fraction predicted right, in [0, 1]. */
    public double accuracy() { return labels.length == 0 ? Double.NaN : (double) correct / labels.length; }

    /** True labels (N). */
    public int[] labels() { return labels; }

    /** Predicted class of each sample (N). */
    public int[] predictions() { return predictions; }

    /** Largest softmax probability of each sample, i.e. the confidence in its prediction (N). */
    public float[] confidence() { return confidence; }

    /** {@code [true][predicted]} counts; all entries sum to N. */
    public int[][] confusionMatrix() {
        int[][] copy = new int[classes][];
        for (int i = 0; i < classes; i++) {
            copy[i] = confusion[i].clone();
        }
        return copy;
    }

    /** Of the samples predicted as {@code c}, the fraction truly {@code c}; NaN when nothing was predicted as c. */
    public double precision(int c) {
        int predicted = 0;
        for (int t = 0; t < classes; t++) {
            predicted += confusion[t][c];
        }
        return predicted == 0 ? Double.NaN : (double) confusion[c][c] / predicted;
    }

    /** Of the samples truly {@code c}, the fraction predicted as {@code c}; NaN when there are none. */
    public double recall(int c) {
        int actual = 0;
        for (int p = 0; p < classes; p++) {
            actual += confusion[c][p];
        }
        return actual == 0 ? Double.NaN : (double) confusion[c][c] / actual;
    }

    /** Indices of up to {@code k} wrongly predicted samples, most confident first (ties: lower index first). */
    public List<Integer> mostConfidentlyWrong(int k) {
        List<Integer> wrong = new ArrayList<>();
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] != predictions[i]) {
                wrong.add(i);
            }
        }
        wrong.sort(Comparator.comparingDouble((Integer i) -> -confidence[i]).thenComparingInt(i -> i));
        return wrong.subList(0, Math.min(k, wrong.size()));
    }

    @Override
    public String toString() {
        return String.format("%d samples, loss %.4f, accuracy %.2f%%", size(), meanLoss, 100 * accuracy());
    }
}
