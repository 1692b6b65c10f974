package dev.kiln.data;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Writes a file so that readers see either the old file or the complete new one, never a part: the bytes go to a
 * hidden temporary file beside the target, are forced to disk, and the temporary file is renamed over the target.
 * On any failure the temporary file is deleted and the target is left as it was. Used for checkpoints, reports and
 * the MNIST cache.
 */
public final class AtomicFile {
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
        Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".part");
        try {
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                body.write(out);
                out.force(true); // the data is on disk before the rename makes it visible
            }
            if (Files.getFileStore(tmp).supportsFileAttributeView("posix")) {
                // createTempFile makes it private (0600); the result is as readable as any file a person saves
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
