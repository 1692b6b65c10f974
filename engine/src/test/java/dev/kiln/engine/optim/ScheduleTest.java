package dev.kiln.engine.optim;

import dev.kiln.data.KilnException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ScheduleTest {

    @Test
    void constantStepAndCosine() {
        assertEquals(0.1, new Schedule.Constant().lr(0.1, 7, 10));
        Schedule step = new Schedule.StepDecay(2, 0.5);
        assertEquals(0.1, step.lr(0.1, 0, 10), 1e-15);
        assertEquals(0.1, step.lr(0.1, 1, 10), 1e-15);
        assertEquals(0.05, step.lr(0.1, 2, 10), 1e-15);
        assertEquals(0.025, step.lr(0.1, 5, 10), 1e-15);
        Schedule cos = new Schedule.Cosine(0);
        assertEquals(0.1, cos.lr(0.1, 0, 4), 1e-15);
        assertEquals(0.05, cos.lr(0.1, 2, 4), 1e-15); // halfway
        assertEquals(0.1 * (1 + Math.cos(Math.PI * 3 / 4)) / 2, cos.lr(0.1, 3, 4), 1e-15);
        Schedule floor = new Schedule.Cosine(0.01);
        assertEquals(0.055, floor.lr(0.1, 2, 4), 1e-15);
        assertTrue(floor.lr(0.1, 3, 4) > 0.01);
    }

    @Test
    void parsesWhatItPrints() {
        for (String s : new String[] {"constant", "step:10:0.5", "cosine", "cosine:1.0E-5"}) {
            assertEquals(s, Schedule.parse(s).toString());
        }
        assertEquals(new Schedule.StepDecay(3, 0.1), Schedule.parse("step:3:0.1"));
        assertThrows(KilnException.class, () -> Schedule.parse("step:3"));
        assertThrows(KilnException.class, () -> Schedule.parse("step:0:0.5"));
        assertThrows(KilnException.class, () -> Schedule.parse("cosine:x"));
        assertEquals("unknown learning-rate schedule 'linear'", assertThrows(KilnException.class, () -> Schedule.parse("linear")).getMessage());
    }

    @Test
    void optimizerConfigsCheckTheirNumbers() {
        assertEquals(new Optimizer.Adam(1e-3, 0.9, 0.999, 1e-8, 0, false), Optimizer.Adam.defaults());
        assertEquals(java.util.List.of("m", "v"), Optimizer.Adam.defaults().stateNames());
        assertEquals(0.5, Optimizer.Adam.adamW(1e-3, 0.01).withLr(0.5).lr());
        assertTrue(Optimizer.Adam.adamW(1e-3, 0.01).decoupled());
        assertThrows(KilnException.class, () -> new Optimizer.Sgd(-1));
        assertThrows(KilnException.class, () -> new Optimizer.Sgd(Double.NaN));
        assertThrows(KilnException.class, () -> new Optimizer.Sgd(0.1, 1.0, 0));
        assertThrows(KilnException.class, () -> new Optimizer.Adam(1e-3, 1.0, 0.999, 1e-8, 0, false));
        assertThrows(KilnException.class, () -> new Optimizer.Adam(1e-3, 0.9, 0.999, 0, 0, false));
    }
}
