package dev.kiln.data;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes a file so that readers see either the old file or the complete new one, never a part: the bytes go to a
 * hidden temporary file beside the target, are forced to disk, and the temporary file is renamed over the target.
 * On any failure the temporary file is deleted and the target is left as it was. Used for checkpoints, reports and
 * the MNIST cache.
 */
public final class AtomicFile {
    private static final long PID = ProcessHandle.current().pid();
    private static final AtomicLong COUNT = new AtomicLong();

    private AtomicFile() {
    }

    /** Writes the new content into {@code out}; may throw to abandon the write (e.g. a checksum mismatch). */
    @FunctionalInterface
    public interface Body<E extends Exception> {
        void write(FileChannel out) throws IOException, E;
    }

    /** Replaces {@code target} with what {@code body} writes, atomically; the new file is rw-r--r-- where POSIX. */
    public static <E extends Exception> void write(Path target, Body<E> body) throws IOException, E {
        Path dir = target.toAbsolutePath().getParent();
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
}
