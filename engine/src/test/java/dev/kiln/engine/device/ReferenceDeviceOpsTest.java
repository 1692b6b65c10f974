package dev.kiln.engine.device;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Every {@link ReferenceDevice} operation on a small example worked out by hand. */
class ReferenceDeviceOpsTest {
    private static final float TOL = 1e-6f;
    private final Device d = new ReferenceDevice();

    private Tensor f32(int rows, int cols, float... values) {
        Tensor t = d.allocate(DType.F32, rows, cols);
        d.upload(values, t);
        return t;
    }

    private Tensor i32(int rows, int cols, int... values) {
        Tensor t = d.allocate(DType.I32, rows, cols);
        d.upload(values, t);
        return t;
    }

    private float[] get(Tensor t) {
        float[] v = new float[(int) t.size()];
        d.download(t, v);
        return v;
    }

    private int[] getInt(Tensor t) {
        int[] v = new int[(int) t.size()];
        d.download(t, v);
        return v;
    }

    // A (2,3) = [[1,2,3],[4,5,6]], B (3,2) = [[7,8],[9,10],[11,12]]: A B = [[58,64],[139,154]].
    private static final float[] AB = {58, 64, 139, 154};

    @Test
    void gemmAllFourTransposeCombinations() {
        Tensor a = f32(2, 3, 1, 2, 3, 4, 5, 6);
        Tensor at = f32(3, 2, 1, 4, 2, 5, 3, 6);
        Tensor b = f32(3, 2, 7, 8, 9, 10, 11, 12);
        Tensor bt = f32(2, 3, 7, 9, 11, 8, 10, 12);
        Tensor c = d.allocate(DType.F32, 2, 2);
        d.gemm(false, false, 1, a, b, 0, c);
        assertArrayEquals(AB, get(c), TOL);
        d.gemm(true, false, 1, at, b, 0, c);
        assertArrayEquals(AB, get(c), TOL);
        d.gemm(false, true, 1, a, bt, 0, c);
        assertArrayEquals(AB, get(c), TOL);
        d.gemm(true, true, 1, at, bt, 0, c);
        assertArrayEquals(AB, get(c), TOL);
    }

    @Test
    void gemmAlphaBetaAndBetaZeroIgnoresNaN() {
        Tensor a = f32(2, 3, 1, 2, 3, 4, 5, 6);
        Tensor b = f32(3, 2, 7, 8, 9, 10, 11, 12);
        Tensor c = f32(2, 2, 1, 2, 3, 4);
        d.gemm(false, false, 2, a, b, 0.5f, c);
        assertArrayEquals(new float[] {116.5f, 129, 279.5f, 310}, get(c), TOL);
        d.fill(c, Float.NaN);
        d.gemm(false, false, 1, a, b, 0, c);
        assertArrayEquals(AB, get(c), TOL);
        assertThrows(IllegalArgumentException.class, () -> d.gemm(false, false, 1, a, a, 0, c));
    }

    @Test
    void biasActivationWithAndWithoutRelu() {
        Tensor bias = f32(1, 2, 0.5f, 1);
        Tensor z = f32(2, 2, 1, -2, -3, 4);
        d.biasActivation(z, bias, true);
        assertArrayEquals(new float[] {1.5f, 0, 0, 5}, get(z), TOL);
        Tensor z2 = f32(2, 2, 1, -2, -3, 4);
        d.biasActivation(z2, bias, false);
        assertArrayEquals(new float[] {1.5f, -1, -2.5f, 5}, get(z2), TOL);
    }

    @Test
    void reluBackwardMasksAndSumsColumns() {
        Tensor dh = f32(2, 2, 1, 2, 3, 4);
        Tensor h = f32(2, 2, 0.5f, 0, 0, 2);
        Tensor db = f32(1, 2, 99, 99);
        d.reluBackward(dh, h, db);
        assertArrayEquals(new float[] {1, 0, 0, 4}, get(dh), TOL);
        assertArrayEquals(new float[] {1, 4}, get(db), TOL);
    }

    @Test
    void columnSums() {
        Tensor x = f32(3, 2, 1, 2, 3, 4, 5, 6);
        Tensor out = f32(1, 2, 99, 99);
        d.columnSums(x, out);
        assertArrayEquals(new float[] {9, 12}, get(out), TOL);
    }

    @Test
    void softmaxCrossEntropyLossGradientAndNoOverflow() {
        // Row 0: equal logits, p = (1/2, 1/2), label 0: loss ln 2.
        // Row 1: logits (1e4, 0), label 1: p = (1, e^-1e4 = 0): loss 1e4, finite because the max is subtracted.
        Tensor logits = f32(2, 2, 0, 0, 1e4f, 0);
        Tensor labels = i32(2, 1, 0, 1);
        Tensor dlogits = d.allocate(DType.F32, 2, 2);
        Tensor stats = f32(1, 2, 1, 7); // accumulates on top of what is there
        d.softmaxCrossEntropy(logits, labels, dlogits, stats);
        float[] s = get(stats);
        assertEquals(1 + Math.log(2) + 1e4, s[0], 2e-3); // float spacing at 1e4 is 1e-3
        assertEquals(7, s[1]);
        // (softmax - onehot) / B with B = 2
        assertArrayEquals(new float[] {-0.25f, 0.25f, 0.5f, -0.5f}, get(dlogits), TOL);
    }

    @Test
    void softmaxCrossEntropyThreeClasses() {
        Tensor logits = f32(1, 3, 1, 2, 3);
        Tensor labels = i32(1, 1, 2);
        Tensor dlogits = d.allocate(DType.F32, 1, 3);
        Tensor stats = d.allocate(DType.F32, 1, 2);
        d.softmaxCrossEntropy(logits, labels, dlogits, stats);
        double sum = Math.exp(1) + Math.exp(2) + Math.exp(3);
        assertEquals(Math.log(1 + Math.exp(-1) + Math.exp(-2)), get(stats)[0], TOL);
        assertArrayEquals(new float[] {(float) (Math.exp(1) / sum), (float) (Math.exp(2) / sum), (float) (Math.exp(3) / sum - 1)},
                get(dlogits), TOL);
    }

    @Test
    void countCorrectAndArgmaxTiesGoToTheLowestIndex() {
        Tensor logits = f32(3, 3, 1, 3, 2, 5, 5, 0, 0, 7, 7);
        Tensor labels = i32(3, 1, 1, 0, 2);
        Tensor stats = f32(1, 2, 0, 10);
        d.countCorrect(logits, labels, stats);
        assertArrayEquals(new float[] {0, 12}, get(stats)); // rows 0 and 1 right; row 2's tie goes to class 1
        Tensor preds = d.allocate(DType.I32, 3, 1);
        d.argmax(logits, preds);
        assertArrayEquals(new int[] {1, 0, 1}, getInt(preds));
    }

    @Test
    void gatherBatchFollowsOrderFromCursorAndScales() {
        Tensor images = d.allocate(DType.U8, 3, 2);
        d.upload(new byte[] {0, (byte) 255, 51, 102, (byte) 255, 0}, images);
        Tensor labels = i32(3, 1, 7, 8, 9);
        Tensor order = i32(3, 1, 2, 0, 1);
        Tensor cursor = i32(1, 1, 1);
        Tensor x = d.allocate(DType.F32, 2, 2);
        Tensor y = d.allocate(DType.I32, 2, 1);
        d.gatherBatch(images, labels, order, cursor, x, y);
        // positions 1 and 2 of the order are samples 0 and 1
        assertArrayEquals(new float[] {0, 1, 0.2f, 0.4f}, get(x), TOL);
        assertArrayEquals(new int[] {7, 8}, getInt(y));
        d.addInt(cursor, 1);
        assertArrayEquals(new int[] {2}, getInt(cursor));
        assertThrows(IllegalArgumentException.class, () -> d.gatherBatch(images, labels, order, cursor, x, y));
    }

    @Test
    void sgdWithMomentumAndWeightDecay() {
        Tensor p = f32(1, 2, 1, -2);
        Tensor g = f32(1, 2, 0.5f, 0.5f);
        Tensor v = f32(1, 2, 0.1f, 0.2f);
        Tensor lr = f32(1, 1, 0.1f);
        d.sgd(p, g, v, lr, 0.9f, 0.01f);
        // g' = g + 0.01 p = (0.51, 0.48); v = 0.9 v + g' = (0.6, 0.66); p -= 0.1 v
        assertArrayEquals(new float[] {0.6f, 0.66f}, get(v), TOL);
        assertArrayEquals(new float[] {0.94f, -2.066f}, get(p), TOL);
    }

    @Test
    void sgdWithoutMomentumLeavesVelocityAlone() {
        Tensor p = f32(1, 2, 1, -2);
        Tensor g = f32(1, 2, 0.5f, 0.5f);
        Tensor v = f32(1, 2, 3, 4);
        d.sgd(p, g, v, f32(1, 1, 0.1f), 0, 0);
        assertArrayEquals(new float[] {0.95f, -2.05f}, get(p), TOL);
        assertArrayEquals(new float[] {3, 4}, get(v));
    }

    @Test
    void adamFirstThreeStepsMatchThePaper() {
        Tensor p = f32(1, 1, 1);
        Tensor m = d.allocate(DType.F32, 1, 1);
        Tensor v = d.allocate(DType.F32, 1, 1);
        Tensor step = d.allocate(DType.I32, 1, 1);
        Tensor lr = f32(1, 1, 0.01f);
        double[] grads = {0.5, -0.25, 1.0};
        // By hand: t=1: m = 0.05, v = 0.00025, mHat = 0.5, vHat = 0.25, p = 1 - 0.01 * 0.5 / (0.5 + 1e-8) = 0.99.
        // t=2: m = 0.02, v = 0.00031225, mHat = 0.02/0.19, vHat = 0.00031225/0.001999, p = 0.99 - 0.0026633.
        // t=3: m = 0.118, v = 0.00131193775, mHat = 0.118/0.271, vHat = 0.00131193775/0.002997001.
        double[] expected = {0.99, 0.99 - 0.0026633, 0.99 - 0.0026633 - 0.01 * (0.118 / 0.271) / Math.sqrt(0.00131193775 / 0.002997001)};
        double[] expectedM = {0.05, 0.02, 0.118};
        double[] expectedV = {0.00025, 0.00031225, 0.00131193775};
        for (int t = 0; t < 3; t++) {
            Tensor g = f32(1, 1, (float) grads[t]);
            d.addInt(step, 1);
            d.adam(p, g, m, v, step, lr, 0.9f, 0.999f, 1e-8f, 0, false);
            assertEquals(expectedM[t], get(m)[0], 1e-7, "m at t=" + (t + 1));
            // 1 - 0.999f is 0.00099998713 in float: v carries that 1.3e-5 relative offset
            assertEquals(expectedV[t], get(v)[0], 2e-5 * expectedV[t], "v at t=" + (t + 1));
            assertEquals(expected[t], get(p)[0], 2e-6, "p at t=" + (t + 1));
        }
    }

    @Test
    void adamWeightDecayCoupledAndDecoupled() {
        // zero gradient, weight 2, wd 0.1, lr 0.01
        Tensor lr = f32(1, 1, 0.01f);
        Tensor step = i32(1, 1, 1);
        Tensor p = f32(1, 1, 2);
        d.adam(p, f32(1, 1, 0), d.allocate(DType.F32, 1, 1), d.allocate(DType.F32, 1, 1), step, lr,
                0.9f, 0.999f, 1e-8f, 0.1f, true);
        // AdamW: p *= 1 - lr * wd; the moments stay 0, so the Adam step is 0
        assertEquals(2 * (1 - 0.001), get(p)[0], TOL);
        Tensor q = f32(1, 1, 2);
        d.adam(q, f32(1, 1, 0), d.allocate(DType.F32, 1, 1), d.allocate(DType.F32, 1, 1), step, lr,
                0.9f, 0.999f, 1e-8f, 0.1f, false);
        // L2: g = 0.1 * 2 = 0.2, mHat = 0.2, vHat = 0.04: p = 2 - 0.01 * 0.2 / 0.2
        assertEquals(1.99, get(q)[0], TOL);
    }

    @Test
    void fillAndViews() {
        Tensor t = d.allocate(DType.F32, 2, 3);
        d.fill(t.slice(2, 1, 3), 5);
        assertArrayEquals(new float[] {0, 0, 5, 5, 5, 0}, get(t));
        Tensor n = d.allocate(DType.I32, 1, 2);
        d.fill(n, 3.9f);
        assertArrayEquals(new int[] {3, 3}, getInt(n));
    }
}
