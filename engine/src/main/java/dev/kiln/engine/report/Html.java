package dev.kiln.engine.report;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.Locale;

/**
 * Escaping and number formatting for the report page. Every string that comes from input goes through
 * {@link #esc}; every number goes through one of the formatters here, so a page reads the same on any locale.
 * NaN prints as an en dash (not measured), never as "NaN".
 */
final class Html {
    static final String MISSING = "–";

    private Html() {}

    /** Escapes text for use in element content and in double- or single-quoted attribute values. */
    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> {
                    // Control characters other than tab and newline are not allowed in HTML text.
                    if (c < 0x20 && c != '\t' && c != '\n') {
                        b.append('\uFFFD');
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }

    /** A fraction of 1 as a percentage with two decimals: 0.97125 -> "97.13%". */
    static String percent(double fraction) {
        return Double.isFinite(fraction) ? String.format(Locale.ROOT, "%.2f%%", fraction * 100) : MISSING;
    }

    /** A fraction as a percentage with one decimal, for captions: 0.9712 -> "97.1%". */
    static String percent1(double fraction) {
        return Double.isFinite(fraction) ? String.format(Locale.ROOT, "%.1f%%", fraction * 100) : MISSING;
    }

    /** A fraction of 1 with three decimals, for precision and recall: "0.987". */
    static String fraction(double f) {
        return Double.isFinite(f) ? String.format(Locale.ROOT, "%.3f", f) : MISSING;
    }

    /** A measured value with four significant digits, e.g. 0.1234, 12.35, 1.000e-05. */
    static String num(double v) {
        if (Double.isNaN(v)) {
            return MISSING;
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "∞" : "−∞";
        }
        double a = Math.abs(v);
        if (a != 0 && (a < 1e-4 || a >= 1e7)) {
            return String.format(Locale.ROOT, "%.3e", v);
        }
        return new BigDecimal(v).round(new MathContext(4)).stripTrailingZeros().toPlainString();
    }

    /** A count or a rate, rounded, with thousands separators: 123456.7 -> "123,457". */
    static String count(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%,.0f", v) : MISSING;
    }

    /** A duration: "6.6 ms", "840 ms", "2.50 s", "12.3 s", "4 min 05 s", "1 h 02 min". */
    static String seconds(double s) {
        if (!Double.isFinite(s) || s < 0) {
            return MISSING;
        }
        if (s < 1) {
            return num(s * 1000) + " ms";
        }
        if (s < 10) {
            return String.format(Locale.ROOT, "%.2f s", s);
        }
        if (s < 60) {
            return String.format(Locale.ROOT, "%.1f s", s);
        }
        long whole = Math.round(s);
        if (whole < 3600) {
            return String.format(Locale.ROOT, "%d min %02d s", whole / 60, whole % 60);
        }
        return String.format(Locale.ROOT, "%d h %02d min", whole / 3600, whole / 60 % 60);
    }

    /** A coordinate in SVG user units, short but exact enough (0.01 px). */
    static String px(double v) {
        long r = Math.round(v * 100);
        if (r % 100 == 0) {
            return Long.toString(r / 100);
        }
        return BigDecimal.valueOf(r, 2).stripTrailingZeros().toPlainString();
    }
}
