package dev.kiln.engine.cpu;

import dev.kiln.data.Dataset;
import dev.kiln.engine.DeviceDataset;
import dev.kiln.engine.TestData;
import dev.kiln.engine.train.TrainingStep;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.ReferenceDevice;
import dev.kiln.engine.eval.Evaluation;
import dev.kiln.engine.eval.Evaluator;
import dev.kiln.engine.model.Init;
import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.model.Mlp;
import dev.kiln.engine.optim.Optimizer;
import dev.kiln.engine.optim.OptimizerState;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU device's replicated training step and evaluation: the same numbers for any thread count, close to the
 * unreplicated reference.
 */
class ReplicatedStepTest {
    private static final LayerSpec SPEC = new LayerSpec(150, 24, 16, 10);
    /** Two full batches of 256 (4 replicas of 64 on the CPU device) and a partial batch of 200 (3 replicas). */
    private static final int BATCH = 256, N = 2 * BATCH + 200;
    private static final Dataset DATA = TestData.separable("replicas", N, 150, 10, 5);

    /** One epoch in a shuffled order, then a second: {parameters, then loss sum and correct count per epoch}. */
    private static float[][] twoEpochs(Device device) {
        Mlp model = Mlp.initialized(device, SPEC, Init.PYTORCH_DEFAULT, 11);
        OptimizerState adam = new OptimizerState(device, Optimizer.Adam.defaults(), SPEC.parameterCount());
        DeviceDataset data = DeviceDataset.upload(device, DATA);
        TrainingStep step = new TrainingStep(model, adam, data, BATCH);
        int[] order = new int[N];
        for (int i = 0; i < N; i++) {
            order[i] = (int) ((i * 7919L) % N);
        }
        data.setOrder(order);
        float[] stats = new float[4];
        for (int epoch = 0; epoch < 2; epoch++) {
            step.rewind();
            step.resetStats();
            for (int s = 0; s < step.fullBatches(); s++) {
                step.fullBatch().run();
            }
            step.partialBatch().run();
            System.arraycopy(step.readStats(), 0, stats, 2 * epoch, 2);
        }
        return new float[][] {model.parameters(), stats};
    }

    @Test
    void theCpuDeviceRunsTheseStepsAsReplicas() {
        try (CpuDevice cpu = new CpuDevice(CpuDevice.widestVectorBits(), 2)) {
            assertEquals(4, cpu.localReplicas(BATCH, SPEC.parameterCount()));
            assertEquals(3, cpu.localReplicas(200, SPEC.parameterCount()));
            assertEquals(1, cpu.localReplicas(64, SPEC.parameterCount()), "batch 64 stays whole");
            assertEquals(1, cpu.localReplicas(BATCH, 1_863_690), "the wide net splits each op instead");
        }
    }

    @Test
    void replicatedStepsAreBitIdenticalForOneTwoAndThreeThreadsAndCloseToTheReference() {
        float[][] reference = twoEpochs(new ReferenceDevice());
        for (int bits : new int[] {0, CpuDevice.widestVectorBits()}) {
            float[][] one;
            try (CpuDevice cpu = new CpuDevice(bits, 1)) {
                one = twoEpochs(cpu);
            }
            for (int threads : new int[] {2, 3}) {
                try (CpuDevice cpu = new CpuDevice(bits, threads)) {
                    float[][] many = twoEpochs(cpu);
                    assertArrayEquals(one[0], many[0], bits + "-bit, " + threads + " threads: parameters");
                    assertArrayEquals(one[1], many[1], bits + "-bit, " + threads + " threads: loss and count");
                }
            }
            // 6 Adam steps: each moves a parameter by about lr = 1e-3, so rounding shows far below that
            for (int i = 0; i < reference[0].length; i++) {
                assertEquals(reference[0][i], one[0][i], 2e-5f, bits + "-bit: parameter " + i);
            }
            for (int e = 0; e < 2; e++) {
                assertEquals(reference[1][2 * e], one[1][2 * e], 1e-4f * reference[1][2 * e], "loss sum, epoch " + e);
                assertEquals(reference[1][2 * e + 1], one[1][2 * e + 1], 2f, "correct count, epoch " + e);
            }
        }
    }

    /**
     * Evaluations of DATA in batches of 256 (replicas of 4, 4 and 3 on the CPU device) for two sets of parameters,
     * on one Evaluator: {loss, accuracy, predictions} each.
     */
    private static double[][] twoEvaluations(Device device) {
        Mlp model = Mlp.initialized(device, SPEC, Init.PYTORCH_DEFAULT, 11);
        Evaluator evaluator = new Evaluator(model, BATCH);
        DeviceDataset data = DeviceDataset.upload(device, DATA);
        double[][] out = new double[4][];
        for (int round = 0; round < 2; round++) {
            if (round == 1) { // new weights, the same Evaluator
                model.setParameters(Init.HE_NORMAL.initialize(SPEC, 12));
            }
            Evaluator.Summary s = evaluator.summarize(data);
            Evaluation e = evaluator.evaluate(data);
            out[2 * round] = new double[] {s.loss(), s.accuracy(), e.loss(), e.accuracy()};
            out[2 * round + 1] = Arrays.stream(e.predictions()).asDoubleStream().toArray();
        }
        return out;
    }

    @Test
    void replicatedEvaluationsAreBitIdenticalForOneTwoAndThreeThreadsAndCloseToTheReference() {
        double[][] reference = twoEvaluations(new ReferenceDevice());
        try (CpuDevice one = new CpuDevice(CpuDevice.widestVectorBits(), 1)) {
            double[][] first = twoEvaluations(one);
            for (int threads : new int[] {2, 3}) {
                try (CpuDevice cpu = new CpuDevice(CpuDevice.widestVectorBits(), threads)) {
                    double[][] many = twoEvaluations(cpu);
                    for (int i = 0; i < first.length; i++) {
                        assertArrayEquals(first[i], many[i], threads + " threads, result " + i);
                    }
                }
            }
            for (int round = 0; round < 2; round++) {
                double[] got = first[2 * round], want = reference[2 * round];
                assertEquals(want[0], got[0], 1e-5 * want[0], "loss, parameters " + round);
                assertEquals(want[2], got[2], 1e-5 * want[2], "full evaluation's loss, parameters " + round);
                assertEquals(want[1], got[1], 2.0 / N, "accuracy, parameters " + round);
                assertEquals(got[0], got[2], 1e-6 * got[0], "summary and full evaluation agree");
                long differ = 0;
                for (int i = 0; i < N; i++) {
                    differ += reference[2 * round + 1][i] == first[2 * round + 1][i] ? 0 : 1;
                }
                assertTrue(differ <= 2, differ + " predictions differ from the reference, parameters " + round);
            }
            assertTrue(Math.abs(first[0][0] - first[2][0]) > 1e-3, "the two parameter sets score differently");
        }
    }

    @Test
    void aReplicatedStepAllocatesNothingOnAnyThread() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (CpuDevice cpu = new CpuDevice(CpuDevice.widestVectorBits(), 3)) {
            Mlp model = Mlp.initialized(cpu, SPEC, Init.PYTORCH_DEFAULT, 11);
            OptimizerState adam = new OptimizerState(cpu, Optimizer.Adam.defaults(), SPEC.parameterCount());
            DeviceDataset data = DeviceDataset.upload(cpu, DATA);
            data.useIdentityOrder();
            TrainingStep step = new TrainingStep(model, adam, data, BATCH);
            long[] workers = cpu.workerThreadIds();
            long best = Long.MAX_VALUE;
            long deadline = System.nanoTime() + 60_000_000_000L; // a minute at most, however loaded the machine
            for (int round = 0; best > 0 && (round < 400 || System.nanoTime() < deadline); round++) { // until compiled
                long before = Arrays.stream(threads.getThreadAllocatedBytes(workers)).sum();
                long mine = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 20; i++) {
                    step.rewind();
                    step.fullBatch().run();
                }
                mine = threads.getCurrentThreadAllocatedBytes() - mine;
                best = Math.min(best, mine + Arrays.stream(threads.getThreadAllocatedBytes(workers)).sum() - before);
            }
            assertTrue(best < 20 * 16, "a compiled replicated step still allocates: " + best + " bytes over 20 steps");
        }
    }

    @Test
    void replicasCannotNest() {
        try (CpuDevice cpu = new CpuDevice(CpuDevice.widestVectorBits(), 2)) {
            var e = assertThrows(IllegalStateException.class,
                    () -> cpu.forEachReplica(2, r -> cpu.forEachReplica(2, inner -> { })));
            assertTrue(e.getMessage().contains("inside a replica"), e.getMessage());
        }
    }
}
