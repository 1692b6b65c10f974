package dev.kiln.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Puts a file into a directory only once its raw (uncompressed) bytes match the expected SHA-256: the bytes go
 * to a hidden temporary file in the same directory, which is hashed, synced and renamed into place. A failure at
 * any point deletes the temporary file, so the directory holds either the verified file or nothing.
 */
final class Verified {
    private Verified() {
    }

    /**
     * Reads {@code in} (raw or gzip, told apart by its first bytes) to its end and installs its raw bytes as
     * {@code dir/name}. {@code source} names where the bytes came from, for messages.
     */
    static void install(Path dir, String name, InputStream in, String expectedSha256, String source)
            throws IOException, SourceFailure {
        AtomicFile.write(dir.resolve(name), out -> {
            String sha = copy(name, source, in, out);
            if (!sha.equals(expectedSha256)) {
                throw new SourceFailure(name + " from " + source + " has SHA-256 " + sha + ", expected " + expectedSha256);
            }
        });
    }

    /** SHA-256 (lowercase hex) of a file's raw bytes, decompressing it first if it is gzip. */
    static String sha256(Path file) throws IOException {
        MessageDigest md = sha256();
        try (InputStream in = raw(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static String copy(String name, String source, InputStream in, FileChannel out) throws IOException, SourceFailure {
        MessageDigest md = sha256();
        byte[] buf = new byte[1 << 16];
        try {
            InputStream raw = raw(new BufferedInputStream(in, 1 << 16));
            for (int n; (n = raw.read(buf)) > 0; ) {
                md.update(buf, 0, n);
                ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                while (bb.hasRemaining()) {
                    out.write(bb);
                }
            }
        } catch (ZipException | EOFException e) { // gzip data that is corrupt or stops mid-way
            throw new SourceFailure(name + " from " + source + ": incomplete or corrupt gzip data (" + e.getMessage() + ")", e);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** {@code in} itself, or its decompressed content when it starts with gzip's magic bytes 1f 8b. */
    private static InputStream raw(BufferedInputStream in) throws IOException {
        in.mark(2);
        boolean gzip = in.read() == 0x1f && in.read() == 0x8b;
        in.reset();
        return gzip ? new GZIPInputStream(in, 1 << 16) : in;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
