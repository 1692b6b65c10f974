package dev.kiln.engine.optim;

import dev.kiln.engine.device.DType;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.Tensor;

/**
 * What an {@link Optimizer} carries from step to step, on the device: its per-parameter vectors (Adam's m and v,
 * SGD's velocity), the step count t and the current learning rate, the latter two as (1, 1) tensors so a
 * replayed step reads them at run time. Downloadable and uploadable for checkpoints and resume.
 */
public final class OptimizerState {
    private final Device device;
    private final Optimizer optimizer;
    private final Tensor[] vectors; // each (1, Q), named by optimizer.stateNames()
    private final Tensor step;      // I32 (1, 1): updates done so far
    private final Tensor lr;        // F32 (1, 1)
    private final int size;

    /** Zeroed state for {@code parameterCount} parameters; the learning rate starts at {@code optimizer.lr()}. */
    public OptimizerState(Device device, Optimizer optimizer, int parameterCount) {
        this.device = device;
        this.optimizer = optimizer;
        this.size = parameterCount;
        vectors = new Tensor[optimizer.stateNames().size()];
        for (int i = 0; i < vectors.length; i++) {
            vectors[i] = device.allocate(DType.F32, 1, parameterCount);
        }
        step = device.allocate(DType.I32, 1, 1);
        lr = device.allocate(DType.F32, 1, 1);
        setLearningRate(optimizer.lr());
    }

    public Optimizer optimizer() { return optimizer; }

    /** Issues one update: {@code t += 1} on the device, then the optimizer's rule over the flat vectors. */
    public void issueUpdate(Tensor params, Tensor grads) {
        device.addInt(step, 1);
        optimizer.update(device, params, grads, vectors, step, lr);
    }

    /** Sets the learning rate the next updates use (a schedule calls this at each epoch start). */
    public void setLearningRate(double value) {
        device.upload(new float[] {(float) value}, lr);
    }

    /** The learning rate on the device now. */
    public float learningRate() {
        float[] v = new float[1];
        device.download(lr, v);
        return v[0];
    }

    /** Updates done so far (t), read from the device. */
    public int step() {
        int[] v = new int[1];
        device.download(step, v);
        return v[0];
    }

    /** Sets t, e.g. when resuming. */
    public void setStep(int t) {
        device.upload(new int[] {t}, step);
    }

    /** Downloads the per-parameter vectors, in {@link Optimizer#stateNames()} order. */
    public float[][] download() {
        float[][] out = new float[vectors.length][size];
        for (int i = 0; i < vectors.length; i++) {
            device.download(vectors[i], out[i]);
        }
        return out;
    }

    /** Uploads per-parameter vectors exported by {@link #download()} for the same optimizer kind and size. */
    public void upload(float[][] state) {
        if (state.length != vectors.length) {
            throw new IllegalArgumentException(optimizer + " keeps " + vectors.length + " state vectors "
                    + optimizer.stateNames() + ", got " + state.length);
        }
        for (int i = 0; i < vectors.length; i++) {
            if (state[i].length != size) {
                throw new IllegalArgumentException("optimizer state '" + optimizer.stateNames().get(i) + "' has "
                        + state[i].length + " values, expected " + size);
            }
            device.upload(state[i], vectors[i]);
        }
    }
}
