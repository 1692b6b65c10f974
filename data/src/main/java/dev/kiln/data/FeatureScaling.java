package dev.kiln.data;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How a {@link Table}'s rows become a network's inputs, fitted on the training rows and saved with the model (as
 * checkpoint metadata) so that evaluation and prediction read new rows the same way.
 *
 * <p>Kiln's data path holds inputs as 8-bit values that the device scales to [0, 1], as it does MNIST's pixels. A
 * feature {@code x} is therefore mapped linearly, {@code u = (x - offset) * scale}, clamped to [0, 1] and rounded
 * to one of 256 levels. {@code minmax} (the default) maps the training rows' minimum to 0 and maximum to 1;
 * {@code standardize} maps the mean to 0.5 and 4 standard deviations either side to 0 and 1 (z-scores, clipped at
 * +-4), so that one outlier does not squeeze the rest of its column into a few levels. A constant column maps to 0.
 *
 * @param kind         {@code minmax} or {@code standardize}
 * @param featureNames the training file's feature columns
 * @param classNames   the classes, index = the network's output
 */
public record FeatureScaling(String kind, List<String> featureNames, List<String> classNames, float[] offset, float[] scale) {
    /** Metadata keys in a checkpoint. */
    public static final String KIND = "input_scaling", OFFSET = "input_offset", SCALE = "input_scale",
            FEATURES = "input_features", CLASSES = "class_names";
    /** How many standard deviations either side of the mean {@code standardize} keeps. */
    public static final float SIGMAS = 4f;

    public FeatureScaling {
        featureNames = List.copyOf(featureNames);
        classNames = List.copyOf(classNames);
        if (offset.length != featureNames.size() || scale.length != featureNames.size()) {
            throw new IllegalArgumentException(offset.length + " offsets and " + scale.length + " scales for "
                    + featureNames.size() + " features");
        }
    }

    /** Fits the mapping on {@code train}: min-max, or mean and standard deviation when {@code standardize}. */
    public static FeatureScaling fit(Table train, boolean standardize) {
        int f = train.featureCount();
        float[] offset = new float[f], scale = new float[f];
        for (int j = 0; j < f; j++) {
            double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY, sum = 0, sq = 0;
            for (float[] row : train.features()) {
                lo = Math.min(lo, row[j]);
                hi = Math.max(hi, row[j]);
                sum += row[j];
            }
            double mean = sum / train.size();
            for (float[] row : train.features()) {
                sq += (row[j] - mean) * (row[j] - mean);
            }
            double sd = Math.sqrt(sq / train.size());
            if (standardize) {
                offset[j] = (float) (mean - SIGMAS * sd);
                scale[j] = sd > 0 ? (float) (1 / (2 * SIGMAS * sd)) : 0f;
            } else {
                offset[j] = (float) lo;
                scale[j] = hi > lo ? (float) (1 / (hi - lo)) : 0f;
            }
        }
        return new FeatureScaling(standardize ? "standardize" : "minmax", train.featureNames(), train.classNames(), offset, scale);
    }

    /** Number of features: the network's input size. */
    public int inputs() {
        return offset.length;
    }

    /** One row's network inputs, in [0, 1] and on the same 256 levels the training data had. */
    public float[] inputs(float[] row) {
        requireWidth(row.length, "a row");
        float[] u = new float[row.length];
        for (int j = 0; j < row.length; j++) {
            u[j] = level(row[j], j) / 255f;
        }
        return u;
    }

    /** The table as a {@link Dataset} of 1 x F "images", labelled with its classes. */
    public Dataset dataset(Table table) {
        requireWidth(table.featureCount(), table.source());
        if (table.labels() == null) {
            throw new IllegalArgumentException(table.source() + " has no labels");
        }
        int f = inputs();
        byte[] bytes = new byte[Math.multiplyExact(table.size(), f)];
        for (int i = 0; i < table.size(); i++) {
            float[] row = table.features()[i];
            for (int j = 0; j < f; j++) {
                bytes[i * f + j] = (byte) level(row[j], j);
            }
        }
        return new Dataset(table.source(), 1, f, classNames.size(), bytes, table.labels().clone());
    }

    private int level(float x, int j) {
        float u = (x - offset[j]) * scale[j];
        return Math.round(Math.clamp(u, 0f, 1f) * 255f);
    }

    private void requireWidth(int width, String what) {
        if (width != inputs()) {
            throw new KilnException(what + " has " + width + " feature column(s) but the model takes " + inputs()
                    + " (" + String.join(", ", featureNames) + ")", "use a file with the training file's feature columns");
        }
    }

    /** The checkpoint metadata that {@link #fromMetadata} reads back. */
    public Map<String, String> metadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(KIND, kind);
        m.put(OFFSET, floats(offset));
        m.put(SCALE, floats(scale));
        m.put(FEATURES, names(featureNames));
        m.put(CLASSES, names(classNames));
        return m;
    }

    /** The scaling a checkpoint was saved with, or null when it has none (a network trained on images). */
    public static FeatureScaling fromMetadata(Map<String, String> meta) {
        if (!meta.containsKey(KIND)) {
            return null;
        }
        try {
            return new FeatureScaling(meta.get(KIND), names(meta.get(FEATURES)), names(meta.get(CLASSES)),
                    floats(meta.get(OFFSET)), floats(meta.get(SCALE)));
        } catch (RuntimeException e) {
            throw new KilnException("the checkpoint's input scaling metadata is damaged: " + e.getMessage());
        }
    }

    private static String floats(float[] v) {
        StringBuilder s = new StringBuilder();
        for (float x : v) {
            s.append(s.isEmpty() ? "" : ",").append(x); // Float.toString reads back exactly
        }
        return s.toString();
    }

    private static float[] floats(String s) {
        String[] parts = s.split(",");
        float[] v = new float[parts.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = Float.parseFloat(parts[i]);
        }
        return v;
    }

    /** Comma-separated, each name URL-encoded (so names with commas survive): {@code setosa,versicolor,virginica}. */
    private static String names(List<String> names) {
        List<String> enc = new ArrayList<>();
        names.forEach(n -> enc.add(URLEncoder.encode(n, StandardCharsets.UTF_8)));
        return String.join(",", enc);
    }

    private static List<String> names(String s) {
        return Arrays.stream(s.split(",", -1)).map(n -> URLDecoder.decode(n, StandardCharsets.UTF_8)).toList();
    }

    @Override
    public String toString() {
        return kind + " scaling of " + inputs() + " features (" + String.join(", ", featureNames) + "), "
                + classNames.size() + " classes";
    }
}
