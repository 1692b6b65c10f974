package dev.kiln.engine.model;

import dev.kiln.data.Dataset;
import dev.kiln.engine.DeviceDataset;
import dev.kiln.engine.ReplicatedReference;
import dev.kiln.engine.TestData;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.ReferenceDevice;
import dev.kiln.engine.optim.Optimizer;
import dev.kiln.engine.optim.OptimizerState;
import dev.kiln.engine.train.TrainingStep;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole network's gradients, in two stages. First an independent double-precision implementation of the same
 * math (written here, not shared with the engine) is checked against central finite differences: relative error
 * under 1e-6. Then the engine's float gradients, from the real training step on the reference device, are compared
 * with those double gradients at float tolerance.
 */
class GradientCheckTest {
    private static final LayerSpec SPEC = new LayerSpec(6, 5, 4, 3);

    /** Mean softmax cross-entropy of a ReLU MLP, and its gradient, in double. */
    static final class DoubleMlp {
        final LayerSpec spec;

        DoubleMlp(LayerSpec spec) {
            this.spec = spec;
        }

        /** Logits (B, C) for inputs x (B, I). */
        double[][] logits(double[] p, double[][] x) {
            return forward(p, x)[spec.layerCount()];
        }

        /** Activations per layer: [0] = x, [l + 1] = output of layer l (ReLU for hidden layers). */
        double[][][] forward(double[] p, double[][] x) {
            int layers = spec.layerCount();
            double[][][] h = new double[layers + 1][][];
            h[0] = x;
            for (int l = 0; l < layers; l++) {
                int in = spec.inputs(l), out = spec.outputs(l);
                h[l + 1] = new double[x.length][out];
                for (int r = 0; r < x.length; r++) {
                    for (int o = 0; o < out; o++) {
                        double z = p[spec.biasOffset(l) + o];
                        for (int i = 0; i < in; i++) {
                            z += h[l][r][i] * p[spec.weightOffset(l) + o * in + i];
                        }
                        h[l + 1][r][o] = l < layers - 1 ? Math.max(z, 0) : z;
                    }
                }
            }
            return h;
        }

        double loss(double[] p, double[][] x, int[] y) {
            double[][] z = logits(p, x);
            double sum = 0;
            for (int r = 0; r < x.length; r++) {
                sum += -Math.log(softmax(z[r])[y[r]]);
            }
            return sum / x.length;
        }

        double[] gradient(double[] p, double[][] x, int[] y) {
            int layers = spec.layerCount();
            double[][][] h = forward(p, x);
            double[] g = new double[p.length];
            double[][] dz = new double[x.length][];
            for (int r = 0; r < x.length; r++) {
                dz[r] = softmax(h[layers][r]);
                dz[r][y[r]] -= 1;
                for (int c = 0; c < dz[r].length; c++) {
                    dz[r][c] /= x.length;
                }
            }
            for (int l = layers - 1; l >= 0; l--) {
                int in = spec.inputs(l), out = spec.outputs(l);
                double[][] dh = new double[x.length][in];
                for (int r = 0; r < x.length; r++) {
                    for (int o = 0; o < out; o++) {
                        g[spec.biasOffset(l) + o] += dz[r][o];
                        for (int i = 0; i < in; i++) {
                            g[spec.weightOffset(l) + o * in + i] += dz[r][o] * h[l][r][i];
                            dh[r][i] += dz[r][o] * p[spec.weightOffset(l) + o * in + i];
                        }
                    }
                }
                for (int r = 0; r < x.length; r++) {
                    for (int i = 0; i < in; i++) {
                        dh[r][i] = h[l][r][i] > 0 ? dh[r][i] : 0;
                    }
                }
                dz = dh;
            }
            return g;
        }

        static double[] softmax(double[] z) {
            double max = Double.NEGATIVE_INFINITY;
            for (double v : z) {
                max = Math.max(max, v);
            }
            double sum = 0;
            double[] p = new double[z.length];
            for (int i = 0; i < z.length; i++) {
                p[i] = Math.exp(z[i] - max);
                sum += p[i];
            }
            for (int i = 0; i < z.length; i++) {
                p[i] /= sum;
            }
            return p;
        }
    }

    private static double[][] inputs(Dataset d, int[] rows) {
        double[][] x = new double[rows.length][d.pixelsPerSample()];
        for (int r = 0; r < rows.length; r++) {
            for (int p = 0; p < x[r].length; p++) {
                x[r][p] = d.pixel(rows[r], p) / 255f; // the same float scaling the device's gather does
            }
        }
        return x;
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    @Test
    void doubleGradientsMatchCentralFiniteDifferences() {
        Dataset data = TestData.random("fd", 7, 6, 3, 5);
        int[] rows = {0, 1, 2, 3, 4, 5, 6};
        double[][] x = inputs(data, rows);
        int[] y = data.labels();
        double[] p = toDouble(Init.PYTORCH_DEFAULT.initialize(SPEC, 11));
        DoubleMlp net = new DoubleMlp(SPEC);
        double[] analytic = net.gradient(p, x, y);
        double[] numeric = new double[p.length];
        double h = 1e-6;
        for (int i = 0; i < p.length; i++) {
            double keep = p[i];
            p[i] = keep + h;
            double up = net.loss(p, x, y);
            p[i] = keep - h;
            double down = net.loss(p, x, y);
            p[i] = keep;
            numeric[i] = (up - down) / (2 * h);
        }
        double diff = 0, norm = 0;
        for (int i = 0; i < p.length; i++) {
            diff += (analytic[i] - numeric[i]) * (analytic[i] - numeric[i]);
            norm += analytic[i] * analytic[i] + numeric[i] * numeric[i];
        }
        double relative = Math.sqrt(diff) / Math.sqrt(norm);
        assertTrue(relative < 1e-6, "relative error of the gradient " + relative);
        assertTrue(Math.sqrt(norm) > 1e-3, "the check needs a gradient that is not ~0");
    }

    @Test
    void deviceGradientsMatchTheDoubleImplementationIncludingThePartialBatch() {
        deviceGradientsMatchTheDoubleImplementation(new ReferenceDevice());
    }

    /** Full batch as replicas of 2 + 2 rows, the partial batch in 1 + 2: each replica's rows, cursor and share. */
    @Test
    void replicatedStepGradientsMatchTheDoubleImplementationIncludingThePartialBatch() {
        deviceGradientsMatchTheDoubleImplementation(new ReplicatedReference(2));
    }

    private static void deviceGradientsMatchTheDoubleImplementation(Device device) {
        Dataset data = TestData.random("grad", 7, 6, 3, 9);
        float[] params = Init.PYTORCH_DEFAULT.initialize(SPEC, 3);
        Mlp mlp = new Mlp(device, SPEC);
        mlp.setParameters(params);
        DeviceDataset dd = DeviceDataset.upload(device, data);
        int[] order = {4, 2, 6, 0, 1, 5, 3};
        dd.setOrder(order);
        // SGD with a tiny rate: the step still runs its update, but the gradient tensor is what we compare
        OptimizerState opt = new OptimizerState(device, new Optimizer.Sgd(1e-30), SPEC.parameterCount());
        TrainingStep step = new TrainingStep(mlp, opt, dd, 4); // one batch of 4, then a partial batch of 3
        step.rewind();
        step.resetStats();
        DoubleMlp net = new DoubleMlp(SPEC);

        step.fullBatch().run();
        int[] first = {4, 2, 6, 0};
        compare(net.gradient(toDouble(params), inputs(data, first), labels(data, first)), mlp.gradients(), "full batch");
        double loss1 = net.loss(toDouble(params), inputs(data, first), labels(data, first));

        step.partialBatch().run();
        int[] rest = {1, 5, 3};
        compare(net.gradient(toDouble(params), inputs(data, rest), labels(data, rest)), mlp.gradients(), "partial batch");
        double loss2 = net.loss(toDouble(params), inputs(data, rest), labels(data, rest));
        assertEquals(loss1 * 4 + loss2 * 3, step.readStats()[0], 1e-5, "loss sum over the epoch");
    }

    private static int[] labels(Dataset d, int[] rows) {
        int[] y = new int[rows.length];
        for (int r = 0; r < rows.length; r++) {
            y[r] = d.label(rows[r]);
        }
        return y;
    }

    /** Float gradients against double ones: a few float roundings of values of size ~max|g| each. */
    private static void compare(double[] expected, float[] actual, String what) {
        double scale = 0;
        for (double e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        for (int i = 0; i < expected.length; i++) {
            double tol = 1e-6 * scale + 1e-5 * Math.abs(expected[i]);
            assertEquals(expected[i], actual[i], tol, what + ": gradient " + i);
        }
    }
}
