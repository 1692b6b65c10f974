package dev.kiln.engine;

import dev.kiln.data.Dataset;
import dev.kiln.data.KilnException;

/** Builds {@link Dataset}s from data already in memory, for people embedding Kiln in their own Java code. */
public final class Datasets {
    private Datasets() {
    }

    /**
     * A dataset from pixels in [0, 1]. Kiln stores pixels as bytes, so each value is rounded to the nearest of
     * 0/255, 1/255, ..., 255/255 (what a network trained on MNIST sees anyway); the images are 1 x P.
     *
     * @param pixels01 one row of P values in [0, 1] per sample, all rows the same length
     * @param labels   one label per row, in 0 .. classes - 1
     */
    public static Dataset fromFloats(String name, float[][] pixels01, int[] labels, int classes) {
        if (pixels01.length != labels.length) {
            throw new KilnException(name + ": " + pixels01.length + " images but " + labels.length + " labels");
        }
        if (pixels01.length == 0) {
            throw new KilnException(name + ": no samples");
        }
        int p = pixels01[0].length;
        byte[] bytes = new byte[Math.multiplyExact(pixels01.length, p)];
        for (int i = 0; i < pixels01.length; i++) {
            if (pixels01[i].length != p) {
                throw new KilnException(name + ": sample " + i + " has " + pixels01[i].length + " values, sample 0 has " + p);
            }
            for (int j = 0; j < p; j++) {
                float v = pixels01[i][j];
                if (!(v >= 0f && v <= 1f)) {
                    throw new KilnException(name + ": sample " + i + " value " + j + " is " + v + ", outside [0, 1]",
                            "scale pixels to [0, 1] first, e.g. divide 0..255 values by 255");
                }
                bytes[i * p + j] = (byte) Math.round(v * 255f);
            }
        }
        return new Dataset(name, 1, p, classes, bytes, labels.clone());
    }
}
