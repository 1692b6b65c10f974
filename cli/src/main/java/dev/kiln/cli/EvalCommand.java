package dev.kiln.cli;

import dev.kiln.data.Dataset;
import dev.kiln.data.FeatureScaling;
import dev.kiln.data.KilnException;
import dev.kiln.engine.Model;
import dev.kiln.engine.checkpoint.Checkpoint;
import dev.kiln.engine.device.Devices;
import dev.kiln.engine.eval.Evaluation;
import dev.kiln.engine.train.TrainingState;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code kiln eval}: a saved model's accuracy on the test set, per-class precision and recall, confusion matrix. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Evaluate a saved model on the test set: accuracy, per-class precision and recall, confusion matrix.")
final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    Kiln.Verbosity verbosity;
    @Option(names = {"--model", "-m"}, defaultValue = "kiln-mnist.safetensors", paramLabel = "FILE",
            description = "The checkpoint to evaluate. Default: ${DEFAULT-VALUE}.")
    Path model;
    @Mixin
    DeviceMixin device;
    @Mixin
    DataMixin data;
    @Mixin
    TableMixin table;
    @Option(names = "--report", paramLabel = "DIR", description = "Write an HTML report of the evaluation to DIR/report.html.")
    Path report;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        long started = System.nanoTime();
        Checkpoint.Loaded loaded = Checkpoint.load(model);
        TrainingState state = loaded.state();
        FeatureScaling scaling = FeatureScaling.fromMetadata(loaded.metadata());
        if (scaling != null && !table.given()) {
            throw new KilnException(model + " was trained on your own data (" + scaling + ")", "pass --data FILE to evaluate it");
        }
        if (table.given() && (scaling == null || report != null)) {
            throw new KilnException(scaling == null ? model + " was trained on images; --data needs a model trained with --data"
                    : "--report draws MNIST-shaped pictures; it does not work with --data", "leave " + (scaling == null ? "--data" : "--report") + " out");
        }
        Dataset test = scaling != null ? table.evaluate(scaling, loaded.metadata()) : data.load().test();
        Devices.Selection selection = device.open(spec.commandLine().getErr());
        try (Model m = Model.restore(state, selection.device())) {
            Evaluation e = m.evaluate(test);
            print(out, model + " (" + state.layers() + ", epoch " + state.epochsCompleted() + ")", e);
            if (report != null) {
                Path page = RunReport.write(report, "Evaluation of " + model.getFileName(), state.layers(), state.optimizer(),
                        Map.of("model", model.toString(), "epochs trained", Integer.toString(state.epochsCompleted())),
                        state.seed(), selection.device().description(), data.datasetName(), data.checksumStatus(),
                        (System.nanoTime() - started) / 1e9, List.of(), e, test, state.parameters());
                out.println("report: " + page);
            }
        }
        return 0;
    }

    static void print(PrintWriter out, String what, Evaluation e) {
        out.printf(Locale.ROOT, "%s on %d test images: accuracy %.2f%% (%d correct), mean loss %.4f%n",
                what, e.size(), 100 * e.accuracy(), e.correct(), e.loss());
        out.println();
        out.println("class  precision  recall   count");
        int[][] cm = e.confusionMatrix();
        for (int c = 0; c < e.classes(); c++) {
            int count = 0;
            for (int v : cm[c]) {
                count += v;
            }
            out.printf(Locale.ROOT, "%5d  %8.2f%%  %6.2f%%  %6d%n", c, 100 * e.precision(c), 100 * e.recall(c), count);
        }
        out.println();
        out.println("confusion matrix (rows: true class, columns: predicted)");
        StringBuilder head = new StringBuilder("      ");
        for (int c = 0; c < e.classes(); c++) {
            head.append(String.format(Locale.ROOT, "%6d", c));
        }
        out.println(head);
        for (int t = 0; t < e.classes(); t++) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%5d ", t));
            for (int p = 0; p < e.classes(); p++) {
                row.append(String.format(Locale.ROOT, "%6d", cm[t][p]));
            }
            out.println(row);
        }
        out.flush();
    }
}
