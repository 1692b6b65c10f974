package dev.kiln.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Just enough of a tar reader for an npm package: ustar headers (with their name prefix), pax extended headers
 * (path and size) and GNU long names, regular files only. Not a general archiver: links, devices and
 * directories are skipped, nothing is ever written to disk by this class.
 */
final class Tar {
    private static final int BLOCK = 512;

    /** Receives each regular file; {@code content} ends with the entry and need not be read to its end. */
    interface Visitor {
        void file(String name, long size, InputStream content) throws IOException, SourceFailure;
    }

    private Tar() {
    }

    /** Walks the tar stream {@code in} (already decompressed), calling {@code visitor} for each regular file. */
    static void read(InputStream in, Visitor visitor) throws IOException, SourceFailure {
        byte[] header = new byte[BLOCK];
        String longName = null;
        long paxSize = -1;
        while (true) {
            if (in.readNBytes(header, 0, BLOCK) < BLOCK) {
                throw new IOException("tar archive ends inside a header");
            }
            if (allZero(header)) {
                return; // end-of-archive marker
            }
            checkChecksum(header);
            String name = string(header, 0, 100);
            String prefix = string(header, 345, 155);
            if (!prefix.isEmpty()) {
                name = prefix + "/" + name;
            }
            long size = number(header, 124, 12);
            char type = (char) header[156];
            if (paxSize >= 0) {
                size = paxSize;
            }
            if (longName != null) {
                name = longName;
            }
            longName = null;
            paxSize = -1;
            switch (type) {
                case 'x', 'L' -> {
                    if (size > 1 << 20) {
                        throw new IOException("tar extended header of " + size + " bytes");
                    }
                    String text = new String(in.readNBytes((int) size), StandardCharsets.UTF_8);
                    skipPadding(in, size);
                    if (type == 'L') {
                        longName = text.split("\0", 2)[0];
                    } else {
                        for (String rec : pax(text)) {
                            if (rec.startsWith("path=")) {
                                longName = rec.substring(5);
                            } else if (rec.startsWith("size=")) {
                                paxSize = Long.parseLong(rec.substring(5));
                            }
                        }
                    }
                }
                case '0', '\0' -> {
                    Bounded content = new Bounded(in, size);
                    visitor.file(name, size, content);
                    content.skipRest();
                    skipPadding(in, size);
                }
                default -> { // directories, links, global pax headers: nothing we need
                    in.skipNBytes(size);
                    skipPadding(in, size);
                }
            }
        }
    }

    /** The records of a pax extended header ("LEN key=value\n" each), as "key=value". */
    private static String[] pax(String text) {
        java.util.List<String> out = new java.util.ArrayList<>();
        for (String line : text.split("\n")) {
            int space = line.indexOf(' ');
            if (space > 0) {
                out.add(line.substring(space + 1));
            }
        }
        return out.toArray(String[]::new);
    }

    private static void skipPadding(InputStream in, long size) throws IOException {
        long pad = (BLOCK - size % BLOCK) % BLOCK;
        in.skipNBytes(pad);
    }

    private static void checkChecksum(byte[] h) throws IOException {
        long sum = 0;
        for (int i = 0; i < BLOCK; i++) {
            sum += (i >= 148 && i < 156) ? ' ' : (h[i] & 0xff);
        }
        if (sum != number(h, 148, 8)) {
            throw new IOException("not a tar archive (header checksum mismatch)");
        }
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    private static String string(byte[] h, int off, int len) {
        int end = off;
        while (end < off + len && h[end] != 0) {
            end++;
        }
        return new String(h, off, end - off, StandardCharsets.UTF_8);
    }

    /** An octal field, or a base-256 one (high bit set) as GNU tar writes for large sizes. */
    private static long number(byte[] h, int off, int len) throws IOException {
        if ((h[off] & 0x80) != 0) {
            long v = h[off] & 0x7f;
            for (int i = off + 1; i < off + len; i++) {
                v = (v << 8) | (h[i] & 0xff);
            }
            return v;
        }
        String s = string(h, off, len).trim();
        try {
            return s.isEmpty() ? 0 : Long.parseLong(s, 8);
        } catch (NumberFormatException e) {
            throw new IOException("not a tar archive (bad number field '" + s + "')", e);
        }
    }

    /** The content of one entry: reads at most {@code remaining} bytes of the archive. */
    private static final class Bounded extends InputStream {
        private final InputStream in;
        private long remaining;

        Bounded(InputStream in, long size) {
            this.in = in;
            this.remaining = size;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (remaining == 0) {
                return -1;
            }
            int n = in.read(b, off, (int) Math.min(len, remaining));
            if (n < 0) {
                throw new IOException("tar archive ends inside an entry");
            }
            remaining -= n;
            return n;
        }

        void skipRest() throws IOException {
            in.skipNBytes(remaining);
            remaining = 0;
        }

        @Override
        public void close() {
            // the archive stream stays open for the next entry
        }
    }
}
