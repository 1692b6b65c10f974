package dev.kiln.engine.report;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What a run was: when, with which Kiln, on what device, which network, optimizer, seed and data, and how long it
 * took. Every string is shown on the page as given (HTML-escaped), so callers format them for people.
 *
 * @param date            ISO-8601 date-time of the run, e.g. "2025-06-01T14:03:22Z"
 * @param kilnVersion     e.g. "0.1.0-SNAPSHOT"
 * @param commit          the git commit Kiln was built from, or "unknown"
 * @param device          e.g. "CPU: AMD EPYC 9654 (AVX-512, 16 float lanes)" or "GPU: NVIDIA H200"
 * @param layers          the layer widths, e.g. "784,25,25,10"
 * @param parameters      number of trainable parameters
 * @param optimizer       e.g. "adam"
 * @param hyperparameters the optimizer's and the run's settings in display order, e.g. lr -> 0.001, batch -> 64
 * @param seed            the random seed
 * @param dataset         e.g. "mnist"
 * @param checksum        how the data was checked, e.g. "verified SHA-256" or "not checked (--data-dir)"
 * @param totalSeconds    wall-clock time of the whole run (NaN when not known)
 */
public record RunFacts(String date, String kilnVersion, String commit, String device, String layers, long parameters,
                       String optimizer, Map<String, String> hyperparameters, long seed, String dataset,
                       String checksum, double totalSeconds) {
    public RunFacts {
        Objects.requireNonNull(date, "date");
        Objects.requireNonNull(kilnVersion, "kilnVersion");
        Objects.requireNonNull(commit, "commit");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(layers, "layers");
        Objects.requireNonNull(optimizer, "optimizer");
        Objects.requireNonNull(dataset, "dataset");
        Objects.requireNonNull(checksum, "checksum");
        // LinkedHashMap keeps the caller's order (Map.copyOf would not); unmodifiable keeps the record immutable.
        hyperparameters = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(hyperparameters)));
    }
}
