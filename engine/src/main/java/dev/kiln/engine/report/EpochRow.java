package dev.kiln.engine.report;

/**
 * The numbers of one finished epoch. Accuracies are fractions of 1. A value that was not measured (no test set)
 * or went bad is NaN; the report leaves it out of the charts and shows "–" in tables.
 *
 * @param epoch            1-based
 * @param trainLoss        mean cross-entropy over the epoch's training batches
 * @param testLoss         mean cross-entropy on the test set after the epoch, or NaN
 * @param trainAccuracy    fraction of training samples classified correctly during the epoch
 * @param testAccuracy     fraction of test samples classified correctly after the epoch, or NaN
 * @param learningRate     the learning rate used in the epoch (its last value when scheduled)
 * @param samplesPerSecond training throughput
 * @param epochSeconds     wall-clock time of the epoch
 */
public record EpochRow(int epoch, double trainLoss, double testLoss, double trainAccuracy, double testAccuracy,
                       double learningRate, double samplesPerSecond, double epochSeconds) {
    public EpochRow {
        if (epoch < 1) {
            throw new IllegalArgumentException("epochs are numbered from 1, got " + epoch);
        }
    }
}
