package dev.kiln.engine;

import dev.kiln.data.Dataset;
import dev.kiln.data.KilnException;
import dev.kiln.engine.device.ReferenceDevice;
import dev.kiln.engine.eval.Evaluation;
import dev.kiln.engine.optim.Optimizer;
import dev.kiln.engine.train.TrainConfig;
import dev.kiln.engine.train.TrainingResult;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The embedding facade, end to end on data built from floats. */
class ModelTest {

    /** Two classes: the left half brighter than the right half, or the other way round. */
    private static Dataset halves(String name, int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[][] x = new float[n][8];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = rng.nextInt(2);
            for (int p = 0; p < 8; p++) {
                boolean bright = (p < 4) == (y[i] == 0);
                x[i][p] = (float) (bright ? 0.6 + 0.4 * rng.nextDouble() : 0.4 * rng.nextDouble());
            }
        }
        return Datasets.fromFloats(name, x, y, 2);
    }

    @Test
    void createTrainEvaluatePredict() {
        try (Model model = Model.create("8,6,2", 3, new ReferenceDevice())) {
            assertEquals("8,6,2", model.layers().toString());
            assertEquals(8 * 6 + 6 + 6 * 2 + 2, model.parameters().length);
            assertNull(model.trainingState());
            TrainConfig config = TrainConfig.defaults().withEpochs(3).withBatchSize(8).withOptimizer(new Optimizer.Adam(0.02));
            TrainingResult r = model.train(new Dataset.Pair(halves("train", 160, 1), halves("test", 60, 2)), config, null);
            assertEquals(3, r.epochs().size());
            Evaluation e = model.evaluate(halves("test", 60, 2));
            assertTrue(e.accuracy() >= 0.95, "accuracy " + e.accuracy() + " (threshold 0.95)");
            assertEquals(r.last().testAccuracy(), e.accuracy(), 1e-12);

            float[] left = {1, 1, 1, 1, 0, 0, 0, 0};
            float[] p = model.predict(left);
            assertEquals(2, p.length);
            assertEquals(1, p[0] + p[1], 1e-6);
            assertTrue(p[0] > 0.5f);
            assertEquals(0, model.classify(left));
            assertEquals(1, model.classify(new float[] {0, 0, 0, 0, 1, 1, 1, 1}));

            // a second call continues the same run
            assertEquals(3, model.trainingState().epochsCompleted());
            TrainingResult more = model.train(halves("train", 160, 1), null, config.withEpochs(4), null);
            assertEquals(4, more.last().epoch());
            assertArrayEquals(model.parameters(), model.trainingState().parameters());
        }
    }

    @Test
    void restoringAStateGivesTheSameNetwork() {
        try (Model a = Model.create("8,4,2", 5, new ReferenceDevice())) {
            a.train(halves("train", 50, 1), null, TrainConfig.defaults().withEpochs(1).withBatchSize(8), null);
            Model b = Model.restore(a.trainingState(), new ReferenceDevice());
            assertArrayEquals(a.parameters(), b.parameters());
            assertArrayEquals(a.predict(new float[8]), b.predict(new float[8]));
        }
    }

    @Test
    void fromFloatsRoundsToBytesAndRejectsBadValues() {
        Dataset d = Datasets.fromFloats("f", new float[][] {{0, 1, 0.5f}}, new int[] {1}, 2);
        assertEquals(0, d.pixel(0, 0));
        assertEquals(255, d.pixel(0, 1));
        assertEquals(128, d.pixel(0, 2));
        assertNotNull(assertThrows(KilnException.class,
                () -> Datasets.fromFloats("f", new float[][] {{1.5f}}, new int[] {0}, 2)).hint());
        assertThrows(KilnException.class, () -> Datasets.fromFloats("f", new float[][] {{0}, {0, 1}}, new int[] {0, 0}, 2));
        assertThrows(KilnException.class, () -> Datasets.fromFloats("f", new float[][] {{0}}, new int[] {2}, 2));
    }

    @Test
    void aBadLayerSpecIsAKilnException() {
        assertThrows(KilnException.class, () -> Model.create("8", 1, new ReferenceDevice()));
    }
}
