package dev.kiln.engine.report;

import dev.kiln.data.Dataset;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MistakeTest {

    @Test
    void worstPicksTheMostConfidentMistakesLikeABruteForceSort() {
        for (long seed = 1; seed <= 20; seed++) {
            Random rnd = new Random(seed);
            int n = 50 + rnd.nextInt(400);
            Dataset test = randomDataset(n, rnd);
            int[] predicted = new int[n];
            float[] confidence = new float[n];
            for (int i = 0; i < n; i++) {
                predicted[i] = rnd.nextInt(4) == 0 ? rnd.nextInt(10) : test.label(i);
                // Few distinct values, so ties occur and the index order is exercised.
                confidence[i] = rnd.nextInt(20) / 20f;
            }
            List<Mistake> got = Mistake.worst(test, predicted, confidence);

            // Brute force: repeatedly take the wrong sample with the highest confidence, lowest index first.
            boolean[] taken = new boolean[n];
            List<Integer> expected = new ArrayList<>();
            while (expected.size() < Mistake.SHOWN) {
                int best = -1;
                for (int i = 0; i < n; i++) {
                    if (!taken[i] && predicted[i] != test.label(i) && (best < 0 || confidence[i] > confidence[best])) {
                        best = i;
                    }
                }
                if (best < 0) {
                    break;
                }
                taken[best] = true;
                expected.add(best);
            }
            assertEquals(expected, got.stream().map(Mistake::index).toList(), "seed " + seed);
            for (Mistake m : got) {
                assertEquals(test.label(m.index()), m.trueLabel());
                assertEquals(predicted[m.index()], m.predictedLabel());
                assertEquals(confidence[m.index()], m.confidence(), 0.0);
                byte[] image = new byte[784];
                System.arraycopy(test.pixels(), m.index() * 784, image, 0, 784);
                assertArrayEquals(image, m.pixels());
            }
        }
    }

    @Test
    void fewerMistakesThanShownGiveThemAllAndNoneGiveAnEmptyList() {
        Random rnd = new Random(7);
        Dataset test = randomDataset(30, rnd);
        int[] predicted = test.labels().clone();
        float[] confidence = new float[30];
        Arrays.fill(confidence, 0.5f);
        assertTrue(Mistake.worst(test, predicted, confidence).isEmpty());
        predicted[3] = (predicted[3] + 1) % 10;
        predicted[17] = (predicted[17] + 1) % 10;
        confidence[17] = 0.9f;
        assertEquals(List.of(17, 3), Mistake.worst(test, predicted, confidence).stream().map(Mistake::index).toList());
    }

    @Test
    void nanConfidencesSortLast() {
        Random rnd = new Random(8);
        Dataset test = randomDataset(4, rnd);
        int[] predicted = new int[4];
        for (int i = 0; i < 4; i++) {
            predicted[i] = (test.label(i) + 1) % 10;
        }
        float[] confidence = {Float.NaN, 0.3f, 0.9f, 0.3f};
        assertEquals(List.of(2, 1, 3, 0), Mistake.worst(test, predicted, confidence).stream().map(Mistake::index).toList());
    }

    private static Dataset randomDataset(int n, Random rnd) {
        byte[] pixels = new byte[n * 784];
        rnd.nextBytes(pixels);
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = rnd.nextInt(10);
        }
        return new Dataset("random", 28, 28, 10, pixels, labels);
    }
}
