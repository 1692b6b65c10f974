package dev.kiln.data;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;

/**
 * IDX files (the format MNIST ships in), raw or gzip-compressed; gzip is recognised by its magic bytes, not by
 * the file name. Reads and writes the two kinds MNIST uses: unsigned-byte labels (idx1) and unsigned-byte images
 * (idx3). Other element types and dimension counts are refused, not converted.
 *
 * <p>A header is never trusted with memory: its sizes are capped, checked against a raw file's length before
 * anything is allocated, and a gzip stream (whose length is unknown up front) is read in growing chunks, so a
 * header that lies costs no more memory than the data actually present.
 */
public final class Idx {
    /** Magic number of an idx1 unsigned-byte file (labels): type code 0x08, one dimension. */
    public static final int LABELS_MAGIC = 0x00000801;
    /** Magic number of an idx3 unsigned-byte file (images): type code 0x08, three dimensions. */
    public static final int IMAGES_MAGIC = 0x00000803;

    /** At most this many samples in a file: 2^28, far beyond any IDX dataset in use. */
    static final long MAX_COUNT = 1L << 28;
    /** At most this many pixels per image (1024 x 1024). */
    static final long MAX_PIXELS = 1L << 20;
    /** Everything lives in one Java array. */
    static final long MAX_PAYLOAD = Integer.MAX_VALUE - 8;

    private static final int FIRST_CHUNK = 1 << 20;
    // Kiln's MNIST cache is checked by SHA-256 before it is parsed (and fetched again when damaged), so a file
    // that fails here is one the person chose (--data-dir): a new download would not help
    private static final String HINT = "the file is damaged or not an MNIST-style IDX file; replace it with a good copy";

    private Idx() {
    }

    /** Images from an idx3 file: {@code count} images of rows x cols unsigned bytes. */
    public record Images(int count, int rows, int cols, byte[] pixels) { // pixels: (count, rows * cols)
    }

    /** Reads an idx3 unsigned-byte image file, raw or gzip. */
    public static Images readImages(Path file) {
        Payload p = read(file, 3);
        return new Images((int) p.shape[0], (int) p.shape[1], (int) p.shape[2], p.data);
    }

    /** Reads an idx1 unsigned-byte label file, raw or gzip; labels are 0..255 (range checks are the caller's). */
    public static int[] readLabels(Path file) {
        byte[] data = read(file, 1).data;
        int[] labels = new int[data.length];
        for (int i = 0; i < data.length; i++) {
            labels[i] = data[i] & 0xff;
        }
        return labels;
    }

    /** Writes {@code pixels.length / (rows * cols)} images as idx3 unsigned bytes, gzip-compressed if asked. */
    public static void writeImages(Path file, int rows, int cols, byte[] pixels, boolean gzip) throws IOException {
        if (rows <= 0 || cols <= 0 || pixels.length % (rows * cols) != 0) {
            throw new IllegalArgumentException(pixels.length + " pixel bytes are not whole " + rows + "x" + cols + " images");
        }
        write(file, IMAGES_MAGIC, new int[]{pixels.length / (rows * cols), rows, cols}, pixels, gzip);
    }

    /** Writes labels (each 0..255) as idx1 unsigned bytes, gzip-compressed if asked. */
    public static void writeLabels(Path file, int[] labels, boolean gzip) throws IOException {
        byte[] data = new byte[labels.length];
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] > 255) {
                throw new IllegalArgumentException("label " + labels[i] + " at index " + i + " does not fit an unsigned byte");
            }
            data[i] = (byte) labels[i];
        }
        write(file, LABELS_MAGIC, new int[]{labels.length}, data, gzip);
    }

    private static void write(Path file, int magic, int[] shape, byte[] data, boolean gzip) throws IOException {
        try (OutputStream raw = Files.newOutputStream(file);
             OutputStream sink = gzip ? new GZIPOutputStream(raw, 1 << 16) : new BufferedOutputStream(raw, 1 << 16);
             DataOutputStream out = new DataOutputStream(sink)) {
            out.writeInt(magic); // big-endian, as IDX wants
            for (int d : shape) {
                out.writeInt(d);
            }
            out.write(data);
        }
    }

    private record Payload(long[] shape, byte[] data) {
    }

    /** True when the file starts with gzip's magic bytes 1f 8b. */
    static boolean isGzip(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return in.read() == 0x1f && in.read() == 0x8b;
        }
    }

    private static Payload read(Path file, int dims) {
        try {
            long fileLength = Files.size(file);
            if (fileLength == 0) {
                throw new KilnException(file + " is empty (0 bytes)", HINT);
            }
            boolean gzip = isGzip(file);
            try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
                 InputStream in = gzip ? new GZIPInputStream(raw, 1 << 16) : raw) {
                long[] shape = header(file, in, dims);
                long payload = payloadSize(file, shape);
                if (!gzip) {
                    long expected = 4L + 4L * dims + payload;
                    if (fileLength != expected) {
                        throw new KilnException(file + ": the header promises " + describe(shape) + " (" + expected
                                + " bytes with the header) but the file has " + fileLength + " bytes"
                                + (fileLength < expected ? " (truncated)" : " (extra bytes at the end)"), HINT);
                    }
                }
                byte[] data = payload(file, in, shape, (int) payload, gzip);
                // a gzip file is read to its very end, so that its trailer's CRC and size are checked
                int more;
                try {
                    more = gzip ? in.read() : -1;
                } catch (EOFException e) {
                    throw new KilnException(file + ": the gzip stream ends early, before its trailer (CRC and size)"
                            + " is complete, so the data cannot be checked", HINT, e);
                }
                if (more != -1) {
                    throw new KilnException(file + ": the gzip stream holds more data than the header's "
                            + describe(shape), HINT);
                }
                return new Payload(shape, data);
            }
        } catch (NoSuchFileException e) {
            throw new KilnException(file + " does not exist", "check the path (--data-dir)", e);
        } catch (EOFException e) { // only GZIPInputStream throws it: the stream ends inside the header
            throw new KilnException(file + ": the gzip stream ends early, inside the IDX header", HINT, e);
        } catch (ZipException e) {
            throw new KilnException(file + ": corrupt gzip data (" + e.getMessage() + ")", HINT, e);
        } catch (IOException e) {
            throw new KilnException("cannot read " + file + ": " + e.getMessage(), HINT, e);
        }
    }

    /** Reads and checks the magic number and the dimensions; returns the dimensions as unsigned values. */
    private static long[] header(Path file, InputStream in, int dims) throws IOException {
        byte[] magic = new byte[4];
        if (in.readNBytes(magic, 0, 4) < 4) {
            throw new KilnException(file + " is too short to be an IDX file (no complete 4-byte magic number)", HINT);
        }
        if (magic[0] != 0 || magic[1] != 0) {
            throw new KilnException(file + " is not an IDX file: magic bytes " + hex(magic)
                    + ", expected 00 00 08 0" + dims, HINT);
        }
        int type = magic[2] & 0xff;
        if (type != 0x08) {
            throw new KilnException(file + ": IDX type code 0x" + String.format(Locale.ROOT, "%02X", type)
                    + " (" + typeName(type) + ") is not supported; Kiln reads unsigned bytes (0x08)", HINT);
        }
        int found = magic[3] & 0xff;
        if (found != dims) {
            throw new KilnException(file + ": IDX file has " + found + " dimension(s), expected " + dims
                    + (dims == 3 ? " (images: count, rows, cols)" : " (labels: count)"), HINT);
        }
        byte[] raw = new byte[4 * dims];
        if (in.readNBytes(raw, 0, raw.length) < raw.length) {
            throw new KilnException(file + ": IDX header ends early (" + dims + " dimensions announced)", HINT);
        }
        long[] shape = new long[dims];
        for (int d = 0; d < dims; d++) {
            shape[d] = ((raw[4 * d] & 0xffL) << 24) | ((raw[4 * d + 1] & 0xff) << 16)
                    | ((raw[4 * d + 2] & 0xff) << 8) | (raw[4 * d + 3] & 0xff);
        }
        return shape;
    }

    /** The payload size the header claims, after refusing empty and absurd shapes. */
    private static long payloadSize(Path file, long[] shape) {
        if (shape[0] == 0) {
            throw new KilnException(file + " holds no samples (count 0 in its header)", HINT);
        }
        if (shape[0] > MAX_COUNT) {
            throw new KilnException(file + ": header claims " + shape[0] + " samples, more than Kiln accepts ("
                    + MAX_COUNT + ")", HINT);
        }
        long perSample = 1;
        for (int d = 1; d < shape.length; d++) {
            perSample *= shape[d]; // two values below 2^32 each: no overflow
        }
        if (perSample == 0 || perSample > MAX_PIXELS) {
            throw new KilnException(file + ": header claims images of " + shape[1] + "x" + shape[2]
                    + ", outside what Kiln accepts (1 to " + MAX_PIXELS + " pixels)", HINT);
        }
        long payload = shape[0] * perSample;
        if (payload > MAX_PAYLOAD) {
            throw new KilnException(file + ": header claims " + describe(shape) + " = " + payload
                    + " bytes, more than Kiln holds in memory (" + MAX_PAYLOAD + ")", HINT);
        }
        return payload;
    }

    /** Reads exactly {@code size} bytes, growing the buffer only as data actually arrives. */
    private static byte[] payload(Path file, InputStream in, long[] shape, int size, boolean gzip) throws IOException {
        byte[] buf = new byte[Math.min(size, FIRST_CHUNK)];
        int have = 0;
        try {
            while (have < size) {
                if (have == buf.length) {
                    buf = Arrays.copyOf(buf, (int) Math.min(size, 2L * buf.length));
                }
                int n = in.read(buf, have, buf.length - have);
                if (n < 0) {
                    break;
                }
                have += n;
            }
        } catch (EOFException e) { // GZIPInputStream: the compressed stream stops mid-way
            throw ended(file, shape, have, size, gzip);
        }
        if (have < size) {
            throw ended(file, shape, have, size, gzip);
        }
        return buf;
    }

    private static KilnException ended(Path file, long[] shape, int have, int size, boolean gzip) {
        return new KilnException(file + ": " + (gzip ? "the gzip stream ends early" : "truncated") + " after " + have
                + " of the " + size + " data bytes the header promises (" + describe(shape) + ")", HINT);
    }

    private static String describe(long[] shape) {
        return shape.length == 1 ? shape[0] + " labels" : shape[0] + " images of " + shape[1] + "x" + shape[2];
    }

    private static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) {
            s.append(s.isEmpty() ? "" : " ").append(String.format(Locale.ROOT, "%02x", x & 0xff));
        }
        return s.toString();
    }

    private static String typeName(int type) {
        return switch (type) {
            case 0x09 -> "signed byte";
            case 0x0B -> "short";
            case 0x0C -> "int";
            case 0x0D -> "float";
            case 0x0E -> "double";
            default -> "unknown";
        };
    }
}
