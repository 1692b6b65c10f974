package dev.kiln.engine.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

import static dev.kiln.engine.report.Html.esc;
import static dev.kiln.engine.report.Html.px;

/**
 * An inline SVG grouped bar chart of benchmark throughput: one group per (network, batch) in input order, one bar
 * per engine in a fixed colour, a legend, y ticks, and a {@code <title>} on every bar with its value.
 */
final class BarChart {
    /** Engine colours, assigned in order of first appearance (Okabe-Ito, readable by colour-blind people). */
    static final String[] PALETTE = {"#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000"};

    private static final int HEIGHT = 360;
    private static final int LEFT = 70;
    private static final int RIGHT = 16;
    private static final int TOP = 40;
    private static final int BOTTOM = 64;

    private BarChart() {}

    /** One group of bars: a network at a batch size. */
    record Group(String network, int batch) {
        static Group of(BenchRow r) {
            return new Group(r.network(), r.batch());
        }

        @Override
        public String toString() {
            return network + ", batch " + batch;
        }
    }

    /** Engines in order of first appearance. */
    static List<String> engines(List<BenchRow> rows) {
        LinkedHashSet<String> e = new LinkedHashSet<>();
        rows.forEach(r -> e.add(r.engine()));
        return List.copyOf(e);
    }

    static String colour(List<String> engines, String engine) {
        return PALETTE[engines.indexOf(engine) % PALETTE.length];
    }

    static String svg(List<BenchRow> rows) {
        List<String> engines = engines(rows);
        Map<Group, List<BenchRow>> groups = new LinkedHashMap<>();
        double max = 0;
        for (BenchRow r : rows) {
            groups.computeIfAbsent(Group.of(r), k -> new ArrayList<>()).add(r);
            if (Double.isFinite(r.samplesPerSecond())) {
                max = Math.max(max, r.samplesPerSecond());
            }
        }
        int bars = engines.size();
        double barW = 22;
        double groupW = bars * barW + 28;
        double plotW = Math.max(360, groups.size() * groupW);
        double width = LEFT + plotW + RIGHT;
        double plotH = HEIGHT - TOP - BOTTOM;
        Ticks yt = Ticks.cover(0, max > 0 ? max : 1, 5);
        LineChart.Scale y = new LineChart.Scale(yt.lo(), yt.hi(), TOP + plotH, TOP);

        StringBuilder b = new StringBuilder();
        b.append("<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ").append(px(width)).append(' ')
                .append(HEIGHT).append("\" style=\"max-width:").append(px(Math.max(width, 540)))
                .append("px\" role=\"img\" aria-label=\"training throughput\">");
        b.append("<title>training throughput, samples per second</title>");
        for (double t : yt.ticks()) {
            String py = px(y.at(t));
            b.append("<line class=\"grid\" x1=\"").append(LEFT).append("\" x2=\"").append(px(LEFT + plotW))
                    .append("\" y1=\"").append(py).append("\" y2=\"").append(py).append("\"/>");
            b.append("<text class=\"tick\" x=\"").append(LEFT - 6).append("\" y=\"").append(py)
                    .append("\" text-anchor=\"end\" dominant-baseline=\"middle\">").append(esc(yt.label(t, false)))
                    .append("</text>");
        }
        b.append("<text class=\"label\" transform=\"translate(14 ").append(px(TOP + plotH / 2))
                .append(") rotate(-90)\" text-anchor=\"middle\">samples / s</text>");

        double gx = LEFT;
        double slot = plotW / Math.max(1, groups.size());
        for (Map.Entry<Group, List<BenchRow>> g : groups.entrySet()) {
            double x0 = gx + (slot - bars * barW) / 2;
            for (BenchRow r : g.getValue()) {
                double x = x0 + engines.indexOf(r.engine()) * barW;
                String value = Html.count(r.samplesPerSecond()) + " samples/s";
                if (Double.isFinite(r.samplesPerSecond())) {
                    double top = y.at(r.samplesPerSecond());
                    b.append("<rect class=\"bar\" x=\"").append(px(x + 1)).append("\" y=\"").append(px(top))
                            .append("\" width=\"").append(px(barW - 2)).append("\" height=\"")
                            .append(px(TOP + plotH - top)).append("\" fill=\"").append(colour(engines, r.engine()))
                            .append("\"><title>").append(esc(r.engine() + ", " + g.getKey() + ": " + value
                                    + (r.measured().isEmpty() ? "" : " (" + r.measured() + ")")))
                            .append("</title></rect>");
                } else {
                    b.append("<text class=\"tick\" x=\"").append(px(x + barW / 2)).append("\" y=\"")
                            .append(px(TOP + plotH - 4)).append("\" text-anchor=\"middle\">×<title>")
                            .append(esc(r.engine() + ", " + g.getKey() + ": not measured")).append("</title></text>");
                }
            }
            b.append("<text class=\"tick\" x=\"").append(px(gx + slot / 2)).append("\" y=\"").append(px(TOP + plotH + 17))
                    .append("\" text-anchor=\"middle\">").append(esc(g.getKey().network())).append("</text>");
            b.append("<text class=\"tick\" x=\"").append(px(gx + slot / 2)).append("\" y=\"").append(px(TOP + plotH + 32))
                    .append("\" text-anchor=\"middle\">").append("batch ").append(g.getKey().batch()).append("</text>");
            gx += slot;
        }
        b.append("<line class=\"axis\" x1=\"").append(LEFT).append("\" x2=\"").append(px(LEFT + plotW)).append("\" y1=\"")
                .append(px(TOP + plotH)).append("\" y2=\"").append(px(TOP + plotH)).append("\"/>");
        b.append("<line class=\"axis\" x1=\"").append(LEFT).append("\" x2=\"").append(LEFT).append("\" y1=\"")
                .append(TOP).append("\" y2=\"").append(px(TOP + plotH)).append("\"/>");

        double lx = LEFT;
        double ly = HEIGHT - 12;
        for (String e : engines) {
            b.append("<rect x=\"").append(px(lx)).append("\" y=\"").append(px(ly - 10)).append("\" width=\"12\" height=\"12\" fill=\"")
                    .append(colour(engines, e)).append("\"/>");
            b.append("<text class=\"legend\" x=\"").append(px(lx + 17)).append("\" y=\"").append(px(ly))
                    .append("\">").append(esc(e)).append("</text>");
            lx += 17 + 7 * e.length() + 18;
        }
        return b.append("</svg>").toString();
    }
}
