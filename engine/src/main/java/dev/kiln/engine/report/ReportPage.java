package dev.kiln.engine.report;

import java.util.Arrays;
import java.util.List;
import java.util.function.ToDoubleFunction;

import static dev.kiln.engine.report.Html.esc;

/**
 * Renders a {@link Report} as one HTML page: summary cards, run facts, per-epoch curves and table, the confusion
 * matrix with per-class precision and recall, the most confident mistakes and the first layer's weights. Sections
 * whose input is missing are left out or say why they are empty.
 */
final class ReportPage {
    /** Mistakes and weight tiles are drawn at this many screen pixels per image pixel (nearest neighbour). */
    static final int MISTAKE_SCALE = 3;
    static final int WEIGHT_SCALE = 3;

    private ReportPage() {}

    static String html(Report r) {
        StringBuilder b = new StringBuilder(256 * 1024);
        RunFacts f = r.facts();
        Page.open(b, r.title(), f.dataset() + " · " + f.layers() + " · " + f.optimizer() + " · " + f.device());
        cards(b, r);
        b.append("<h2>Run</h2>\n");
        Page.facts(b, f, "Epochs", Integer.toString(r.epochs().size()));
        if (!r.epochs().isEmpty()) {
            curves(b, r.epochs());
        }
        if (r.classes() != null) {
            confusion(b, r.classes());
        }
        if (r.mistakes() != null) {
            mistakes(b, r);
        }
        if (r.weights() != null) {
            weights(b, r.weights());
        }
        Page.close(b, f);
        return b.toString();
    }

    private static void cards(StringBuilder b, Report r) {
        b.append("<div class=\"cards\">");
        Page.card(b, "Test accuracy", Html.percent(r.finalTestAccuracy()));
        EpochRow last = r.lastEpoch();
        if (last != null) {
            Page.card(b, "Test loss", Html.num(last.testLoss()));
            Page.card(b, "Train accuracy", Html.percent(last.trainAccuracy()));
            Page.card(b, "Train loss", Html.num(last.trainLoss()));
            Page.card(b, "Samples / s", Html.count(mean(r.epochs(), EpochRow::samplesPerSecond)));
        } else if (r.classes() != null) {
            Page.card(b, "Test samples", Html.count(r.classes().total()));
        }
        Page.card(b, "Time", Html.seconds(r.facts().totalSeconds()));
        b.append("</div>\n");
    }

    private static void curves(StringBuilder b, List<EpochRow> epochs) {
        b.append("<h2>Training curves</h2>\n<div class=\"charts\">\n");
        chart(b, LineChart.svg("Loss", "cross-entropy", false, false, List.of(
                train("train", column(epochs, EpochRow::trainLoss)),
                test("test", column(epochs, EpochRow::testLoss)))));
        chart(b, LineChart.svg("Accuracy", "accuracy", true, false, List.of(
                train("train", column(epochs, EpochRow::trainAccuracy)),
                test("test", column(epochs, EpochRow::testAccuracy)))));
        chart(b, LineChart.svg("Learning rate", "learning rate", false, true, List.of(
                train("learning rate", column(epochs, EpochRow::learningRate)))));
        chart(b, LineChart.svg("Throughput", "samples / s", false, true, List.of(
                train("samples / s", column(epochs, EpochRow::samplesPerSecond)))));
        b.append("</div>\n");
        b.append("<table class=\"epochs\">\n<tr><th class=\"n\">epoch</th><th class=\"n\">train loss</th>")
                .append("<th class=\"n\">test loss</th><th class=\"n\">train accuracy</th><th class=\"n\">test accuracy</th>")
                .append("<th class=\"n\">learning rate</th><th class=\"n\">samples / s</th><th class=\"n\">time</th></tr>\n");
        for (EpochRow e : epochs) {
            b.append("<tr><td class=\"n\">").append(e.epoch())
                    .append("</td><td class=\"n\">").append(Html.num(e.trainLoss()))
                    .append("</td><td class=\"n\">").append(Html.num(e.testLoss()))
                    .append("</td><td class=\"n\">").append(Html.percent(e.trainAccuracy()))
                    .append("</td><td class=\"n\">").append(Html.percent(e.testAccuracy()))
                    .append("</td><td class=\"n\">").append(Html.num(e.learningRate()))
                    .append("</td><td class=\"n\">").append(Html.count(e.samplesPerSecond()))
                    .append("</td><td class=\"n\">").append(Html.seconds(e.epochSeconds()))
                    .append("</td></tr>\n");
        }
        b.append("</table>\n");
    }

    private static void chart(StringBuilder b, String svg) {
        b.append("<figure>").append(svg).append("</figure>\n");
    }

    private static LineChart.Series train(String name, double[] v) {
        return new LineChart.Series(name, Page.TRAIN_COLOUR, false, v);
    }

    private static LineChart.Series test(String name, double[] v) {
        return new LineChart.Series(name, Page.TEST_COLOUR, true, v);
    }

    private static double[] column(List<EpochRow> epochs, ToDoubleFunction<EpochRow> f) {
        // Rows are placed by their epoch number, so a gap in the numbering shows as a gap in the line.
        int n = epochs.stream().mapToInt(EpochRow::epoch).max().orElse(0);
        double[] v = new double[n];
        Arrays.fill(v, Double.NaN);
        for (EpochRow e : epochs) {
            v[e.epoch() - 1] = f.applyAsDouble(e);
        }
        return v;
    }

    private static double mean(List<EpochRow> epochs, ToDoubleFunction<EpochRow> f) {
        return epochs.stream().mapToDouble(f).filter(Double::isFinite).average().orElse(Double.NaN);
    }

    private static void confusion(StringBuilder b, ClassStats s) {
        b.append("<h2>Test set by class</h2>\n<div class=\"side\">\n<figure>").append(ConfusionHeatmap.svg(s))
                .append("<figcaption>Confusion matrix: ").append(Html.count(s.total())).append(" test samples, ")
                .append(Html.count(s.correct())).append(" correct (").append(Html.percent(s.accuracy()))
                .append("). Rows are true classes, columns predicted ones; colour is logarithmic in the count.")
                .append("</figcaption></figure>\n<div class=\"tablewrap\"><table class=\"classes\">\n")
                .append("<tr><th>class</th><th class=\"n\">samples</th><th class=\"n\">precision</th>")
                .append("<th class=\"n\">recall</th><th class=\"n\">F1</th></tr>\n");
        for (int c = 0; c < s.classes(); c++) {
            b.append("<tr><td>").append(esc(s.classNames().get(c))).append("</td><td class=\"n\">")
                    .append(Html.count(s.support(c))).append("</td><td class=\"n\">").append(Html.fraction(s.precision(c)))
                    .append("</td><td class=\"n\">").append(Html.fraction(s.recall(c))).append("</td><td class=\"n\">")
                    .append(Html.fraction(s.f1(c))).append("</td></tr>\n");
        }
        b.append("</table>\n<p class=\"note\">precision: of the samples predicted as the class, the share that are;")
                .append("<br>recall: of the samples of the class, the share found.</p></div>\n</div>\n");
    }

    private static void mistakes(StringBuilder b, Report r) {
        List<Mistake> ms = r.mistakes();
        b.append("<h2>Most confident mistakes</h2>\n");
        if (ms.isEmpty()) {
            b.append("<p class=\"note\">No mistakes: every test image was classified correctly.</p>\n");
            return;
        }
        b.append("<p class=\"note\">The ").append(ms.size()).append(" test images the network got wrong while most sure")
                .append(" of itself, most confident first.</p>\n<div class=\"mistakes\">\n");
        for (Mistake m : ms) {
            String caption = "true " + name(r, m.trueLabel()) + " → predicted " + name(r, m.predictedLabel())
                    + " (" + Html.percent1(m.confidence()) + ")";
            b.append("<figure><img src=\"").append(Png.gray(m.pixels(), m.rows(), m.cols(), MISTAKE_SCALE))
                    .append("\" width=\"").append(m.cols() * MISTAKE_SCALE).append("\" height=\"")
                    .append(m.rows() * MISTAKE_SCALE).append("\" alt=\"").append(esc(caption)).append("\" title=\"")
                    .append(esc(caption + ", test image #" + m.index())).append("\"><figcaption>")
                    .append(esc(caption)).append("<span>#").append(m.index()).append("</span></figcaption></figure>\n");
        }
        b.append("</div>\n");
    }

    /** A label as the class name when the report has names for it, else as the number. */
    private static String name(Report r, int label) {
        List<String> names = r.classes() == null ? List.of() : r.classes().classNames();
        return label >= 0 && label < names.size() ? names.get(label) : Integer.toString(label);
    }

    private static void weights(StringBuilder b, FirstLayerWeights w) {
        int shown = Math.min(w.units(), FirstLayerWeights.SHOWN);
        b.append("<h2>First layer</h2>\n<p class=\"note\">What each hidden unit looks for: its ").append(w.rows())
                .append("×").append(w.cols()).append(" input weights, ")
                .append(shown < w.units() ? "the first " + shown + " of " + w.units() + " units" : "all " + shown + " units")
                .append(".<br><span class=\"scale\"></span> negative · zero · positive, each unit scaled to its own")
                .append(" largest |w|.</p>\n<div class=\"weights\">\n");
        int[] rgb = new int[w.rows() * w.cols()];
        for (int u = 0; u < shown; u++) {
            float max = w.maxAbs(u);
            for (int r = 0; r < w.rows(); r++) {
                for (int c = 0; c < w.cols(); c++) {
                    float v = w.weight(u, r, c);
                    // Non-finite weights would be a training bug; draw them as zero rather than failing the report.
                    rgb[r * w.cols() + c] = Colors.diverging(max == 0 || !Float.isFinite(v) ? 0 : v / max);
                }
            }
            b.append("<figure><img src=\"").append(Png.rgb(rgb, w.rows(), w.cols(), WEIGHT_SCALE)).append("\" width=\"")
                    .append(w.cols() * WEIGHT_SCALE).append("\" height=\"").append(w.rows() * WEIGHT_SCALE)
                    .append("\" alt=\"unit ").append(u).append("\" title=\"unit ").append(u).append(", largest |w| ")
                    .append(esc(Html.num(max))).append("\"><figcaption>").append(u).append("</figcaption></figure>\n");
        }
        b.append("</div>\n");
    }
}
