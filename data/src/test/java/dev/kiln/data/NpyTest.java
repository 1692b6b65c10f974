package dev.kiln.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class NpyTest {
    @TempDir
    Path dir;

    /** An .npy file as numpy.save writes it (version 1.0, header padded to 64 bytes with a newline). */
    static Path npy(Path file, String descr, String shape, byte[] data) throws IOException {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
        int total = 10 + dict.length() + 1;
        String header = dict + " ".repeat((64 - total % 64) % 64) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10 + header.length() + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.ISO_8859_1)).put((byte) 1).put((byte) 0);
        b.putShort((short) header.length()).put(header.getBytes(StandardCharsets.ISO_8859_1)).put(data);
        return Files.write(file, b.array());
    }

    static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return b.array();
    }

    static byte[] longs(long... v) {
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) {
            b.putLong(x);
        }
        return b.array();
    }

    @Test
    void readsFloat32FeaturesAndInt64Labels() throws IOException {
        Path x = npy(dir.resolve("x.npy"), "<f4", "(3, 2)", floats(1, 2, 3, 4, 5, 6));
        Path y = npy(dir.resolve("y.npy"), "<i8", "(3,)", longs(0, 2, 1));
        Table t = Npy.read(x, y, null);
        assertEquals(3, t.size());
        assertEquals(2, t.featureCount());
        assertEquals(List.of("0", "1", "2"), t.classNames());
        assertArrayEquals(new float[]{5, 6}, t.features()[2]);
        assertArrayEquals(new int[]{0, 2, 1}, t.labels());
    }

    @Test
    void badArraysAreOneLineEach() throws IOException {
        Path x = npy(dir.resolve("x.npy"), "<f4", "(2, 2)", floats(1, 2, Float.NaN, 4));
        Path y = npy(dir.resolve("y.npy"), "<i8", "(2,)", longs(0, 1));
        assertEquals(x + ", row 1, column 0: NaN is not a finite number",
                assertThrows(KilnException.class, () -> Npy.read(x, y, null)).getMessage());
        Path good = npy(dir.resolve("good.npy"), "<f4", "(2, 2)", floats(1, 2, 3, 4));
        Path neg = npy(dir.resolve("neg.npy"), "<i8", "(2,)", longs(0, -3));
        assertEquals(neg + ", row 1: label -3 is out of range (it is negative)",
                assertThrows(KilnException.class, () -> Npy.read(good, neg, null)).getMessage());
        assertEquals(y + ", row 1: label 1 is out of range 0..0 (the model's classes)",
                assertThrows(KilnException.class, () -> Npy.read(good, y, List.of("0"))).getMessage());
        Path three = npy(dir.resolve("three.npy"), "<i8", "(3,)", longs(0, 1, 1));
        assertEquals(three + " holds 3 labels but " + good + " has 2 rows",
                assertThrows(KilnException.class, () -> Npy.read(good, three, null)).getMessage());
        assertEquals(y + " holds i8 of shape [2], not float32 features of shape (N, F)",
                assertThrows(KilnException.class, () -> Npy.features(y)).getMessage());
        Path text = Files.writeString(dir.resolve("t.npy"), "hello, world");
        assertEquals(text + " is not a NumPy .npy file (no \\x93NUMPY magic)",
                assertThrows(KilnException.class, () -> Npy.features(text)).getMessage());
    }
}
