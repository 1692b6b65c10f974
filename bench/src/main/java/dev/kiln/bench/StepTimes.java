package dev.kiln.bench;

import dev.kiln.data.Dataset;
import dev.kiln.engine.DeviceDataset;
import dev.kiln.engine.cpu.CpuDevice;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.model.Init;
import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.model.Mlp;
import dev.kiln.engine.optim.Optimizer;
import dev.kiln.engine.optim.OptimizerState;
import dev.kiln.engine.train.TrainingStep;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The training step the trainer runs ({@link TrainingStep}: shards, gradient reduction and Adam included), timed
 * in blocks of steps on a random MNIST-sized data set visited in a random order, outside JMH. Prints the median
 * block as µs per step and ms per 60,000-sample epoch. For comparing variants within one run on a noisy machine.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.kiln.bench.StepTimes [layers] [batch] [threads] [epochs]</pre>
 */
public final class StepTimes {
    private StepTimes() {
    }

    public static void main(String[] args) {
        LayerSpec spec = LayerSpec.parse(args.length > 0 ? args[0] : "784,25,25,10");
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 0;
        int epochs = args.length > 3 ? Integer.parseInt(args[3]) : 4;
        int n = 60_000, pixels = spec.inputSize(), classes = spec.outputs(spec.layerCount() - 1);
        SplittableRandom random = new SplittableRandom(42);
        byte[] images = new byte[n * pixels];
        int[] labels = new int[n];
        for (int i = 0; i < images.length; i++) {
            images[i] = (byte) random.nextInt(256);
        }
        for (int i = 0; i < n; i++) {
            labels[i] = random.nextInt(classes);
        }
        String source = System.getProperty("data", "random"); // or "mnist": Kiln's cached MNIST training set
        Dataset set = source.equals("mnist")
                ? dev.kiln.data.Mnist.load(dev.kiln.data.Mnist.cacheDir(), dev.kiln.data.Progress.NONE).train()
                : new Dataset("random", 28, pixels / 28, classes, images, labels);
        try (CpuDevice cpu = new CpuDevice(new DeviceOptions(threads, false, false, 0))) {
            DeviceDataset data = DeviceDataset.upload(cpu, set);
            Mlp model = Mlp.initialized(cpu, spec, Init.PYTORCH_DEFAULT, 42);
            OptimizerState adam = new OptimizerState(cpu, Optimizer.Adam.defaults(), spec.parameterCount());
            TrainingStep step = new TrainingStep(model, adam, data, batch);
            int[] order = new int[n];
            int stepsPerEpoch = step.fullBatches(), block = Math.max(1, stepsPerEpoch / 20);
            double[] perStep = new double[epochs * (stepsPerEpoch / block)];
            int blocks = 0;
            for (int e = 0; e <= epochs; e++) { // epoch 0 warms the JIT up
                for (int i = 0; i < n; i++) {
                    order[i] = i;
                }
                for (int i = n - 1; i > 0; i--) {
                    int j = random.nextInt(i + 1), t = order[i];
                    order[i] = order[j];
                    order[j] = t;
                }
                data.setOrder(order);
                step.rewind();
                for (int b = 0; b + block <= stepsPerEpoch; b += block) {
                    long t0 = System.nanoTime();
                    for (int s = 0; s < block; s++) {
                        step.fullBatch().run();
                    }
                    if (e > 0) {
                        perStep[blocks++] = (System.nanoTime() - t0) / 1e3 / block;
                        if (Boolean.getBoolean("trace")) System.out.printf("%d:%d %.0f%n", e, b, perStep[blocks - 1]);
                    }
                }
            }
            double[] sorted = Arrays.copyOf(perStep, blocks);
            Arrays.sort(sorted);
            double median = sorted[blocks / 2];
            System.out.printf("%s, batch %d, %s, %d shards: %.1f µs a step (median of %d blocks of %d; p10 %.1f,"
                            + " p90 %.1f), %.1f ms an epoch of 60,000%n", spec, batch, cpu.description(),
                    cpu.preferredShards(batch, spec.parameterCount()), median, blocks, block,
                    sorted[blocks / 10], sorted[blocks * 9 / 10], median * (n / batch) / 1e3);
        }
    }
}
