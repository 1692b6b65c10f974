package dev.kiln.engine.report;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.engine.json.Json;

import java.util.List;
import java.util.Map;
import java.util.function.IntToDoubleFunction;

/**
 * The report's numbers as JSON (metrics.json, bench.json), for scripts and for comparing runs. Keys are snake_case,
 * as in the {@code --metrics} lines, fixed, and written in a fixed order; a value that was not measured is
 * {@code null}; a section the run did not produce is {@code null}. The format string changes when a key does.
 */
final class MetricsJson {
    static final String REPORT_FORMAT = "kiln-report/2";
    static final String BENCH_FORMAT = "kiln-bench/2";

    private MetricsJson() {}

    static String report(Report r) {
        ObjectNode j = Json.object();
        j.put("format", REPORT_FORMAT).put("title", r.title());
        j.set("facts", facts(r.facts()));

        ObjectNode last = j.putObject("final");
        EpochRow e = r.lastEpoch();
        last.put("epochs", r.epochs().size());
        last.set("train_loss", Json.number(e == null ? Double.NaN : e.trainLoss()));
        last.set("train_accuracy", Json.number(e == null ? Double.NaN : e.trainAccuracy()));
        last.set("test_loss", Json.number(e == null ? Double.NaN : e.testLoss()));
        last.set("test_accuracy", Json.number(r.finalTestAccuracy()));

        ArrayNode epochs = j.putArray("epochs");
        for (EpochRow row : r.epochs()) {
            ObjectNode o = epochs.addObject().put("epoch", row.epoch());
            o.set("train_loss", Json.number(row.trainLoss()));
            o.set("train_accuracy", Json.number(row.trainAccuracy()));
            o.set("test_loss", Json.number(row.testLoss()));
            o.set("test_accuracy", Json.number(row.testAccuracy()));
            o.set("learning_rate", Json.number(row.learningRate()));
            o.set("epoch_seconds", Json.number(row.epochSeconds()));
            o.set("samples_per_second", Json.number(row.samplesPerSecond()));
        }

        ClassStats s = r.classes();
        if (s == null) {
            j.putNull("classes");
        } else {
            ObjectNode c = j.putObject("classes");
            ArrayNode names = c.putArray("names");
            s.classNames().forEach(names::add);
            ArrayNode confusion = c.putArray("confusion");
            for (int t = 0; t < s.classes(); t++) {
                ArrayNode row = confusion.addArray();
                for (int p = 0; p < s.classes(); p++) {
                    row.add(s.count(t, p));
                }
            }
            c.put("total", s.total()).put("correct", s.correct());
            c.set("accuracy", Json.number(s.accuracy()));
            perClass(c, "support", s, k -> (double) s.support(k));
            perClass(c, "precision", s, s::precision);
            perClass(c, "recall", s, s::recall);
            perClass(c, "f1", s, s::f1);
        }

        if (r.mistakes() == null) {
            j.putNull("mistakes");
        } else {
            ArrayNode mistakes = j.putArray("mistakes");
            for (Mistake m : r.mistakes()) {
                ObjectNode o = mistakes.addObject().put("index", m.index()).put("true_label", m.trueLabel())
                        .put("predicted_label", m.predictedLabel());
                o.set("confidence", Json.number(m.confidence()));
            }
        }

        FirstLayerWeights w = r.weights();
        if (w == null) {
            j.putNull("first_layer");
        } else {
            j.putObject("first_layer").put("units", w.units()).put("rows", w.rows()).put("cols", w.cols())
                    .put("shown", Math.min(w.units(), FirstLayerWeights.SHOWN));
        }
        return Json.pretty(j);
    }

    static String bench(List<BenchRow> rows, RunFacts f) {
        ObjectNode j = Json.object();
        j.put("format", BENCH_FORMAT);
        j.set("facts", facts(f));
        ArrayNode out = j.putArray("rows");
        for (BenchRow r : rows) {
            ObjectNode o = out.addObject().put("network", r.network()).put("batch", r.batch()).put("engine", r.engine());
            o.set("samples_per_second", Json.number(r.samplesPerSecond()));
            o.set("epoch_seconds", Json.number(r.epochSeconds()));
            o.put("machine", r.machine()).put("date", r.date());
        }
        return Json.pretty(j);
    }

    private static ObjectNode facts(RunFacts f) {
        ObjectNode j = Json.object();
        j.put("date", f.date()).put("kiln_version", f.kilnVersion()).put("commit", f.commit())
                .put("device", f.device()).put("layers", f.layers()).put("parameters", f.parameters())
                .put("optimizer", f.optimizer());
        ObjectNode h = j.putObject("hyperparameters");
        for (Map.Entry<String, String> e : f.hyperparameters().entrySet()) {
            h.put(e.getKey(), e.getValue());
        }
        j.put("seed", f.seed()).put("dataset", f.dataset()).put("checksum", f.checksum());
        j.set("total_seconds", Json.number(f.totalSeconds()));
        return j;
    }

    private static void perClass(ObjectNode j, String name, ClassStats s, IntToDoubleFunction f) {
        ArrayNode a = j.putArray(name);
        for (int c = 0; c < s.classes(); c++) {
            a.add(Json.number(f.applyAsDouble(c)));
        }
    }
}
