package dev.kiln.cli;

import dev.kiln.data.FeatureScaling;
import dev.kiln.data.KilnException;
import dev.kiln.data.Table;
import dev.kiln.engine.Model;
import dev.kiln.engine.checkpoint.Checkpoint;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.Devices;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/** {@code kiln predict --data FILE}: the class of each row of a table, for a model trained with {@code --data}. */
final class TablePredictions {
    private TablePredictions() {
    }

    static int print(PrintWriter out, Path model, Checkpoint.Loaded loaded, TableMixin table, List<Path> images, int top) {
        FeatureScaling scaling = FeatureScaling.fromMetadata(loaded.metadata());
        if (scaling == null) {
            throw new KilnException(model + " was trained on images; it classifies pictures, not --data rows",
                    "give it IMAGE files, or a model trained with --data");
        }
        if (!table.given() || (images != null && !images.isEmpty())) {
            throw new KilnException(model + " was trained on your own data (" + scaling + "); it classifies rows of a table",
                    "pass --data FILE (CSV, or .npy features) instead of pictures");
        }
        Table rows = table.rowsToPredict(scaling, loaded.metadata());
        List<String> classes = scaling.classNames();
        float[][] inputs = new float[rows.size()][];
        for (int i = 0; i < inputs.length; i++) {
            inputs[i] = scaling.inputs(rows.features()[i]);
        }
        try (Device dev = Devices.open("reference", DeviceOptions.DEFAULTS).device();
             Model m = Model.restore(loaded.state(), dev)) {
            float[][] p = m.predict(inputs);
            for (int i = 0; i < p.length; i++) {
                float[] q = p[i];
                Integer[] order = IntStream.range(0, q.length).boxed().toArray(Integer[]::new);
                Arrays.sort(order, Comparator.comparingDouble((Integer c) -> -q[c]));
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "row %d: %s   (", i + 1, classes.get(order[0])));
                for (int k = 0; k < Math.min(Math.max(top, 1), q.length); k++) {
                    line.append(k == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%s %.1f%%", classes.get(order[k]), 100 * q[order[k]]));
                }
                out.println(line.append(')'));
            }
        }
        out.flush();
        return 0;
    }
}
