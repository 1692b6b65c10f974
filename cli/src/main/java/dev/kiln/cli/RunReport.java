package dev.kiln.cli;

import dev.kiln.data.Dataset;
import dev.kiln.engine.checkpoint.Checkpoint;
import dev.kiln.engine.eval.Evaluation;
import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.optim.Optimizer;
import dev.kiln.engine.report.ClassStats;
import dev.kiln.engine.report.EpochRow;
import dev.kiln.engine.report.FirstLayerWeights;
import dev.kiln.engine.report.Mistake;
import dev.kiln.engine.report.Report;
import dev.kiln.engine.report.ReportWriter;
import dev.kiln.engine.report.RunFacts;
import dev.kiln.engine.train.EpochMetrics;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Gathers what {@code kiln train --report} and {@code kiln eval --report} show, and writes the page. */
final class RunReport {
    private RunReport() {
    }

    /**
     * Writes DIR/report.html and DIR/metrics.json.
     *
     * @param parameters the model's flat parameters (PyTorch state-dict order): the first layer's weights come first
     */
    static Path write(Path dir, String title, LayerSpec layers, Optimizer optimizer, Map<String, String> runSettings,
                      long seed, String deviceDescription, String dataset, String checksum, double totalSeconds,
                      List<EpochMetrics> epochs, Evaluation eval, Dataset test, float[] parameters) {
        Map<String, String> hyper = new LinkedHashMap<>(Checkpoint.optimizerMetadata(optimizer)); // as a checkpoint names them
        String optimizerName = hyper.remove("optimizer");
        hyper.putAll(runSettings);
        RunFacts facts = new RunFacts(Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(), Kiln.version(), commit(),
                deviceDescription + "; " + cpuModel(), layers.toString(), layers.parameterCount(),
                optimizerName, hyper, seed, dataset, checksum, totalSeconds);
        List<EpochRow> rows = epochs.stream().map(m -> new EpochRow(m.epoch(), m.trainLoss(), m.testLoss(),
                m.trainAccuracy(), m.testAccuracy(), m.learningRate(), m.samplesPerSecond(), m.epochSeconds())).toList();
        ClassStats classes = eval == null ? null : ClassStats.of(eval.classes(), eval.labels(), eval.predictions());
        List<Mistake> mistakes = eval == null ? null : Mistake.worst(test, eval.predictions(), eval.confidence());
        FirstLayerWeights weights = null;
        if (test != null && layers.inputSize() == test.pixelsPerSample()) {
            int units = layers.outputs(0);
            int at = layers.weightOffset(0); // (units, inputs)
            weights = FirstLayerWeights.ofFlat(Arrays.copyOfRange(parameters, at, at + units * layers.inputSize()),
                    units, test.rows(), test.cols());
        }
        return ReportWriter.write(dir, new Report(title, facts, rows, classes, mistakes, weights));
    }

    /** The commit the launcher found (KILN_COMMIT), or "unknown". */
    private static String commit() {
        String c = System.getenv("KILN_COMMIT");
        return c == null || c.isBlank() ? "unknown" : c;
    }

    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim() + ", " + Runtime.getRuntime().availableProcessors() + " cores";
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux: fall through
        }
        return System.getProperty("os.arch") + ", " + Runtime.getRuntime().availableProcessors() + " cores";
    }
}
