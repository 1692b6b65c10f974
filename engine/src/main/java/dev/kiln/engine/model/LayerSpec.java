package dev.kiln.engine.model;

import dev.kiln.data.KilnException;

import java.util.Arrays;

/**
 * The shape of a multilayer perceptron: layer widths from input to output, e.g. {@code 784,25,25,10}, and where
 * each layer's weight and bias sit in the one flat parameter vector.
 *
 * <p>The flat layout is, for each layer l in order, {@code W_l (O, I)} row-major then {@code b_l (1, O)}: the
 * order of PyTorch's {@code nn.Sequential(Linear, ReLU, ..., Linear)} state dict ({@code 0.weight, 0.bias,
 * 2.weight, ...}). It is pure arithmetic: it holds no parameters and knows no device.
 */
public final class LayerSpec {
    private static final String EXAMPLE_HINT = "write the layer sizes from input to output separated by commas, e.g. 784,25,25,10";

    private final int[] sizes;
    private final long[] weightOffsets; // (L) start of W_l in the flat vector
    private final long[] biasOffsets;   // (L) start of b_l in the flat vector
    private final long parameterCount;

    /** @param sizes at least two positive widths, input first */
    public LayerSpec(int... sizes) {
        if (sizes.length < 2) {
            throw new KilnException("a network needs at least an input and an output size, got "
                    + sizes.length + " size" + (sizes.length == 1 ? "" : "s"), EXAMPLE_HINT);
        }
        for (int i = 0; i < sizes.length; i++) {
            if (sizes[i] <= 0) {
                throw new KilnException("layer size " + (i + 1) + " is " + sizes[i] + ", sizes must be positive", EXAMPLE_HINT);
            }
        }
        this.sizes = sizes.clone();
        int layers = sizes.length - 1;
        weightOffsets = new long[layers];
        biasOffsets = new long[layers];
        long at = 0;
        for (int l = 0; l < layers; l++) {
            weightOffsets[l] = at;
            at += (long) sizes[l + 1] * sizes[l];
            biasOffsets[l] = at;
            at += sizes[l + 1];
        }
        if (at > Integer.MAX_VALUE - 8) {
            throw new KilnException("network " + this + " has " + at + " parameters, more than one tensor can hold",
                    "use smaller layers");
        }
        parameterCount = at;
    }

    /** Parses {@code "784,25,25,10"} (spaces allowed); a bad spec is a {@link KilnException} naming the problem. */
    public static LayerSpec parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new KilnException("the layer spec is empty", EXAMPLE_HINT);
        }
        String[] parts = spec.split(",", -1);
        int[] sizes = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i].strip();
            try {
                sizes[i] = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                throw new KilnException("layer spec '" + spec + "': '" + p + "' is not a whole number", EXAMPLE_HINT);
            }
        }
        return new LayerSpec(sizes);
    }

    /**
     * The network for data of {@code inputs} features and {@code classes} classes. A {@code layers} that starts with
     * {@code inputs} is the whole network and must end with {@code classes}; otherwise it lists the hidden sizes
     * alone ({@code "64,32"} gives {@code inputs,64,32,classes}), and {@code "none"} means no hidden layer. Null gives
     * the founding network's two hidden layers of 25.
     */
    public static LayerSpec forData(String layers, int inputs, int classes) {
        String hidden = layers == null ? "25,25" : layers.strip();
        if (hidden.equals("none")) {
            return new LayerSpec(inputs, classes);
        }
        String[] parts = hidden.split(",", -1);
        int[] given = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                given[i] = Integer.parseInt(parts[i].strip());
            } catch (NumberFormatException e) {
                throw new KilnException("layer spec '" + hidden + "': '" + parts[i].strip() + "' is not a whole number",
                        "give the hidden sizes, e.g. 64,32, or the whole network, e.g. " + inputs + ",64,32," + classes);
            }
        }
        if (given.length >= 2 && given[0] == inputs) {
            if (given[given.length - 1] != classes) {
                throw new KilnException("layers " + hidden + " start with the data's " + inputs + " inputs, so they are the"
                        + " whole network, but end with " + given[given.length - 1] + " while the data has " + classes
                        + " classes", "end them with " + classes + ", or give only the hidden sizes");
            }
            return new LayerSpec(given);
        }
        int[] sizes = new int[given.length + 2];
        sizes[0] = inputs;
        System.arraycopy(given, 0, sizes, 1, given.length);
        sizes[sizes.length - 1] = classes;
        return new LayerSpec(sizes);
    }

    /** Layer widths, input first (a copy). */
    public int[] sizes() { return sizes.clone(); }

    /** Number of weight layers (sizes - 1). */
    public int layerCount() { return sizes.length - 1; }

    /** Inputs of layer {@code l} (0-based weight layer). */
    public int inputs(int l) { return sizes[l]; }

    /** Outputs of layer {@code l}. */
    public int outputs(int l) { return sizes[l + 1]; }

    /** Width of the network's input. */
    public int inputSize() { return sizes[0]; }

    /** Number of classes the network scores. */
    public int outputSize() { return sizes[sizes.length - 1]; }

    /** Total parameters Q: every weight and bias. */
    public int parameterCount() { return (int) parameterCount; }

    /** Offset of {@code W_l (O, I)} in the flat parameter vector. */
    public int weightOffset(int l) { return (int) weightOffsets[l]; }

    /** Offset of {@code b_l (1, O)} in the flat parameter vector. */
    public int biasOffset(int l) { return (int) biasOffsets[l]; }

    /** PyTorch {@code nn.Sequential} state-dict name of layer l's weight: {@code 0.weight, 2.weight, ...}. */
    public String weightName(int l) { return (2 * l) + ".weight"; }

    /** PyTorch {@code nn.Sequential} state-dict name of layer l's bias: {@code 0.bias, 2.bias, ...}. */
    public String biasName(int l) { return (2 * l) + ".bias"; }

    /** The spec as it is written: {@code 784,25,25,10}. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < sizes.length; i++) {
            b.append(i == 0 ? "" : ",").append(sizes[i]);
        }
        return b.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LayerSpec other && Arrays.equals(sizes, other.sizes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(sizes);
    }
}
