package dev.kiln.bench;

import dev.kiln.data.Dataset;
import dev.kiln.data.Mnist;
import dev.kiln.data.Progress;
import dev.kiln.engine.cpu.CpuDevice;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.model.LayerSpec;

import java.util.Arrays;

/**
 * The trainer's own step ({@link TrainingRig}), timed in blocks of steps outside JMH, on 60,000 random samples or
 * ({@code -Ddata=mnist}) Kiln's cached MNIST, in a shuffled order. Prints the median block as µs per step and ms
 * per 60,000-sample epoch; {@code -Dtrace=true} prints every block. For comparing variants within one run on a
 * noisy machine.
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
        Dataset set = System.getProperty("data", "random").equals("mnist")
                ? Mnist.load(Mnist.cacheDir(), Progress.NONE).train()
                : TrainingRig.randomData(spec, 60_000, 42);
        try (CpuDevice cpu = new CpuDevice(new DeviceOptions(threads, false, false, 0))) {
            TrainingRig rig = new TrainingRig(cpu, spec, set, batch);
            int stepsPerEpoch = rig.step.fullBatches(), block = Math.max(1, stepsPerEpoch / 20);
            double[] perStep = new double[epochs * (stepsPerEpoch / block)];
            int blocks = 0;
            for (int e = 0; e <= epochs; e++) { // epoch 0 warms the JIT up
                rig.shuffle();
                for (int b = 0; b + block <= stepsPerEpoch; b += block) {
                    long t0 = System.nanoTime();
                    for (int s = 0; s < block; s++) {
                        rig.step();
                    }
                    if (e > 0) {
                        perStep[blocks++] = (System.nanoTime() - t0) / 1e3 / block;
                        if (Boolean.getBoolean("trace")) {
                            System.out.printf("epoch %d step %d: %.0f µs%n", e, b, perStep[blocks - 1]);
                        }
                    }
                }
            }
            double[] sorted = Arrays.copyOf(perStep, blocks);
            Arrays.sort(sorted);
            double median = sorted[blocks / 2];
            System.out.printf("%s, batch %d, %s, %d replicas: %.1f µs a step (median of %d blocks of %d; p10 %.1f,"
                            + " p90 %.1f), %.1f ms an epoch of 60,000%n", spec, batch, cpu.description(),
                    cpu.localReplicas(batch, spec.parameterCount()), median, blocks, block,
                    sorted[blocks / 10], sorted[blocks * 9 / 10], median * (60_000 / batch) / 1e3);
        }
    }
}
