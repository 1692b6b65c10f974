package dev.kiln.engine.report;

import java.util.ArrayList;
import java.util.List;

import static dev.kiln.engine.report.Html.esc;
import static dev.kiln.engine.report.Html.px;

/**
 * An inline SVG line chart of per-epoch values: labelled axes with ticks and grid lines, a legend, one polyline per
 * series (broken where a value is NaN) and a marker per point whose {@code <title>} shows the value on hover.
 * Only what the report needs: the x axis is always the epoch.
 */
final class LineChart {
    /** One line. {@code dashed} keeps train and test apart in black-and-white print. */
    record Series(String name, String color, boolean dashed, double[] values) {}

    private static final int WIDTH = 550;
    private static final int HEIGHT = 290;
    private static final int LEFT = 72;
    private static final int RIGHT = 18;
    private static final int TOP = 36;
    private static final int BOTTOM = 48;

    private LineChart() {}

    /**
     * @param title   the chart's heading (also its accessible name)
     * @param yLabel  the y axis's label
     * @param percent values are fractions of 1 shown as percentages
     * @param zero    the y axis starts at 0 (or ends there), so that small changes do not look large
     * @param series  lines over epochs 1 .. n (each values array has n entries); series with no finite value are
     *                left out
     */
    static String svg(String title, String yLabel, boolean percent, boolean zero, List<Series> series) {
        List<Series> shown = new ArrayList<>();
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        int n = 0;
        for (Series s : series) {
            n = Math.max(n, s.values().length);
            boolean any = false;
            for (double v : s.values()) {
                if (Double.isFinite(v)) {
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                    any = true;
                }
            }
            if (any) {
                shown.add(s);
            }
        }
        StringBuilder b = new StringBuilder();
        b.append("<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ").append(WIDTH).append(' ')
                .append(HEIGHT).append("\" role=\"img\" aria-label=\"").append(esc(title)).append("\">");
        b.append("<title>").append(esc(title)).append("</title>");
        b.append("<text class=\"ct\" x=\"").append(LEFT).append("\" y=\"16\">").append(esc(title)).append("</text>");
        double plotW = WIDTH - LEFT - RIGHT;
        double plotH = HEIGHT - TOP - BOTTOM;
        if (shown.isEmpty()) {
            b.append("<rect class=\"frame\" x=\"").append(LEFT).append("\" y=\"").append(TOP).append("\" width=\"")
                    .append(px(plotW)).append("\" height=\"").append(px(plotH)).append("\"/>");
            b.append("<text class=\"empty\" x=\"").append(px(LEFT + plotW / 2)).append("\" y=\"")
                    .append(px(TOP + plotH / 2)).append("\" text-anchor=\"middle\">not measured</text></svg>");
            return b.toString();
        }
        Ticks xt = Ticks.epochs(n);
        if (percent && min == max) {
            // A single accuracy: widen within 0..100% rather than to 105%.
            min = Math.max(0, min - 0.05);
            max = Math.min(1, max + 0.05);
        }
        Ticks yt = zero ? Ticks.cover(Math.min(0, min), Math.max(0, max), 5) : Ticks.cover(min, max, 5);
        Scale x = new Scale(xt.lo(), xt.hi(), LEFT, LEFT + plotW);
        Scale y = new Scale(yt.lo(), yt.hi(), TOP + plotH, TOP);

        // Grid and y ticks.
        for (double t : yt.ticks()) {
            String py = px(y.at(t));
            b.append("<line class=\"grid\" x1=\"").append(LEFT).append("\" x2=\"").append(px(LEFT + plotW))
                    .append("\" y1=\"").append(py).append("\" y2=\"").append(py).append("\"/>");
            b.append("<text class=\"tick\" x=\"").append(LEFT - 6).append("\" y=\"").append(py)
                    .append("\" text-anchor=\"end\" dominant-baseline=\"middle\">").append(esc(yt.label(t, percent)))
                    .append("</text>");
        }
        // x ticks.
        for (double t : xt.ticks()) {
            String pxv = px(x.at(t));
            b.append("<line class=\"axis\" x1=\"").append(pxv).append("\" x2=\"").append(pxv).append("\" y1=\"")
                    .append(px(TOP + plotH)).append("\" y2=\"").append(px(TOP + plotH + 5)).append("\"/>");
            b.append("<text class=\"tick\" x=\"").append(pxv).append("\" y=\"").append(px(TOP + plotH + 18))
                    .append("\" text-anchor=\"middle\">").append((long) t).append("</text>");
        }
        // Axes and their labels.
        b.append("<line class=\"axis\" x1=\"").append(LEFT).append("\" x2=\"").append(LEFT).append("\" y1=\"")
                .append(TOP).append("\" y2=\"").append(px(TOP + plotH)).append("\"/>");
        b.append("<line class=\"axis\" x1=\"").append(LEFT).append("\" x2=\"").append(px(LEFT + plotW))
                .append("\" y1=\"").append(px(TOP + plotH)).append("\" y2=\"").append(px(TOP + plotH)).append("\"/>");
        b.append("<text class=\"label\" x=\"").append(px(LEFT + plotW / 2)).append("\" y=\"").append(HEIGHT - 8)
                .append("\" text-anchor=\"middle\">epoch</text>");
        b.append("<text class=\"label\" transform=\"translate(14 ").append(px(TOP + plotH / 2))
                .append(") rotate(-90)\" text-anchor=\"middle\">").append(esc(yLabel)).append("</text>");

        // Legend, right-aligned above the plot.
        double lx = LEFT + plotW;
        for (int i = shown.size() - 1; i >= 0; i--) {
            Series s = shown.get(i);
            double textW = 7 * s.name().length();
            lx -= textW;
            b.append("<text class=\"legend\" x=\"").append(px(lx)).append("\" y=\"16\">").append(esc(s.name()))
                    .append("</text>");
            lx -= 28;
            b.append("<line x1=\"").append(px(lx)).append("\" x2=\"").append(px(lx + 22))
                    .append("\" y1=\"12\" y2=\"12\" stroke=\"").append(s.color()).append("\" stroke-width=\"2.5\"")
                    .append(s.dashed() ? " stroke-dasharray=\"6 3\"" : "").append("/>");
            lx -= 14;
        }

        // Lines, one polyline per run of finite values, then the points on top.
        for (Series s : shown) {
            double[] v = s.values();
            StringBuilder run = new StringBuilder();
            for (int i = 0; i <= v.length; i++) {
                if (i < v.length && Double.isFinite(v[i])) {
                    run.append(run.isEmpty() ? "" : " ").append(px(x.at(i + 1))).append(',').append(px(y.at(v[i])));
                } else if (!run.isEmpty()) {
                    b.append("<polyline class=\"line\" points=\"").append(run).append("\" stroke=\"").append(s.color())
                            .append('"').append(s.dashed() ? " stroke-dasharray=\"6 3\"" : "").append("/>");
                    run.setLength(0);
                }
            }
        }
        for (Series s : shown) {
            double[] v = s.values();
            for (int i = 0; i < v.length; i++) {
                if (Double.isFinite(v[i])) {
                    String value = percent ? Html.percent(v[i]) : Html.num(v[i]);
                    b.append("<circle class=\"pt\" cx=\"").append(px(x.at(i + 1))).append("\" cy=\"")
                            .append(px(y.at(v[i]))).append("\" r=\"3.5\" fill=\"").append(s.color()).append("\"><title>")
                            .append(esc(s.name())).append(", epoch ").append(i + 1).append(": ").append(esc(value))
                            .append("</title></circle>");
                }
            }
        }
        return b.append("</svg>").toString();
    }

    /** Maps a data interval linearly onto a pixel interval. */
    record Scale(double d0, double d1, double p0, double p1) {
        double at(double v) {
            return d1 == d0 ? (p0 + p1) / 2 : p0 + (v - d0) / (d1 - d0) * (p1 - p0);
        }
    }
}
