package dev.kiln.engine.report;

import static dev.kiln.engine.report.Html.esc;
import static dev.kiln.engine.report.Html.px;

/**
 * The confusion matrix as an inline SVG heatmap: rows are true classes, columns predicted ones, each cell shows its
 * count in a text colour chosen for contrast. The colour scale is logarithmic, log(1 + n) / log(1 + max), because the
 * diagonal holds nearly all samples and a linear scale would paint every mistake white.
 */
final class ConfusionHeatmap {
    private static final int LEFT = 64;
    private static final int TOP = 50;
    private static final int PAD = 8;

    private ConfusionHeatmap() {}

    static String svg(ClassStats stats) {
        int c = stats.classes();
        // Cells shrink with many classes; below ~20 px a count no longer fits, and then only the title shows it.
        double cell = Math.clamp(480.0 / c, 14.0, 44.0);
        boolean counts = cell >= 20;
        double side = cell * c;
        double width = LEFT + side + PAD;
        double height = TOP + side + PAD;
        int max = stats.maxCount();
        double logMax = Math.log1p(max);
        int longest = 0;
        for (int t = 0; t < c; t++) {
            for (int p = 0; p < c; p++) {
                longest = Math.max(longest, Integer.toString(stats.count(t, p)).length());
            }
        }
        double font = Math.min(13, cell * 1.6 / Math.max(2, longest));

        StringBuilder b = new StringBuilder();
        b.append("<svg class=\"heatmap\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ").append(px(width))
                .append(' ').append(px(height)).append("\" style=\"max-width:").append(px(width))
                .append("px\" role=\"img\" aria-label=\"confusion matrix\">");
        b.append("<title>confusion matrix: rows true class, columns predicted class</title>");
        b.append("<text class=\"label\" x=\"").append(px(LEFT + side / 2))
                .append("\" y=\"14\" text-anchor=\"middle\">predicted</text>");
        b.append("<text class=\"label\" transform=\"translate(14 ").append(px(TOP + side / 2))
                .append(") rotate(-90)\" text-anchor=\"middle\">true</text>");
        for (int k = 0; k < c; k++) {
            String name = esc(stats.classNames().get(k));
            b.append("<text class=\"tick\" x=\"").append(px(LEFT + (k + 0.5) * cell)).append("\" y=\"")
                    .append(TOP - 8).append("\" text-anchor=\"middle\">").append(name).append("</text>");
            b.append("<text class=\"tick\" x=\"").append(LEFT - 6).append("\" y=\"").append(px(TOP + (k + 0.5) * cell))
                    .append("\" text-anchor=\"end\" dominant-baseline=\"middle\">").append(name).append("</text>");
        }
        for (int t = 0; t < c; t++) {
            for (int p = 0; p < c; p++) {
                int n = stats.count(t, p);
                int rgb = n == 0 ? 0xffffff : Colors.blues(logMax == 0 ? 0 : 0.12 + 0.88 * Math.log1p(n) / logMax);
                double x = LEFT + p * cell;
                double y = TOP + t * cell;
                b.append("<g><title>true ").append(esc(stats.classNames().get(t))).append(", predicted ")
                        .append(esc(stats.classNames().get(p))).append(": ").append(n).append("</title>");
                b.append("<rect class=\"cell\" x=\"").append(px(x)).append("\" y=\"").append(px(y)).append("\" width=\"")
                        .append(px(cell)).append("\" height=\"").append(px(cell)).append("\" fill=\"")
                        .append(Colors.hex(rgb)).append("\"/>");
                if (counts) {
                    b.append("<text class=\"count\" x=\"").append(px(x + cell / 2)).append("\" y=\"")
                            .append(px(y + cell / 2)).append("\" text-anchor=\"middle\" dominant-baseline=\"central\"")
                            .append(" font-size=\"").append(px(font)).append("\" fill=\"")
                            .append(n == 0 ? "#b0b0b0" : Colors.textOn(rgb)).append(t == p ? "\" font-weight=\"600" : "")
                            .append("\">").append(n).append("</text>");
                }
                b.append("</g>");
            }
        }
        b.append("<rect class=\"frame\" x=\"").append(LEFT).append("\" y=\"").append(TOP).append("\" width=\"")
                .append(px(side)).append("\" height=\"").append(px(side)).append("\"/>");
        return b.append("</svg>").toString();
    }
}
