package dev.kiln.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.GZIPOutputStream;

/** Small generated MNIST-style data for tests: deterministic pixels, labels cycling 0..9. */
final class TestData {
    static final int ROWS = 4;
    static final int COLS = 3;
    static final int TRAIN = 25;
    static final int TEST = 12;

    private TestData() {
    }

    static byte[] pixels(int n, long seed) {
        byte[] p = new byte[n * ROWS * COLS];
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = 0; i < p.length; i++) {
            p[i] = (byte) rng.nextInt(256);
        }
        return p;
    }

    static int[] labels(int n) {
        int[] l = new int[n];
        for (int i = 0; i < n; i++) {
            l[i] = (i * 7) % 10;
        }
        return l;
    }

    /** Writes the four files of a small MNIST-style dataset into {@code dir}, gzip'd or raw. */
    static void writeDir(Path dir, boolean gzip) throws IOException {
        Files.createDirectories(dir);
        for (Map.Entry<String, byte[]> e : rawFiles().entrySet()) {
            Path file = dir.resolve(e.getKey() + (gzip ? ".gz" : ""));
            Files.write(file, gzip ? gzip(e.getValue()) : e.getValue());
        }
    }

    /** The raw bytes of the four files, by name. */
    static Map<String, byte[]> rawFiles() throws IOException {
        Path tmp = Files.createTempDirectory("kiln-testdata");
        Map<String, byte[]> out = new HashMap<>();
        Idx.writeImages(tmp.resolve("a"), ROWS, COLS, pixels(TRAIN, 1), false);
        out.put(DatasetDir.TRAIN_IMAGES, Files.readAllBytes(tmp.resolve("a")));
        Idx.writeLabels(tmp.resolve("b"), labels(TRAIN), false);
        out.put(DatasetDir.TRAIN_LABELS, Files.readAllBytes(tmp.resolve("b")));
        Idx.writeImages(tmp.resolve("c"), ROWS, COLS, pixels(TEST, 2), false);
        out.put(DatasetDir.TEST_IMAGES, Files.readAllBytes(tmp.resolve("c")));
        Idx.writeLabels(tmp.resolve("d"), labels(TEST), false);
        out.put(DatasetDir.TEST_LABELS, Files.readAllBytes(tmp.resolve("d")));
        for (String f : new String[]{"a", "b", "c", "d"}) {
            Files.delete(tmp.resolve(f));
        }
        Files.delete(tmp);
        return out;
    }

    /** The SHA-256 table for {@link #rawFiles()}. */
    static Map<String, String> sha256() throws IOException {
        Map<String, String> out = new HashMap<>();
        for (Map.Entry<String, byte[]> e : rawFiles().entrySet()) {
            out.put(e.getKey(), sha256(e.getValue()));
        }
        return out;
    }

    static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (OutputStream gz = new GZIPOutputStream(bytes)) {
            gz.write(data);
        }
        return bytes.toByteArray();
    }
}
