package dev.kiln.engine.train;

import java.util.List;

/**
 * What {@link Trainer#fit} did: the metrics of each epoch it completed in this call, and whether it ended early
 * because {@link Trainer#requestStop()} was called (the interrupted epoch then has no metrics).
 */
public record TrainingResult(List<EpochMetrics> epochs, boolean stopped) {
    public TrainingResult {
        epochs = List.copyOf(epochs);
    }

    /** The last completed epoch's metrics, or null when none completed. */
    public EpochMetrics last() {
        return epochs.isEmpty() ? null : epochs.getLast();
    }
}
