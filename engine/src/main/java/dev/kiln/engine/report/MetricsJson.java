package dev.kiln.engine.report;

import java.util.List;
import java.util.Map;
import java.util.function.IntToDoubleFunction;

/**
 * The report's numbers as JSON (metrics.json, bench.json), for scripts and for comparing runs. Keys are fixed and
 * written in a fixed order; a value that was not measured is {@code null}; a section the run did not produce is
 * {@code null}. The format string changes when a key does.
 */
final class MetricsJson {
    static final String REPORT_FORMAT = "kiln-report/1";
    static final String BENCH_FORMAT = "kiln-bench/1";

    private MetricsJson() {}

    static String report(Report r) {
        Json j = new Json().beginObject();
        j.field("format", REPORT_FORMAT).field("title", r.title());
        facts(j, r.facts());

        j.name("final").beginObject();
        EpochRow last = r.lastEpoch();
        j.field("epochs", r.epochs().size());
        j.field("trainLoss", last == null ? Double.NaN : last.trainLoss());
        j.field("trainAccuracy", last == null ? Double.NaN : last.trainAccuracy());
        j.field("testLoss", last == null ? Double.NaN : last.testLoss());
        j.field("testAccuracy", r.finalTestAccuracy());
        j.endObject();

        j.name("epochs").beginArray(false);
        for (EpochRow e : r.epochs()) {
            j.beginObject().field("epoch", e.epoch()).field("trainLoss", e.trainLoss()).field("testLoss", e.testLoss())
                    .field("trainAccuracy", e.trainAccuracy()).field("testAccuracy", e.testAccuracy())
                    .field("learningRate", e.learningRate()).field("samplesPerSecond", e.samplesPerSecond())
                    .field("epochSeconds", e.epochSeconds()).endObject();
        }
        j.endArray();

        j.name("classes");
        ClassStats s = r.classes();
        if (s == null) {
            j.nullValue();
        } else {
            j.beginObject();
            j.name("names").beginArray(true);
            s.classNames().forEach(j::value);
            j.endArray();
            j.name("confusion").beginArray(false);
            for (int t = 0; t < s.classes(); t++) {
                j.beginArray(true);
                for (int p = 0; p < s.classes(); p++) {
                    j.value(s.count(t, p));
                }
                j.endArray();
            }
            j.endArray();
            j.field("total", s.total()).field("correct", s.correct()).field("accuracy", s.accuracy());
            perClass(j, "support", s, c -> (double) s.support(c));
            perClass(j, "precision", s, s::precision);
            perClass(j, "recall", s, s::recall);
            perClass(j, "f1", s, s::f1);
            j.endObject();
        }

        j.name("mistakes");
        if (r.mistakes() == null) {
            j.nullValue();
        } else {
            j.beginArray(false);
            for (Mistake m : r.mistakes()) {
                j.beginObject().field("index", m.index()).field("trueLabel", m.trueLabel())
                        .field("predictedLabel", m.predictedLabel()).field("confidence", m.confidence()).endObject();
            }
            j.endArray();
        }

        j.name("firstLayer");
        FirstLayerWeights w = r.weights();
        if (w == null) {
            j.nullValue();
        } else {
            j.beginObject().field("units", w.units()).field("rows", w.rows()).field("cols", w.cols())
                    .field("shown", Math.min(w.units(), FirstLayerWeights.SHOWN)).endObject();
        }
        return j.endObject().toString();
    }

    static String bench(List<BenchRow> rows, RunFacts f) {
        Json j = new Json().beginObject();
        j.field("format", BENCH_FORMAT);
        facts(j, f);
        j.name("rows").beginArray(false);
        for (BenchRow r : rows) {
            j.beginObject().field("network", r.network()).field("batch", r.batch()).field("engine", r.engine())
                    .field("samplesPerSecond", r.samplesPerSecond()).field("epochSeconds", r.epochSeconds()).endObject();
        }
        j.endArray();
        return j.endObject().toString();
    }

    private static void facts(Json j, RunFacts f) {
        j.name("facts").beginObject();
        j.field("date", f.date()).field("kilnVersion", f.kilnVersion()).field("commit", f.commit())
                .field("device", f.device()).field("layers", f.layers()).field("parameters", f.parameters())
                .field("optimizer", f.optimizer());
        j.name("hyperparameters").beginObject();
        for (Map.Entry<String, String> e : f.hyperparameters().entrySet()) {
            j.field(e.getKey(), e.getValue());
        }
        j.endObject();
        j.field("seed", f.seed()).field("dataset", f.dataset()).field("checksum", f.checksum())
                .field("totalSeconds", f.totalSeconds());
        j.endObject();
    }

    private static void perClass(Json j, String name, ClassStats s, IntToDoubleFunction f) {
        j.name(name).beginArray(true);
        for (int c = 0; c < s.classes(); c++) {
            j.value(f.applyAsDouble(c));
        }
        j.endArray();
    }
}
