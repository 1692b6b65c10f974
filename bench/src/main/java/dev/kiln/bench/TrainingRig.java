package dev.kiln.bench;

import dev.kiln.data.Dataset;
import dev.kiln.engine.DeviceDataset;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.model.Init;
import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.model.Mlp;
import dev.kiln.engine.optim.Optimizer;
import dev.kiln.engine.optim.OptimizerState;
import dev.kiln.engine.train.TrainingStep;

import java.util.SplittableRandom;

/**
 * The trainer's own step ({@link TrainingStep}: replicas, gradient reduction and Adam included) on a device, over a data
 * set in a shuffled order, for timing outside the trainer. {@link #step()} runs the next full batch and starts
 * the order again at the end of an epoch.
 */
final class TrainingRig {
    final Device device;
    final Mlp model;
    final TrainingStep step;
    private final DeviceDataset data;
    private final SplittableRandom random = new SplittableRandom(7);
    private int done;

    TrainingRig(Device device, LayerSpec spec, Dataset set, int batch) {
        this.device = device;
        this.model = Mlp.initialized(device, spec, Init.PYTORCH_DEFAULT, 42);
        OptimizerState adam = new OptimizerState(device, Optimizer.Adam.defaults(), model.flatSize());
        this.data = DeviceDataset.upload(device, set);
        this.step = new TrainingStep(model, adam, data, batch);
        shuffle();
    }

    /** {@code n} samples of random pixels and labels in the shape of {@code spec} (60000 are MNIST's 47 MB). */
    static Dataset randomData(LayerSpec spec, int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int pixels = spec.inputSize(), classes = spec.outputs(spec.layerCount() - 1);
        byte[] images = new byte[n * pixels];
        int[] labels = new int[n];
        for (int i = 0; i < images.length; i++) {
            images[i] = (byte) random.nextInt(256);
        }
        for (int i = 0; i < n; i++) {
            labels[i] = random.nextInt(classes);
        }
        return new Dataset("random", 1, pixels, classes, images, labels);
    }

    /** A new random order, cursor at its start (what the trainer does before each epoch). */
    void shuffle() {
        data.setOrder(shuffled(data.size(), random));
        step.rewind();
        done = 0;
    }

    /** A random permutation of 0 .. n-1 (Fisher-Yates), as training visits a data set. */
    static int[] shuffled(int n, SplittableRandom random) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /** One full-batch step; the order starts again after the epoch's last full batch. */
    void step() {
        if (done == step.fullBatches()) {
            step.rewind(); // same order again: no allocation inside a timed loop
            done = 0;
        }
        step.fullBatch().run();
        done++;
    }
}
