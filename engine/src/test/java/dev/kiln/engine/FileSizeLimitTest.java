package dev.kiln.engine;

import dev.kiln.data.KilnException;
import dev.kiln.engine.checkpoint.SafeTensors;
import dev.kiln.engine.report.MetricsLog;
import dev.kiln.engine.report.ReportWriter;
import dev.kiln.engine.train.EpochMetrics;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every file Kiln writes is written whole or not at all: under a file-size limit ({@code ulimit -f}, which makes
 * the kernel write only part of a large write, as a full disk does) the write fails with one line and what was
 * there before stays. Runs each write in a child JVM under the limit.
 */
class FileSizeLimitTest {
    @TempDir
    Path dir;

    /** The child: writes one kind of file of well over 64 KiB to args[1]; prints the one line on failure. */
    public static void main(String[] args) throws Exception {
        Path target = Path.of(args[1]);
        try {
            switch (args[0]) {
                case "checkpoint" -> SafeTensors.write(target, Map.of("x", new SafeTensors.Entry(new int[]{100_000}, new float[100_000])), Map.of());
                case "report" -> ReportWriter.writeBench(target, List.of(new dev.kiln.engine.report.BenchRow("n".repeat(200_000), 1, "kiln", 1, 1)),
                        new dev.kiln.engine.report.RunFacts("d", "v", "c", "dev", "784,10", 7850, "adam", Map.of(), 1, "data", "none", 1));
                case "metrics" -> {
                    try (MetricsLog log = MetricsLog.open(target, 1_000_000)) {
                        log.append(new EpochMetrics(999_999, 0.1, 0.9, 0.2, 0.8, 1e-3, 1, 1000, "cpu"));
                    }
                }
                default -> throw new IllegalArgumentException(args[0]);
            }
        } catch (KilnException e) {
            System.err.println("kiln: " + e.oneLine());
            System.exit(1);
        }
    }

    private String underLimit(String kind, Path target) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        String cmd = "ulimit -f 64; exec \"$0\" -XX:-UsePerfData -Xshare:auto -cp \"$1\" " + getClass().getName() + " \"$2\" \"$3\"";
        Process p = new ProcessBuilder("bash", "-c", cmd, java, System.getProperty("java.class.path"), kind, target.toString())
                .redirectErrorStream(true).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child finished");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(1, p.exitValue(), out);
        List<String> lines = out.lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), out);
        assertTrue(lines.getFirst().startsWith("kiln: "), out);
        return lines.getFirst();
    }

    private void assertNoTemporaryFiles(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            List<Path> parts = files.filter(f -> f.getFileName().toString().endsWith(".part")).toList();
            assertEquals(List.of(), parts);
        }
    }

    @Test
    void aCheckpointTooLargeForTheLimitFailsAndLeavesTheOldOne() throws Exception {
        Path file = dir.resolve("m.safetensors");
        byte[] before = "the previous checkpoint".getBytes(StandardCharsets.UTF_8);
        Files.write(file, before);
        String line = underLimit("checkpoint", file);
        assertTrue(line.contains("cannot write checkpoint " + file), line);
        assertArrayEquals(before, Files.readAllBytes(file));
        assertNoTemporaryFiles(dir);
    }

    @Test
    void aReportTooLargeForTheLimitFailsAndLeavesTheOldOne() throws Exception {
        Path report = Files.createDirectory(dir.resolve("report"));
        Files.writeString(report.resolve("bench.json"), "{}");
        String line = underLimit("report", report);
        assertTrue(line.contains("cannot write the report " + report.resolve("bench.json")), line);
        assertEquals("{}", Files.readString(report.resolve("bench.json")));
        assertTrue(Files.notExists(report.resolve("report.html")));
        assertNoTemporaryFiles(report);
    }

    @Test
    void metricsTooLargeForTheLimitFailAndKeepTheEarlierEpochs() throws Exception {
        Path file = dir.resolve("metrics.jsonl");
        StringBuilder earlier = new StringBuilder();
        for (int e = 1; e <= 1000; e++) {
            earlier.append(MetricsLog.line(new EpochMetrics(e, 0.1, 0.9, 0.2, 0.8, 1e-3, 1, 1000, "cpu"))).append('\n');
        }
        Files.writeString(file, earlier); // about 190 KB, written here without the limit
        String line = underLimit("metrics", file);
        assertTrue(line.contains("cannot write metrics to " + file), line);
        assertEquals(earlier.toString(), Files.readString(file));
        assertNoTemporaryFiles(dir);
    }
}
