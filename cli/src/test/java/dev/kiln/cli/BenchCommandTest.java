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
