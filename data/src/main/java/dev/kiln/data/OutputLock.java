package dev.kiln.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Keeps two runs from writing the same output at once: an exclusive lock on {@code .NAME.lock} beside the file,
 * held while open and deleted on {@link #close()}. The second run is refused with one line naming the first
 * one's process id. The operating system releases the lock of a killed process, and the next run takes over its
 * lock file.
 */
public final class OutputLock implements AutoCloseable {
    private final Path lockFile;
    private final FileChannel channel;
    private final FileLock lock;

    private OutputLock(Path lockFile, FileChannel channel, FileLock lock) {
        this.lockFile = lockFile;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Locks {@code target} (through a symbolic link, the file it points to) for this process.
     *
     * @param what for messages, e.g. "the checkpoint"
     * @throws KilnException when another run holds it, or the lock file cannot be made
     */
    public static OutputLock take(Path target, String what) {
        Path real = AtomicFile.checkTarget(target).toAbsolutePath().normalize();
        Path lockFile = real.resolveSibling("." + real.getFileName() + ".lock");
        for (int attempt = 0; ; attempt++) {
            FileChannel ch = null;
            try {
                ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
                FileLock lock;
                try {
                    lock = ch.tryLock();
                } catch (OverlappingFileLockException e) { // this process holds it already
                    lock = null;
                }
                if (lock == null) {
                    String holder = new String(Files.readAllBytes(lockFile), StandardCharsets.US_ASCII).strip();
                    ch.close();
                    throw new KilnException(what + " " + target + " is being written by another Kiln run"
                                    + (holder.isEmpty() ? "" : " (process " + holder + ")"),
                            "wait for it to finish, or pass another file");
                }
                // the run before may have deleted the file between our open and our lock (it deletes while it holds
                // the lock): then we hold a lock on a file no one else sees. Our process id, written into our file and
                // read back through the path, shows whether the path still leads to it.
                byte[] pid = Long.toString(ProcessHandle.current().pid()).getBytes(StandardCharsets.US_ASCII);
                ch.truncate(0);
                ch.write(ByteBuffer.wrap(pid), 0);
                if (!Files.exists(lockFile) || !java.util.Arrays.equals(Files.readAllBytes(lockFile), pid)) {
                    ch.close();
                    if (attempt < 100) {
                        continue;
                    }
                    throw new IOException("the lock file keeps changing");
                }
                return new OutputLock(lockFile, ch, lock);
            } catch (IOException e) {
                closeQuietly(ch);
                throw new KilnException("cannot lock " + target + " for writing (" + e.getMessage() + ")",
                        "check that its folder exists and is writable", e);
            } catch (RuntimeException e) {
                closeQuietly(ch);
                throw e;
            }
        }
    }

    /** Releases the lock and deletes the lock file; a second call does nothing. */
    @Override
    public synchronized void close() {
        if (!channel.isOpen()) {
            return;
        }
        try {
            Files.deleteIfExists(lockFile); // while still locked, so no one takes the file we are deleting
        } catch (IOException e) {
            // a leftover lock file is harmless: the next run takes it over
        }
        try {
            lock.release();
        } catch (IOException e) {
            // closing the channel releases it too
        }
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException e) {
                // nothing to lose: the lock goes with the channel
            }
        }
    }
}
