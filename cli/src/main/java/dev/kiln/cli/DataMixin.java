package dev.kiln.cli;

import dev.kiln.data.Dataset;
import dev.kiln.data.KilnException;
import dev.kiln.data.Mnist;
import dev.kiln.data.Progress;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** Where the data comes from: MNIST (cached, fetched and verified when missing) or any MNIST-shaped folder. */
final class DataMixin {
    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "A folder with the four MNIST-named IDX files (raw or .gz); default: Kiln's verified MNIST cache.")
    Path dataDir;

    @Option(names = "--limit", defaultValue = "0", paramLabel = "N",
            description = "Use only the first N training and N test samples; 0 uses all. Default: ${DEFAULT-VALUE}.")
    int limit;

    Dataset.Pair load() {
        if (limit < 0) {
            throw new UsageException("--limit must be 0 (everything) or positive, got " + limit);
        }
        Dataset.Pair pair = Mnist.load(dataDir, Progress.console(System.err));
        return limit > 0 ? pair.first(limit) : pair;
    }

    /** For messages: where the data came from and whether its checksums were checked. */
    String provenance() {
        return datasetName() + " (" + checksumStatus() + ")";
    }

    String datasetName() {
        return dataDir == null ? "MNIST, " + Mnist.cacheDir() : dataDir.toString();
    }

    String checksumStatus() {
        return dataDir == null ? "SHA-256 verified" : "not checked (--data-dir)";
    }
}
