package dev.kiln.cli;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.kiln.cli.Cli.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The accuracy check: a seeded one-epoch run of the founding 784-25-25-10 network (Adam, lr 1e-3, batch 64) on all
 * 60,000 real MNIST training images, tested on the 10,000 test images. MNIST is fetched into Kiln's cache when
 * missing, hence the tag; the reference device makes every machine compute the same numbers.
 */
@Tag("network")
class MnistEndToEndTest {
    @TempDir
    Path dir;

    @Test
    void oneSeededEpochReachesNinetyTwoPercent() throws IOException {
        Path metrics = dir.resolve("metrics.jsonl");
        ok("train", "--epochs", "1", "--device", "reference", "--seed", "42",
                "-o", dir.resolve("m.safetensors").toString(), "--metrics", metrics.toString());
        List<String> lines = Files.readAllLines(metrics);
        assertEquals(1, lines.size());
        double accuracy = Double.parseDouble(TrainCommandTest.flatJson(lines.getFirst()).get("test_accuracy"));
        assertTrue(accuracy >= 0.92, "test accuracy " + accuracy); // observed 0.9291 on 2026-11-28 (about 2 s)
    }
}
