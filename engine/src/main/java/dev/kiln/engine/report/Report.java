package dev.kiln.engine.report;

import java.util.List;
import java.util.Objects;

/**
 * Everything one report page shows. Only {@code title}, {@code facts} and {@code epochs} are required; the rest is
 * null when the run did not produce it (no test set, a report from {@code kiln eval} without epochs, ...), and the
 * page then leaves the section out or says why it is empty.
 *
 * @param title     the page heading, e.g. "Kiln training report" or "Kiln evaluation report"
 * @param facts     what the run was
 * @param epochs    one row per finished epoch, in order; empty for an evaluation
 * @param classes   the test set's confusion matrix, or null without a test set
 * @param mistakes  the most confident test mistakes ({@link Mistake#worst}); empty when there were none, null
 *                  when not computed
 * @param weights   the first layer's weights, or null
 */
public record Report(String title, RunFacts facts, List<EpochRow> epochs, ClassStats classes, List<Mistake> mistakes,
                     FirstLayerWeights weights) {
    public Report {
        Objects.requireNonNull(title, "title");
        Objects.requireNonNull(facts, "facts");
        epochs = List.copyOf(epochs);
        mistakes = mistakes == null ? null : List.copyOf(mistakes);
    }

    /** The last epoch, or null when there are none. */
    public EpochRow lastEpoch() {
        return epochs.isEmpty() ? null : epochs.getLast();
    }

    /**
     * The run's final test accuracy: the last epoch's, or the confusion matrix's for an evaluation (or when the last
     * epoch's was not measured); NaN when neither exists.
     */
    public double finalTestAccuracy() {
        EpochRow last = lastEpoch();
        if (last != null && !Double.isNaN(last.testAccuracy())) {
            return last.testAccuracy();
        }
        return classes == null ? Double.NaN : classes.accuracy();
    }
}
