package dev.kiln.engine.report;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.data.AtomicFile;
import dev.kiln.data.KilnException;
import dev.kiln.data.OutputLock;
import dev.kiln.engine.json.Json;
import dev.kiln.engine.train.EpochMetrics;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code --metrics} file: one JSON object per epoch and line, keys in snake_case (the README lists them).
 * Each epoch rewrites the file atomically ({@link AtomicFile}), so it is always whole: a full disk or a kill leaves
 * the previous version. A resumed run keeps the lines of the epochs its checkpoint holds and appends; a fresh run
 * starts the file anew (the old one stays until the first epoch is written). The file is locked while open
 * ({@link OutputLock}): a second run writing it is refused.
 */
public final class MetricsLog implements AutoCloseable {
    private final Path file;
    private final OutputLock lock;
    private final List<String> lines = new ArrayList<>();

    private MetricsLog(Path file, OutputLock lock) {
        this.file = file;
        this.lock = lock;
    }

    /**
     * Opens {@code file} for a run that continues after {@code epochsKept} epochs: the file's lines of those
     * epochs are kept (0: none, a fresh run).
     */
    public static MetricsLog open(Path file, int epochsKept) {
        OutputLock lock = OutputLock.take(file, "the metrics file");
        MetricsLog log = new MetricsLog(file, lock);
        try {
            if (epochsKept > 0) {
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    if (!line.isBlank() && epochOf(line) <= epochsKept) {
                        log.lines.add(line);
                    }
                }
            }
            return log;
        } catch (NoSuchFileException e) {
            return log;
        } catch (IOException e) {
            lock.close();
            throw new KilnException("cannot read the metrics file " + file + ": " + e.getMessage(),
                    "pass another --metrics file", e);
        }
    }

    /** The line's epoch, or 0 when it has none (kept as it is). */
    private static long epochOf(String line) {
        try {
            return Json.parse(line).path("epoch").asLong(0);
        } catch (JacksonException e) {
            return 0;
        }
    }

    /** One epoch's line, as the file holds it. */
    public static String line(EpochMetrics m) {
        ObjectNode o = Json.object().put("epoch", m.epoch());
        o.set("train_loss", Json.number(m.trainLoss()));
        o.set("train_accuracy", Json.number(m.trainAccuracy()));
        o.set("test_loss", Json.number(m.testLoss()));
        o.set("test_accuracy", Json.number(m.testAccuracy()));
        o.set("learning_rate", Json.number(m.learningRate()));
        o.set("epoch_seconds", Json.number(m.epochSeconds()));
        o.set("samples_per_second", Json.number(m.samplesPerSecond()));
        o.put("device", m.device());
        return Json.compact(o);
    }

    /** Adds the epoch's line and rewrites the file. */
    public void append(EpochMetrics m) {
        lines.add(line(m));
        StringBuilder all = new StringBuilder();
        lines.forEach(l -> all.append(l).append('\n'));
        try {
            AtomicFile.write(file, all.toString().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            lines.removeLast();
            throw new KilnException("cannot write metrics to " + file + ": " + e.getMessage()
                    + " (the file keeps its earlier epochs)", "check the free space and that the folder is writable", e);
        }
    }

    @Override
    public void close() {
        lock.close();
    }
}
