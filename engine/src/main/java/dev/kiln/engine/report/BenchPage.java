package dev.kiln.engine.report;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.kiln.engine.report.Html.esc;

/**
 * Renders a benchmark comparison as one HTML page: run facts, a grouped bar chart of samples per second per
 * (network, batch) and engine, and the same numbers in a table beside it, each with the machine and date it was
 * measured on, the fastest engine of each group and machine in bold.
 */
final class BenchPage {
    private BenchPage() {}

    static String html(List<BenchRow> rows, RunFacts f) {
        StringBuilder b = new StringBuilder(64 * 1024);
        Page.open(b, "Kiln benchmark", f.device() + " · " + BarChart.engines(rows).size() + " engines · "
                + rows.size() + " measurements");
        b.append("<h2>Run</h2>\n");
        Page.facts(b, f, null, null);
        b.append("<h2>Training throughput</h2>\n");
        if (rows.isEmpty()) {
            b.append("<p class=\"note\">No measurements.</p>\n");
            Page.close(b, f);
            return b.toString();
        }
        // "vs best" compares rows of one machine only: another machine's numbers say nothing about this one's
        Map<List<Object>, Double> best = new HashMap<>();
        for (BenchRow r : rows) {
            if (Double.isFinite(r.samplesPerSecond())) {
                best.merge(List.of(BarChart.Group.of(r), r.machine()), r.samplesPerSecond(), Math::max);
            }
        }
        b.append("<div class=\"side\">\n<figure>").append(BarChart.svg(rows))
                .append("<figcaption>Samples per second while training (higher is better).</figcaption></figure>\n")
                .append("<div class=\"tablewrap\"><table class=\"bench\">\n<tr><th>network</th><th class=\"n\">batch</th>")
                .append("<th>engine</th><th class=\"n\">samples / s</th><th class=\"n\">epoch</th>")
                .append("<th class=\"n\">vs best on its machine</th><th>measured on</th></tr>\n");
        List<String> engines = BarChart.engines(rows);
        for (BenchRow r : rows) {
            Double top = best.get(List.of(BarChart.Group.of(r), r.machine()));
            boolean isBest = top != null && r.samplesPerSecond() == top;
            double share = top == null ? Double.NaN : r.samplesPerSecond() / top;
            b.append(isBest ? "<tr class=\"best\">" : "<tr>").append("<td>").append(esc(r.network()))
                    .append("</td><td class=\"n\">").append(r.batch()).append("</td><td><span style=\"color:")
                    .append(BarChart.colour(engines, r.engine())).append("\">■</span> ").append(esc(r.engine()))
                    .append("</td><td class=\"n\">").append(Html.count(r.samplesPerSecond()))
                    .append("</td><td class=\"n\">").append(Html.seconds(r.epochSeconds()))
                    .append("</td><td class=\"n\">").append(Html.percent1(share))
                    .append("</td><td>").append(esc(r.measured())).append("</td></tr>\n");
        }
        b.append("</table></div>\n</div>\n");
        Page.close(b, f);
        return b.toString();
    }
}
