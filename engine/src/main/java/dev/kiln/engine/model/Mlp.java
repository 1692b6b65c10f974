package dev.kiln.engine.model;

import dev.kiln.engine.device.DType;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.Tensor;

/**
 * A multilayer perceptron living on a {@link Device}: linear layers with ReLU between them and softmax scores at
 * the output (the softmax itself is folded into the loss, so {@link #forward} ends at the logits).
 *
 * <p>All parameters are one flat F32 tensor {@code (1, Q)} laid out as {@link LayerSpec} says, and each layer's
 * {@code W_l (O, I)} and {@code b_l (1, O)} are views of it; the gradients are a second flat tensor with the same
 * layout. One optimizer call therefore updates every parameter. This class issues device operations; it does
 * not own batches, data or optimizer state (see {@code dev.kiln.engine.train.TrainingStep}).
 */
public final class Mlp {
    private final LayerSpec spec;
    private final Device device;
    private final Tensor params; // (1, Q)
    private final Tensor grads;  // (1, Q)
    private final Tensor[] w;    // (O, I) views of params
    private final Tensor[] b;    // (1, O) views of params
    private final Gradients gradients; // views of grads
    private final long[] weightAt, biasAt; // where W_l and b_l start in params: LayerSpec's offsets, aligned
    private final int flatSize;            // Q plus the alignment gaps

    /** Allocates zeroed parameters and gradients for {@code spec} on {@code device}. */
    public Mlp(Device device, LayerSpec spec) {
        this.spec = spec;
        this.device = device;
        int layers = spec.layerCount();
        int align = Math.max(1, device.parameterAlignment());
        weightAt = new long[layers];
        biasAt = new long[layers];
        long at = 0;
        for (int l = 0; l < layers; l++) {
            weightAt[l] = at;
            at = (at + (long) spec.outputs(l) * spec.inputs(l) + align - 1) / align * align;
            biasAt[l] = at;
            at = (at + spec.outputs(l) + align - 1) / align * align;
        }
        flatSize = align == 1 ? spec.parameterCount() : Math.toIntExact(at);
        params = device.allocate(DType.F32, 1, flatSize);
        grads = device.allocate(DType.F32, 1, flatSize);
        w = new Tensor[layers];
        b = new Tensor[layers];
        for (int l = 0; l < layers; l++) {
            w[l] = params.slice(weightAt[l], spec.outputs(l), spec.inputs(l));
            b[l] = params.slice(biasAt[l], 1, spec.outputs(l));
        }
        gradients = gradients(grads);
    }

    /**
     * The length of this model's flat vectors on its device: {@link LayerSpec#parameterCount()} plus the gaps of
     * {@link Device#parameterAlignment()}. Optimizer state and gradient buffers on the device have this length.
     */
    public int flatSize() { return flatSize; }

    /** A device-layout vector ({@link #flatSize()}) packed into LayerSpec's layout, as checkpoints hold it. */
    public float[] pack(float[] deviceLayout) {
        if (flatSize == spec.parameterCount()) {
            return deviceLayout;
        }
        float[] packed = new float[spec.parameterCount()];
        for (int l = 0; l < spec.layerCount(); l++) {
            int n = spec.outputs(l) * spec.inputs(l);
            System.arraycopy(deviceLayout, (int) weightAt[l], packed, (int) spec.weightOffset(l), n);
            System.arraycopy(deviceLayout, (int) biasAt[l], packed, (int) spec.biasOffset(l), spec.outputs(l));
        }
        return packed;
    }

    /** The inverse of {@link #pack}: a packed vector laid out for the device, zeros in the gaps. */
    public float[] unpack(float[] packed) {
        if (flatSize == spec.parameterCount()) {
            return packed;
        }
        float[] out = new float[flatSize];
        for (int l = 0; l < spec.layerCount(); l++) {
            int n = spec.outputs(l) * spec.inputs(l);
            System.arraycopy(packed, (int) spec.weightOffset(l), out, (int) weightAt[l], n);
            System.arraycopy(packed, (int) spec.biasOffset(l), out, (int) biasAt[l], spec.outputs(l));
        }
        return out;
    }

    /** Per-layer views of a flat gradient vector: {@code dw[l] (O, I)} and {@code db[l] (1, O)}. */
    public record Gradients(Tensor[] dw, Tensor[] db) {
    }

    /** Per-layer views of {@code flat (1, Q)}, laid out like the parameters: a target for {@link #backward}. */
    public Gradients gradients(Tensor flat) {
        if (flat.size() != flatSize) {
            throw new IllegalArgumentException("network " + spec + " has " + flatSize
                    + " gradients on " + device.name() + ", got a tensor of " + flat.size());
        }
        int layers = spec.layerCount();
        Tensor[] dw = new Tensor[layers], db = new Tensor[layers];
        for (int l = 0; l < layers; l++) {
            dw[l] = flat.slice(weightAt[l], spec.outputs(l), spec.inputs(l));
            db[l] = flat.slice(biasAt[l], 1, spec.outputs(l));
        }
        return new Gradients(dw, db);
    }

    /** A network on {@code device} with parameters drawn by {@code init} from {@code seed}. */
    public static Mlp initialized(Device device, LayerSpec spec, Init init, long seed) {
        Mlp m = new Mlp(device, spec);
        m.setParameters(init.initialize(spec, seed));
        return m;
    }

    public LayerSpec spec() { return spec; }

    public Device device() { return device; }

    /** The flat parameter vector {@code (1, Q)}. */
    public Tensor parameterTensor() { return params; }

    /** The flat gradient vector {@code (1, Q)}, same layout; written by {@link #backward}. */
    public Tensor gradientTensor() { return grads; }

    /** View of layer l's weight {@code (O, I)}. */
    public Tensor weight(int l) { return w[l]; }

    /** View of layer l's bias {@code (1, O)}. */
    public Tensor bias(int l) { return b[l]; }

    /** Downloads every parameter, in LayerSpec's flat layout. */
    public float[] parameters() {
        float[] p = new float[flatSize];
        device.download(params, p);
        return pack(p);
    }

    /** Downloads every gradient of the last {@link #backward}, in LayerSpec's flat layout. */
    public float[] gradients() {
        float[] g = new float[flatSize];
        device.download(grads, g);
        return pack(g);
    }

    /** Uploads a flat parameter vector of exactly {@link LayerSpec#parameterCount()} values. */
    public void setParameters(float[] p) {
        if (p.length != spec.parameterCount()) {
            throw new IllegalArgumentException("network " + spec + " has " + spec.parameterCount()
                    + " parameters, got " + p.length);
        }
        device.upload(unpack(p), params);
    }

    /**
     * Activation buffers for batches of up to {@code rows}: one {@code (rows, O_l)} tensor per layer. Layer l's
     * buffer holds its pre-activation, then (in place) its ReLU output; the last holds the logits.
     */
    public Tensor[] allocateActivations(int rows) {
        Tensor[] a = new Tensor[spec.layerCount()];
        for (int l = 0; l < a.length; l++) {
            a[l] = device.allocate(DType.F32, rows, spec.outputs(l));
        }
        return a;
    }

    /** The first {@code rows} rows of every buffer: the same buffers seen as a smaller (partial) batch. */
    public static Tensor[] firstRows(Tensor[] buffers, int rows) {
        Tensor[] v = new Tensor[buffers.length];
        for (int l = 0; l < v.length; l++) {
            v[l] = buffers[l].firstRows(rows);
        }
        return v;
    }

    /**
     * Issues the forward pass: {@code a_l = relu(a_{l-1} W_l^T + b_l)} for hidden layers, no ReLU on the last.
     *
     * @param x           input batch {@code (B, I_0)}
     * @param activations from {@link #allocateActivations}, all with B rows; the last receives the logits (B, C)
     */
    public void forward(Tensor x, Tensor[] activations) {
        Tensor in = x;
        int last = spec.layerCount() - 1;
        for (int l = 0; l <= last; l++) {
            Tensor z = activations[l];                               // (B, O)
            device.gemm(false, true, 1f, in, w[l], 0f, z);          // (B, I) x (O, I)^T
            device.biasActivation(z, b[l], l < last);
            in = z;
        }
    }

    /**
     * Issues the backward pass into the flat gradient tensor. The caller has put {@code dLoss/dlogits (B, C)} into
     * {@code deltas[last]}; the other deltas are scratch {@code (B, O_l)} tensors and are overwritten. No gradient
     * is computed for the input {@code x}: nobody needs it.
     */
    public void backward(Tensor x, Tensor[] activations, Tensor[] deltas) {
        backward(x, activations, deltas, gradients);
    }

    /** {@link #backward(Tensor, Tensor[], Tensor[])} into {@code into} (from {@link #gradients}) instead. */
    public void backward(Tensor x, Tensor[] activations, Tensor[] deltas, Gradients into) {
        Tensor[] dw = into.dw(), db = into.db();
        int last = spec.layerCount() - 1;
        device.columnSums(deltas[last], db[last]);
        for (int l = last; l >= 0; l--) {
            Tensor in = l == 0 ? x : activations[l - 1];          // (B, I)
            device.gemm(true, false, 1f, deltas[l], in, 0f, dw[l]); // dW = dz^T h: (O, B) x (B, I)
            if (l > 0) {
                device.gemm(false, false, 1f, deltas[l], w[l], 0f, deltas[l - 1]); // dh = dz W: (B, O) x (O, I)
                device.reluBackward(deltas[l - 1], activations[l - 1], db[l - 1]);
            }
        }
    }
}
