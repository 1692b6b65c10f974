package dev.kiln.cli;

import dev.kiln.data.DigitImage;
import dev.kiln.data.FeatureScaling;
import dev.kiln.data.KilnException;
import dev.kiln.engine.Model;
import dev.kiln.engine.checkpoint.Checkpoint;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.Devices;
import dev.kiln.engine.train.TrainingState;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;

/** {@code kiln predict}: the digit in each picture, prepared the way MNIST's digits were. */
@Command(name = "predict", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Classify pictures of digits (PNG or JPEG, any size, colour or grey).",
                "Each is prepared as MNIST's were: grey, inverted if the background is light, fitted into 20x20, centred by mass in 28x28."})
final class PredictCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    Kiln.Verbosity verbosity;
    @Option(names = {"--model", "-m"}, defaultValue = "kiln-mnist.safetensors", paramLabel = "FILE",
            description = "The checkpoint to use. Default: ${DEFAULT-VALUE}.")
    Path model;
    @Option(names = "--top", defaultValue = "3", paramLabel = "K", description = "Show the K most likely digits. Default: ${DEFAULT-VALUE}.")
    int top;
    @Mixin
    TableMixin table;
    @Parameters(arity = "0..*", paramLabel = "IMAGE", description = "Pictures to classify (or --data FILE for a model trained on your own data).")
    List<Path> images;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Checkpoint.Loaded loaded = Checkpoint.load(model);
        if (table.given() || loaded.metadata().containsKey(FeatureScaling.KIND)) {
            return TablePredictions.print(out, model, loaded, table, images, top);
        }
        if (images == null || images.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "Missing required parameter: 'IMAGE'");
        }
        TrainingState state = loaded.state();
        if (state.layers().inputSize() != 28 * 28) {
            throw new KilnException(model + " takes " + state.layers().inputSize() + " inputs, not 784 (28x28)",
                    "predict works with networks trained on MNIST-shaped images");
        }
        // One picture at a time is a tiny amount of work: the CPU is the right device for it.
        try (Device dev = Devices.open("reference", DeviceOptions.DEFAULTS).device(); Model m = Model.restore(state, dev)) {
            for (Path image : images) {
                byte[] pixels = DigitImage.prepare(image); // (784) 0..255
                float[] x = new float[pixels.length];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (pixels[i] & 0xff) / 255f;
                }
                float[] p = m.predict(x);
                Integer[] order = IntStream.range(0, p.length).boxed().toArray(Integer[]::new);
                Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -p[i]));
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%s: %d", image, order[0]));
                line.append("   (");
                for (int k = 0; k < Math.min(Math.max(top, 1), p.length); k++) {
                    line.append(k == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%d %.1f%%", order[k], 100 * p[order[k]]));
                }
                out.println(line.append(')'));
            }
        }
        out.flush();
        return 0;
    }
}
