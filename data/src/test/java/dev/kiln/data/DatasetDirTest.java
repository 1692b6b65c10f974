package dev.kiln.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.kiln.data.IdxTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class DatasetDirTest {
    @TempDir
    Path dir;

    @Test
    void loadsRawAndGzipMixed() throws IOException {
        TestData.writeDir(dir, true);
        // One file raw instead of .gz: each name is looked up on its own.
        Files.delete(dir.resolve(DatasetDir.TEST_LABELS + ".gz"));
        Idx.writeLabels(dir.resolve(DatasetDir.TEST_LABELS), TestData.labels(TestData.TEST), false);

        Dataset.Pair pair = DatasetDir.load(dir, "tiny");
        assertEquals("tiny/train", pair.train().name());
        assertEquals(TestData.TRAIN, pair.train().size());
        assertEquals(TestData.TEST, pair.test().size());
        assertEquals(TestData.ROWS, pair.train().rows());
        assertEquals(TestData.COLS, pair.train().cols());
        assertEquals(10, pair.train().classes());
        assertArrayEquals(TestData.pixels(TestData.TRAIN, 1), pair.train().pixels());
        assertArrayEquals(TestData.labels(TestData.TEST), pair.test().labels());
    }

    @Test
    void countsMustAgree() throws IOException {
        TestData.writeDir(dir, false);
        Path labels = dir.resolve(DatasetDir.TRAIN_LABELS);
        Idx.writeLabels(labels, TestData.labels(TestData.TRAIN - 1), false);
        KilnException e = assertThrows(KilnException.class, () -> DatasetDir.load(dir, "x"));
        assertMessage(e, labels + " holds 24 labels but " + dir.resolve(DatasetDir.TRAIN_IMAGES) + " holds 25 images");
    }

    @Test
    void labelOutsideTheClasses() throws IOException {
        TestData.writeDir(dir, false);
        int[] labels = TestData.labels(TestData.TEST);
        labels[7] = 10;
        Path file = dir.resolve(DatasetDir.TEST_LABELS);
        Idx.writeLabels(file, labels, false);
        KilnException e = assertThrows(KilnException.class, () -> DatasetDir.load(dir, "x"));
        assertMessage(e, file + ": label 10 at index 7 is outside 0..9");
    }

    @Test
    void emptyFileInTheDirectory() throws IOException {
        TestData.writeDir(dir, false);
        Path file = dir.resolve(DatasetDir.TRAIN_IMAGES);
        Files.write(file, new byte[0]);
        KilnException e = assertThrows(KilnException.class, () -> DatasetDir.load(dir, "x"));
        assertMessage(e, file + " is empty (0 bytes)");
    }

    @Test
    void missingFilesAreNamed() throws IOException {
        TestData.writeDir(dir, false);
        Files.delete(dir.resolve(DatasetDir.TEST_IMAGES));
        KilnException e = assertThrows(KilnException.class, () -> DatasetDir.load(dir, "x"));
        assertMessage(e, dir + " lacks t10k-images-idx3-ubyte (raw or .gz)");
    }

    @Test
    void notADirectory() {
        Path nowhere = dir.resolve("nowhere");
        KilnException e = assertThrows(KilnException.class, () -> DatasetDir.load(nowhere, "x"));
        assertMessage(e, nowhere + " is not a directory");
    }

    @Test
    void imageSizesOfTrainAndTestMustAgree() throws IOException {
        TestData.writeDir(dir, false);
        Idx.writeImages(dir.resolve(DatasetDir.TEST_IMAGES), 2, 6, TestData.pixels(TestData.TEST, 2), false);
        KilnException e = assertThrows(KilnException.class, () -> DatasetDir.load(dir, "x"));
        assertEquals("training images are 4x3 but test images are 2x6", e.getMessage());
    }
}
