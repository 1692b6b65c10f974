package example;

import dev.kiln.data.Csv;
import dev.kiln.data.FeatureScaling;
import dev.kiln.data.Table;
import dev.kiln.engine.Model;
import dev.kiln.engine.checkpoint.Checkpoint;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.Devices;
import dev.kiln.engine.eval.Evaluation;
import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.train.TrainConfig;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * The Java side of {@code kiln train --data FILE --label-column NAME --standardize}: reads a CSV file, holds out a
 * fifth of it, trains, evaluates, saves the model with its feature scaling, loads both back and classifies a row.
 * Arguments: FILE LABEL_COLUMN [EPOCHS].
 */
public final class TrainCsv {
    public static void main(String[] args) {
        Path csv = Path.of(args[0]);
        int epochs = args.length > 2 ? Integer.parseInt(args[2]) : 100;
        Path file = Path.of("csv-model.safetensors");

        Table table = Csv.read(csv, Csv.Options.labelColumn(args[1])); // header line, label column by name or index
        Table.Split split = table.split(0.2, 42);
        FeatureScaling scaling = FeatureScaling.fit(split.train(), true); // standardized, fitted on the training rows
        LayerSpec layers = LayerSpec.forData("16", table.featureCount(), table.classes()); // one hidden layer of 16

        try (Model model = Model.create(layers.toString(), 42)) {
            TrainConfig config = TrainConfig.defaults().withEpochs(epochs).withBatchSize(16);
            model.train(scaling.dataset(split.train()), scaling.dataset(split.test()), config, null);
            Evaluation e = model.evaluate(scaling.dataset(split.test()));
            System.out.printf("%s: %s, test accuracy %.2f%% on %d held-out rows%n", csv, layers, 100 * e.accuracy(), e.size());
            Checkpoint.save(file, model.trainingState(), scaling.metadata()); // the scaling travels with the model
        }

        Checkpoint.Loaded loaded = Checkpoint.load(file);
        FeatureScaling saved = FeatureScaling.fromMetadata(loaded.metadata());
        try (Device device = Devices.open("auto", DeviceOptions.DEFAULTS).device();
             Model model = Model.restore(loaded.state(), device)) {
            float[] row = split.test().features()[0];
            int c = model.classify(saved.inputs(row));
            System.out.printf("reloaded: %s is %s (labelled %s)%n", Arrays.toString(row),
                    saved.classNames().get(c), saved.classNames().get(split.test().labels()[0]));
        }
    }
}
