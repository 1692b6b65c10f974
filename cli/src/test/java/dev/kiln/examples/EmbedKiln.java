package dev.kiln.examples;

import dev.kiln.data.Dataset;
import dev.kiln.engine.Datasets;
import dev.kiln.engine.Model;
import dev.kiln.engine.checkpoint.Checkpoint;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.Devices;
import dev.kiln.engine.eval.Evaluation;
import dev.kiln.engine.train.TrainConfig;
import dev.kiln.engine.train.TrainingState;

import java.nio.file.Path;
import java.util.Map;

/** Trains a network on data already in memory, evaluates it, saves it as safetensors and loads it back. */
public final class EmbedKiln {
    /** Images are rows of 784 pixels in [0, 1] (28x28, row-major); labels are digits 0..9. */
    public static void trainAndSave(float[][] trainImages, int[] trainLabels,
                                    float[][] testImages, int[] testLabels, Path file) {
        Dataset train = Datasets.fromFloats("train", trainImages, trainLabels, 10);
        Dataset test = Datasets.fromFloats("test", testImages, testLabels, 10);

        try (Model model = Model.create("784,25,25,10", 42)) { // on the best device: a GPU, else the CPU
            model.train(train, test, TrainConfig.defaults().withEpochs(5), null);
            Evaluation e = model.evaluate(test);
            System.out.printf("test accuracy %.2f%%%n", 100 * e.accuracy());

            float[] p = model.predict(testImages[0]); // 10 probabilities
            int digit = model.classify(testImages[0]);
            System.out.printf("first test image: %d (%.1f%%)%n", digit, 100 * p[digit]);

            // PyTorch-named safetensors, with the optimizer state so training can continue
            Checkpoint.save(file, model.trainingState(), Map.of());
        }

        TrainingState saved = Checkpoint.load(file).state();
        try (Device device = Devices.open("auto", DeviceOptions.DEFAULTS).device();
             Model model = Model.restore(saved, device)) {
            System.out.printf("reloaded: %d%n", model.classify(testImages[0]));
        }
    }
}
