package dev.kiln.engine.report;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * "Nice" axis ticks (steps of 1, 2 or 5 times a power of ten) covering a data range, and their labels.
 *
 * @param lo    the axis's lower end (the first tick)
 * @param hi    the axis's upper end (the last tick)
 * @param step  the distance between ticks
 * @param ticks the tick values, lo .. hi
 */
record Ticks(double lo, double hi, double step, List<Double> ticks) {

    /** Ticks covering [min, max] with about {@code target} intervals; an empty or flat range is widened. */
    static Ticks cover(double min, double max, int target) {
        if (!(min <= max)) {
            min = 0;
            max = 1;
        }
        if (min == max) {
            double pad = min == 0 ? 1 : Math.abs(min) * 0.1;
            min -= pad;
            max += pad;
        }
        double step = nearNiceStep((max - min) / target);
        double lo = Math.floor(min / step + 1e-9) * step;
        double hi = Math.ceil(max / step - 1e-9) * step;
        List<Double> ticks = new ArrayList<>();
        long n = Math.round((hi - lo) / step);
        for (long i = 0; i <= n; i++) {
            ticks.add(clean(lo + i * step, step));
        }
        return new Ticks(ticks.getFirst(), ticks.getLast(), step, List.copyOf(ticks));
    }

    /** Integer ticks for epochs 1 .. n: all of them up to 12, else nice multiples; the axis spans 1 .. n. */
    static Ticks epochs(int n) {
        if (n <= 1) {
            // One epoch: centre the single point on an axis from 0 to 2.
            return new Ticks(0, 2, 1, List.of(1.0));
        }
        double step = n <= 12 ? 1 : Math.max(1, Math.round(niceStep((n - 1) / 8.0)));
        List<Double> ticks = new ArrayList<>();
        if (step > 1) {
            ticks.add(1.0);
        }
        for (double t = step; t <= n; t += step) {
            // Skip a multiple so close to the leading 1 that the labels would collide.
            if (!(step > 1 && t - 1 < step / 2)) {
                ticks.add(t);
            }
        }
        return new Ticks(1, n, step, List.copyOf(ticks));
    }

    /** 1, 2 or 5 times a power of ten, at least {@code raw}. */
    static double niceStep(double raw) {
        if (!(raw > 0) || !Double.isFinite(raw)) {
            return 1;
        }
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double f = raw / mag;
        double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
        return nice * mag;
    }

    /** 1, 2 or 5 times a power of ten, nearest to {@code raw} on a log scale (so about {@code target} intervals). */
    static double nearNiceStep(double raw) {
        if (!(raw > 0) || !Double.isFinite(raw)) {
            return 1;
        }
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double f = raw / mag;
        // Boundaries at the geometric means sqrt(2), sqrt(10), sqrt(50).
        double nice = f >= 7.07 ? 10 : f >= 3.16 ? 5 : f >= 1.41 ? 2 : 1;
        return nice * mag;
    }

    /** Removes floating-point dust (0.30000000000000004) by rounding to the step's decimals. */
    private static double clean(double v, double step) {
        int decimals = Math.max(0, -(int) Math.floor(Math.log10(step)) + 1);
        return new BigDecimal(v).setScale(decimals, RoundingMode.HALF_EVEN).doubleValue();
    }

    /** The label of tick {@code v}: as many decimals as the step needs; thousands as k, millions as M. */
    String label(double v, boolean percent) {
        if (Math.abs(v) < step * 1e-6) {
            return percent ? "0%" : "0";
        }
        if (percent) {
            return decimals(v * 100, step * 100) + "%";
        }
        double top = Math.max(Math.abs(lo), Math.abs(hi));
        if (top >= 1e6) {
            return decimals(v / 1e6, step / 1e6) + "M";
        }
        if (top >= 1e4) {
            return decimals(v / 1e3, step / 1e3) + "k";
        }
        if (top < 1e-3 && v != 0) {
            return String.format(Locale.ROOT, "%.1e", v);
        }
        return decimals(v, step);
    }

    private static String decimals(double v, double step) {
        int d = Math.max(0, -(int) Math.floor(Math.log10(step) + 1e-9));
        if (Math.abs(v) < step * 1e-6) {
            v = 0; // no "-0"
        }
        return String.format(Locale.ROOT, "%." + d + "f", v);
    }
}
