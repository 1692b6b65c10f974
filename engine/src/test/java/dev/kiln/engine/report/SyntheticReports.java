package dev.kiln.engine.report;

import dev.kiln.data.Dataset;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Made-up but plausible report inputs for the tests: decaying losses, a diagonal-heavy matrix, stroke images. */
final class SyntheticReports {
    static final int CLASSES = 10;

    private SyntheticReports() {}

    static RunFacts facts(String layers) {
        Map<String, String> hp = new LinkedHashMap<>();
        hp.put("lr", "0.001");
        hp.put("beta1", "0.9");
        hp.put("beta2", "0.999");
        hp.put("batch", "64");
        return new RunFacts("2025-06-01T14:03:22Z", "0.1.0-SNAPSHOT", "00fe872", "CPU: synthetic (AVX2, 8 float lanes)",
                layers, 20_175, "adam", hp, 42, "mnist", "verified SHA-256", 73.4);
    }

    static List<EpochRow> epochs(int n, Random rnd) {
        List<EpochRow> rows = new ArrayList<>();
        for (int e = 1; e <= n; e++) {
            double trainLoss = 0.08 + 0.5 * Math.exp(-0.6 * e) + 0.01 * rnd.nextDouble();
            double testLoss = 0.11 + 0.45 * Math.exp(-0.55 * e) + 0.01 * rnd.nextDouble();
            rows.add(new EpochRow(e, trainLoss, testLoss, 1 - trainLoss / 3.2, 1 - testLoss / 3.4,
                    0.001 * Math.pow(0.9, e - 1), 210_000 + 15_000 * rnd.nextDouble(), 0.29 + 0.02 * rnd.nextDouble()));
        }
        return rows;
    }

    /** A diagonal-heavy matrix of about {@code perClass} samples per class. */
    static ClassStats classes(int perClass, Random rnd) {
        int[][] m = new int[CLASSES][CLASSES];
        for (int t = 0; t < CLASSES; t++) {
            for (int i = 0; i < perClass + rnd.nextInt(perClass / 5 + 1); i++) {
                int p = rnd.nextDouble() < 0.96 ? t : rnd.nextInt(CLASSES);
                m[t][p]++;
            }
        }
        List<String> names = new ArrayList<>();
        for (int c = 0; c < CLASSES; c++) {
            names.add(Integer.toString(c));
        }
        return new ClassStats(m, names);
    }

    /** n 28x28 images of a few random thick strokes (white on black), random labels. */
    static Dataset strokes(int n, Random rnd) {
        byte[] pixels = new byte[n * 784];
        int[] labels = new int[n];
        BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setStroke(new BasicStroke(2.6f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
        for (int i = 0; i < n; i++) {
            g.setColor(Color.BLACK);
            g.fillRect(0, 0, 28, 28);
            g.setColor(Color.WHITE);
            int x = 8 + rnd.nextInt(12);
            int y = 5 + rnd.nextInt(6);
            for (int s = 0; s < 3; s++) {
                int nx = Math.clamp(x + rnd.nextInt(15) - 7, 5, 22);
                int ny = Math.clamp(y + 4 + rnd.nextInt(6), 4, 23);
                g.drawLine(x, y, nx, ny);
                x = nx;
                y = ny;
            }
            byte[] one = (byte[]) img.getRaster().getDataElements(0, 0, 28, 28, null);
            System.arraycopy(one, 0, pixels, i * 784, 784);
            labels[i] = rnd.nextInt(CLASSES);
        }
        g.dispose();
        return new Dataset("synthetic/test", 28, 28, CLASSES, pixels, labels);
    }

    /** Smooth signed patterns: a positive and a negative Gaussian blob per unit. */
    static FirstLayerWeights weights(int units, Random rnd) {
        float[][] w = new float[units][784];
        for (int u = 0; u < units; u++) {
            double px = 6 + rnd.nextInt(16), py = 6 + rnd.nextInt(16);
            double nx = 6 + rnd.nextInt(16), ny = 6 + rnd.nextInt(16);
            double scale = 0.05 + 0.3 * rnd.nextDouble();
            for (int r = 0; r < 28; r++) {
                for (int c = 0; c < 28; c++) {
                    double v = Math.exp(-((r - py) * (r - py) + (c - px) * (c - px)) / 18.0)
                            - Math.exp(-((r - ny) * (r - ny) + (c - nx) * (c - nx)) / 12.0);
                    w[u][r * 28 + c] = (float) (scale * v + 0.01 * rnd.nextGaussian());
                }
            }
        }
        return new FirstLayerWeights(w, 28, 28);
    }

    /** A full training report: epochs, matrix, 25 mistakes (from a random predictor on stroke images), weights. */
    static Report full(int epochs, long seed) {
        Random rnd = new Random(seed);
        Dataset test = strokes(300, rnd);
        int[] predicted = new int[test.size()];
        float[] confidence = new float[test.size()];
        for (int i = 0; i < test.size(); i++) {
            predicted[i] = rnd.nextDouble() < 0.7 ? test.label(i) : rnd.nextInt(CLASSES);
            confidence[i] = 0.2f + 0.8f * rnd.nextFloat();
        }
        return new Report("Kiln training report", facts("784,25,25,10"), epochs(epochs, rnd), classes(1000, rnd),
                Mistake.worst(test, predicted, confidence), weights(25, rnd));
    }
}
