package dev.kiln.engine;

import dev.kiln.data.Dataset;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.ReferenceDevice;
import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.model.Mlp;
import dev.kiln.engine.optim.Optimizer;
import dev.kiln.engine.optim.OptimizerState;
import dev.kiln.engine.train.TrainingStep;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Kiln's real training step on the reference device against an independent numpy implementation
 * (src/test/python/make_golden.py): a 784-25-25-10 network, one fixed batch of 64, its logits, loss, every
 * gradient, and the parameters after 10 SGD steps (lr 0.1) and after 10 Adam steps (lr 1e-3).
 *
 * <p>Tolerances, all |kiln - numpy| <= atol + rtol * |numpy|, and why each is what it is. Both sides compute in
 * float32, but numpy's matrix products (BLAS) add in another order and may fuse multiply-adds, and its exp/log
 * differ from Java's double-then-round in the last bit. Each is about 10x the error observed when it was set
 * (in brackets), so a real change in the math (a missing term is ~1e-3) fails while reordering does not:
 * <ul>
 *   <li>logits, O(1) sums of 784 products: {@link #LOGITS} atol 1e-6 [1.3e-7];
 *   <li>loss, a mean of 64 logs: {@link #LOSS} atol 1e-6 [2.4e-7];
 *   <li>gradients, up to ~1e-2, small entries being sums of cancelling terms: {@link #GRADS} atol 5e-8 plus rtol
 *       1e-4 [7.5e-9];
 *   <li>10 SGD steps carry and mix each step's rounding, and the losses are O(2): {@link #SGD} atol 2e-6 [2.4e-7];
 *   <li>10 Adam steps: Adam divides by sqrt(v) + eps, so a gradient entry near eps turns a few-ulp gradient
 *       difference into an update difference up to lr * |dg| / eps: {@link #ADAM} atol 5e-6 [5.7e-7], 0.5% of one
 *       step of size lr.
 * </ul>
 */
class GoldenFileTest {
    record Tol(double atol, double rtol) {
    }

    static final Tol LOGITS = new Tol(1e-6, 0);
    static final Tol LOSS = new Tol(1e-6, 0);
    static final Tol GRADS = new Tol(5e-8, 1e-4);
    static final Tol SGD = new Tol(2e-6, 0);
    static final Tol ADAM = new Tol(5e-6, 0);
    static final int STEPS = 10;

    private static Map<String, float[]> golden;

    static synchronized Map<String, float[]> golden() throws IOException {
        if (golden == null) {
            Map<String, float[]> g = new HashMap<>();
            ByteBuffer bin;
            try (InputStream in = GoldenFileTest.class.getResourceAsStream("/golden/mlp784.bin")) {
                assertNotNull(in, "golden/mlp784.bin is missing: run engine/src/test/python/make_golden.py");
                bin = ByteBuffer.wrap(in.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
            }
            String index;
            try (InputStream in = GoldenFileTest.class.getResourceAsStream("/golden/mlp784.index")) {
                index = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            for (String line : index.split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.trim().split(" ");
                int n = Integer.parseInt(f[1]) * Integer.parseInt(f[2]);
                float[] v = new float[n];
                bin.position(Integer.parseInt(f[3]) * 4);
                bin.asFloatBuffer().get(v);
                g.put(f[0], v);
            }
            golden = g;
        }
        return golden;
    }

    private static final class Rig {
        final Device device = new ReferenceDevice();
        final Mlp mlp = new Mlp(device, new LayerSpec(784, 25, 25, 10));
        final TrainingStep step;

        Rig(Optimizer optimizer) throws IOException {
            Map<String, float[]> g = golden();
            mlp.setParameters(g.get("params0"));
            float[] px = g.get("pixels");
            byte[] bytes = new byte[px.length];
            for (int i = 0; i < px.length; i++) {
                bytes[i] = (byte) (int) px[i];
            }
            float[] lab = g.get("labels");
            int[] labels = new int[lab.length];
            for (int i = 0; i < lab.length; i++) {
                labels[i] = (int) lab[i];
            }
            DeviceDataset data = DeviceDataset.upload(device, new Dataset("golden", 28, 28, 10, bytes, labels));
            data.useIdentityOrder();
            step = new TrainingStep(mlp, new OptimizerState(device, optimizer, mlp.spec().parameterCount()), data, 64);
        }

        /** One step on the whole batch; returns its mean loss. */
        float run() {
            step.rewind();
            step.resetStats();
            step.fullBatch().run();
            return step.readStats()[0] / 64;
        }
    }

    @Test
    void logitsLossAndGradientsMatchNumpy() throws IOException {
        Rig rig = new Rig(new Optimizer.Sgd(0.1));
        float loss = rig.run();
        float[] logits = new float[640];
        rig.device.download(rig.step.logits(), logits);
        assertClose("logits", golden().get("logits"), logits, LOGITS);
        assertClose("loss", golden().get("loss"), new float[] {loss}, LOSS);
        assertClose("gradients", golden().get("grads"), rig.mlp.gradients(), GRADS);
    }

    @Test
    void tenSgdStepsMatchNumpy() throws IOException {
        Rig rig = new Rig(new Optimizer.Sgd(0.1));
        float[] losses = new float[STEPS];
        for (int s = 0; s < STEPS; s++) {
            losses[s] = rig.run();
        }
        assertClose("SGD losses", golden().get("sgd_losses"), losses, SGD);
        assertClose("SGD parameters", golden().get("sgd_params"), rig.mlp.parameters(), SGD);
    }

    @Test
    void tenAdamStepsMatchNumpy() throws IOException {
        Rig rig = new Rig(new Optimizer.Adam(1e-3));
        float[] losses = new float[STEPS];
        for (int s = 0; s < STEPS; s++) {
            losses[s] = rig.run();
        }
        assertClose("Adam losses", golden().get("adam_losses"), losses, ADAM);
        assertClose("Adam parameters", golden().get("adam_params"), rig.mlp.parameters(), ADAM);
    }

    /** Fails naming the first mismatch, the count and the largest error. */
    static void assertClose(String what, float[] expected, float[] actual, Tol tol) {
        assertEquals(expected.length, actual.length, what + ": length");
        int bad = 0, first = -1;
        double maxErr = 0;
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs((double) actual[i] - expected[i]);
            maxErr = Math.max(maxErr, err);
            if (!(err <= tol.atol() + tol.rtol() * Math.abs(expected[i]))) {
                bad++;
                if (first < 0) {
                    first = i;
                }
            }
        }
        System.out.printf("%s: max |error| %.3g (atol %.1g, rtol %.1g)%n", what, maxErr, tol.atol(), tol.rtol());
        if (bad > 0) {
            throw new AssertionError(what + ": " + bad + " of " + expected.length + " mismatches, first at " + first
                    + ": numpy " + expected[first] + ", kiln " + actual[first] + "; max |error| " + maxErr);
        }
    }
}
