package dev.kiln.engine.model;

import dev.kiln.data.KilnException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InitTest {
    private static final LayerSpec SPEC = new LayerSpec(784, 25, 25, 10);

    @Test
    void seededAndReproducibleBitForBit() {
        for (Init init : Init.values()) {
            assertArrayEquals(init.initialize(SPEC, 42), init.initialize(SPEC, 42), init.name());
            assertFalse(java.util.Arrays.equals(init.initialize(SPEC, 42), init.initialize(SPEC, 43)), init.name());
        }
    }

    @Test
    void pytorchDefaultIsUniformWithinOneOverSqrtFanIn() {
        float[] p = Init.PYTORCH_DEFAULT.initialize(SPEC, 1);
        for (int l = 0; l < SPEC.layerCount(); l++) {
            double bound = 1 / Math.sqrt(SPEC.inputs(l));
            int w = SPEC.weightOffset(l), n = SPEC.inputs(l) * SPEC.outputs(l);
            double max = 0, sumSq = 0;
            for (int i = w; i < w + n + SPEC.outputs(l); i++) { // weights and the bias after them
                assertTrue(Math.abs(p[i]) <= bound, "layer " + l + " value " + p[i]);
                max = Math.max(max, Math.abs(p[i]));
                if (i < w + n) {
                    sumSq += p[i] * p[i];
                }
            }
            assertTrue(max > 0.9 * bound, "fills its range");
            // U(-a, a) has variance a^2 / 3
            assertEquals(bound * bound / 3, sumSq / n, 0.2 * bound * bound / 3, "layer " + l + " variance");
        }
    }

    @Test
    void heNormalAndXavierHaveTheirScaleAndZeroBiases() {
        float[] he = Init.HE_NORMAL.initialize(SPEC, 2);
        float[] xa = Init.XAVIER_UNIFORM.initialize(SPEC, 2);
        int n = 784 * 25;
        double heVar = 0, xaVar = 0;
        for (int i = 0; i < n; i++) {
            heVar += he[i] * he[i];
            xaVar += xa[i] * xa[i];
            assertTrue(Math.abs(xa[i]) <= Math.sqrt(6.0 / (784 + 25)));
        }
        assertEquals(2.0 / 784, heVar / n, 0.05 * 2.0 / 784);
        assertEquals(2.0 / (784 + 25), xaVar / n, 0.05 * 2.0 / (784 + 25));
        for (int i = SPEC.biasOffset(0); i < SPEC.biasOffset(0) + 25; i++) {
            assertEquals(0f, he[i]);
            assertEquals(0f, xa[i]);
        }
    }

    @Test
    void parsesCliNames() {
        assertEquals(Init.HE_NORMAL, Init.parse("He"));
        assertEquals(Init.PYTORCH_DEFAULT, Init.parse("pytorch"));
        assertEquals("unknown initialisation 'glorot'", assertThrows(KilnException.class, () -> Init.parse("glorot")).getMessage());
    }
}
