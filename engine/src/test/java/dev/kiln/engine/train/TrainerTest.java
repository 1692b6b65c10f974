package dev.kiln.engine.train;

import dev.kiln.data.Dataset;
import dev.kiln.data.KilnException;
import dev.kiln.engine.TestData;
import dev.kiln.engine.device.ReferenceDevice;
import dev.kiln.engine.model.Init;
import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.model.Mlp;
import dev.kiln.engine.optim.Optimizer;
import dev.kiln.engine.optim.Schedule;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainerTest {
    private static final LayerSpec SPEC = new LayerSpec(16, 8, 4);
    // 203 samples with batch 16: 12 full batches and a partial one of 11
    private static final Dataset TRAIN = TestData.separable("train", 203, 16, 4, 1);
    private static final Dataset TEST = TestData.separable("test", 100, 16, 4, 2);

    private static TrainConfig config() {
        return TrainConfig.defaults().withBatchSize(16).withSeed(7).withOptimizer(new Optimizer.Adam(0.01));
    }

    @Test
    void learnsASeparableProblem() {
        Trainer t = Trainer.fresh(new ReferenceDevice(), SPEC, config().withEpochs(5));
        TrainingResult r = t.fit(TRAIN, TEST, null);
        assertEquals(5, r.epochs().size());
        assertFalse(r.stopped());
        EpochMetrics last = r.last();
        System.out.println("separable: " + last);
        assertTrue(last.testAccuracy() >= 0.95, "test accuracy " + last.testAccuracy() + " (threshold 0.95)");
        assertTrue(last.trainLoss() < r.epochs().getFirst().trainLoss(), "loss went down");
        assertEquals(5, last.epoch());
        assertEquals("reference", last.device());
        assertTrue(last.epochSeconds() > 0 && last.samplesPerSecond() > 0);
    }

    /**
     * A device may ask for its parameter tensors to start aligned (the CUDA device: 16 bytes); the gaps must change
     * nothing. 16-7-3 leaves gaps after b0 (7), W1 (21) and b1 (3) at an alignment of 4 floats; Adam and SGD with
     * momentum and weight decay run over them. The run, its checkpoint state and a resume from it are bit-identical
     * to the packed layout's.
     */
    @Test
    void aDeviceThatAlignsParametersTrainsBitIdenticallyToAPackedOne() {
        LayerSpec odd = new LayerSpec(16, 7, 3);
        Dataset train = TestData.separable("train", 203, 16, 3, 1);
        ReferenceDevice aligned = new ReferenceDevice() {
            @Override
            public int parameterAlignment() {
                return 4;
            }
        };
        assertEquals(112 + 8 + 24 + 4, new Mlp(aligned, odd).flatSize());
        for (Optimizer o : List.of(new Optimizer.Adam(0.01), new Optimizer.Sgd(0.05, 0.9, 1e-3))) {
            TrainConfig c = config().withOptimizer(o).withEpochs(2);
            Trainer packed = Trainer.fresh(new ReferenceDevice(), odd, c), gapped = Trainer.fresh(aligned, odd, c);
            packed.fit(train, null, null);
            gapped.fit(train, null, null);
            TrainingState p = packed.exportState(), g = gapped.exportState();
            assertArrayEquals(p.parameters(), g.parameters(), o.toString());
            for (int i = 0; i < p.optimizerState().length; i++) {
                assertArrayEquals(p.optimizerState()[i], g.optimizerState()[i], o + " state " + i);
            }
            Trainer more = Trainer.resume(aligned, g, c.withEpochs(3)), morePacked = Trainer.resume(new ReferenceDevice(), p, c.withEpochs(3));
            more.fit(train, null, null);
            morePacked.fit(train, null, null);
            assertArrayEquals(morePacked.exportState().parameters(), more.exportState().parameters(), o + " resumed");
        }
    }

    @Test
    void resumingAfterTwoEpochsIsBitIdenticalToFourStraight() {
        TrainConfig four = config().withEpochs(4).withSchedule(new Schedule.StepDecay(1, 0.5));
        Trainer straight = Trainer.fresh(new ReferenceDevice(), SPEC, four);
        straight.fit(TRAIN, null, null);

        Trainer firstHalf = Trainer.fresh(new ReferenceDevice(), SPEC, four.withEpochs(2));
        firstHalf.fit(TRAIN, null, null);
        TrainingState saved = firstHalf.exportState();
        assertEquals(2, saved.epochsCompleted());
        assertEquals(2 * 13, saved.step());

        Trainer resumed = Trainer.resume(new ReferenceDevice(), saved, four);
        TrainingResult r = resumed.fit(TRAIN, null, null);
        assertEquals(List.of(3, 4), r.epochs().stream().map(EpochMetrics::epoch).toList());
        assertEquals(0.01 * 0.25, r.epochs().getFirst().learningRate(), 1e-9, "schedule continues from epoch 3");

        TrainingState a = straight.exportState(), b = resumed.exportState();
        assertArrayEquals(a.parameters(), b.parameters());
        assertArrayEquals(a.optimizerState()[0], b.optimizerState()[0]);
        assertArrayEquals(a.optimizerState()[1], b.optimizerState()[1]);
        assertEquals(a.step(), b.step());
        assertEquals(4, b.epochsCompleted());
    }

    @Test
    void aDivergingRunStopsWithAClearMessageNamingTheStep() {
        TrainConfig wild = config().withEpochs(3).withOptimizer(new Optimizer.Sgd(1e12)).withProgressEverySteps(1);
        Trainer t = Trainer.fresh(new ReferenceDevice(), SPEC, wild);
        KilnException e = assertThrows(KilnException.class, () -> t.fit(TRAIN, null, null));
        assertTrue(e.getMessage().matches("training diverged: the loss became (NaN|infinite) at step \\d+, in epoch 1"),
                e.getMessage());
        assertTrue(e.hint().contains("lower the learning rate"), e.hint());
        assertTrue(e.hint().contains("1.00e+12"), e.hint());
    }

    @Test
    void theNaNCheckAlsoRunsAtTheEpochEndAndNamesARange() {
        TrainConfig wild = config().withEpochs(2).withOptimizer(new Optimizer.Sgd(1e12)).withProgressEverySteps(1000);
        Trainer t = Trainer.fresh(new ReferenceDevice(), SPEC, wild);
        KilnException e = assertThrows(KilnException.class, () -> t.fit(TRAIN, null, null));
        assertTrue(e.getMessage().contains("at step 13 (first between steps 1 and 13), in epoch 1"), e.getMessage());
    }

    @Test
    void listenerHearsProgressAndEpochs() {
        List<String> heard = new ArrayList<>();
        TrainingListener l = new TrainingListener() {
            @Override
            public void onStep(int epoch, int step, int totalSteps, double runningLoss, double samplesPerSecond) {
                heard.add(epoch + ":" + step + "/" + totalSteps);
                assertTrue(Double.isFinite(runningLoss) && runningLoss > 0);
            }

            @Override
            public void onEpoch(EpochMetrics m) {
                heard.add("epoch " + m.epoch());
            }
        };
        Trainer.fresh(new ReferenceDevice(), SPEC, config().withEpochs(2).withProgressEverySteps(5)).fit(TRAIN, TEST, l);
        assertEquals(List.of("1:5/13", "1:10/13", "1:13/13", "epoch 1", "2:5/13", "2:10/13", "2:13/13", "epoch 2"), heard);
    }

    @Test
    void epochMetricsAreMeansOverSamples() {
        Trainer t = Trainer.fresh(new ReferenceDevice(), SPEC, config().withEpochs(1));
        EpochMetrics m = t.fit(TRAIN, TEST, null).last();
        assertTrue(m.trainAccuracy() >= 0 && m.trainAccuracy() <= 1);
        assertTrue(m.testAccuracy() >= 0 && m.testAccuracy() <= 1);
        // train accuracy is a count over 203 samples
        assertEquals(0, Math.abs(m.trainAccuracy() * 203 - Math.round(m.trainAccuracy() * 203)), 1e-9);
        assertTrue(m.trainLoss() > 0 && m.trainLoss() < 2 * Math.log(4), "mean loss " + m.trainLoss());
        assertTrue(Double.isNaN(Trainer.fresh(new ReferenceDevice(), SPEC, config().withEpochs(1))
                .fit(TRAIN, null, null).last().testLoss()));
    }

    @Test
    void requestStopEndsAfterTheCurrentStep() {
        Trainer[] holder = new Trainer[1];
        List<Integer> steps = new ArrayList<>();
        TrainingListener l = new TrainingListener() {
            @Override
            public void onStep(int epoch, int step, int totalSteps, double runningLoss, double samplesPerSecond) {
                steps.add(step);
                if (epoch == 2 && step == 3) {
                    holder[0].requestStop();
                }
            }
        };
        holder[0] = Trainer.fresh(new ReferenceDevice(), SPEC, config().withEpochs(5).withProgressEverySteps(1));
        TrainingResult r = holder[0].fit(TRAIN, null, l);
        assertTrue(r.stopped());
        assertEquals(1, r.epochs().size());
        assertEquals(13 + 3, holder[0].step());
        assertEquals(1, holder[0].epochsCompleted());
        assertThrows(IllegalStateException.class, holder[0]::exportState);
    }

    @Test
    void sameSeedSameRunDifferentSeedDifferentRun() {
        float[] a = parametersAfter(config().withEpochs(1));
        float[] b = parametersAfter(config().withEpochs(1));
        float[] c = parametersAfter(config().withEpochs(1).withSeed(8));
        assertArrayEquals(a, b);
        assertFalse(java.util.Arrays.equals(a, c));
    }

    private static float[] parametersAfter(TrainConfig c) {
        Trainer t = Trainer.fresh(new ReferenceDevice(), SPEC, c);
        t.fit(TRAIN, null, null);
        return t.model().parameters();
    }

    @Test
    void dataThatDoesNotFitTheNetworkIsAClearError() {
        Trainer t = Trainer.fresh(new ReferenceDevice(), new LayerSpec(10, 4), config());
        KilnException e = assertThrows(KilnException.class, () -> t.fit(TRAIN, null, null));
        assertEquals("train has 16 pixels per sample (1x16) but network 10,4 takes 10 inputs", e.getMessage());
        Trainer t2 = Trainer.fresh(new ReferenceDevice(), new LayerSpec(16, 3), config());
        assertTrue(assertThrows(KilnException.class, () -> t2.fit(TRAIN, null, null)).getMessage().contains("4 classes"));
        Trainer t3 = Trainer.fresh(new ReferenceDevice(), SPEC, config());
        assertEquals("the training set train is empty",
                assertThrows(KilnException.class, () -> t3.fit(TRAIN.first(0), null, null)).getMessage());
    }

    @Test
    void resumingWithAnotherOptimizerOrShapeIsRefused() {
        Trainer t = Trainer.fresh(new ReferenceDevice(), SPEC, config().withEpochs(1));
        t.fit(TRAIN, null, null);
        TrainingState s = t.exportState();
        assertThrows(KilnException.class, () -> Trainer.resume(new ReferenceDevice(), s, config().withOptimizer(new Optimizer.Sgd(0.1))));
        TrainingState other = new TrainingState(new LayerSpec(16, 4), s.optimizer(), new float[68], new float[][] {new float[68], new float[68]}, 0, 0, 1);
        assertThrows(KilnException.class, () -> new Trainer(
                Mlp.initialized(new ReferenceDevice(), SPEC, Init.PYTORCH_DEFAULT, 1), config(), other));
    }
}
