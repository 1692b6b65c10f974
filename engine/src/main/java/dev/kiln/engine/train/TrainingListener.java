package dev.kiln.engine.train;

/**
 * Hears how training goes. Both methods run on the training thread, between steps; keep them quick. Both have
 * empty defaults.
 */
public interface TrainingListener {

    /** Does nothing. */
    TrainingListener NONE = new TrainingListener() {
    };

    /**
     * Progress within an epoch, at most every {@link TrainConfig#progressEverySteps()} steps (or about every
     * 100 ms when that is 0), and after the epoch's last step.
     *
     * @param epoch            1-based
     * @param step             steps done in this epoch, 1 .. totalSteps
     * @param totalSteps       steps in this epoch
     * @param runningLoss      mean loss over this epoch's samples so far
     * @param samplesPerSecond this epoch's training speed so far
     */
    default void onStep(int epoch, int step, int totalSteps, double runningLoss, double samplesPerSecond) {
    }

    /**
     * An epoch finished (and was evaluated on the test set). {@link Trainer#exportState()} is valid here, so this
     * is where a checkpoint is written.
     */
    default void onEpoch(EpochMetrics metrics) {
    }
}
