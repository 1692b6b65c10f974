package dev.kiln.engine.report;

import dev.kiln.data.Dataset;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * One test image the network got wrong, with how sure it was.
 *
 * @param index          the image's index in the test set
 * @param rows           image height
 * @param cols           image width
 * @param pixels         (rows * cols) row-major, 0..255 as unsigned bytes, a white digit on black; copied
 * @param trueLabel      the label in the data
 * @param predictedLabel the network's argmax
 * @param confidence     the network's largest softmax probability, in [0, 1]
 */
public record Mistake(int index, int rows, int cols, byte[] pixels, int trueLabel, int predictedLabel,
                      double confidence) {
    /** How many mistakes the report shows. */
    public static final int SHOWN = 25;

    public Mistake {
        if (rows <= 0 || cols <= 0 || pixels.length != rows * cols) {
            throw new IllegalArgumentException(pixels.length + " pixels for a " + rows + "x" + cols + " image");
        }
        pixels = pixels.clone();
    }

    /** The pixels (a copy). */
    @Override
    public byte[] pixels() { return pixels.clone(); }

    /** Pixel (r, c) as 0..255. */
    public int pixel(int r, int c) { return pixels[r * cols + c] & 0xff; }

    /**
     * The {@link #SHOWN} most confident mistakes on {@code test}: the samples whose predicted label differs from the
     * true one, most confident first, ties by index. NaN confidences sort last.
     *
     * @param predicted  (n) the network's label for each test sample
     * @param confidence (n) its largest softmax probability for each sample
     */
    public static List<Mistake> worst(Dataset test, int[] predicted, float[] confidence) {
        return worst(test, predicted, confidence, SHOWN);
    }

    /** Like {@link #worst(Dataset, int[], float[])}, keeping at most {@code k}. */
    public static List<Mistake> worst(Dataset test, int[] predicted, float[] confidence, int k) {
        int n = test.size();
        if (predicted.length != n || confidence.length != n) {
            throw new IllegalArgumentException("test set has " + n + " samples but got " + predicted.length
                    + " predictions and " + confidence.length + " confidences");
        }
        List<Integer> wrong = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (predicted[i] != test.label(i)) {
                wrong.add(i);
            }
        }
        // Descending confidence; NaN (which Float.compare puts above everything) goes last; then ascending index.
        Comparator<Integer> order = Comparator
                .comparing((Integer i) -> Float.isNaN(confidence[i]))
                .thenComparing(i -> confidence[i], Comparator.reverseOrder())
                .thenComparing(i -> i);
        wrong.sort(order);
        int p = test.pixelsPerSample();
        List<Mistake> out = new ArrayList<>(Math.min(k, wrong.size()));
        for (int i : wrong.subList(0, Math.min(k, wrong.size()))) {
            byte[] image = new byte[p];
            System.arraycopy(test.pixels(), i * p, image, 0, p);
            out.add(new Mistake(i, test.rows(), test.cols(), image, test.label(i), predicted[i], confidence[i]));
        }
        return List.copyOf(out);
    }
}
