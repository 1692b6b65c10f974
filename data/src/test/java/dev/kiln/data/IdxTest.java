package dev.kiln.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IdxTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void imagesRoundTrip(boolean gzip) throws IOException {
        byte[] pixels = TestData.pixels(9, 5);
        Path f = dir.resolve("images");
        Idx.writeImages(f, TestData.ROWS, TestData.COLS, pixels, gzip);
        assertEquals(gzip, Idx.isGzip(f));
        Idx.Images images = Idx.readImages(f);
        assertEquals(9, images.count());
        assertEquals(TestData.ROWS, images.rows());
        assertEquals(TestData.COLS, images.cols());
        assertArrayEquals(pixels, images.pixels());
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void labelsRoundTrip(boolean gzip) throws IOException {
        int[] labels = {0, 9, 255, 3, 128};
        Path f = dir.resolve("labels.gz"); // the name says gzip; the bytes decide
        Idx.writeLabels(f, labels, gzip);
        assertArrayEquals(labels, Idx.readLabels(f));
    }

    @Test
    void rawLayoutIsBigEndianIdx() throws IOException {
        Path f = dir.resolve("l");
        Idx.writeLabels(f, new int[]{7, 2}, false);
        assertArrayEquals(new byte[]{0, 0, 8, 1, 0, 0, 0, 2, 7, 2}, Files.readAllBytes(f));
    }

    @Test
    void badMagic() throws IOException {
        Path f = write(header(0x12340803, 1, 1, 1), new byte[1]);
        KilnException e = assertThrows(KilnException.class, () -> Idx.readImages(f));
        assertMessage(e, f + " is not an IDX file: magic bytes 12 34 08 03");
    }

    @Test
    void unsupportedTypeCode() throws IOException {
        Path f = write(header(0x00000D03, 1, 1, 1), new byte[4]);
        KilnException e = assertThrows(KilnException.class, () -> Idx.readImages(f));
        assertMessage(e, f + ": IDX type code 0x0D (float) is not supported");
    }

    @Test
    void wrongDimensionCount() throws IOException {
        Path f = write(header(0x00000803, 2, 2, 2), new byte[8]);
        KilnException e = assertThrows(KilnException.class, () -> Idx.readLabels(f));
        assertMessage(e, f + ": IDX file has 3 dimension(s), expected 1");
    }

    @Test
    void truncatedPayload() throws IOException {
        Path f = write(header(0x00000803, 3, 2, 2), new byte[11]);
        KilnException e = assertThrows(KilnException.class, () -> Idx.readImages(f));
        assertMessage(e, "the header promises 3 images of 2x2 (28 bytes with the header) but the file has 27 bytes (truncated)");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 4, 8})
    void aGzipFileWithoutItsWholeTrailerIsRefused(int cut) throws IOException {
        // the trailer holds the CRC and the size: without it the data is unchecked
        Path whole = dir.resolve("whole.gz");
        byte[] pixels = new byte[5 * 28 * 28];
        Arrays.fill(pixels, (byte) 7);
        Idx.writeImages(whole, 28, 28, pixels, true);
        byte[] gz = Files.readAllBytes(whole);
        Path f = Files.write(dir.resolve("cut.gz"), Arrays.copyOf(gz, gz.length - cut));
        KilnException e = assertThrows(KilnException.class, () -> Idx.readImages(f));
        assertMessage(e, f + ": the gzip stream ends early, before its trailer (CRC and size) is complete");
        assertTrue(!e.hint().contains("kiln data fetch"), "fetching cannot mend a --data-dir file: " + e.hint());
        byte[] corrupt = gz.clone();
        corrupt[gz.length - 6] ^= 1; // the CRC
        Path g = Files.write(dir.resolve("crc.gz"), corrupt);
        assertMessage(assertThrows(KilnException.class, () -> Idx.readImages(g)), g + ": corrupt gzip data");
    }

    @Test
    void headerCountSmallerThanFile() throws IOException {
        Path f = write(header(0x00000801, 3), new byte[5]);
        KilnException e = assertThrows(KilnException.class, () -> Idx.readLabels(f));
        assertMessage(e, "the header promises 3 labels (11 bytes with the header) but the file has 13 bytes (extra bytes at the end)");
    }

    @Test
    void emptyFile() throws IOException {
        Path f = write(new byte[0], new byte[0]);
        KilnException e = assertThrows(KilnException.class, () -> Idx.readLabels(f));
        assertMessage(e, f + " is empty (0 bytes)");
    }

    @Test
    void headerOnlyHalfThere() throws IOException {
        Path f = write(new byte[]{0, 0, 8, 3, 0, 0}, new byte[0]);
        KilnException e = assertThrows(KilnException.class, () -> Idx.readImages(f));
        assertMessage(e, "IDX header ends early");
    }

    @Test
    void zeroSamples() throws IOException {
        Path f = write(header(0x00000801, 0), new byte[0]);
        KilnException e = assertThrows(KilnException.class, () -> Idx.readLabels(f));
        assertMessage(e, f + " holds no samples");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void absurdCountFailsBeforeAllocating(boolean gzip) throws IOException {
        // 2^31 images of 28x28 would be 1.7 TB; the file is 32 bytes.
        Path f = write(header(0x00000803, 1 << 31, 28, 28), new byte[16], gzip);
        KilnException e = assertThrows(KilnException.class, () -> Idx.readImages(f));
        assertMessage(e, "header claims 2147483648 samples, more than Kiln accepts (268435456)");
    }

    @Test
    void absurdImageSize() throws IOException {
        Path f = write(header(0x00000803, 1, 2048, 1024), new byte[16]);
        KilnException e = assertThrows(KilnException.class, () -> Idx.readImages(f));
        assertMessage(e, "header claims images of 2048x1024, outside what Kiln accepts (1 to 1048576 pixels)");
    }

    @Test
    void payloadBeyondOneArray() throws IOException {
        Path f = write(header(0x00000803, 1 << 24, 28, 28), new byte[16]);
        KilnException e = assertThrows(KilnException.class, () -> Idx.readImages(f));
        assertMessage(e, "more than Kiln holds in memory");
    }

    @Test
    void gzipHeaderThatOverclaimsFailsAtTheRealEnd() throws IOException {
        // 2^21 images of 28x28 (1.6 GB) claimed, 100 bytes present: only the bytes present are ever buffered.
        Path f = write(header(0x00000803, 1 << 21, 28, 28), new byte[100], true);
        KilnException e = assertThrows(KilnException.class, () -> Idx.readImages(f));
        assertMessage(e, "the gzip stream ends early after 100 of the 1644167168 data bytes");
    }

    @Test
    void gzipStreamCutShort() throws IOException {
        Path whole = dir.resolve("whole");
        Idx.writeImages(whole, 28, 28, new byte[2000 * 784], true);
        byte[] gz = Files.readAllBytes(whole);
        Path f = dir.resolve("cut");
        Files.write(f, Arrays.copyOf(gz, gz.length / 2));
        KilnException e = assertThrows(KilnException.class, () -> Idx.readImages(f));
        assertMessage(e, f + ": the gzip stream ends early after");
    }

    @Test
    void gzipStreamCutInsideTheHeader() throws IOException {
        Path f = write(header(0x00000803, 1, 2, 2), new byte[4], true);
        byte[] gz = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(gz, 12)); // the gzip header and two bytes of deflate data
        KilnException e = assertThrows(KilnException.class, () -> Idx.readImages(f));
        assertMessage(e, f + ": the gzip stream ends early");
    }

    @Test
    void gzipWithMoreDataThanClaimed() throws IOException {
        Path f = write(header(0x00000801, 2), new byte[3], true);
        KilnException e = assertThrows(KilnException.class, () -> Idx.readLabels(f));
        assertMessage(e, f + ": the gzip stream holds more data than the header's 2 labels");
    }

    @Test
    void corruptGzip() throws IOException {
        byte[] gz = TestData.gzip(ByteBuffer.allocate(12).putInt(0x00000801).putInt(4).array());
        for (int i = 10; i < gz.length - 8; i++) {
            gz[i] ^= (byte) 0x5a;
        }
        Path f = dir.resolve("corrupt");
        Files.write(f, gz);
        KilnException e = assertThrows(KilnException.class, () -> Idx.readLabels(f));
        assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
        assertTrue(e.hint() != null);
    }

    @Test
    void missingFile() {
        Path f = dir.resolve("nope");
        KilnException e = assertThrows(KilnException.class, () -> Idx.readLabels(f));
        assertMessage(e, f + " does not exist");
    }

    static void assertMessage(KilnException e, String expectedPart) {
        assertTrue(e.getMessage().contains(expectedPart), () -> "message: " + e.getMessage() + "\nexpected to contain: " + expectedPart);
        assertTrue(e.hint() != null && !e.hint().isBlank(), "a hint");
        assertTrue(!e.oneLine().contains("\n"), "one line");
    }

    private static byte[] header(int magic, int... dims) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length).putInt(magic);
        for (int d : dims) {
            b.putInt(d);
        }
        return b.array();
    }

    private Path write(byte[] header, byte[] payload) throws IOException {
        return write(header, payload, false);
    }

    private Path write(byte[] header, byte[] payload, boolean gzip) throws IOException {
        byte[] all = Arrays.copyOf(header, header.length + payload.length);
        System.arraycopy(payload, 0, all, header.length, payload.length);
        Path f = Files.createTempFile(dir, "idx", "");
        Files.write(f, gzip ? TestData.gzip(all) : all);
        return f;
    }
}
