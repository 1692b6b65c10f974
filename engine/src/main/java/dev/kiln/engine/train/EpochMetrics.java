package dev.kiln.engine.train;

/**
 * What one epoch of training did. Losses are means over samples; accuracies are fractions in [0, 1]; the test
 * figures are NaN when training ran without a test set.
 *
 * @param epoch            1-based
 * @param trainLoss        mean cross-entropy over the epoch's samples, each taken when its batch was trained
 * @param trainAccuracy    fraction of the epoch's samples the network got right when their batch was trained
 * @param testLoss         mean cross-entropy on the test set after the epoch
 * @param testAccuracy     fraction of the test set right after the epoch
 * @param learningRate     the rate this epoch used
 * @param epochSeconds     wall time of the training pass alone (not the test evaluation)
 * @param samplesPerSecond training samples / epochSeconds
 * @param device           {@link dev.kiln.engine.device.Device#name()}
 */
public record EpochMetrics(int epoch, double trainLoss, double trainAccuracy, double testLoss, double testAccuracy,
                           double learningRate, double epochSeconds, double samplesPerSecond, String device) {
}
