package dev.kiln.engine.model;

import dev.kiln.data.KilnException;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * How fresh parameters are drawn. Every scheme draws layer by layer, W_l row-major then b_l, from one
 * {@code SplittableRandom(seed)}, so the same seed gives the same network bit for bit on any machine.
 */
public enum Init {
    /**
     * PyTorch's {@code nn.Linear} default: {@code kaiming_uniform_(a = sqrt(5))}, which works out to
     * {@code W ~ U(-1/sqrt(fanIn), 1/sqrt(fanIn))}, and {@code b ~ U(-1/sqrt(fanIn), 1/sqrt(fanIn))}.
     */
    PYTORCH_DEFAULT,
    /** He et al. (2015): {@code W ~ N(0, 2/fanIn)}, for ReLU layers; biases 0. */
    HE_NORMAL,
    /** Glorot and Bengio (2010), uniform: {@code W ~ U(-a, a)}, {@code a = sqrt(6/(fanIn + fanOut))}; biases 0. */
    XAVIER_UNIFORM;

    /** A fresh flat parameter vector (see {@link LayerSpec} for its layout). */
    public float[] initialize(LayerSpec spec, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] p = new float[spec.parameterCount()];
        for (int l = 0; l < spec.layerCount(); l++) {
            int fanIn = spec.inputs(l), fanOut = spec.outputs(l);
            int w = spec.weightOffset(l), b = spec.biasOffset(l);
            int weights = fanIn * fanOut;
            switch (this) {
                case PYTORCH_DEFAULT -> {
                    double bound = 1.0 / Math.sqrt(fanIn);
                    for (int i = 0; i < weights; i++) {
                        p[w + i] = uniform(rng, bound);
                    }
                    for (int i = 0; i < fanOut; i++) {
                        p[b + i] = uniform(rng, bound);
                    }
                }
                case HE_NORMAL -> {
                    double std = Math.sqrt(2.0 / fanIn);
                    for (int i = 0; i < weights; i++) {
                        p[w + i] = (float) (rng.nextGaussian() * std);
                    }
                }
                case XAVIER_UNIFORM -> {
                    double bound = Math.sqrt(6.0 / (fanIn + fanOut));
                    for (int i = 0; i < weights; i++) {
                        p[w + i] = uniform(rng, bound);
                    }
                }
            }
        }
        return p;
    }

    private static float uniform(SplittableRandom rng, double bound) {
        return (float) ((2 * rng.nextDouble() - 1) * bound);
    }

    /** The command-line name: {@code pytorch}, {@code he}, {@code xavier}. */
    public String cliName() {
        return switch (this) {
            case PYTORCH_DEFAULT -> "pytorch";
            case HE_NORMAL -> "he";
            case XAVIER_UNIFORM -> "xavier";
        };
    }

    /** Parses {@link #cliName()} (case-insensitive). */
    public static Init parse(String name) {
        for (Init i : values()) {
            if (i.cliName().equals(name.toLowerCase(Locale.ROOT))) {
                return i;
            }
        }
        throw new KilnException("unknown initialisation '" + name + "'", "choose one of pytorch, he, xavier");
    }
}
