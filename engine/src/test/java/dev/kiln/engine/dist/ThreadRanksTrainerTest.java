package dev.kiln.engine.dist;

import dev.kiln.data.Dataset;
import dev.kiln.data.KilnException;
import dev.kiln.engine.TestData;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.ReferenceDevice;
import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.train.TrainConfig;
import dev.kiln.engine.train.Trainer;
import dev.kiln.engine.train.TrainingListener;
import dev.kiln.engine.train.TrainingResult;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The trainer over several ranks, the ranks being threads ({@link ThreadRanks}, no MPI): each rank ends with the same
 * parameters, bit for bit, and those of one process to rounding, whatever the slices, including empty ones; a stop
 * asked on one rank stops all; ranks started differently refuse to train.
 */
class ThreadRanksTrainerTest {
    private static final LayerSpec SPEC = new LayerSpec(64, 16, 10);
    private static final Dataset TRAIN = TestData.separable("train", 1030, 64, 10, 3);
    private static final Dataset TEST = TestData.separable("test", 101, 64, 10, 4);

    private record Run(float[] parameters, TrainingResult result) {
    }

    /**
     * The reference device: several trainers on the CPU device in this test JVM, with slices of every size, left C2
     * profiles under which the allocation tests' compiled steps (CpuDeviceTest, ReplicatedStepTest) allocated. The
     * CPU device's ranks, bit-identical to one process, are MpiTrainTest's, in processes of their own.
     */
    private static Device cpu() {
        return new ReferenceDevice();
    }

    private static Run alone(TrainConfig config) {
        return alone(config, ThreadRanksTrainerTest::cpu);
    }

    private static Run alone(TrainConfig config, Supplier<Device> device) {
        try (Device cpu = device.get()) {
            Trainer t = Trainer.fresh(cpu, SPEC, config);
            TrainingResult r = t.fit(TRAIN, TEST, null);
            return new Run(t.model().parameters(), r);
        }
    }

    private static List<Run> ranks(int n, IntFunction<TrainConfig> configOfRank) throws Exception {
        return ranks(n, configOfRank, ThreadRanksTrainerTest::cpu);
    }

    private static List<Run> ranks(int n, IntFunction<TrainConfig> configOfRank, Supplier<Device> device) throws Exception {
        ThreadRanks group = new ThreadRanks(n);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Run>> runs = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                runs.add(pool.submit(() -> {
                    try (Device cpu = device.get()) {
                        Trainer t = Trainer.fresh(cpu, SPEC, configOfRank.apply(rank)).distribute(group.rank(rank));
                        TrainingResult result = t.fit(TRAIN, TEST, null);
                        return new Run(t.model().parameters(), result);
                    }
                }));
            }
            List<Run> out = new ArrayList<>();
            for (Future<Run> f : runs) {
                out.add(f.get());
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void twoRanksWithAPartialBatchMatchOneProcess() throws Exception {
        // 1030 rows: 8 batches of 128 (64 per rank) and a last batch of 6 (3 per rank)
        TrainConfig config = TrainConfig.defaults().withEpochs(2).withBatchSize(128);
        Run one = alone(config);
        List<Run> two = ranks(2, r -> config);
        for (Run r : two) {
            assertEquals(one.result().last().trainLoss(), r.result().last().trainLoss(), 1e-6);
            assertEquals(one.result().last().testAccuracy(), r.result().last().testAccuracy(), 1e-12);
            assertEquals(one.result().last().testLoss(), r.result().last().testLoss(), 1e-6);
        }
        assertArrayEquals(two.get(0).parameters(), two.get(1).parameters());
        float worst = 0;
        for (int i = 0; i < one.parameters().length; i++) {
            worst = Math.max(worst, Math.abs(one.parameters()[i] - two.get(0).parameters()[i]));
        }
        assertTrue(worst < 1e-5, "largest difference " + worst);
    }

    @Test
    void twoRanksOnFullBatchesMatchOneProcessAndEachOther() throws Exception {
        // 1024 rows: 8 batches of 128, 64 rows a rank; no partial batch
        Dataset train = TRAIN.first(1024);
        TrainConfig config = TrainConfig.defaults().withEpochs(2).withBatchSize(128);
        float[] one;
        try (Device cpu = cpu()) {
            Trainer t = Trainer.fresh(cpu, SPEC, config);
            t.fit(train, null, null);
            one = t.model().parameters();
        }
        ThreadRanks group = new ThreadRanks(2);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<float[]>> f = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                int rank = r;
                f.add(pool.submit(() -> {
                    try (Device cpu = cpu()) {
                        Trainer t = Trainer.fresh(cpu, SPEC, config).distribute(group.rank(rank));
                        t.fit(train, null, null);
                        return t.model().parameters();
                    }
                }));
            }
            float[] a = f.get(0).get(), b = f.get(1).get();
            assertArrayEquals(a, b); // every rank holds the same parameters, bit for bit
            for (int i = 0; i < one.length; i++) {
                assertEquals(one[i], a[i], 1e-5f, "parameter " + i);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void fiveRanksWithEmptySlicesMatchOneProcess() throws Exception {
        // batch 3 over 5 ranks: two ranks have nothing in every batch; 1030 = 343 x 3 + 1: a last batch of one row
        TrainConfig config = TrainConfig.defaults().withEpochs(1).withBatchSize(3);
        Run one = alone(config);
        List<Run> five = ranks(5, r -> config);
        for (Run r : five) {
            assertArrayEquals(five.get(0).parameters(), r.parameters());
            assertEquals(one.result().last().trainLoss(), r.result().last().trainLoss(), 1e-5);
            assertEquals(one.result().last().testAccuracy(), r.result().last().testAccuracy(), 1e-12);
        }
        float worst = 0;
        for (int i = 0; i < one.parameters().length; i++) {
            worst = Math.max(worst, Math.abs(one.parameters()[i] - five.get(0).parameters()[i]));
        }
        assertTrue(worst < 1e-4, "largest difference " + worst);
    }

    @Test
    void aStopAskedOnOneRankStopsEveryRankAfterTheSameStep() throws Exception {
        // progress is read every 5 steps; rank 1 asks to stop at its first read (step 5 of epoch 1)
        TrainConfig config = TrainConfig.defaults().withEpochs(3).withBatchSize(16).withProgressEverySteps(5);
        ThreadRanks group = new ThreadRanks(2);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<Run>> runs = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                int rank = r;
                runs.add(pool.submit(() -> {
                    try (Device cpu = cpu()) {
                        Trainer t = Trainer.fresh(cpu, SPEC, config).distribute(group.rank(rank));
                        TrainingResult result = t.fit(TRAIN, TEST, new TrainingListener() {
                            @Override
                            public void onStep(int epoch, int step, int totalSteps, double loss, double samplesPerSecond) {
                                if (rank == 1) {
                                    t.requestStop();
                                }
                            }
                        });
                        return new Run(t.model().parameters(), result);
                    }
                }));
            }
            Run a = runs.get(0).get(), b = runs.get(1).get();
            assertTrue(a.result().stopped() && b.result().stopped());
            assertEquals(0, a.result().epochs().size());
            assertArrayEquals(a.parameters(), b.parameters());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void ranksStartedWithDifferentSettingsRefuseToTrain() {
        ExecutionException e = assertThrows(ExecutionException.class, () -> ranks(2,
                r -> TrainConfig.defaults().withEpochs(r == 0 ? 1 : 2).withBatchSize(128)));
        KilnException k = assertInstanceOf(KilnException.class, e.getCause());
        assertTrue(k.getMessage().startsWith("the ranks are not running the same training"), k.getMessage());
    }
}
