package dev.kiln.bench;

import dev.kiln.data.Dataset;
import dev.kiln.engine.device.DType;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.Tensor;
import dev.kiln.engine.model.LayerSpec;

import java.util.SplittableRandom;

/**
 * A dense ReLU network and one Adam training step written as plain {@link Device} calls, for benchmarks: gather,
 * forward (GEMM NT + fused bias/ReLU), softmax cross-entropy, backward (GEMM TN for weights, NN for inputs, ReLU
 * backward fused with the bias gradient), one Adam pass over every parameter. It is not the trainer (that lives in
 * the engine); it is the same sequence of ops, so its time is the device's share of a real step.
 */
final class Mlp {
    final Device d;
    final int[] widths; // 784, hidden..., 10
    final int batch, samples;
    final Tensor images, labels, order, cursor, x, y, stats, params, grads, m, v, step, lr;
    final Tensor[] w, b, dw, db, h, dh; // per layer: W (O, I), b (1, O); h[l] (B, O) the layer's output
    private int stepInEpoch;

    Mlp(Device d, int[] widths, int batch, int samples, long seed) {
        this.d = d;
        this.widths = widths.clone();
        this.batch = batch;
        this.samples = samples;
        SplittableRandom rng = new SplittableRandom(seed);
        int layers = widths.length - 1, pixels = widths[0];
        Dataset set = TrainingRig.randomData(new LayerSpec(widths), samples, seed);
        images = d.allocate(DType.U8, samples, pixels);
        d.upload(set.pixels(), images);
        labels = d.allocate(DType.I32, samples, 1);
        d.upload(set.labels(), labels);
        order = d.allocate(DType.I32, samples, 1);
        d.upload(TrainingRig.shuffled(samples, rng), order); // a random order, as training shuffles each epoch
        cursor = d.allocate(DType.I32, 1, 1);
        x = d.allocate(DType.F32, batch, pixels);
        y = d.allocate(DType.I32, batch, 1);
        stats = d.allocate(DType.F32, 1, 2);
        int q = 0;
        for (int l = 0; l < layers; l++) {
            q += widths[l + 1] * (widths[l] + 1);
        }
        float[] init = new float[q];
        w = new Tensor[layers];
        b = new Tensor[layers];
        dw = new Tensor[layers];
        db = new Tensor[layers];
        h = new Tensor[layers];
        dh = new Tensor[layers];
        params = d.allocate(DType.F32, q, 1);
        grads = d.allocate(DType.F32, q, 1);
        long at = 0;
        for (int l = 0; l < layers; l++) {
            int in = widths[l], out = widths[l + 1];
            float scale = (float) Math.sqrt(6.0 / in); // He-uniform
            for (int i = 0; i < out * in; i++) {
                init[(int) at + i] = (float) rng.nextDouble(-scale, scale);
            }
            w[l] = params.slice(at, out, in);
            dw[l] = grads.slice(at, out, in);
            at += (long) out * in;
            b[l] = params.slice(at, 1, out);
            db[l] = grads.slice(at, 1, out);
            at += out;
            h[l] = d.allocate(DType.F32, batch, out);
            dh[l] = d.allocate(DType.F32, batch, out);
        }
        d.upload(init, params);
        m = d.allocate(DType.F32, q, 1);
        v = d.allocate(DType.F32, q, 1);
        step = d.allocate(DType.I32, 1, 1);
        lr = d.allocate(DType.F32, 1, 1);
        d.fill(lr, 1e-3f);
    }

    /** One training step on the next batch; wraps to the first batch after the last full one. */
    void step() {
        int layers = w.length;
        d.gatherBatch(images, labels, order, cursor, x, y);
        Tensor in = x;
        for (int l = 0; l < layers; l++) {
            d.gemm(false, true, 1f, in, w[l], 0f, h[l]);           // (B, O) = (B, I) (O, I)^T
            d.biasActivation(h[l], b[l], l < layers - 1);
            in = h[l];
        }
        Tensor logits = h[layers - 1], dlogits = dh[layers - 1];
        d.softmaxCrossEntropy(logits, y, dlogits, stats);
        for (int l = layers - 1; l >= 0; l--) {
            Tensor input = l == 0 ? x : h[l - 1];
            d.gemm(true, false, 1f, dh[l], input, 0f, dw[l]);      // dW (O, I) = dz^T (O, B) x (B, I)
            if (l == layers - 1) {
                d.columnSums(dh[l], db[l]);
            }
            if (l > 0) {
                d.gemm(false, false, 1f, dh[l], w[l], 0f, dh[l - 1]); // dx (B, I) = dz (B, O) W (O, I)
                d.reluBackward(dh[l - 1], h[l - 1], db[l - 1]);
            }
        }
        d.addInt(step, 1);
        d.adam(params, grads, m, v, step, lr, 0.9f, 0.999f, 1e-8f, 0f, false);
        d.addInt(cursor, batch);
        if (advance()) {
            d.fill(cursor, 0);
        }
    }

    /** Counts a step; true when the next one must start the order again (the caller then rewinds the cursor). */
    boolean advance() {
        if (++stepInEpoch == samples / batch) {
            stepInEpoch = 0;
            return true;
        }
        return false;
    }

    float[] parameters() {
        float[] out = new float[(int) params.size()];
        d.download(params, out);
        return out;
    }
}
