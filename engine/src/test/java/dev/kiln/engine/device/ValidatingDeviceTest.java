package dev.kiln.engine.device;

import dev.kiln.data.Dataset;
import dev.kiln.data.KilnException;
import dev.kiln.engine.TestData;
import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.optim.Optimizer;
import dev.kiln.engine.train.EpochMetrics;
import dev.kiln.engine.train.TrainConfig;
import dev.kiln.engine.train.Trainer;
import dev.kiln.engine.train.TrainingResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ValidatingDeviceTest {
    private static final LayerSpec SPEC = new LayerSpec(16, 8, 4);
    // 203 samples, batch 16: 12 full batches and a partial one of 11 (firstRows views); the test set of 50 with
    // evaluation batches of 16 ends on a partial batch of 2
    private static final Dataset TRAIN = TestData.separable("train", 203, 16, 4, 1);
    private static final Dataset TEST = TestData.separable("test", 50, 16, 4, 2);

    private static TrainConfig config(Optimizer optimizer) {
        return TrainConfig.defaults().withEpochs(2).withBatchSize(16).withEvalBatchSize(16).withSeed(7)
                .withOptimizer(optimizer).withProgressEverySteps(5);
    }

    /** Every CPU device on the test class path (the reference, and the fast CPU device where it is built). */
    static Stream<String> cpuDevices() {
        return Devices.providers().stream().filter(p -> p.availability().usable()).map(DeviceProvider::kind)
                .filter(k -> !k.startsWith("cuda"));
    }

    static List<Optimizer> optimizers() {
        return List.of(new Optimizer.Adam(0.01), new Optimizer.Sgd(0.1, 0.9, 1e-4));
    }

    @ParameterizedTest
    @MethodSource("cpuDevices")
    void aValidatedRunAgreesAndComputesWhatTheDeviceAloneWould(String kind) {
        for (Optimizer optimizer : optimizers()) {
            TrainConfig config = config(optimizer);
            Trainer plain = Trainer.fresh(Devices.open(kind, DeviceOptions.DEFAULTS).device(), SPEC, config);
            TrainingResult want = plain.fit(TRAIN, TEST, null);

            try (ValidatingDevice validating = new ValidatingDevice(Devices.open(kind, DeviceOptions.DEFAULTS).device())) {
                Trainer checked = Trainer.fresh(validating, SPEC, config);
                TrainingResult got = checked.fit(TRAIN, TEST, null);

                assertArrayEquals(plain.model().parameters(), checked.model().parameters(), kind + " " + optimizer);
                assertArrayEquals(plain.optimizerState().download()[0], checked.optimizerState().download()[0]);
                for (int e = 0; e < 2; e++) {
                    EpochMetrics a = want.epochs().get(e), b = got.epochs().get(e);
                    assertEquals(a.trainLoss(), b.trainLoss(), 0);
                    assertEquals(a.testAccuracy(), b.testAccuracy(), 0);
                }
                assertEquals(kind + "+validate", got.last().device());
                // per step at least: gather, 2 gemm + 2 bias forward, loss, count, 3 gemm + reluBackward +
                // columnSums backward, update, cursor
                assertTrue(validating.validatedOps() >= 2 * 13 * 14, "validated " + validating.validatedOps());
            }
        }
    }

    @Test
    void differencesWithinToleranceDoNotCompoundIntoAFalseAlarm() {
        // every gemm output off by half of sum(k)'s absolute tolerance: accepted, but the exact ops after it (bias,
        // ReLU) would disagree if the reference went on from its own values instead of the candidate's
        Device sloppy = new ReferenceDevice() {
            @Override
            public void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c) {
                super.gemm(transA, transB, alpha, a, b, beta, c);
                float[] cv = f32(c);
                float k = transA ? a.rows() : a.cols();
                for (int i = 0; i < c.size(); i++) {
                    cv[off(c) + i] += 1e-6f * k;
                }
            }
        };
        try (ValidatingDevice v = new ValidatingDevice(sloppy)) {
            Trainer t = Trainer.fresh(v, SPEC, config(new Optimizer.Adam(0.01)).withEpochs(1));
            t.fit(TRAIN, null, null);
            assertTrue(v.validatedOps() > 13 * 14, "validated " + v.validatedOps());
        }
    }

    @Test
    void aGemmThatIsOffByOneElementIsCaughtAndNamed() {
        // the weight gradient dW = dZ^T X (transA) of the first layer, and only that, is wrong in one element
        Device broken = new ReferenceDevice() {
            @Override
            public String name() {
                return "broken";
            }

            @Override
            public void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c) {
                super.gemm(transA, transB, alpha, a, b, beta, c);
                if (transA && c.rows() == 8 && c.cols() == 16) {
                    f32(c)[off(c) + 21] += 1e-2f;
                }
            }
        };
        KilnException e = trainExpectingFailure(broken);
        assertTrue(e.getMessage().startsWith("validate: gemmTN (A 16x8, B 16x16, C 8x16, alpha 1.0, beta 0.0) disagrees"
                + " with the reference after "), e.getMessage());
        assertTrue(e.getMessage().contains("C[21] (row 1, col 5) got "), e.getMessage());
        assertTrue(e.getMessage().contains("1 of 128 elements outside tolerance, max abs error 0.0100"), e.getMessage());
        assertTrue(e.getMessage().contains("(sums of 16 terms in a different order"), e.getMessage());
        assertEquals("the broken implementation of gemmTN disagrees with the reference; report it with this line", e.hint());
    }

    @Test
    void aReluBackwardThatForgetsTheMaskIsCaught() {
        Device broken = new ReferenceDevice() {
            @Override
            public void reluBackward(Tensor dh, Tensor h, Tensor dbias) {
                columnSums(dh, dbias);
            }
        };
        KilnException e = trainExpectingFailure(broken);
        assertTrue(e.getMessage().startsWith("validate: reluBackward (dh 16x8, h 16x8, dbias 1x8) disagrees"), e.getMessage());
        assertTrue(e.getMessage().contains(": dh["), e.getMessage());
        assertTrue(e.hint().contains("reference implementation of reluBackward"), e.hint());
    }

    @Test
    void theShortLastBatchIsCheckedToo() {
        // wrong only on the 11-row view of the activation buffers: the last step of each epoch
        Device broken = new ReferenceDevice() {
            @Override
            public void biasActivation(Tensor z, Tensor bias, boolean relu) {
                super.biasActivation(z, bias, relu);
                if (z.rows() == 11 && relu) {
                    f32(z)[off(z) + z.cols() * 10] = -1f; // the last row: a ReLU output cannot be negative
                }
            }
        };
        KilnException e = trainExpectingFailure(broken);
        assertTrue(e.getMessage().startsWith("validate: biasActivation(relu) (z 11x8, bias 1x8) disagrees with the"
                + " reference after "), e.getMessage());
        assertTrue(e.getMessage().contains("z[80] (row 10, col 0) got -1.0 want "), e.getMessage());
    }

    private static KilnException trainExpectingFailure(Device candidate) {
        try (ValidatingDevice validating = new ValidatingDevice(candidate)) {
            Trainer t = Trainer.fresh(validating, SPEC, config(new Optimizer.Adam(0.01)));
            return assertThrows(KilnException.class, () -> t.fit(TRAIN, TEST, null));
        }
    }

    @Test
    void viewsMapToTheSameWindowEvenWhereTheInnerAllocationsStartElsewhere() {
        // a candidate that hands out windows in the middle of larger arrays, as a pooled allocator would
        Device offset = new ReferenceDevice() {
            @Override
            public Tensor allocate(DType dtype, int rows, int cols) {
                Tensor big = super.allocate(dtype, rows + 3, cols);
                return new Tensor(this, big.storage(), dtype, 2L * cols, rows, cols);
            }
        };
        try (ValidatingDevice v = new ValidatingDevice(offset)) {
            Tensor flat = v.allocate(DType.F32, 1, 12);          // (1, Q), as a parameter vector
            v.upload(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, flat);
            Tensor w = flat.slice(2, 2, 3);                      // (2, 3) weight view
            Tensor x = v.allocate(DType.F32, 4, 3);
            v.upload(new float[] {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}, x);
            Tensor z = v.allocate(DType.F32, 4, 2);
            v.gemm(false, true, 1f, x.firstRows(3), w, 0f, z.firstRows(3)); // a partial batch of 3
            v.columnSums(z.reshape(2, 4), flat.slice(8, 1, 4));
            float[] z4 = new float[8], p = new float[12];
            v.download(z, z4);
            v.download(flat, p);
            assertArrayEquals(new float[] {3, 6, 4, 7, 5, 8, 0, 0}, z4, "x[:3] W^T, and the 4th row untouched");
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 3 + 5, 6 + 8, 4, 7}, p);
            assertEquals(2, v.validatedOps());
        }
    }

    @Test
    void aTensorOfAnotherDeviceIsRefused() {
        try (ValidatingDevice v = new ValidatingDevice(new ReferenceDevice())) {
            Tensor foreign = new ReferenceDevice().allocate(DType.F32, 1, 2);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> v.fill(foreign, 1f));
            assertTrue(e.getMessage().contains("was not allocated by the validating device reference+validate"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new ValidatingDevice(v));
        }
    }

    @Test
    void namesItselfAfterTheCandidateAndClosesIt() {
        boolean[] closed = {false};
        Supplier<Device> candidate = () -> new ReferenceDevice() {
            @Override
            public void close() {
                closed[0] = true;
            }
        };
        ValidatingDevice v = new ValidatingDevice(candidate.get());
        assertEquals("reference+validate", v.name());
        assertTrue(v.description().startsWith("reference CPU device"), v.description());
        assertTrue(v.description().endsWith("every op validated against the reference CPU device"), v.description());
        Runnable body = () -> { };
        assertEquals(body, v.replayable(body), "no capture: the body runs eagerly through the checks");
        v.close();
        assertTrue(closed[0]);
    }
}
