package dev.kiln.cli;

import dev.kiln.data.Csv;
import dev.kiln.data.Dataset;
import dev.kiln.data.FeatureScaling;
import dev.kiln.data.KilnException;
import dev.kiln.data.Npy;
import dev.kiln.data.Table;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Your own data instead of MNIST: a CSV file (numeric feature columns and one label column) or NumPy arrays. The
 * network's input and output sizes follow the data; the features' scaling is fitted on the training rows and
 * saved in the checkpoint, with the label column, so that eval and predict read new rows the same way.
 */
final class TableMixin {
    /** Checkpoint metadata: the label column training used, so eval and predict find it without the flag. */
    static final String LABEL_COLUMN = "label_column";

    @Option(names = "--data", paramLabel = "FILE",
            description = "Your own data: a CSV file (numeric features and a label column), or float32 (N, F) features as .npy with --labels.")
    Path data;

    @Option(names = "--labels", paramLabel = "FILE", description = "With a .npy --data: integer labels (N) as .npy.")
    Path labels;

    @Option(names = "--label-column", paramLabel = "NAME|INDEX",
            description = "The CSV's label column: a header name, or an index (0 the first, -1 the last). Default: the last, or the one the model was trained with.")
    String labelColumn;

    @Option(names = "--no-header", description = "The CSV's first line is data, not column names.")
    boolean noHeader;

    @Option(names = "--test-data", paramLabel = "FILE",
            description = "train: a separate test file (with --test-labels for .npy); default: hold out --test-fraction of --data.")
    Path testData;

    @Option(names = "--test-labels", paramLabel = "FILE", description = "train: the .npy labels of --test-data.")
    Path testLabels;

    @Option(names = "--test-fraction", defaultValue = "0.2", paramLabel = "F",
            description = "train: the share of --data's rows held out for testing (seeded by --seed). Default: ${DEFAULT-VALUE}.")
    double testFraction;

    @Option(names = "--standardize",
            description = "train: scale each feature by its mean and standard deviation (z-scores clipped at +-4) instead of its min..max.")
    boolean standardize;

    /** Whether the person asked for their own data. */
    boolean given() {
        return data != null;
    }

    /** Training data, its scaling (fitted here, or {@code saved} when resuming) and what the checkpoint keeps. */
    record Training(Dataset.Pair pair, FeatureScaling scaling, Map<String, String> metadata, String provenance) {
    }

    Training train(long seed, int limit, FeatureScaling saved) {
        Table train = read(data, labels, labelColumn, null);
        Table test;
        String held;
        if (testData != null) {
            test = read(testData, testLabels, labelColumn, train.classNames());
            held = test.size() + " rows of " + testData;
        } else {
            Table.Split split = train.split(testFraction, seed);
            train = split.train();
            test = split.test();
            held = String.format(Locale.ROOT, "%.0f%% held out, seed %d", 100 * testFraction, seed);
        }
        if (limit > 0) {
            train = train.first(limit);
            test = test.first(limit);
        }
        FeatureScaling scaling = saved != null ? saved : FeatureScaling.fit(train, standardize);
        Map<String, String> meta = new LinkedHashMap<>(scaling.metadata());
        if (labelColumn != null) {
            meta.put(LABEL_COLUMN, labelColumn);
        }
        String provenance = String.format(Locale.ROOT, "%s (%d features, %d classes, %s; test: %s)", data,
                train.featureCount(), train.classes(), scaling.kind(), held);
        return new Training(new Dataset.Pair(scaling.dataset(train), scaling.dataset(test)), scaling, meta, provenance);
    }

    /** Every row of --data, scaled as the model's training data was, to evaluate on. */
    Dataset evaluate(FeatureScaling scaling, Map<String, String> meta) {
        return scaling.dataset(read(data, labels, labelColumn(meta), scaling.classNames()));
    }

    /** The rows of --data to classify: the label column, when the file has one, is left out. */
    Table rowsToPredict(FeatureScaling scaling, Map<String, String> meta) {
        if (isNpy(data)) {
            return Npy.unlabelled(data, scaling.classNames());
        }
        boolean hasLabels = Csv.columns(data) == scaling.inputs() + 1;
        Table rows = Csv.read(data, new Csv.Options(hasLabels ? labelColumn(meta) : null, !noHeader, null));
        return new Table(rows.source(), rows.featureNames(), rows.features(), null, scaling.classNames());
    }

    private String labelColumn(Map<String, String> meta) {
        return labelColumn != null ? labelColumn : meta.getOrDefault(LABEL_COLUMN, "-1");
    }

    private Table read(Path file, Path labelFile, String column, List<String> classes) {
        if (isNpy(file)) {
            if (labelFile == null) {
                throw new KilnException(file + " is a .npy array of features; its labels need a file too",
                        "pass --labels FILE.npy (and --test-labels with --test-data)");
            }
            return Npy.read(file, labelFile, classes);
        }
        return Csv.read(file, new Csv.Options(column == null ? "-1" : column, !noHeader, classes));
    }

    private static boolean isNpy(Path file) {
        return file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".npy");
    }
}
