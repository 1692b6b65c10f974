package dev.kiln.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.kiln.cli.Cli.kiln;
import static dev.kiln.cli.Cli.ok;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code kiln bench} on small generated data: a row per device and config, peers merged, the report written. */
class BenchCommandTest {
    @TempDir
    Path dir;

    @Test
    void measuresEachConfigAndDrawsThePeersBesideKiln() throws IOException {
        Path data = Cli.mnistLike(dir.resolve("data"), 200, 20, 3);
        Path peers = dir.resolve("peers.tsv");
        Files.writeString(peers, "network\tbatch\tengine\tsamples_per_second\tepoch_seconds\n"
                + "784,16,10\t32\tpytorch\t1234.5\t0.162\n");
        Path report = dir.resolve("report");
        Cli.Result r = ok("bench", "--devices", "reference", "--configs", "784,16,10:32 784,8,10:64", "--epochs", "2",
                "--data-dir", data.toString(), "--peers", peers.toString(), "--report", report.toString());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("kiln reference\\s+784,16,10\\s+batch\\s+32\\s+.*samples/s")), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("kiln reference\\s+784,8,10\\s+batch\\s+64\\s+.*samples/s")), r.out());
        String html = Files.readString(report.resolve("report.html"));
        assertTrue(html.contains("pytorch") && html.contains("kiln reference"), "both engines on the page");
        String json = Files.readString(report.resolve("bench.json"));
        assertTrue(json.contains("1234.5"), json);
    }

    @Test
    void itSaysWhatItMeasuresAndNeverComparesAnotherMachinesNumbers() throws IOException {
        Path data = Cli.mnistLike(dir.resolve("data"), 100, 20, 3);
        Path peers = dir.resolve("compare-old.tsv");
        Files.writeString(peers, "network\tbatch\tengine\tsamples_per_second\tepoch_seconds\n"
                + "784,16,10\t32\tpytorch\t1000000000\t0.001\n");
        Files.writeString(dir.resolve("compare-old.json"), "{\"date\": \"2020-01-01 10:00\", \"machine\": \"Old CPU\", \"cores\": 64}");
        Path report = dir.resolve("report");
        Cli.Result r = ok("bench", "--devices", "reference", "--configs", "784,16,10:32", "--epochs", "2",
                "--data-dir", data.toString(), "--peers", peers.toString(), "--report", report.toString());
        assertTrue(r.err().contains("measuring 1 run of 2 epochs (the first a warm-up): reference on 784,16,10:32"), r.err());
        assertTrue(r.out().contains("peers from " + peers + ": measured on Old CPU, 64 cores, 2020-01-01 10:00; another machine"), r.out());
        String html = Files.readString(report.resolve("report.html"));
        assertTrue(html.contains("pytorch (another machine)") && html.contains("<td>Old CPU, 64 cores, 2020-01-01 10:00</td>"), html);
        // the peer is a million times faster, but on another machine: Kiln's row is the best of its own machine
        assertTrue(java.util.regex.Pattern.compile("kiln reference</td><td class=\"n\">[^<]*</td><td class=\"n\">[^<]*</td>"
                + "<td class=\"n\">100(\\.0)?%</td><td>[^<]+, \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d</td>").matcher(html).find(), html);
        String json = Files.readString(report.resolve("bench.json"));
        assertTrue(json.contains("\"machine\" : \"Old CPU, 64 cores\"") && json.contains("\"date\" : \"2020-01-01 10:00\""), json);
    }

    @Test
    void badInputIsOneLine() throws IOException {
        Path data = Cli.mnistLike(dir.resolve("data"), 50, 10, 3);
        String config = Cli.usageLine(kiln("bench", "--devices", "reference", "--configs", "784,16,10", "--data-dir", data.toString()));
        assertTrue(config.contains("is not LAYERS:BATCH"), config);
        String epochs = Cli.usageLine(kiln("bench", "--epochs", "1", "--data-dir", data.toString()));
        assertTrue(epochs.contains("at least 2"), epochs);
        Path peers = dir.resolve("bad.tsv");
        Files.writeString(peers, "header\nonly\ttwo\n");
        String bad = kiln("bench", "--devices", "reference", "--configs", "784,8,10:50", "--epochs", "2",
                "--data-dir", data.toString(), "--peers", peers.toString()).failureLine();
        assertTrue(bad.contains("line 2 has 2 fields"), bad);
    }
}
