package dev.kiln.cli;

import dev.kiln.engine.checkpoint.Checkpoint;
import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.optim.Optimizer;
import dev.kiln.engine.train.TrainingState;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.kiln.cli.Cli.kiln;
import static dev.kiln.cli.Cli.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code kiln eval} on a model trained once for the class on generated data. */
class EvalCommandTest {
    private static final int TEST_SIZE = 37;

    @TempDir
    static Path dir;
    static Path data;
    static Path model;

    @BeforeAll
    static void trainOnce() {
        data = Cli.mnistLike(dir.resolve("data"), 120, TEST_SIZE, 3);
        model = dir.resolve("m.safetensors");
        ok("train", "--data-dir", data.toString(), "--device", "reference", "--layers", "784,16,10", "--epochs", "3",
                "--lr", "0.01", "-o", model.toString());
    }

    @Test
    void printsAccuracyAndAConfusionMatrixOverTheWholeTestSet() {
        Cli.Result r = ok("eval", "--model", model.toString(), "--data-dir", data.toString(), "--device", "reference");
        List<String> lines = r.out().lines().toList();
        Matcher head = Pattern.compile(" on (\\d+) test images: accuracy ([0-9.]+)% \\((\\d+) correct\\)").matcher(lines.getFirst());
        assertTrue(head.find(), lines.getFirst());
        assertEquals(TEST_SIZE, Integer.parseInt(head.group(1)));
        int correct = Integer.parseInt(head.group(3));
        assertEquals(100.0 * correct / TEST_SIZE, Double.parseDouble(head.group(2)), 0.005);
        assertTrue(correct > TEST_SIZE / 2, "the bars are easy to learn: " + lines.getFirst());

        int at = lines.indexOf("confusion matrix (rows: true class, columns: predicted)");
        assertTrue(at > 0, r.out());
        int sum = 0, diagonal = 0;
        for (int t = 0; t < 10; t++) {
            int[] row = Arrays.stream(lines.get(at + 2 + t).trim().split("\\s+")).mapToInt(Integer::parseInt).toArray();
            assertEquals(11, row.length, lines.get(at + 2 + t)); // the true class, then ten counts
            assertEquals(t, row[0]);
            for (int p = 0; p < 10; p++) {
                sum += row[1 + p];
                diagonal += p == t ? row[1 + p] : 0;
            }
        }
        assertEquals(TEST_SIZE, sum);
        assertEquals(correct, diagonal);
    }

    @Test
    void aMissingModelIsOneLine() {
        Path missing = dir.resolve("missing.safetensors");
        String line = kiln("eval", "--model", missing.toString(), "--data-dir", data.toString(), "--device", "reference")
                .failureLine();
        assertTrue(line.startsWith("kiln: no checkpoint at " + missing), line);
    }

    @Test
    void aTruncatedModelIsOneLine() throws IOException {
        Path cut = dir.resolve("cut.safetensors");
        byte[] all = Files.readAllBytes(model);
        Files.write(cut, Arrays.copyOf(all, all.length / 2));
        String line = kiln("eval", "--model", cut.toString(), "--data-dir", data.toString(), "--device", "reference")
                .failureLine();
        assertTrue(line.startsWith("kiln: checkpoint " + cut + ": "), line);
        assertTrue(line.contains("hint: "), line);
    }

    @Test
    void aModelForOtherInputsIsOneLine() {
        Path other = dir.resolve("other.safetensors");
        LayerSpec spec = new LayerSpec(100, 10);
        Optimizer adam = Optimizer.Adam.defaults();
        int q = spec.parameterCount();
        Checkpoint.save(other, new TrainingState(spec, adam,
                new float[q], new float[][]{new float[q], new float[q]}, 0, 1, 42), Map.of());
        String line = kiln("eval", "--model", other.toString(), "--data-dir", data.toString(), "--device", "reference")
                .failureLine();
        assertTrue(line.contains("784") && line.contains("100"), line);
        line = kiln("predict", "--model", other.toString(), dir.resolve("any.png").toString()).failureLine();
        assertTrue(line.startsWith("kiln: " + other + " takes 100 inputs, not 784"), line);
    }
}
