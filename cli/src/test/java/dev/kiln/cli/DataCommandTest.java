package dev.kiln.cli;

import dev.kiln.data.DatasetDir;
import dev.kiln.data.Idx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DataCommandTest {
    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int kiln(String... args) {
        return Kiln.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    /** 13 training images (labels 0..9 then 0..2) and 4 test images (all 7s), 2x3 pixels each, gzip'd. */
    private void writeData() throws IOException {
        int[] train = new int[13];
        for (int i = 0; i < train.length; i++) {
            train[i] = i % 10;
        }
        Idx.writeImages(dir.resolve(DatasetDir.TRAIN_IMAGES + ".gz"), 2, 3, new byte[13 * 6], true);
        Idx.writeLabels(dir.resolve(DatasetDir.TRAIN_LABELS + ".gz"), train, true);
        Idx.writeImages(dir.resolve(DatasetDir.TEST_IMAGES + ".gz"), 2, 3, new byte[4 * 6], true);
        Idx.writeLabels(dir.resolve(DatasetDir.TEST_LABELS + ".gz"), new int[]{7, 7, 7, 7}, true);
    }

    @Test
    void infoPrintsSizesAndLabelHistograms() throws IOException {
        writeData();
        assertEquals(0, kiln("data", "info", "--data-dir", dir.toString()), err.toString());
        String n = System.lineSeparator();
        assertEquals("data:  " + dir.toAbsolutePath() + n
                + "train: 13 images of 2x3, 10 classes" + n
                + "test:  4 images of 2x3, 10 classes" + n
                + "label     0     1     2     3     4     5     6     7     8     9" + n
                + "train     2     2     2     1     1     1     1     1     1     1" + n
                + "test      0     0     0     0     0     0     0     4     0     0" + n, out.toString());
        assertEquals("", err.toString());
    }

    @Test
    void aBadDirectoryIsOneLineAndExitOne() {
        Path nowhere = dir.resolve("nowhere");
        assertEquals(1, kiln("data", "info", "--data-dir", nowhere.toString()));
        assertEquals("kiln: " + nowhere + " is not a directory; hint: --data-dir names a directory holding "
                + "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"
                + " (each raw or .gz)" + System.lineSeparator(), err.toString());
        assertEquals("", out.toString());
    }

    @Test
    void aCorruptFileIsOneLineAndExitOne() throws IOException {
        writeData();
        Path labels = dir.resolve(DatasetDir.TEST_LABELS + ".gz");
        byte[] gz = Files.readAllBytes(labels);
        Files.write(labels, java.util.Arrays.copyOf(gz, gz.length - 12)); // cut into the deflate data
        assertEquals(1, kiln("data", "info", "--data-dir", dir.toString()));
        String e = err.toString();
        assertTrue(e.startsWith("kiln: " + labels + ": the gzip stream ends early"), e);
        assertEquals(1, e.lines().count(), e);
    }

    @Test
    void fetchRefusesADirectoryHoldingOtherData() throws IOException {
        writeData(); // all four names present, none of them MNIST: checked before any download
        assertEquals(1, kiln("data", "fetch", "--data-dir", dir.toString()));
        String e = err.toString();
        assertTrue(e.startsWith("kiln: " + dir.resolve(DatasetDir.TRAIN_IMAGES + ".gz") + " is not MNIST's "
                + DatasetDir.TRAIN_IMAGES + " (SHA-256 "), e);
        assertTrue(e.contains("hint: delete it and run kiln data fetch again"), e);
        assertEquals(1, e.lines().count(), e);
    }

    @Test
    void dataWithoutASubcommandShowsUsage() {
        assertEquals(2, kiln("data"));
        assertTrue(err.toString().contains("fetch") && err.toString().contains("info"), err.toString());
    }
}
