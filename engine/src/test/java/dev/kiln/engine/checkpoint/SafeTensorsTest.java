package dev.kiln.engine.checkpoint;

import dev.kiln.data.KilnException;
import dev.kiln.engine.checkpoint.SafeTensors.Content;
import dev.kiln.engine.checkpoint.SafeTensors.Entry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafeTensorsTest {

    @TempDir
    Path dir;

    @Test
    void roundTripKeepsShapesValuesOrderAndMetadata() throws IOException {
        Random rnd = new Random(42);
        float[] w = new float[25 * 784];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        Map<String, Entry> tensors = new LinkedHashMap<>();
        tensors.put("0.weight", new Entry(new int[] {25, 784}, w)); // (O, I)
        tensors.put("0.bias", new Entry(new int[] {25}, new float[25]));
        tensors.put("step", new Entry(new int[] {}, new float[] {7f}));
        tensors.put("empty", new Entry(new int[] {0, 3}, new float[0]));
        tensors.put("a", new Entry(new int[] {2, 1}, new float[] {Float.NaN, -0f}));
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "pt");
        metadata.put("note", "caf\u00e9 \u2713 \uD83D\uDE00 \"quoted\" back\\slash\nnew\tline \u0001");

        Path file = dir.resolve("model.safetensors");
        SafeTensors.write(file, tensors, metadata);
        Content back = SafeTensors.read(file);

        assertEquals(List.copyOf(tensors.keySet()), List.copyOf(back.tensors().keySet()));
        for (String name : tensors.keySet()) {
            assertArrayEquals(tensors.get(name).shape(), back.tensors().get(name).shape(), name);
            assertArrayEquals(tensors.get(name).data(), back.tensors().get(name).data(), name);
        }
        assertEquals(metadata, back.metadata());
        assertEquals(List.copyOf(metadata.keySet()), List.copyOf(back.metadata().keySet()));
        assertEquals(0, (Files.size(file) - 8 - 4 * (w.length + 25 + 1 + 2)) % 8, "header padded to 8");
    }

    @Test
    void writesTheExactBytesTheSpecDescribes() throws IOException {
        Map<String, Entry> tensors = new LinkedHashMap<>();
        tensors.put("w", new Entry(new int[] {2}, new float[] {1f, -2f}));
        tensors.put("b", new Entry(new int[] {}, new float[] {0.5f}));
        Path file = dir.resolve("tiny.safetensors");
        SafeTensors.write(file, tensors, Map.of("k", "v"));

        String json = "{\"__metadata__\":{\"k\":\"v\"},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[8,12]}}";
        assertEquals(132, json.length());
        String padded = json + "    "; // 132 -> 136, the next multiple of 8
        ByteBuffer expected = ByteBuffer.allocate(8 + 136 + 12).order(ByteOrder.LITTLE_ENDIAN);
        expected.put(new byte[] {(byte) 136, 0, 0, 0, 0, 0, 0, 0});
        expected.put(padded.getBytes(StandardCharsets.US_ASCII));
        // 1.0f = 0x3F800000, -2.0f = 0xC0000000, 0.5f = 0x3F000000, little-endian
        expected.put(new byte[] {0, 0, (byte) 0x80, 0x3F, 0, 0, 0, (byte) 0xC0, 0, 0, 0, 0x3F});
        assertArrayEquals(expected.array(), Files.readAllBytes(file));
    }

    @Test
    void emptyMetadataIsOmittedAndNullMeansEmpty() throws IOException {
        Path file = dir.resolve("m.safetensors");
        SafeTensors.write(file, Map.of("x", new Entry(new int[] {1}, new float[] {3f})), null);
        byte[] bytes = Files.readAllBytes(file);
        assertEquals(56, bytes[0]); // 54 bytes of JSON padded to 56
        String header = new String(bytes, 8, 56, StandardCharsets.UTF_8);
        assertEquals("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}  ", header);
        assertEquals(Map.of(), SafeTensors.read(file).metadata());
    }

    @Test
    void readsAFileWrittenByNumpy() throws IOException {
        // Written by engine/src/test/python/make_safetensors_fixture.py (stdlib + numpy only).
        Path file = dir.resolve("numpy_fixture.safetensors");
        try (InputStream in = getClass().getResourceAsStream("numpy_fixture.safetensors")) {
            Files.write(file, in.readAllBytes());
        }
        Content c = SafeTensors.read(file);
        assertEquals(List.of("0.bias", "0.weight", "empty", "scale"), List.copyOf(c.tensors().keySet()));
        assertArrayEquals(new int[] {2, 3}, c.tensors().get("0.weight").shape());
        assertArrayEquals(new float[] {-1f, -0.5f, 0f, 0.5f, 1f, 1.5f}, c.tensors().get("0.weight").data());
        assertArrayEquals(new float[] {1e-3f, -2.5f, 3.25f}, c.tensors().get("0.bias").data());
        assertArrayEquals(new int[] {}, c.tensors().get("scale").shape());
        assertArrayEquals(new float[] {42f}, c.tensors().get("scale").data());
        assertArrayEquals(new int[] {0, 4}, c.tensors().get("empty").shape());
        assertEquals(0, c.tensors().get("empty").data().length);
        assertEquals(Map.of("format", "pt", "note", "caf\u00e9 \"quoted\""), c.metadata());
    }

    @Test
    void readsHeaderPaddingAndWhitespaceAndEscapes() {
        String json = "{\n\t\"a\\/b\\u0041\" : { \"shape\" : [ 1 ] , \"dtype\":\"F32\",\n"
                + " \"data_offsets\":[0,4] } } \r\n";
        Path file = file("pad", header(json), floats(2.5f));
        Content c = SafeTensors.read(file);
        assertArrayEquals(new float[] {2.5f}, c.tensors().get("a/bA").data());
    }

    @Test
    void rewritingReplacesTheFile() {
        Path file = dir.resolve("r.safetensors");
        SafeTensors.write(file, Map.of("x", new Entry(new int[] {1}, new float[] {1f})), Map.of());
        SafeTensors.write(file, Map.of("y", new Entry(new int[] {2}, new float[] {2f, 3f})), Map.of());
        Content c = SafeTensors.read(file);
        assertEquals(List.of("y"), List.copyOf(c.tensors().keySet()));
        assertArrayEquals(new float[] {2f, 3f}, c.tensors().get("y").data());
    }

    @Test
    void aFailedWriteLeavesTheOldFileAndNoTempFiles() throws IOException {
        Path file = dir.resolve("keep.safetensors");
        SafeTensors.write(file, Map.of("x", new Entry(new int[] {2}, new float[] {1f, 2f})), Map.of("v", "1"));
        byte[] before = Files.readAllBytes(file);

        Map<String, Entry> bad = new LinkedHashMap<>();
        bad.put("ok", new Entry(new int[] {1}, new float[] {9f}));
        bad.put("wrong", new Entry(new int[] {2, 2}, new float[3]));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SafeTensors.write(file, bad, Map.of()));
        assertTrue(e.getMessage().contains("wrong"), e.getMessage());

        assertArrayEquals(before, Files.readAllBytes(file));
        assertEquals(List.of(file), listDir());
    }

    @Test
    void aTargetThatIsAFolderIsRefusedAndLeftAlone() throws IOException {
        // Not a regular file: refused before anything is written (it once failed only at the final rename).
        Path target = Files.createDirectory(dir.resolve("occupied"));
        Files.writeString(target.resolve("inside"), "x");
        KilnException e = assertThrows(KilnException.class, () -> SafeTensors.write(target,
                Map.of("x", new Entry(new int[] {1}, new float[] {1f})), Map.of()));
        assertTrue(e.getMessage().contains("cannot write " + target + ": it exists and is not a regular file"), e.getMessage());
        assertEquals(List.of(target), listDir());
        assertEquals("x", Files.readString(target.resolve("inside")));
    }

    // ---- malformed files, each built by hand ----

    @Test
    void rejectsAFileShorterThanEightBytes() {
        assertRejected(file("short", new byte[] {1, 2, 3}), "shorter than the 8-byte header length");
    }

    @Test
    void rejectsAMissingFile() {
        assertRejected(dir.resolve("nope.safetensors"), "does not exist");
    }

    @Test
    void rejectsAHeaderLengthBeyondTheFile() {
        byte[] len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).array();
        assertRejected(file("beyond", len, "{}".getBytes(StandardCharsets.UTF_8)), "is larger than the");
    }

    @Test
    void rejectsAnAbsurdHeaderLength() {
        byte[] huge = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(200_000_000L).array();
        assertRejected(file("absurd", huge), "is absurd");
        byte[] unsigned = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).array();
        assertRejected(file("unsigned", unsigned), "18446744073709551615");
    }

    @Test
    void rejectsInvalidJson() {
        for (String json : List.of("{", "{\"a\":}", "{\"a\":1,}", "{'a':1}", "{\"a\":01}", "{\"a\":\"\\q\"}",
                "{\"a\":1} x", "{\"a\":1,\"a\":2}", "{\"a\":\"tab\there\"}", "{\"a\":tru}", "{\"a\":1}}")) {
            assertRejected(file("json", header(json)), "not valid JSON");
        }
    }

    @Test
    void rejectsInvalidUtf8() {
        byte[] json = {'{', '"', (byte) 0xC3, '"', ':', '1', '}', ' '};
        assertRejected(file("utf8", lengthPrefix(json.length), json), "not valid UTF-8");
    }

    @Test
    void rejectsAHeaderThatIsNotAnObject() {
        assertRejected(file("array", header("[1,2]")), "does not start with '{'");
        assertRejected(file("lead", header(" {}")), "does not start with '{'");
    }

    @Test
    void rejectsATensorMissingAField() {
        assertRejected(file("nodtype", header("{\"x\":{\"shape\":[1],\"data_offsets\":[0,4]}}"), floats(1)),
                "tensor 'x' has no \"dtype\"");
        assertRejected(file("noshape", header("{\"x\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}"), floats(1)),
                "tensor 'x' has no \"shape\"");
        assertRejected(file("nooffs", header("{\"x\":{\"dtype\":\"F32\",\"shape\":[1]}}"), floats(1)),
                "tensor 'x' has no \"data_offsets\"");
        assertRejected(file("notobj", header("{\"x\":3}")), "tensor 'x' is not a JSON object");
    }

    @Test
    void rejectsOtherDtypesWithAHint() {
        Path f = file("f16", header(tensor("x", "F16", "[2]", 0, 4)), new byte[4]);
        KilnException e = assertThrows(KilnException.class, () -> SafeTensors.read(f));
        assertTrue(e.getMessage().contains("F16 is not supported"), e.getMessage());
        assertTrue(e.hint().contains(".float()"), e.hint());
    }

    @Test
    void rejectsBadShapes() {
        assertRejected(file("neg", header(tensor("x", "F32", "[-1]", 0, 4)), floats(1)), "non-negative integers");
        assertRejected(file("frac", header(tensor("x", "F32", "[1.5]", 0, 4)), floats(1)), "non-negative integers");
        assertRejected(file("str", header(tensor("x", "F32", "[\"1\"]", 0, 4)), floats(1)), "non-negative integers");
        assertRejected(file("notarr", header(tensor("x", "F32", "1", 0, 4)), floats(1)), "not an array");
    }

    @Test
    void rejectsBadDataOffsets() {
        assertRejected(file("rev", header("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}"),
                floats(1)), "expected [begin, end]");
        assertRejected(file("three", header("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}"),
                floats(1)), "expected [begin, end]");
        assertRejected(file("frac", header("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.0]}}"),
                floats(1)), "expected [begin, end]");
    }

    @Test
    void rejectsATensorEndingBeyondTheData() {
        assertRejected(file("end", header(tensor("x", "F32", "[2]", 0, 8)), floats(1)),
                "ends at byte 8 of the data but the data section has only 4 bytes");
    }

    @Test
    void rejectsASizeThatDoesNotMatchTheShape() {
        assertRejected(file("size", header(tensor("x", "F32", "[3]", 0, 8)), floats(1, 2)),
                "(3 F32 values, 12 bytes) but data_offsets span 8 bytes");
    }

    @Test
    void rejectsOverlappingTensors() {
        String json = "{" + body("a", "[2]", 0, 8) + "," + body("b", "[2]", 4, 12) + "}";
        assertRejected(file("overlap", header(json), floats(1, 2, 3)), "overlap");
    }

    @Test
    void rejectsGapsAndTrailingBytes() {
        String gap = "{" + body("a", "[1]", 0, 4) + "," + body("b", "[1]", 8, 12) + "}";
        assertRejected(file("gap", header(gap), floats(1, 2, 3)), "bytes 4..8 of the data section belong to no tensor");
        assertRejected(file("trail", header(tensor("x", "F32", "[1]", 0, 4)), floats(1, 2)),
                "4 trailing bytes of the data section belong to no tensor");
    }

    @Test
    void rejectsNonStringMetadata() {
        String json = "{\"__metadata__\":{\"epoch\":3}," + body("x", "[1]", 0, 4) + "}";
        assertRejected(file("meta", header(json), floats(1)), "metadata \"epoch\" has a value that is not a string");
        assertRejected(file("meta2", header("{\"__metadata__\":[]}")), "__metadata__ is not a JSON object");
    }

    @Test
    void deeplyNestedOrDuplicatedHeadersAreRefusedInOneLine() {
        // 50,000 nested objects overflowed the stack of the hand-written parser (StackOverflowError)
        String deep = "{\"x\":" + "{\"a\":".repeat(50_000) + "1" + "}".repeat(50_000) + "}";
        assertRejected(file("deep", header(deep)), "nesting depth");
        String dup = "{" + body("x", "[1]", 0, 4) + "," + body("x", "[1]", 0, 4) + "}";
        assertRejected(file("dup", header(dup), floats(1)), "Duplicate field 'x'");
    }

    // ---- helpers ----

    private void assertRejected(Path file, String expected) {
        KilnException e = assertThrows(KilnException.class, () -> SafeTensors.read(file));
        assertTrue(e.getMessage().contains(expected), () -> "expected '" + expected + "' in: " + e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.hint() != null && !e.hint().isBlank());
        assertTrue(!e.oneLine().contains("\n"), e.oneLine());
    }

    private static String body(String name, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + "," + end
                + "]}";
    }

    private static String tensor(String name, String dtype, String shape, long begin, long end) {
        return "{\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin
                + "," + end + "]}}";
    }

    /** The length prefix and the JSON, unpadded (padding is optional for readers). */
    private static byte[] header(String json) {
        byte[] utf8 = json.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(lengthPrefix(utf8.length));
        out.writeBytes(utf8);
        return out.toByteArray();
    }

    private static byte[] lengthPrefix(long n) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(n).array();
    }

    private static byte[] floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    private Path file(String name, byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        try {
            return Files.write(dir.resolve(name + ".safetensors"), out.toByteArray());
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    private List<Path> listDir() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }
}
