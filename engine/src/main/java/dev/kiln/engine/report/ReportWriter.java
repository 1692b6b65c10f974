package dev.kiln.engine.report;

import dev.kiln.data.AtomicFile;

import dev.kiln.data.KilnException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes report directories: {@link #write} for a training or evaluation run (report.html and metrics.json),
 * {@link #writeBench} for a benchmark comparison (report.html and bench.json). Each file is written to a temporary
 * name and renamed, so a reader never sees half a page. The directory is created when missing; files of the same
 * names are replaced, other files are left alone.
 */
public final class ReportWriter {
    public static final String HTML = "report.html";
    public static final String METRICS = "metrics.json";
    public static final String BENCH = "bench.json";

    private ReportWriter() {}

    /**
     * Writes {@code dir/report.html} and {@code dir/metrics.json}.
     *
     * @return the page's path
     * @throws KilnException when the directory cannot be created or written
     */
    public static Path write(Path dir, Report report) {
        String html = ReportPage.html(report);
        String json = MetricsJson.report(report);
        save(dir, METRICS, json);
        return save(dir, HTML, html);
    }

    /**
     * Writes {@code dir/report.html} (chart and table) and {@code dir/bench.json} for {@code kiln bench --report}.
     *
     * @param rows  the measurements, in the order the table lists them
     * @param facts the machine and build; for a benchmark, layers/optimizer/seed describe the benchmark settings
     * @return the page's path
     * @throws KilnException when the directory cannot be created or written
     */
    public static Path writeBench(Path dir, List<BenchRow> rows, RunFacts facts) {
        rows = List.copyOf(rows);
        String html = BenchPage.html(rows, facts);
        String json = MetricsJson.bench(rows, facts);
        save(dir, BENCH, json);
        return save(dir, HTML, html);
    }

    /** The page for {@code report}, as {@link #write} would write it. */
    public static String html(Report report) {
        return ReportPage.html(report);
    }

    /** The JSON for {@code report}, as {@link #write} would write it. */
    public static String metricsJson(Report report) {
        return MetricsJson.report(report);
    }

    private static Path save(Path dir, String name, String content) {
        Path target = dir.resolve(name);
        try {
            Files.createDirectories(dir);
            AtomicFile.write(target, content.getBytes(StandardCharsets.UTF_8));
            return target;
        } catch (IOException e) {
            throw new KilnException("cannot write the report " + target + ": " + e.getMessage(),
                    "check that the directory exists or can be created and is writable, or pass another --report DIR", e);
        }
    }
}
