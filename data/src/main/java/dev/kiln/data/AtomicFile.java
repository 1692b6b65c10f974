package dev.kiln.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes a file so that readers see either the old file or the complete new one, never a part: the bytes go to a
 * hidden temporary file beside the target ({@code .NAME.PID.N.part}), are forced to disk, and the temporary file
 * is renamed over the target. On any failure (a full disk, a file-size limit, a kill) the target is left as it
 * was; the temporary file is deleted, or, after a kill, by the next write beside it. Used for checkpoints,
 * metrics, reports and the MNIST cache.
 *
 * <p>Only regular files are written: a target that exists as anything else (a device such as {@code /dev/null},
 * a FIFO, a folder) is refused, never replaced. A symbolic link is followed: the file it points to is written
 * (replaced atomically, or created) and the link stays; a link into a folder that does not exist is refused.
 */
public final class AtomicFile {
    private static final long PID = ProcessHandle.current().pid();
    private static final AtomicLong COUNT = new AtomicLong();
    /** {@code .NAME.PID.N.part}: the temporary files of {@link #write}. */
    private static final Pattern PART = Pattern.compile("\\.(.+)\\.(\\d+)\\.\\d+\\.part");

    private AtomicFile() {
    }

    /** Writes the new content into {@code out}; may throw to abandon the write (e.g. a checksum mismatch). */
    @FunctionalInterface
    public interface Body<E extends Exception> {
        void write(FileChannel out) throws IOException, E;
    }

    /**
     * The file a write to {@code target} replaces: {@code target} itself, or where its symbolic link points.
     *
     * @throws KilnException when {@code target} exists as something other than a regular file, or is a link into
     *                       a folder that does not exist
     */
    public static Path checkTarget(Path target) {
        Path real = target;
        for (int hops = 0; Files.isSymbolicLink(real); hops++) {
            try {
                Path dir = real.toAbsolutePath().getParent();
                real = dir.resolve(Files.readSymbolicLink(real)).normalize();
            } catch (IOException e) {
                throw new KilnException("cannot write " + target + ": cannot follow its link (" + e.getMessage() + ")");
            }
            if (hops == 40) {
                throw new KilnException("cannot write " + target + ": its symbolic links go round in a circle");
            }
        }
        if (real != target && !Files.isDirectory(real.toAbsolutePath().getParent())) {
            throw new KilnException("cannot write " + target + ": it is a symbolic link to nothing (" + real + ")",
                    "remove the link or name another file");
        }
        if (Files.exists(real, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(real, LinkOption.NOFOLLOW_LINKS)) {
            throw new KilnException("cannot write " + target + ": it exists and is not a regular file ("
                    + (Files.isDirectory(real) ? "a folder" : "a device, FIFO or socket") + ")",
                    "Kiln writes only regular files; name a new file or an existing regular one");
        }
        return real;
    }

    /** Replaces {@code target} with {@code content}, atomically. */
    public static void write(Path target, byte[] content) throws IOException {
        write(target, out -> writeFully(out, ByteBuffer.wrap(content)));
    }

    /** Writes all of {@code buf}: one {@link FileChannel#write} may write only part (a full disk, {@code ulimit -f}). */
    public static void writeFully(FileChannel out, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            out.write(buf);
        }
    }

    /**
     * Replaces {@code target} with what {@code body} writes, atomically; the new file is rw-r--r-- where POSIX.
     *
     * @throws KilnException when the target is not a regular file (see {@link #checkTarget})
     */
    public static <E extends Exception> void write(Path target, Body<E> body) throws IOException, E {
        target = checkTarget(target);
        Path dir = target.toAbsolutePath().getParent();
        removeStaleParts(dir, target.getFileName().toString());
        Path tmp = null;
        FileChannel open = null;
        // named by process and count, not by Files.createTempFile: its random names start the JDK's security
        // providers on first use, whose set-up (parsing java.security) the JIT then compiles while training runs
        while (open == null) {
            tmp = dir.resolve("." + target.getFileName() + "." + PID + "." + COUNT.incrementAndGet() + ".part");
            try {
                open = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            } catch (FileAlreadyExistsException e) {
                // left by a process that had this one's id: take the next count
            }
        }
        try {
            try (FileChannel out = open) {
                body.write(out);
                out.force(true); // the data is on disk before the rename makes it visible
            }
            if (Files.getFileStore(tmp).supportsFileAttributeView("posix")) {
                // as readable as any file a person saves, whatever the umask
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Deletes the temporary files for {@code name} in {@code dir} that processes no longer running left behind. */
    static void removeStaleParts(Path dir, String name) {
        try (DirectoryStream<Path> parts = Files.newDirectoryStream(dir, "." + globEscape(name) + ".*.part")) {
            for (Path p : parts) {
                Matcher m = PART.matcher(p.getFileName().toString());
                if (m.matches() && m.group(1).equals(name) && !alive(Long.parseLong(m.group(2)))) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException | RuntimeException e) {
            // tidying is best effort: an unreadable folder fails the write itself, with its own message
        }
    }

    /** True when process {@code pid} runs (this one included); ids too large to be a process count as running. */
    static boolean alive(long pid) {
        try {
            return pid == PID || ProcessHandle.of(pid).isPresent();
        } catch (RuntimeException e) {
            return true;
        }
    }

    private static String globEscape(String name) {
        return name.replaceAll("([\\\\*?\\[\\]{}])", "\\\\$1");
    }
}
