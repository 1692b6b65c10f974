package dev.kiln.cli;

import dev.kiln.data.Csv;
import dev.kiln.data.FeatureScaling;
import dev.kiln.data.Table;
import dev.kiln.engine.checkpoint.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.kiln.cli.Cli.kiln;
import static dev.kiln.cli.Cli.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code --data}: training, evaluating and predicting on a CSV file or NumPy arrays, and bad rows. */
class TableDataTest {
    /** Debian's python3-sklearn ships Fisher's Iris data (./test installs it when missing). */
    static final Path SKLEARN_IRIS = Path.of("/usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv");

    @TempDir
    Path dir;

    /**
     * Three colours told apart by the first feature (around 0, 1000 and 2000) with a noise column of another scale:
     * learnt only if the scaling is fitted and applied at training, evaluation and prediction alike.
     */
    private Path colours(String name, int n, long seed) throws IOException {
        SplittableRandom rng = new SplittableRandom(seed);
        StringBuilder s = new StringBuilder("hue,noise,colour\n");
        String[] names = {"red", "green", "blue"};
        for (int i = 0; i < n; i++) {
            int c = i % 3;
            s.append(String.format(Locale.ROOT, "%.2f,%.5f,%s%n", 1000 * c + 300 * rng.nextDouble(), 0.001 * rng.nextDouble(), names[c]));
        }
        return Files.writeString(dir.resolve(name), s.toString());
    }

    private static double accuracy(String out) {
        Matcher m = Pattern.compile("done: test accuracy ([0-9.]+)%").matcher(out);
        assertTrue(m.find(), out);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void trainsEvaluatesAndPredictsOnACsvWithNamedLabels() throws IOException {
        Path csv = colours("colours.csv", 300, 1);
        Path model = dir.resolve("colours.safetensors");
        Cli.Result train = ok("train", "--data", csv.toString(), "--label-column", "colour", "--layers", "8",
                "--epochs", "30", "--batch-size", "16", "--lr", "1e-2", "--standardize", "-o", model.toString());
        assertTrue(train.out().contains("training 2,8,3 (51 parameters) on " + csv
                + " (2 features, 3 classes, standardize; test: 20% held out, seed 42): 240 train / 60 test rows"), train.out());
        assertTrue(accuracy(train.out()) >= 95, train.out());

        Map<String, String> meta = SafeTensors.read(model).metadata();
        assertEquals("standardize", meta.get(FeatureScaling.KIND));
        assertEquals("blue,green,red", meta.get(FeatureScaling.CLASSES));
        assertEquals("hue,noise", meta.get(FeatureScaling.FEATURES));
        assertEquals("colour", meta.get(TableMixin.LABEL_COLUMN));

        Cli.Result eval = ok("eval", "-m", model.toString(), "--data", colours("more.csv", 90, 2).toString());
        assertTrue(eval.out().contains("on 90 test images: accuracy 100.00%"), eval.out());

        Path rows = Files.writeString(dir.resolve("rows.csv"), "hue,noise\n2100,0.0005\n50,0.0001\n1200,0.0009\n");
        Cli.Result predict = ok("predict", "-m", model.toString(), "--data", rows.toString(), "--top", "1");
        assertEquals(List.of("row 1: blue   (blue", "row 2: red   (red", "row 3: green   (green"),
                predict.out().lines().map(l -> l.substring(0, l.indexOf('(') + l.substring(l.indexOf('(')).indexOf(' '))).toList(),
                predict.out());
    }

    @Test
    void aResumedRunKeepsTheSavedScalingAndEqualsAStraightOne() throws IOException {
        Path csv = colours("r.csv", 90, 5);
        Path straight = dir.resolve("straight.safetensors"), resumed = dir.resolve("resumed.safetensors");
        ok("train", "--data", csv.toString(), "--standardize", "--epochs", "4", "--batch-size", "16", "--device", "reference",
                "-o", straight.toString());
        ok("train", "--data", csv.toString(), "--standardize", "--epochs", "2", "--batch-size", "16", "--device", "reference",
                "-o", resumed.toString());
        // without --standardize now: the checkpoint's scaling is the one that continues
        ok("train", "--data", csv.toString(), "--resume", resumed.toString(), "--epochs", "4", "--device", "reference",
                "-o", resumed.toString());
        Cli.assertSameTensors(straight, resumed);
        assertEquals("standardize", SafeTensors.read(resumed).metadata().get(FeatureScaling.KIND));
    }

    @Test
    void trainsOnNumpyArraysWithHiddenSizesOnly() throws IOException {
        SplittableRandom rng = new SplittableRandom(3);
        int n = 200, f = 5;
        ByteBuffer x = ByteBuffer.allocate(4 * n * f).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer y = ByteBuffer.allocate(8 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            int c = i % 2;
            for (int j = 0; j < f; j++) {
                x.putFloat((float) (j == 3 ? 5 * c + rng.nextDouble() : rng.nextDouble()));
            }
            y.putLong(c);
        }
        Path features = npy(dir.resolve("x.npy"), "<f4", "(" + n + ", " + f + ")", x.array());
        Path labels = npy(dir.resolve("y.npy"), "<i8", "(" + n + ",)", y.array());
        Path model = dir.resolve("np.safetensors");
        Cli.Result train = ok("train", "--data", features.toString(), "--labels", labels.toString(), "--layers", "6,4",
                "--epochs", "20", "--batch-size", "16", "--lr", "1e-2", "-o", model.toString());
        assertTrue(train.out().contains("training 5,6,4,2 "), train.out());
        assertTrue(accuracy(train.out()) >= 95, train.out());
        Cli.Result eval = ok("eval", "-m", model.toString(), "--data", features.toString(), "--labels", labels.toString());
        assertTrue(eval.out().contains("on 200 test images"), eval.out());
    }

    static Path npy(Path file, String descr, String shape, byte[] data) throws IOException {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
        String header = dict + " ".repeat((64 - (11 + dict.length()) % 64) % 64) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10 + header.length() + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.ISO_8859_1)).put((byte) 1).put((byte) 0);
        b.putShort((short) header.length()).put(header.getBytes(StandardCharsets.ISO_8859_1)).put(data);
        return Files.write(file, b.array());
    }

    @Test
    void eachBadRowIsOneLineAndExitOne() throws IOException {
        Map<String, String> cases = Map.of(
                "columns.csv", "a,b,y\n1,2,0\n3,4\n",
                "word.csv", "a,b,y\n1,2,0\n3,four,1\n",
                "nan.csv", "a,b,y\n1,2,0\n3,NaN,1\n",
                "label.csv", "a,b,y\n1,2,0\n3,4,-2\n");
        Map<String, String> expected = Map.of(
                "columns.csv", ", line 3: 2 column(s), but the header has 3",
                "word.csv", ", line 3, column 2 (b): 'four' is not a number",
                "nan.csv", ", line 3, column 2 (b): NaN is not a finite number",
                "label.csv", ", line 3, column 3 (y): label -2 is out of range (it is negative)");
        for (var c : cases.entrySet()) {
            Path file = Files.writeString(dir.resolve(c.getKey()), c.getValue());
            String line = kiln("train", "--data", file.toString(), "--epochs", "1", "-o", dir.resolve("m.safetensors").toString())
                    .failureLine();
            assertTrue(line.startsWith("kiln: " + file + expected.get(c.getKey())), line);
        }
        assertTrue(Files.notExists(dir.resolve("m.safetensors")));
    }

    @Test
    void aModelTrainedOnATableRefusesPicturesAndMnist() throws IOException {
        Path csv = colours("c.csv", 30, 4);
        Path model = dir.resolve("c.safetensors");
        ok("train", "--data", csv.toString(), "--epochs", "1", "-o", model.toString());
        assertTrue(kiln("eval", "-m", model.toString()).failureLine().endsWith("hint: pass --data FILE to evaluate it"));
        assertTrue(kiln("predict", "-m", model.toString(), "x.png").failureLine().contains("it classifies rows of a table"));
    }

    /** Fisher's Iris data as Debian's scikit-learn package ships it, given a header with names. */
    @Test
    void learnsTheRealIrisDataFarAboveItsBaseline() throws IOException {
        assumeTrue(Files.isRegularFile(SKLEARN_IRIS), "no " + SKLEARN_IRIS + " (apt-get install python3-sklearn; ./test does)");
        List<String> lines = Files.readAllLines(SKLEARN_IRIS);
        StringBuilder s = new StringBuilder("sepal_length,sepal_width,petal_length,petal_width,species\n");
        String[] names = lines.getFirst().split(","); // 150,4,setosa,versicolor,virginica
        for (String l : lines.subList(1, lines.size())) {
            int comma = l.lastIndexOf(',');
            s.append(l, 0, comma + 1).append(names[2 + Integer.parseInt(l.substring(comma + 1))]).append('\n');
        }
        Path iris = Files.writeString(dir.resolve("iris.csv"), s.toString());
        Path model = dir.resolve("iris.safetensors");
        Cli.Result train = ok("train", "--data", iris.toString(), "--label-column", "species", "--layers", "16",
                "--epochs", "100", "--batch-size", "16", "--lr", "1e-2", "-o", model.toString());
        assertTrue(train.out().contains("120 train / 30 test rows"), train.out());
        // the baselines on the same 30 held-out rows: the training rows' majority class, and the nearest class centroid
        Table.Split split = Csv.read(iris, Csv.Options.labelColumn("species")).split(0.2, 42);
        double majority = majorityBaseline(split), centroid = centroidBaseline(split);
        System.out.printf(Locale.ROOT, "iris: kiln %.2f%%, majority class %.2f%%, nearest centroid %.2f%%%n",
                accuracy(train.out()), 100 * majority, 100 * centroid);
        assertTrue(accuracy(train.out()) >= 90 && accuracy(train.out()) > 100 * centroid, train.out()); // observed 96.67%
        Cli.Result predict = ok("predict", "-m", model.toString(), "--data", iris.toString());
        assertEquals(150, predict.out().lines().count());
        assertTrue(predict.out().lines().findFirst().orElseThrow().startsWith("row 1: setosa "), predict.out());
    }

    private static double majorityBaseline(Table.Split split) {
        int[] count = new int[split.train().classes()];
        for (int y : split.train().labels()) {
            count[y]++;
        }
        int best = 0;
        for (int c = 1; c < count.length; c++) {
            best = count[c] > count[best] ? c : best;
        }
        int right = 0;
        for (int y : split.test().labels()) {
            right += y == best ? 1 : 0;
        }
        return right / (double) split.test().size();
    }

    /** Each test row takes the class whose training rows' mean (min-max scaled, as Kiln's inputs) is nearest. */
    private static double centroidBaseline(Table.Split split) {
        FeatureScaling scaling = FeatureScaling.fit(split.train(), false);
        int k = split.train().classes(), f = split.train().featureCount();
        double[][] mean = new double[k][f];
        int[] count = new int[k];
        for (int i = 0; i < split.train().size(); i++) {
            float[] u = scaling.inputs(split.train().features()[i]);
            int y = split.train().labels()[i];
            count[y]++;
            for (int j = 0; j < f; j++) {
                mean[y][j] += u[j];
            }
        }
        int right = 0;
        for (int i = 0; i < split.test().size(); i++) {
            float[] u = scaling.inputs(split.test().features()[i]);
            int best = -1;
            double bestDistance = Double.POSITIVE_INFINITY;
            for (int c = 0; c < k; c++) {
                double d = 0;
                for (int j = 0; j < f; j++) {
                    double e = u[j] - mean[c][j] / count[c];
                    d += e * e;
                }
                if (d < bestDistance) {
                    bestDistance = d;
                    best = c;
                }
            }
            right += best == split.test().labels()[i] ? 1 : 0;
        }
        return right / (double) split.test().size();
    }
}
