package dev.kiln.engine.report;

import java.util.Objects;

/**
 * One measured benchmark cell for {@code kiln bench --report}: a network at a batch size on one engine.
 *
 * @param network          e.g. "784,25,25,10"
 * @param batch            batch size
 * @param engine           e.g. "kiln cpu", "kiln cuda", "pytorch", "numpy"
 * @param samplesPerSecond training throughput (NaN when the engine could not run it)
 * @param epochSeconds     time of one epoch over the training set (NaN when not measured)
 */
public record BenchRow(String network, int batch, String engine, double samplesPerSecond, double epochSeconds) {
    public BenchRow {
        Objects.requireNonNull(network, "network");
        Objects.requireNonNull(engine, "engine");
    }
}
