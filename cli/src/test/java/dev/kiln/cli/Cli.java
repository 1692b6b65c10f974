package dev.kiln.cli;

import dev.kiln.data.DatasetDir;
import dev.kiln.data.Idx;
import dev.kiln.engine.checkpoint.SafeTensors;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Test helpers for the CLI: run {@code kiln} in-process, make small MNIST-shaped data, compare checkpoints. */
final class Cli {
    private Cli() {
    }

    /** What one {@code kiln} invocation did. */
    record Result(int code, String out, String err) {
        List<String> errLines() {
            return err.lines().toList();
        }

        /**
         * Asserts a runtime failure as a person sees it: exit 1, exactly one {@code kiln: } line on err, no stack trace
         * (the only other lines allowed are the device and resume notes printed before the failure), and returns it.
         */
        String failureLine() {
            assertEquals(1, code, "exit code; out: " + out + " err: " + err);
            List<String> kiln = errLines().stream().filter(l -> l.startsWith("kiln: ")).toList();
            assertEquals(1, kiln.size(), err);
            for (String l : errLines()) {
                assertTrue(l.startsWith("kiln: ") || l.startsWith("device: ") || l.startsWith("resuming "),
                        "unexpected line on err: " + l);
            }
            return kiln.getFirst();
        }
    }

    /** Asserts a usage error: exit 2 and exactly one line, a {@code kiln: } line that says where help is; returns it. */
    static String usageLine(Result r) {
        assertEquals(2, r.code, "exit code; out: " + r.out + " err: " + r.err);
        assertEquals(1, r.errLines().size(), r.err);
        String line = r.errLines().getFirst();
        assertTrue(line.startsWith("kiln: ") && line.contains(" --help`"), line);
        return line;
    }

    static Result kiln(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Kiln.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    /** As {@link #kiln}, asserting success. */
    static Result ok(String... args) {
        Result r = kiln(args);
        assertEquals(0, r.code, "kiln " + String.join(" ", args) + "\nout: " + r.out + "\nerr: " + r.err);
        return r;
    }

    /**
     * Writes an MNIST-shaped folder (28x28 images, gzip'd IDX) of {@code train} and {@code test} images: class c has
     * a bright horizontal bar at rows 4+2c and 5+2c over faint noise, so a small network learns it in an epoch.
     */
    static Path mnistLike(Path dir, int train, int test, long seed) {
        try {
            Files.createDirectories(dir);
            SplittableRandom rng = new SplittableRandom(seed);
            write(dir, DatasetDir.TRAIN_IMAGES, DatasetDir.TRAIN_LABELS, train, rng);
            write(dir, DatasetDir.TEST_IMAGES, DatasetDir.TEST_LABELS, test, rng);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(Path dir, String images, String labels, int n, SplittableRandom rng) throws IOException {
        byte[] px = new byte[n * 784];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            int c = i % 10;
            y[i] = c;
            for (int p = 0; p < 784; p++) {
                int row = p / 28;
                boolean bar = row == 4 + 2 * c || row == 5 + 2 * c;
                px[i * 784 + p] = (byte) (bar ? 180 + rng.nextInt(76) : rng.nextInt(60));
            }
        }
        Idx.writeImages(dir.resolve(images + ".gz"), 28, 28, px, true);
        Idx.writeLabels(dir.resolve(labels + ".gz"), y, true);
    }

    /** Asserts two safetensors files hold the same tensor names, in order, with bit-identical values. */
    static void assertSameTensors(Path expected, Path actual) {
        Map<String, SafeTensors.Entry> a = SafeTensors.read(expected).tensors();
        Map<String, SafeTensors.Entry> b = SafeTensors.read(actual).tensors();
        assertEquals(List.copyOf(a.keySet()), List.copyOf(b.keySet()));
        for (String name : a.keySet()) {
            assertArrayEquals(a.get(name).shape(), b.get(name).shape(), name);
            float[] x = a.get(name).data(), z = b.get(name).data();
            for (int i = 0; i < x.length; i++) {
                if (Float.floatToRawIntBits(x[i]) != Float.floatToRawIntBits(z[i])) {
                    throw new AssertionError(name + "[" + i + "]: " + x[i] + " vs " + z[i]);
                }
            }
        }
    }
}
