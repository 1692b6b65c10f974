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
 * @param machine          where it was measured, e.g. "Intel(R) Xeon(R) Processor, 2 cores"; rows of different
 *                         machines are never compared with each other
 * @param date             when it was measured, e.g. "2026-11-28 20:10"
 */
public record BenchRow(String network, int batch, String engine, double samplesPerSecond, double epochSeconds,
                       String machine, String date) {
    public BenchRow {
        Objects.requireNonNull(network, "network");
        Objects.requireNonNull(engine, "engine");
        Objects.requireNonNull(machine, "machine");
        Objects.requireNonNull(date, "date");
    }

    /** A row measured on an unnamed machine at an unnamed time (all such rows count as one machine). */
    public BenchRow(String network, int batch, String engine, double samplesPerSecond, double epochSeconds) {
        this(network, batch, engine, samplesPerSecond, epochSeconds, "", "");
    }

    /** "machine, date", or "" when neither is known. */
    public String measured() {
        return machine.isEmpty() && date.isEmpty() ? "" : machine.isEmpty() ? date : date.isEmpty() ? machine : machine + ", " + date;
    }
}
