package dev.kiln.engine.report;

import java.util.Locale;

/**
 * The report's colour maps: a sequential blue scale for counts (ColorBrewer "Blues") and a diverging blue-white-red
 * scale for signed weights (ColorBrewer "RdBu", reversed so that positive is red). Colours are 0xRRGGBB ints.
 */
final class Colors {
    private static final int[] BLUES = {
            0xf7fbff, 0xdeebf7, 0xc6dbef, 0x9ecae1, 0x6baed6, 0x4292c6, 0x2171b5, 0x08519c, 0x08306b};
    private static final int[] DIVERGING = {
            0x2166ac, 0x4393c3, 0x92c5de, 0xd1e5f0, 0xf7f7f7, 0xfddbc7, 0xf4a582, 0xd6604d, 0xb2182b};

    private Colors() {}

    /** t in [0, 1] (clamped; NaN as 0) to light .. dark blue. */
    static int blues(double t) {
        return ramp(BLUES, t);
    }

    /** t in [-1, 1] (clamped; NaN as 0) to blue .. white .. red. */
    static int diverging(double t) {
        return ramp(DIVERGING, (t + 1) / 2);
    }

    /** Black or white, whichever contrasts more with the background {@code rgb} (WCAG relative luminance). */
    static String textOn(int rgb) {
        double l = luminance(rgb);
        double withBlack = (l + 0.05) / 0.05;
        double withWhite = 1.05 / (l + 0.05);
        return withWhite > withBlack ? "#fff" : "#000";
    }

    static String hex(int rgb) {
        return String.format(Locale.ROOT, "#%06x", rgb & 0xffffff);
    }

    private static int ramp(int[] stops, double t) {
        if (Double.isNaN(t)) {
            t = 0;
        }
        t = Math.clamp(t, 0.0, 1.0);
        double pos = t * (stops.length - 1);
        int i = Math.min((int) pos, stops.length - 2);
        double f = pos - i;
        int a = stops[i];
        int b = stops[i + 1];
        int r = mix(a >> 16, b >> 16, f);
        int g = mix(a >> 8, b >> 8, f);
        int bl = mix(a, b, f);
        return r << 16 | g << 8 | bl;
    }

    private static int mix(int a, int b, double f) {
        return (int) Math.round((a & 0xff) * (1 - f) + (b & 0xff) * f);
    }

    private static double luminance(int rgb) {
        return 0.2126 * linear(rgb >> 16) + 0.7152 * linear(rgb >> 8) + 0.0722 * linear(rgb);
    }

    private static double linear(int channel) {
        double c = (channel & 0xff) / 255.0;
        return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    }
}
