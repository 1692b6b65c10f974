package dev.kiln.cli;

import dev.kiln.data.Dataset;
import dev.kiln.data.KilnException;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.DeviceProvider;
import dev.kiln.engine.device.Devices;
import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.optim.Optimizer;
import dev.kiln.engine.report.BenchRow;
import dev.kiln.engine.report.ReportWriter;
import dev.kiln.engine.report.RunFacts;
import dev.kiln.engine.train.EpochMetrics;
import dev.kiln.engine.train.TrainConfig;
import dev.kiln.engine.train.Trainer;
import dev.kiln.engine.train.TrainingListener;
import dev.kiln.engine.train.TrainingResult;
import dev.kiln.engine.json.Json;
import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code kiln bench}: training throughput of Kiln's devices on the seed and wide networks, side by side, and
 * (with {@code --peers}) the PyTorch and numpy numbers that bench/compare.py measured, as a table and a report page.
 * Each run trains a few epochs; the first warms up the JIT (or captures the CUDA graph) and is not counted.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Measure training throughput (samples/s) of every usable Kiln device on MNIST.",
                "Peers (PyTorch, numpy) come from bench/compare.py's .tsv output via --peers."})
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    Kiln.Verbosity verbosity;
    @Option(names = "--configs", split = " ", paramLabel = "LAYERS:BATCH",
            defaultValue = "784,25,25,10:64 784,25,25,10:1024 784,1024,1024,10:256",
            description = "Networks and batch sizes. Default: ${DEFAULT-VALUE}.")
    List<String> configs;
    @Option(names = "--epochs", defaultValue = "4", paramLabel = "N",
            description = "Epochs per run; the first is a warm-up. Default: ${DEFAULT-VALUE}.")
    int epochs;
    @Option(names = "--devices", split = ",", paramLabel = "KINDS",
            description = "Devices to measure, e.g. cpu,cuda. Default: every usable one but the reference.")
    List<String> devices;
    @Option(names = "--threads", defaultValue = "0", paramLabel = "N", description = "CPU threads; 0 uses every core.")
    int threads;
    @Option(names = "--peers", paramLabel = "FILE.tsv", description = "Add the peers measured by bench/compare.py (its .tsv file).")
    Path peers;
    @Option(names = "--report", paramLabel = "DIR", description = "Write a bar chart and table to DIR/report.html.")
    Path report;
    @Mixin
    DataMixin data;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (epochs < 2) {
            throw new UsageException("--epochs must be at least 2 (one warm-up, then measured epochs)");
        }
        if (devices != null) {
            devices.forEach(DeviceMixin::checkName);
        }
        List<String> kinds = devices != null ? devices : Devices.providers().stream()
                .filter(p -> !p.kind().equals("reference") && p.availability().usable()).map(DeviceProvider::kind).toList();
        List<LayerSpec> specs = new ArrayList<>();
        List<Integer> batches = new ArrayList<>();
        for (String config : configs) {
            String[] parts = config.split(":");
            if (parts.length != 2 || !parts[1].trim().matches("[1-9][0-9]{0,8}")) {
                throw new UsageException("--configs entry '" + config + "' is not LAYERS:BATCH", "e.g. 784,25,25,10:64");
            }
            specs.add(TrainCommand.parseLayers(parts[0]));
            batches.add(Integer.parseInt(parts[1].trim()));
        }
        List<BenchRow> peerRows = peers == null ? List.of() : readPeers(peers);
        PrintWriter err = spec.commandLine().getErr();
        err.printf(Locale.ROOT, "measuring %d run%s of %d epochs (the first a warm-up): %s on %s%n", kinds.size() * configs.size(),
                kinds.size() * configs.size() == 1 ? "" : "s", epochs, String.join(", ", kinds), String.join(", ", configs));
        err.flush();
        Dataset.Pair pair = data.load();
        List<BenchRow> rows = new ArrayList<>();
        List<String> described = new ArrayList<>();
        long started = System.nanoTime();
        String machine = RunReport.cpuModel();
        String date = LocalDateTime.now().truncatedTo(ChronoUnit.MINUTES).toString().replace('T', ' ');
        boolean live = System.console() != null && System.console().isTerminal();
        for (String kind : kinds) {
            try (Device device = Devices.open(kind, new DeviceOptions(threads, false, false, 0)).device()) {
                described.add(device.description());
                for (int c = 0; c < specs.size(); c++) {
                    LayerSpec layers = specs.get(c);
                    int batch = batches.get(c);
                    TrainConfig cfg = TrainConfig.defaults().withEpochs(epochs).withBatchSize(batch).withOptimizer(Optimizer.Adam.defaults());
                    String what = String.format(Locale.ROOT, "kiln %s %s batch %d", kind, layers, batch);
                    TrainingListener progress = !live ? null : new TrainingListener() {
                        @Override
                        public void onStep(int epoch, int step, int totalSteps, double runningLoss, double samplesPerSecond) {
                            err.printf(Locale.ROOT, "\r  %s: epoch %d/%d, step %d/%d   ", what, epoch, epochs, step, totalSteps);
                            err.flush();
                        }
                    };
                    TrainingResult r = Trainer.fresh(device, layers, cfg).fit(pair.train(), null, progress);
                    if (live) {
                        err.print("\r" + " ".repeat(100) + "\r");
                        err.flush();
                    }
                    double[] timed = r.epochs().stream().skip(1).mapToDouble(EpochMetrics::epochSeconds).sorted().toArray();
                    double median = timed[timed.length / 2];
                    rows.add(new BenchRow(layers.toString(), batch, "kiln " + kind, pair.train().size() / median, median,
                            machine, date));
                    out.printf(Locale.ROOT, "kiln %-9s %-18s batch %5d  %8.3f s/epoch  %,12.0f samples/s%n",
                            kind, layers, batch, median, pair.train().size() / median);
                    out.flush();
                }
            }
        }
        for (BenchRow p : peerRows) {
            boolean here = p.machine().equals(machine);
            if (!here) {
                p = new BenchRow(p.network(), p.batch(), p.engine() + " (another machine)", p.samplesPerSecond(),
                        p.epochSeconds(), p.machine(), p.date());
            }
            rows.add(p);
        }
        if (!peerRows.isEmpty()) {
            BenchRow p = peerRows.getFirst();
            out.println("peers from " + peers + ": measured on " + p.measured() + (p.machine().equals(machine)
                    ? " (this machine)" : "; another machine than this one (" + machine + "), so the report does not compare them"));
        }
        if (report != null) {
            RunFacts facts = new RunFacts(Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(), Kiln.version(),
                    System.getenv().getOrDefault("KILN_COMMIT", "unknown"), String.join("; ", described) + "; " + RunReport.cpuModel(),
                    String.join(" ", configs), 0 /* several networks */, "adam", new LinkedHashMap<>(Map.of("epochs", epochs + " (first is a warm-up)")),
                    42, data.datasetName(), data.checksumStatus(), (System.nanoTime() - started) / 1e9);
            out.println("report: " + ReportWriter.writeBench(report, rows, facts));
        }
        return 0;
    }

    /**
     * Rows of network, batch, engine, samples/s, epoch seconds, tab-separated, with a header line. The machine and
     * date come from the .json that bench/compare.py writes beside the .tsv; without it, the machine is unknown
     * and the date is the file's.
     */
    static List<BenchRow> readPeers(Path file) {
        List<BenchRow> rows = new ArrayList<>();
        List<String> lines;
        String machine = "unknown machine", date;
        try {
            date = Files.getLastModifiedTime(file).toInstant().atZone(java.time.ZoneId.systemDefault()).toLocalDateTime()
                    .truncatedTo(ChronoUnit.MINUTES).toString().replace('T', ' ');
        } catch (IOException e) {
            date = "unknown date";
        }
        Path facts = file.resolveSibling(file.getFileName().toString().replaceAll("\\.tsv$", "") + ".json");
        if (Files.isRegularFile(facts)) {
            try {
                JsonNode j = Json.parse(Files.readAllBytes(facts));
                if (j.path("machine").isTextual()) {
                    machine = j.get("machine").textValue() + (j.path("cores").canConvertToInt() ? ", " + j.get("cores").intValue() + " cores" : "");
                }
                date = j.path("date").isTextual() ? j.get("date").textValue() : date;
            } catch (IOException e) {
                throw new KilnException("cannot read " + facts + " (the facts of --peers " + file + "): " + e.getMessage(),
                        "rerun bench/compare.py, or move the .json away");
            }
        }
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new KilnException("cannot read --peers " + file + ": " + e.getMessage(), "run bench/compare.py first; it writes the .tsv");
        }
        for (int i = 1; i < lines.size(); i++) {
            String[] f = lines.get(i).split("\t");
            if (f.length != 5) {
                throw new KilnException(file + " line " + (i + 1) + " has " + f.length + " fields, expected 5: " + Arrays.toString(f));
            }
            try {
                rows.add(new BenchRow(f[0], Integer.parseInt(f[1]), f[2], Double.parseDouble(f[3]), Double.parseDouble(f[4]),
                        machine, date));
            } catch (NumberFormatException e) {
                throw new KilnException(file + " line " + (i + 1) + ": not a number (" + e.getMessage() + ")");
            }
        }
        return rows;
    }
}
