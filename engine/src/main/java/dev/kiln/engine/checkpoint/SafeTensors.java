package dev.kiln.engine.checkpoint;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.engine.json.Json;
import dev.kiln.data.AtomicFile;
import dev.kiln.data.KilnException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes safetensors files (https://huggingface.co/docs/safetensors), the checkpoint format PyTorch's
 * {@code safetensors.torch.load_file} understands. Layout: an 8-byte little-endian header length N, N bytes of UTF-8
 * JSON (padded with spaces to a multiple of 8), then the tensors' raw little-endian row-major bytes, contiguous
 * and in header order. The header maps each tensor name to {@code {"dtype","shape","data_offsets"}} plus an
 * optional {@code "__metadata__"} object of strings.
 *
 * <p>Only F32 tensors, because that is all Kiln trains; other dtypes are rejected with a hint, not converted.
 * Writes are atomic (temp file, fsync, rename), so a crash mid-save never leaves a half-written checkpoint.
 * Reads validate everything the spec demands (offsets, sizes, no gaps or overlaps) and fail with one line.
 */
public final class SafeTensors {

    /** One F32 tensor: its shape ({@code []} for a scalar) and row-major values; data.length == product(shape). */
    public record Entry(int[] shape, float[] data) {}

    /** A file's tensors and metadata, both in the order the header lists them. */
    public record Content(Map<String, Entry> tensors, Map<String, String> metadata) {}

    /** The safetensors reference implementation refuses larger headers; so do we. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    private static final String METADATA_KEY = "__metadata__";
    private static final int IO_CHUNK_BYTES = 1 << 16;

    private SafeTensors() {}

    /**
     * Writes {@code tensors} (in the map's order) and {@code metadata} (may be null or empty) to {@code file},
     * atomically replacing any existing file. An entry whose data length does not match its shape is a
     * programming error ({@link IllegalArgumentException}) and is detected before anything is written.
     */
    public static void write(Path file, Map<String, Entry> tensors, Map<String, String> metadata) {
        byte[] header = header(tensors, metadata == null ? Map.of() : metadata);
        try {
            AtomicFile.write(file, ch -> {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
                writeFully(ch, len);
                writeFully(ch, ByteBuffer.wrap(header));
                // bulk copies into a little-endian view: no per-float loop for the JIT to compile while the next
                // epoch trains (a checkpoint is written after every epoch)
                ByteBuffer chunk = ByteBuffer.allocate(IO_CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
                FloatBuffer floats = chunk.asFloatBuffer();
                for (Entry e : tensors.values()) {
                    float[] data = e.data();
                    for (int at = 0; at < data.length; ) {
                        int n = Math.min(floats.remaining(), data.length - at);
                        floats.put(data, at, n);
                        at += n;
                        if (!floats.hasRemaining()) {
                            writeFully(ch, chunk.limit(floats.position() * Float.BYTES));
                            chunk.clear();
                            floats.clear();
                        }
                    }
                }
                writeFully(ch, chunk.limit(floats.position() * Float.BYTES));
            });
        } catch (IOException e) {
            throw new KilnException("cannot write checkpoint " + file + ": " + e,
                    "check that the directory exists, is writable and has free space", e);
        }
    }

    /** Reads and validates a safetensors file of F32 tensors. */
    public static Content read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return read(file, ch);
        } catch (NoSuchFileException e) {
            throw new KilnException("checkpoint " + file + " does not exist", "check the path");
        } catch (IOException e) {
            throw new KilnException("cannot read checkpoint " + file + ": " + e, "check the path and permissions", e);
        }
    }

    private static Content read(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw bad(file, "the file is " + size + " bytes, shorter than the 8-byte header length");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0);
        long headerLen = lenBuf.flip().getLong();
        // Read as unsigned: a negative long is a length above 2^63, absurd either way.
        if (headerLen < 0 || headerLen > MAX_HEADER_BYTES) {
            throw bad(file, "the header length " + Long.toUnsignedString(headerLen) + " is absurd (the limit is "
                    + MAX_HEADER_BYTES + ")");
        }
        if (headerLen > size - 8) {
            throw bad(file, "the header length " + headerLen + " is larger than the " + (size - 8)
                    + " bytes that follow it");
        }
        ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
        readFully(ch, headerBuf, 8);
        ObjectNode header = parseHeader(file, headerBuf.flip());
        long dataStart = 8 + headerLen;
        long dataLen = size - dataStart;

        Map<String, String> metadata = new LinkedHashMap<>();
        List<Span> spans = new ArrayList<>();
        for (Map.Entry<String, JsonNode> kv : header.properties()) {
            if (kv.getKey().equals(METADATA_KEY)) {
                readMetadata(file, kv.getValue(), metadata);
            } else {
                spans.add(span(file, kv.getKey(), kv.getValue(), dataLen));
            }
        }
        checkCoverage(file, spans, dataLen);

        Map<String, Entry> tensors = new LinkedHashMap<>();
        for (Span s : spans) {
            float[] data = new float[(int) s.count];
            ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(s.end - s.begin)).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, buf, dataStart + s.begin);
            buf.flip().asFloatBuffer().get(data);
            tensors.put(s.name, new Entry(s.shape, data));
        }
        return new Content(tensors, metadata);
    }

    /** A tensor's place in the data section, validated against its shape. */
    private record Span(String name, int[] shape, long count, long begin, long end) {}

    private static ObjectNode parseHeader(Path file, ByteBuffer bytes) {
        byte[] utf8 = new byte[bytes.remaining()];
        bytes.get(utf8);
        try {
            StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(utf8));
        } catch (CharacterCodingException e) {
            throw bad(file, "the header is not valid UTF-8");
        }
        // The spec requires the first byte to be '{' (padding is allowed only after the JSON).
        if (utf8.length == 0 || utf8[0] != '{') {
            throw bad(file, "the header does not start with '{'");
        }
        JsonNode parsed;
        try {
            parsed = Json.parse(utf8);
        } catch (JacksonException e) {
            throw bad(file, "the header is not valid JSON (" + Json.describe(e) + ")");
        }
        if (!(parsed instanceof ObjectNode header)) {
            throw bad(file, "the header is not a JSON object");
        }
        return header;
    }

    private static void readMetadata(Path file, JsonNode value, Map<String, String> into) {
        if (!value.isObject()) {
            throw bad(file, "__metadata__ is not a JSON object");
        }
        for (Map.Entry<String, JsonNode> kv : value.properties()) {
            if (!kv.getValue().isTextual()) {
                throw bad(file, "metadata \"" + kv.getKey() + "\" has a value that is not a string");
            }
            into.put(kv.getKey(), kv.getValue().textValue());
        }
    }

    private static Span span(Path file, String name, JsonNode info, long dataLen) {
        if (!info.isObject()) {
            throw bad(file, "tensor '" + name + "' is not a JSON object");
        }
        for (String key : List.of("dtype", "shape", "data_offsets")) {
            if (!info.has(key)) {
                throw bad(file, "tensor '" + name + "' has no \"" + key + "\"");
            }
        }
        JsonNode dtype = info.get("dtype");
        if (!dtype.isTextual()) {
            throw bad(file, "tensor '" + name + "' has a dtype that is not a string");
        }
        String d = dtype.textValue();
        if (!d.equals("F32")) {
            throw new KilnException("checkpoint " + file + ": tensor '" + name + "' has dtype " + d
                    + "; " + d + " is not supported, only F32",
                    "convert the tensors with torch .float() before saving");
        }
        JsonNode dims = info.get("shape");
        if (!dims.isArray()) {
            throw bad(file, "tensor '" + name + "' has a shape that is not an array");
        }
        int[] shape = new int[dims.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode dim = dims.get(i);
            if (!dim.isIntegralNumber() || !dim.canConvertToLong() || dim.longValue() < 0 || dim.longValue() > Integer.MAX_VALUE) {
                throw bad(file, "tensor '" + name + "' has shape " + dims
                        + "; dimensions must be non-negative integers");
            }
            long n = dim.longValue();
            shape[i] = (int) n;
            count = count > 0 && n > Integer.MAX_VALUE / count ? Long.MAX_VALUE : count * n;
        }
        // Java arrays are int-indexed; a checkpoint of an MLP is nowhere near this.
        if (count > Integer.MAX_VALUE - 8) {
            throw bad(file, "tensor '" + name + "' has shape " + dims + ", too many elements for one array");
        }
        JsonNode offs = info.get("data_offsets");
        if (!offs.isArray() || offs.size() != 2 || !isLong(offs.get(0)) || !isLong(offs.get(1))
                || offs.get(0).longValue() < 0 || offs.get(0).longValue() > offs.get(1).longValue()) {
            throw bad(file, "tensor '" + name + "' has data_offsets " + offs
                    + "; expected [begin, end] with 0 <= begin <= end");
        }
        long begin = offs.get(0).longValue(), end = offs.get(1).longValue();
        if (end > dataLen) {
            throw bad(file, "tensor '" + name + "' ends at byte " + end + " of the data but the data section has only "
                    + dataLen + " bytes");
        }
        if (end - begin != 4 * count) {
            throw bad(file, "tensor '" + name + "' has shape " + Arrays.toString(shape) + " (" + count
                    + " F32 values, " + 4 * count + " bytes) but data_offsets span " + (end - begin) + " bytes");
        }
        return new Span(name, shape, count, begin, end);
    }

    private static boolean isLong(JsonNode n) {
        return n.isIntegralNumber() && n.canConvertToLong();
    }

    /** The spec requires the data section to be indexed entirely: tensors back to back from 0 to its end. */
    private static void checkCoverage(Path file, List<Span> spans, long dataLen) {
        List<Span> sorted = new ArrayList<>(spans);
        sorted.sort(Comparator.comparingLong(Span::begin).thenComparingLong(Span::end));
        long at = 0;
        Span previous = null;
        for (Span s : sorted) {
            if (s.begin < at) {
                throw bad(file, "tensors '" + previous.name + "' and '" + s.name + "' overlap in the data section");
            }
            if (s.begin > at) {
                throw bad(file, "bytes " + at + ".." + s.begin + " of the data section belong to no tensor");
            }
            at = s.end;
            previous = s;
        }
        if (at != dataLen) {
            throw bad(file, (dataLen - at) + " trailing bytes of the data section belong to no tensor");
        }
    }

    private static byte[] header(Map<String, Entry> tensors, Map<String, String> metadata) {
        ObjectNode json = Json.object();
        if (!metadata.isEmpty()) {
            ObjectNode meta = json.putObject(METADATA_KEY);
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Entry> kv : tensors.entrySet()) {
            String name = kv.getKey();
            Entry e = kv.getValue();
            if (name.equals(METADATA_KEY)) {
                throw new IllegalArgumentException("a tensor cannot be named " + METADATA_KEY);
            }
            long count = 1;
            for (int d : e.shape()) {
                if (d < 0) {
                    throw new IllegalArgumentException("tensor '" + name + "' has a negative dimension: "
                            + Arrays.toString(e.shape()));
                }
                count = Math.multiplyExact(count, d);
            }
            if (count != e.data().length) {
                throw new IllegalArgumentException("tensor '" + name + "' has shape " + Arrays.toString(e.shape())
                        + " (" + count + " values) but " + e.data().length + " values");
            }
            ObjectNode t = json.putObject(name);
            t.put("dtype", "F32");
            ArrayNode shape = t.putArray("shape");
            for (int d : e.shape()) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(offset).add(offset + 4 * count);
            offset += 4 * count;
        }
        byte[] utf8 = Json.compact(json).getBytes(StandardCharsets.UTF_8);
        // Padding to a multiple of 8 keeps the data section aligned, as the spec recommends.
        int padded = (utf8.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(utf8, padded);
        Arrays.fill(out, utf8.length, padded, (byte) ' ');
        return out;
    }

    private static KilnException bad(Path file, String what) {
        return new KilnException("checkpoint " + file + ": " + what,
                "the file is not a valid F32 safetensors file; re-save it with Kiln or safetensors.torch.save_file");
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, position);
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
            position += n;
        }
    }
}
