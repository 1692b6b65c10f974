package dev.kiln.engine.report;

import dev.kiln.data.KilnException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReportWriterTest {
    private static final Pattern EXTERNAL = Pattern.compile(
            "(?i)<script|(src|href)\\s*=\\s*[\"']?\\s*(https?:|//)|url\\(\\s*[\"']?\\s*(https?:|//)|@import|<link|<iframe|<object|<embed");

    @TempDir
    Path dir;

    @Test
    void writesThePageAndTheJsonAndPrintsTheFinalNumbers() throws Exception {
        Report r = SyntheticReports.full(8, 1);
        Path page = ReportWriter.write(dir, r);
        assertEquals(dir.resolve("report.html"), page);
        String html = Files.readString(page);
        EpochRow last = r.lastEpoch();
        assertTrue(html.contains(">" + Html.percent(last.testAccuracy()) + "<"), "the last test accuracy is printed");
        assertTrue(html.contains(Html.num(last.trainLoss())), "the last train loss is printed");
        assertTrue(html.contains("<td>adam: lr 0.001, beta1 0.9, beta2 0.999, batch 64</td>"), "hyperparameters in order");
        assertTrue(html.contains("20,175 parameters"));
        assertTrue(Files.exists(dir.resolve("metrics.json")));
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count(), "no temporary files left behind");
        }
    }

    @Test
    void everyChartPointCarriesItsValueInATitle() {
        Report r = SyntheticReports.full(5, 2);
        String html = ReportWriter.html(r);
        for (EpochRow e : r.epochs()) {
            assertTrue(html.contains("<title>test, epoch " + e.epoch() + ": " + Html.percent(e.testAccuracy()) + "</title>"));
            assertTrue(html.contains("<title>train, epoch " + e.epoch() + ": " + Html.num(e.trainLoss()) + "</title>"));
        }
        // 4 charts: loss (2 series), accuracy (2), learning rate (1), throughput (1) -> 6 points per epoch.
        assertEquals(6 * 5, count(html, "<circle class=\"pt\""));
        assertEquals(6, count(html, "<polyline class=\"line\""));
    }

    @Test
    void theHeatmapShowsEveryCellCountAndTheyAddUpToTheTestSet() {
        Report r = SyntheticReports.full(3, 3);
        ClassStats s = r.classes();
        String html = ReportWriter.html(r);
        Matcher m = Pattern.compile("<text class=\"count\"[^>]*>(\\d+)</text>").matcher(html);
        List<Integer> cells = new ArrayList<>();
        while (m.find()) {
            cells.add(Integer.parseInt(m.group(1)));
        }
        int c = s.classes();
        assertEquals(c * c, cells.size());
        long sum = 0;
        for (int t = 0; t < c; t++) {
            for (int p = 0; p < c; p++) {
                assertEquals(s.count(t, p), cells.get(t * c + p), "cell " + t + "," + p);
                sum += cells.get(t * c + p);
            }
        }
        assertEquals(s.total(), sum);
        for (int k = 0; k < c; k++) {
            assertTrue(html.contains("<td class=\"n\">" + Html.fraction(s.precision(k)) + "</td><td class=\"n\">"
                    + Html.fraction(s.recall(k)) + "</td>"), "precision and recall of class " + k);
        }
    }

    @Test
    void darkCellsGetLightText() {
        int[][] m = {{5000, 1}, {0, 4000}};
        String html = ReportWriter.html(new Report("t", SyntheticReports.facts("2,2"), List.of(),
                new ClassStats(m, List.of("a", "b")), null, null));
        assertTrue(html.contains("fill=\"#fff\" font-weight=\"600\">5000</text>"), "white on the dark diagonal");
        assertTrue(html.contains("fill=\"#000\">1</text>"), "black on a pale cell");
    }

    @Test
    void mistakesAreImagesWithCaptions() {
        Report r = SyntheticReports.full(2, 4);
        String html = ReportWriter.html(r);
        assertEquals(25, r.mistakes().size());
        Mistake first = r.mistakes().getFirst();
        assertTrue(html.contains("true " + first.trueLabel() + " → predicted " + first.predictedLabel() + " ("
                + Html.percent1(first.confidence()) + ")"));
        // 25 mistakes + 25 weight tiles, each a PNG data URI
        assertEquals(50, count(html, "<img src=\"data:image/png;base64,"));
        assertEquals(0, count(html, "<img src=\"") - count(html, "<img src=\"data:image/png;base64,"));
    }

    @Test
    void theCaptionFormatIsTheAgreedOne() {
        assertEquals("97.1%", Html.percent1(0.9712));
        assertEquals("97.12%", Html.percent(0.97123));
    }

    @Test
    void nothingOnThePageComesFromANetwork() {
        for (String html : List.of(ReportWriter.html(SyntheticReports.full(4, 5)), benchHtml())) {
            Matcher m = EXTERNAL.matcher(html);
            assertFalse(m.find(), () -> "external resource: " + html.substring(m.start(), Math.min(html.length(), m.start() + 80)));
            assertFalse(html.contains("url("), "no url() at all");
        }
        // the regex itself must catch what it is meant to catch
        for (String bad : List.of("<script>", "<img src=\"http://x\">", "url(https://f)", "<link rel=stylesheet>",
                "src='//cdn'")) {
            assertTrue(EXTERNAL.matcher(bad).find(), bad);
        }
    }

    @Test
    void everyInputStringIsEscaped() {
        String evil = "<script>alert('x')</script>&\"";
        Map<String, String> hp = Map.of("<b>lr</b>", "<i>1</i>");
        RunFacts f = new RunFacts(evil, evil, evil, evil, evil, 1, evil, hp, 1, evil, evil, 1);
        int[][] m = {{1, 0}, {0, 1}};
        Report r = new Report(evil, f, SyntheticReports.epochs(2, new Random(1)),
                new ClassStats(m, List.of(evil, "<img src=x>")), List.of(), null);
        String html = ReportWriter.html(r);
        assertFalse(html.contains("<script"), "no live script tag");
        assertFalse(html.contains("<b>") || html.contains("<i>1") || html.contains("<img src=x>"), "no live markup");
        assertTrue(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"));
        assertFalse(EXTERNAL.matcher(html).find());
        // and the JSON stays valid with the same strings
        @SuppressWarnings("unchecked")
        Map<String, Object> json = (Map<String, Object>) parseJson(ReportWriter.metricsJson(r));
        assertEquals(evil, json.get("title"));
        assertEquals(evil, ((Map<?, ?>) json.get("facts")).get("layers"));
    }

    @Test
    void metricsJsonParsesBackToTheSameNumbers() throws Exception {
        Report r = SyntheticReports.full(6, 6);
        ReportWriter.write(dir, r);
        @SuppressWarnings("unchecked")
        Map<String, Object> json = (Map<String, Object>) parseJson(Files.readString(dir.resolve("metrics.json")));
        assertEquals(List.of("format", "title", "facts", "final", "epochs", "classes", "mistakes", "first_layer"),
                List.copyOf(json.keySet()), "stable top-level keys");
        assertEquals("kiln-report/2", json.get("format"));
        Map<?, ?> facts = (Map<?, ?>) json.get("facts");
        assertEquals("784,25,25,10", facts.get("layers"));
        assertEquals(20175.0, facts.get("parameters"));
        assertEquals(List.of("lr", "beta1", "beta2", "batch"), List.copyOf(((Map<?, ?>) facts.get("hyperparameters")).keySet()));
        assertEquals(r.lastEpoch().testAccuracy(), (Double) ((Map<?, ?>) json.get("final")).get("test_accuracy"), 0.0);

        List<?> epochs = (List<?>) json.get("epochs");
        assertEquals(6, epochs.size());
        for (int i = 0; i < 6; i++) {
            Map<?, ?> e = (Map<?, ?>) epochs.get(i);
            EpochRow row = r.epochs().get(i);
            assertEquals(row.epoch(), ((Double) e.get("epoch")).intValue());
            assertEquals(row.trainLoss(), (Double) e.get("train_loss"), 0.0, "exact round trip");
            assertEquals(row.testAccuracy(), (Double) e.get("test_accuracy"), 0.0);
            assertEquals(row.learningRate(), (Double) e.get("learning_rate"), 0.0);
            assertEquals(row.samplesPerSecond(), (Double) e.get("samples_per_second"), 0.0);
        }
        Map<?, ?> classes = (Map<?, ?>) json.get("classes");
        List<?> confusion = (List<?>) classes.get("confusion");
        for (int t = 0; t < 10; t++) {
            for (int p = 0; p < 10; p++) {
                assertEquals(r.classes().count(t, p), ((Double) ((List<?>) confusion.get(t)).get(p)).intValue());
            }
        }
        assertEquals((double) r.classes().total(), classes.get("total"));
        assertEquals(r.classes().precision(3), (Double) ((List<?>) classes.get("precision")).get(3), 0.0);
        List<?> mistakes = (List<?>) json.get("mistakes");
        assertEquals(25, mistakes.size());
        assertEquals((double) r.mistakes().getFirst().index(), ((Map<?, ?>) mistakes.getFirst()).get("index"));
        assertEquals(25.0, ((Map<?, ?>) json.get("first_layer")).get("units"));
    }

    @Test
    void theJsonIsTheSameForTheSameReport() {
        assertEquals(ReportWriter.metricsJson(SyntheticReports.full(3, 9)), ReportWriter.metricsJson(SyntheticReports.full(3, 9)));
    }

    @Test
    void oneEpochIsASinglePointPerSeries() {
        Report r = SyntheticReports.full(1, 10);
        String html = ReportWriter.html(r);
        assertEquals(6, count(html, "<circle class=\"pt\""));
        assertEquals(6, count(html, "<polyline class=\"line\""));
        assertTrue(html.contains(">" + Html.percent(r.lastEpoch().testAccuracy()) + "<"));
    }

    @Test
    void aSingleAccuracyKeepsItsAxisWithinAHundredPercent() {
        List<EpochRow> one = List.of(new EpochRow(1, 0.3, 0.2, 0.98, 0.98, 0.1, 5e4, 1.2));
        String html = ReportWriter.html(new Report("t", SyntheticReports.facts("784,10"), one, null, null, null));
        assertTrue(html.contains(">100%</text>"));
        assertFalse(html.contains(">105%</text>"));
    }

    @Test
    void nanValuesAreSkippedNotDrawnNorPrinted() {
        List<EpochRow> rows = new ArrayList<>(SyntheticReports.epochs(5, new Random(11)));
        EpochRow e3 = rows.get(2);
        rows.set(2, new EpochRow(3, Double.NaN, e3.testLoss(), e3.trainAccuracy(), Double.NaN, e3.learningRate(),
                Double.POSITIVE_INFINITY, e3.epochSeconds()));
        Report r = new Report("t", SyntheticReports.facts("784,10"), rows, null, null, null);
        String html = ReportWriter.html(r);
        assertFalse(html.contains("NaN") || html.contains("Infinity"), "no NaN in the page");
        assertEquals(6 * 5 - 3, count(html, "<circle class=\"pt\""), "three missing points");
        // train loss, test accuracy and throughput break into two runs each
        assertEquals(6 + 3, count(html, "<polyline class=\"line\""));
        String json = ReportWriter.metricsJson(r);
        assertFalse(json.contains("NaN") || json.contains("Infinity"));
        Map<?, ?> epoch3 = (Map<?, ?>) ((List<?>) ((Map<?, ?>) parseJson(json)).get("epochs")).get(2);
        assertTrue(epoch3.containsKey("train_loss"));
        assertNull(epoch3.get("train_loss"));
    }

    @Test
    void aRunWithoutTestSetDrawsTrainCurvesOnly() {
        List<EpochRow> rows = new ArrayList<>();
        for (EpochRow e : SyntheticReports.epochs(4, new Random(12))) {
            rows.add(new EpochRow(e.epoch(), e.trainLoss(), Double.NaN, e.trainAccuracy(), Double.NaN, e.learningRate(),
                    e.samplesPerSecond(), e.epochSeconds()));
        }
        String html = ReportWriter.html(new Report("t", SyntheticReports.facts("784,10"), rows, null, null, null));
        assertEquals(4 * 4, count(html, "<circle class=\"pt\""));
        assertFalse(html.contains(">test</text>"), "no legend entry for an absent series");
        assertFalse(html.contains("Test set by class"));
        assertFalse(html.contains("Most confident mistakes"));
        assertTrue(html.contains("<div class=\"k\">Test accuracy</div><div class=\"v\">–</div>"));
    }

    @Test
    void anEvaluationWithoutEpochsShowsTheMatrixAccuracy() {
        ClassStats s = SyntheticReports.classes(50, new Random(13));
        String html = ReportWriter.html(new Report("Kiln evaluation report", SyntheticReports.facts("784,10"), List.of(),
                s, List.of(), null));
        assertFalse(html.contains("Training curves"));
        assertTrue(html.contains(">" + Html.percent(s.accuracy()) + "<"));
        assertTrue(html.contains("No mistakes"), "an empty mistake list says so");
    }

    @Test
    void atMost64WeightTilesAndBadWeightsDoNotBreakThePage() {
        float[][] w = SyntheticReports.weights(100, new Random(16)).weights();
        w[0][5] = Float.NaN;
        w[1][7] = Float.POSITIVE_INFINITY;
        String html = ReportWriter.html(new Report("t", SyntheticReports.facts("784,100,10"), List.of(), null, null,
                new FirstLayerWeights(w, 28, 28)));
        assertEquals(64, count(html, "<img src=\"data:image/png;base64,"));
        assertTrue(html.contains("the first 64 of 100 units"));
        assertFalse(html.contains("NaN"));
    }

    @Test
    void aManyEpochRunGetsReadableTicks() {
        String html = ReportWriter.html(new Report("t", SyntheticReports.facts("784,10"),
                SyntheticReports.epochs(100, new Random(14)), null, null, null));
        assertEquals(600, count(html, "<circle class=\"pt\""));
        assertTrue(html.contains("text-anchor=\"middle\">100</text>"));
        assertFalse(html.contains("text-anchor=\"middle\">37</text>"));
    }

    @Test
    void benchPageAndJson() throws Exception {
        List<BenchRow> rows = benchRows();
        Path page = ReportWriter.writeBench(dir, rows, SyntheticReports.facts("784,25,25,10"));
        String html = Files.readString(page);
        assertEquals(rows.size() - 1, count(html, "<rect class=\"bar\""), "a bar per measured row");
        assertTrue(html.contains("<title>numpy, 784,25,25,10, batch 512: not measured</title>"));
        assertTrue(html.contains("<title>kiln cuda, 784,25,25,10, batch 64: 2,400,000 samples/s</title>"));
        assertTrue(html.contains("<tr class=\"best\"><td>784,25,25,10</td><td class=\"n\">64</td><td><span style=\"color:"));
        @SuppressWarnings("unchecked")
        Map<String, Object> json = (Map<String, Object>) parseJson(Files.readString(dir.resolve("bench.json")));
        List<?> back = (List<?>) json.get("rows");
        assertEquals(rows.size(), back.size());
        for (int i = 0; i < rows.size(); i++) {
            Map<?, ?> b = (Map<?, ?>) back.get(i);
            assertEquals(rows.get(i).engine(), b.get("engine"));
            assertEquals((double) rows.get(i).batch(), b.get("batch"));
            Object sps = b.get("samples_per_second");
            if (Double.isNaN(rows.get(i).samplesPerSecond())) {
                assertNull(sps);
            } else {
                assertEquals(rows.get(i).samplesPerSecond(), (Double) sps, 0.0);
            }
        }
    }

    @Test
    void anUnwritableDirectoryIsAOneLineError() throws Exception {
        Path file = dir.resolve("not-a-dir");
        Files.writeString(file, "x");
        KilnException e = assertThrows(KilnException.class,
                () -> ReportWriter.write(file.resolve("sub"), SyntheticReports.full(1, 15)));
        assertTrue(e.getMessage().startsWith("cannot write the report"), e.getMessage());
        assertTrue(e.hint().contains("--report"));
    }

    static List<BenchRow> benchRows() {
        return List.of(
                new BenchRow("784,25,25,10", 64, "kiln cpu", 310_000, 0.19),
                new BenchRow("784,25,25,10", 64, "kiln cuda", 2_400_000, 0.025),
                new BenchRow("784,25,25,10", 64, "pytorch", 900_000, 0.067),
                new BenchRow("784,25,25,10", 64, "numpy", 120_000, 0.5),
                new BenchRow("784,25,25,10", 512, "kiln cpu", 650_000, 0.092),
                new BenchRow("784,25,25,10", 512, "kiln cuda", 9_100_000, 0.0066),
                new BenchRow("784,25,25,10", 512, "pytorch", 5_200_000, 0.0115),
                new BenchRow("784,25,25,10", 512, "numpy", Double.NaN, Double.NaN),
                new BenchRow("784,256,10", 128, "kiln cpu", 140_000, 0.43),
                new BenchRow("784,256,10", 128, "kiln cuda", 6_000_000, 0.01),
                new BenchRow("784,256,10", 128, "pytorch", 3_100_000, 0.019));
    }

    private static String benchHtml() {
        return BenchPage.html(benchRows(), SyntheticReports.facts("784,25,25,10"));
    }

    static int count(String s, String sub) {
        int n = 0;
        for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + 1)) {
            n++;
        }
        return n;
    }

    /** Jackson, with every number as a Double so the checks read simply. */
    private static Object parseJson(String text) {
        try {
            return doubles(new com.fasterxml.jackson.databind.ObjectMapper().readValue(text, Object.class));
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new AssertionError("not valid JSON: " + e.getMessage(), e);
        }
    }

    private static Object doubles(Object v) {
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new java.util.LinkedHashMap<>();
            m.forEach((k, x) -> out.put((String) k, doubles(x)));
            return out;
        }
        if (v instanceof List<?> l) {
            return l.stream().map(ReportWriterTest::doubles).collect(java.util.stream.Collectors.toList());
        }
        return v instanceof Number n ? n.doubleValue() : v;
    }
}
