package dev.kiln.examples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Keeps the README's Java API example true: {@link EmbedKiln} runs, and the README shows it verbatim. */
class ReadmeExampleTest {
    private static final Path SOURCE = Path.of("src/test/java/dev/kiln/examples/EmbedKiln.java");
    private static final Path README = Path.of("../README.md");

    @TempDir
    Path dir;

    /** {@code n} rows of 784 pixels: digit c is a bright bar across rows 4+2c and 5+2c, over faint noise. */
    private static float[][] images(int n, SplittableRandom rng, int[] labels) {
        float[][] x = new float[n][784];
        for (int i = 0; i < n; i++) {
            labels[i] = rng.nextInt(10);
            for (int p = 0; p < 784; p++) {
                int row = p / 28;
                boolean bar = row == 4 + 2 * labels[i] || row == 5 + 2 * labels[i];
                x[i][p] = (float) (bar ? 0.7 + 0.3 * rng.nextDouble() : 0.2 * rng.nextDouble());
            }
        }
        return x;
    }

    @Test
    void theExampleTrainsPredictsSavesAndReloads() {
        SplittableRandom rng = new SplittableRandom(11);
        int[] trainLabels = new int[600], testLabels = new int[100];
        float[][] train = images(600, rng, trainLabels), test = images(100, rng, testLabels);
        Path file = dir.resolve("my-model.safetensors");

        PrintStream stdout = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            EmbedKiln.trainAndSave(train, trainLabels, test, testLabels, file);
        } finally {
            System.setOut(stdout);
        }
        String out = captured.toString(StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("test accuracy ([0-9.]+)%\\R"
                + "first test image: (\\d) \\(([0-9.]+)%\\)\\R"
                + "reloaded: (\\d)\\R").matcher(out);
        assertTrue(m.matches(), out);
        assertTrue(Double.parseDouble(m.group(1)) >= 90, "the bars are easy: " + out);
        assertEquals(m.group(2), m.group(4), "the reloaded model classifies as the saved one did");
        assertTrue(Files.isRegularFile(file));
    }

    /** The example as the README shows it: the source file from its first import to its end. */
    static String snippet() throws IOException {
        String source = Files.readString(SOURCE).replace("\r\n", "\n");
        return source.substring(source.indexOf("import ")).strip();
    }

    @Test
    void theReadmeShowsTheExampleVerbatim() throws IOException {
        assumeTrue(Files.isRegularFile(README) && Files.readString(README).contains("## Java API"),
                "README.md has no \"## Java API\" section yet");
        String readme = Files.readString(README).replace("\r\n", "\n");
        assertTrue(readme.contains("```java\n" + snippet() + "\n```"),
                "README.md's Java API section must show " + SOURCE + " from its first import, verbatim");
    }

    /** The example project's main, as the README shows it: from its first import to its end. */
    @Test
    void theReadmeShowsTheExampleProjectsMainVerbatim() throws IOException {
        Path main = Path.of("../examples/kiln-example/src/main/java/example/TrainMnist.java");
        String source = Files.readString(main).replace("\r\n", "\n");
        String readme = Files.readString(README).replace("\r\n", "\n");
        assertTrue(readme.contains("```java\n" + source.substring(source.indexOf("import ")).strip() + "\n```"),
                "README.md's Java API section must show " + main + " from its first import, verbatim");
    }
}
