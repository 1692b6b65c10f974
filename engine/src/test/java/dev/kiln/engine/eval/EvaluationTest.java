package dev.kiln.engine.eval;

import dev.kiln.data.Dataset;
import dev.kiln.engine.TestData;
import dev.kiln.engine.device.ReferenceDevice;
import dev.kiln.engine.model.Init;
import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.model.Mlp;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EvaluationTest {

    @Test
    void confusionPrecisionAndRecallOnAHandExample() {
        int[] labels = {0, 0, 0, 1, 1, 2};
        int[] preds = {0, 0, 1, 1, 2, 2};
        float[] conf = {0.9f, 0.8f, 0.7f, 0.6f, 0.95f, 0.5f};
        Evaluation e = new Evaluation(3, labels, preds, conf, 0.25);
        assertArrayEquals(new int[][] {{2, 1, 0}, {0, 1, 1}, {0, 0, 1}}, e.confusionMatrix());
        assertEquals(4, e.correct());
        assertEquals(4.0 / 6, e.accuracy(), 1e-12);
        // precision: of predicted 0 (2) all right; predicted 1 (2) one right; predicted 2 (2) one right
        assertEquals(1.0, e.precision(0), 1e-12);
        assertEquals(0.5, e.precision(1), 1e-12);
        assertEquals(0.5, e.precision(2), 1e-12);
        // recall: true 0 (3) two found; true 1 (2) one found; true 2 (1) found
        assertEquals(2.0 / 3, e.recall(0), 1e-12);
        assertEquals(0.5, e.recall(1), 1e-12);
        assertEquals(1.0, e.recall(2), 1e-12);
        assertEquals(List.of(4, 2), e.mostConfidentlyWrong(5));
        assertEquals(List.of(4), e.mostConfidentlyWrong(1));
        assertEquals(0.25, e.loss());
    }

    @Test
    void precisionIsNaNForAClassNeverPredicted() {
        Evaluation e = new Evaluation(2, new int[] {0, 1}, new int[] {0, 0}, new float[] {1, 1}, 0);
        assertTrue(Double.isNaN(e.precision(1)));
        assertEquals(0, e.recall(1));
    }

    @Test
    void evaluatorOnTheDeviceAgreesWithItself() {
        LayerSpec spec = new LayerSpec(12, 6, 3);
        Mlp mlp = Mlp.initialized(new ReferenceDevice(), spec, Init.HE_NORMAL, 4);
        Dataset data = TestData.random("eval", 37, 12, 3, 8);
        Evaluator ev = new Evaluator(mlp, 10); // 3 full batches and a partial one of 7
        Evaluation e = ev.evaluate(data);
        assertEquals(37, e.size());
        int total = 0;
        for (int[] row : e.confusionMatrix()) {
            for (int v : row) {
                total += v;
            }
        }
        assertEquals(37, total, "confusion matrix sums to N");
        assertArrayEquals(data.labels(), e.labels());

        // predictions and confidences against probabilities computed from raw inputs, one sample at a time
        float[][] inputs = new float[37][12];
        for (int i = 0; i < 37; i++) {
            for (int p = 0; p < 12; p++) {
                inputs[i][p] = data.pixel(i, p) / 255f;
            }
        }
        float[][] probs = ev.probabilities(inputs);
        double lossSum = 0;
        for (int i = 0; i < 37; i++) {
            int best = 0;
            double sum = 0;
            for (int c = 0; c < 3; c++) {
                sum += probs[i][c];
                best = probs[i][c] > probs[i][best] ? c : best;
            }
            assertEquals(1, sum, 1e-6);
            assertEquals(best, e.predictions()[i], "prediction " + i);
            assertEquals(probs[i][best], e.confidence()[i], 1e-6);
            lossSum += -Math.log(probs[i][data.label(i)]);
        }
        assertEquals(lossSum / 37, e.loss(), 1e-5);
        Evaluator.Summary s = ev.summarize(dev.kiln.engine.DeviceDataset.upload(mlp.device(), data));
        assertEquals(e.loss(), s.loss(), 1e-6);
        assertEquals(e.accuracy(), s.accuracy(), 1e-12);
    }
}
