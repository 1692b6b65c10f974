package dev.kiln.engine.report;

/**
 * The first layer's weights, one row per hidden unit, shown as images the size of the input: what each unit
 * looks for. The report draws at most {@link #SHOWN} units.
 *
 * @param weights (units, inputs) with inputs = rows * cols, the layout of {@code nn.Linear.weight}; copied
 * @param rows    input image height
 * @param cols    input image width
 */
public record FirstLayerWeights(float[][] weights, int rows, int cols) {
    /** How many units the report shows. */
    public static final int SHOWN = 64;

    public FirstLayerWeights {
        if (rows <= 0 || cols <= 0 || weights.length == 0) {
            throw new IllegalArgumentException("no weights to show: " + weights.length + " units of " + rows + "x" + cols);
        }
        float[][] copy = new float[weights.length][];
        for (int u = 0; u < weights.length; u++) {
            if (weights[u].length != rows * cols) {
                throw new IllegalArgumentException("unit " + u + " has " + weights[u].length + " weights, not "
                        + rows + "x" + cols);
            }
            copy[u] = weights[u].clone();
        }
        weights = copy;
    }

    /** From a flat (units, inputs) row-major array, as a device downloads {@code W}. */
    public static FirstLayerWeights ofFlat(float[] w, int units, int rows, int cols) {
        int inputs = rows * cols;
        if (w.length != units * inputs) {
            throw new IllegalArgumentException(w.length + " weights, not " + units + " x " + inputs);
        }
        float[][] m = new float[units][inputs];
        for (int u = 0; u < units; u++) {
            System.arraycopy(w, u * inputs, m[u], 0, inputs);
        }
        return new FirstLayerWeights(m, rows, cols);
    }

    /** The weights (a copy). */
    @Override
    public float[][] weights() {
        float[][] copy = new float[weights.length][];
        for (int u = 0; u < weights.length; u++) {
            copy[u] = weights[u].clone();
        }
        return copy;
    }

    public int units() { return weights.length; }

    /** Weight of unit u from input pixel (r, c). */
    public float weight(int u, int r, int c) { return weights[u][r * cols + c]; }

    /** Largest |w| of unit u over its finite weights (0 when none): the unit's colour scale. */
    public float maxAbs(int u) {
        float m = 0;
        for (float v : weights[u]) {
            if (Float.isFinite(v)) {
                m = Math.max(m, Math.abs(v));
            }
        }
        return m;
    }
}
