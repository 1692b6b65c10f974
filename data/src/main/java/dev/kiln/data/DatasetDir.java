package dev.kiln.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A directory laid out like MNIST: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
 * t10k-labels-idx1-ubyte, each raw or with {@code .gz}. Loads it as a {@link Dataset.Pair} of 10 classes. Knows
 * nothing of checksums or downloads ({@link Mnist} does); any dataset in this layout loads.
 */
public final class DatasetDir {
    public static final String TRAIN_IMAGES = "train-images-idx3-ubyte";
    public static final String TRAIN_LABELS = "train-labels-idx1-ubyte";
    public static final String TEST_IMAGES = "t10k-images-idx3-ubyte";
    public static final String TEST_LABELS = "t10k-labels-idx1-ubyte";
    /** The four names, without {@code .gz}. */
    public static final List<String> FILES = List.of(TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS);
    public static final int CLASSES = 10;

    private DatasetDir() {
    }

    /**
     * Loads the four files of {@code dir}; {@code name} prefixes the datasets' names ("mnist" gives
     * "mnist/train" and "mnist/test").
     */
    public static Dataset.Pair load(Path dir, String name) {
        if (!Files.isDirectory(dir)) {
            throw new KilnException(dir + " is not a directory", "--data-dir names a directory holding "
                    + String.join(", ", FILES) + " (each raw or .gz)");
        }
        List<String> missing = new ArrayList<>();
        for (String f : FILES) {
            if (find(dir, f) == null) {
                missing.add(f);
            }
        }
        if (!missing.isEmpty()) {
            throw new KilnException(dir + " lacks " + String.join(", ", missing) + " (raw or .gz)",
                    "an MNIST-style directory holds " + String.join(", ", FILES) + "; kiln data fetch downloads MNIST");
        }
        return new Dataset.Pair(
                load(find(dir, TRAIN_IMAGES), find(dir, TRAIN_LABELS), name + "/train"),
                load(find(dir, TEST_IMAGES), find(dir, TEST_LABELS), name + "/test"));
    }

    /** The file for {@code base} in {@code dir}: the raw one if present, else the {@code .gz} one, else null. */
    public static Path find(Path dir, String base) {
        Path raw = dir.resolve(base);
        if (Files.isRegularFile(raw)) {
            return raw;
        }
        Path gz = dir.resolve(base + ".gz");
        return Files.isRegularFile(gz) ? gz : null;
    }

    /** One dataset from an images file and its labels file. */
    public static Dataset load(Path imagesFile, Path labelsFile, String name) {
        Idx.Images images = Idx.readImages(imagesFile);
        int[] labels = Idx.readLabels(labelsFile);
        if (labels.length != images.count()) {
            throw new KilnException(labelsFile + " holds " + labels.length + " labels but " + imagesFile + " holds "
                    + images.count() + " images", "the two files must come from the same dataset");
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] >= CLASSES) {
                throw new KilnException(labelsFile + ": label " + labels[i] + " at index " + i + " is outside 0.."
                        + (CLASSES - 1), "Kiln's MNIST-style datasets have " + CLASSES + " classes");
            }
        }
        return new Dataset(name, images.rows(), images.cols(), CLASSES, images.pixels(), labels);
    }
}
