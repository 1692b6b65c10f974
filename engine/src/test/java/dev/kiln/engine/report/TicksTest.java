package dev.kiln.engine.report;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TicksTest {
    @Test
    void ticksAreNiceAndCoverTheData() {
        Ticks t = Ticks.cover(0.083, 0.61, 5);
        assertEquals(List.of(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7), t.ticks());
        assertEquals("0.3", t.label(0.3, false));
        Ticks p = Ticks.cover(0.9012, 0.9871, 5);
        assertEquals("90%", p.label(0.9, true));
        assertTrue(p.lo() <= 0.9012 && p.hi() >= 0.9871);
    }

    @Test
    void aFlatRangeIsWidened() {
        Ticks t = Ticks.cover(0.001, 0.001, 5);
        assertTrue(t.lo() < 0.001 && t.hi() > 0.001, t.toString());
        Ticks z = Ticks.cover(0, 0, 5);
        assertTrue(z.lo() < 0 && z.hi() > 0);
    }

    @Test
    void bigNumbersUseSuffixes() {
        Ticks t = Ticks.cover(0, 9_100_000, 5);
        assertEquals("2M", t.label(2_000_000, false));
        assertEquals("0", t.label(0, false));
        Ticks k = Ticks.cover(200_000, 230_000, 5);
        assertEquals("215k", k.label(215_000, false));
    }

    @Test
    void durations() {
        assertEquals("6.6 ms", Html.seconds(0.0066));
        assertEquals("290 ms", Html.seconds(0.29));
        assertEquals("2.50 s", Html.seconds(2.5));
        assertEquals("1 min 13 s", Html.seconds(73.4));
        assertEquals("1 h 02 min", Html.seconds(3725));
        assertEquals("–", Html.seconds(Double.NaN));
    }

    @Test
    void epochTicks() {
        assertEquals(List.of(1.0), Ticks.epochs(1).ticks());
        assertEquals(List.of(1.0, 2.0, 3.0), Ticks.epochs(3).ticks());
        assertEquals(List.of(1.0, 20.0, 40.0, 60.0, 80.0, 100.0), Ticks.epochs(100).ticks());
    }
}
