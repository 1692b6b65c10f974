package dev.kiln.cli;

import dev.kiln.data.Dataset;
import dev.kiln.data.AtomicFile;
import dev.kiln.data.FeatureScaling;
import dev.kiln.data.KilnException;
import dev.kiln.data.OutputLock;
import dev.kiln.engine.checkpoint.Checkpoint;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.Devices;
import dev.kiln.engine.dist.Ranks;
import dev.kiln.engine.eval.Evaluation;
import dev.kiln.engine.eval.Evaluator;
import dev.kiln.engine.report.MetricsLog;
import dev.kiln.engine.report.ReportWriter;
import dev.kiln.engine.model.Init;
import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.optim.Optimizer;
import dev.kiln.engine.optim.Schedule;
import dev.kiln.engine.train.EpochMetrics;
import dev.kiln.engine.train.TrainConfig;
import dev.kiln.engine.train.Trainer;
import dev.kiln.engine.train.TrainingListener;
import dev.kiln.engine.train.TrainingResult;
import dev.kiln.engine.train.TrainingState;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code kiln train}: trains a network (by default the founding document's 784-25-25-10 on MNIST with Adam) and
 * saves it as safetensors after every N epochs and at the end. Ctrl-C stops after the current step and leaves the
 * last complete checkpoint as it was.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a network on MNIST (or any MNIST-shaped dataset) and save it as safetensors.",
                "Defaults are the founding network: 784,25,25,10, Adam lr 1e-3, batch 64, 10 epochs, seed 42."})
final class TrainCommand implements Callable<Integer> {
    static final String DEFAULT_CHECKPOINT = "kiln-mnist.safetensors";
    @Spec
    CommandSpec spec;
    @Mixin
    Kiln.Verbosity verbosity;

    @Option(names = "--layers", paramLabel = "SIZES",
            description = "Layer sizes, input first, or the hidden sizes alone (64,32): input and output follow the data. Default: 25,25 hidden (784,25,25,10 on MNIST), or the resumed checkpoint's.")
    String layers;
    @Option(names = "--epochs", defaultValue = "10", paramLabel = "N", description = "Total epochs (a resumed run continues up to N). Default: ${DEFAULT-VALUE}.")
    int epochs;
    @Option(names = {"--batch-size", "-b"}, defaultValue = "64", paramLabel = "B", description = "Samples per step. Default: ${DEFAULT-VALUE}.")
    int batchSize;
    @Option(names = "--optimizer", defaultValue = "adam", paramLabel = "NAME", description = "adam, adamw or sgd. Default: ${DEFAULT-VALUE}.")
    String optimizer;
    @Option(names = "--lr", paramLabel = "RATE", description = "Learning rate. Default: 1e-3 for adam and adamw, 0.1 for sgd.")
    Double lr;
    @Option(names = "--momentum", defaultValue = "0", paramLabel = "M", description = "SGD momentum. Default: ${DEFAULT-VALUE}.")
    double momentum;
    @Option(names = "--weight-decay", paramLabel = "WD", description = "L2 penalty (adam, sgd) or decoupled decay (adamw). Default: 0, or 0.01 for adamw.")
    Double weightDecay;
    @Option(names = "--schedule", defaultValue = "constant", paramLabel = "NAME",
            description = "Learning-rate schedule per epoch: constant, step (x gamma every --step-epochs) or cosine (to 0 at the last epoch). Default: ${DEFAULT-VALUE}.")
    String schedule;
    @Option(names = "--step-epochs", defaultValue = "5", paramLabel = "K", description = "For --schedule step: epochs between decays. Default: ${DEFAULT-VALUE}.")
    int stepEpochs;
    @Option(names = "--gamma", defaultValue = "0.1", paramLabel = "G", description = "For --schedule step: decay factor. Default: ${DEFAULT-VALUE}.")
    double gamma;
    @Option(names = "--init", defaultValue = "pytorch", paramLabel = "NAME", description = "Initialisation: pytorch (nn.Linear's default), he or xavier. Default: ${DEFAULT-VALUE}.")
    String init;
    @Option(names = "--seed", defaultValue = "42", paramLabel = "S", description = "Seeds the initial weights and every epoch's shuffle. Default: ${DEFAULT-VALUE}.")
    long seed;
    @Mixin
    DeviceMixin device;
    @Mixin
    DataMixin data;
    @Mixin
    TableMixin table;
    @Option(names = {"--checkpoint", "-o"}, paramLabel = "FILE", description = "Where the model is saved. Default: the --resume FILE, else " + DEFAULT_CHECKPOINT + ".")
    Path checkpoint;
    @Option(names = "--checkpoint-every", defaultValue = "1", paramLabel = "N", description = "Save after every N epochs (and always at the end). Default: ${DEFAULT-VALUE}.")
    int checkpointEvery;
    @Option(names = "--resume", paramLabel = "FILE", description = "Continue the run saved in FILE (its weights, optimizer state, step, epoch and seed).")
    Path resume;
    @Option(names = "--metrics", paramLabel = "FILE", description = "Also write one JSON line per epoch to FILE (schema in the README).")
    Path metrics;
    @Option(names = "--report", paramLabel = "DIR", description = "Write an HTML report of the run to DIR/report.html.")
    Path report;

    /** Under {@code mpirun} or {@code srun}, this process is one rank of a data-parallel run; only rank 0 speaks. */
    private Ranks ranks;

    @Override
    public Integer call() throws Exception {
        ranks = Ranks.join();
        return RankedRun.run(ranks, spec.commandLine().getErr(), this::trainRank);
    }

    private int trainRank() throws Exception {
        PrintWriter out = RankedRun.quietUnlessRoot(ranks, spec.commandLine().getOut());
        PrintWriter err = RankedRun.quietUnlessRoot(ranks, spec.commandLine().getErr());
        long started = System.nanoTime();
        if (checkpoint == null) { // a resumed run goes on saving where it came from
            checkpoint = resume != null ? resume : Path.of(DEFAULT_CHECKPOINT);
        }
        validate();
        Checkpoint.Loaded loaded = resume == null ? null : RankedRun.load(ranks, resume);
        TrainingState resumed = loaded == null ? null : loaded.state();
        if (resumed != null) {
            if (resumed.epochsCompleted() >= epochs) {
                throw new KilnException(resume + " already holds " + resumed.epochsCompleted() + " epochs",
                        "pass --epochs larger than " + resumed.epochsCompleted() + " to train further");
            }
            if (!loaded.hasOptimizerState()) {
                err.println("note: " + resume + " has no optimizer state; the optimizer starts afresh from its weights");
            }
        }
        TrainConfig config = config(resumed);
        // a second run writing the same files is refused here, before it loads or trains anything; of several
        // ranks, rank 0 alone writes
        try (OutputLock lock = ranks.isRoot() ? OutputLock.take(checkpoint, "the checkpoint") : null;
             MetricsLog metricsLog = metrics == null || !ranks.isRoot() ? null
                     : MetricsLog.open(metrics, resumed == null ? 0 : resumed.epochsCompleted())) {
            return train(out, err, started, loaded, config, lock, metricsLog);
        }
    }

    private int train(PrintWriter out, PrintWriter err, long started, Checkpoint.Loaded loaded, TrainConfig config,
                      OutputLock lock, MetricsLog metricsLog) {
        TrainingState resumed = loaded == null ? null : loaded.state();
        TableMixin.Training own = table.given() ? table.train(config.seed(), data.limit,
                loaded == null ? null : FeatureScaling.fromMetadata(loaded.metadata())) : null;
        Dataset.Pair pair = own != null ? own.pair() : data.load();
        dataMetadata = own != null ? own.metadata() : Map.of();
        LayerSpec layerSpec = chooseLayers(resumed, pair.train());
        RankedRun.shareMachine(ranks, device);
        Devices.Selection selection = device.open(err);
        try (Device dev = selection.device()) {
            checkMemory(layerSpec, config, !dev.name().startsWith("cuda"));
            Trainer trainer = resumed == null ? Trainer.fresh(dev, layerSpec, config) : Trainer.resume(dev, resumed, config);
            RankedRun.distribute(ranks, dev, trainer, err);
            if (resumed != null) {
                err.printf(Locale.ROOT, "resuming %s at epoch %d, step %d%n", resume, resumed.epochsCompleted(), resumed.step());
                String changes = changes(resumed, config);
                if (!changes.isEmpty()) {
                    err.println("resuming with changes: " + changes);
                }
            }
            out.printf(Locale.ROOT, "training %s (%,d parameters) on %s: %d train / %d test %s, %s, batch %d, %d epochs%n",
                    layerSpec, layerSpec.parameterCount(), own != null ? own.provenance() : data.provenance(),
                    pair.train().size(), pair.test().size(), own != null ? "rows" : "images",
                    config.optimizer(), config.batchSize(), epochs);
            out.flush();
            // Declared first, closed last: Ctrl-C waits until the messages below are out and the locks released.
            // Over several ranks Ctrl-C ends them all at once (each would stop at a step of its own, and wait for the rest).
            try (StopOnInterrupt stop = ranks.size() > 1 ? null : new StopOnInterrupt(trainer::requestStop, metricsLog, lock);
                 RunListener listener = new RunListener(trainer, out, err, metricsLog)) {
                TrainingResult result = trainer.fit(pair.train(), pair.test(), listener);
                listener.endLine();
                if (result.stopped()) {
                    out.println("stopped after the current step; " + (listener.savedEpoch > 0
                            ? checkpoint + " holds epoch " + listener.savedEpoch
                            : "no checkpoint was written"));
                    return 130;
                }
                if (listener.savedEpoch != trainer.epochsCompleted()) {
                    listener.save();
                }
                EpochMetrics last = result.last();
                out.printf(Locale.ROOT, "done: test accuracy %.2f%%, saved %s%n", 100 * last.testAccuracy(), checkpoint);
                if (report != null && ranks.isRoot()) {
                    Evaluation eval = new Evaluator(trainer.model(), 1000).evaluate(pair.test());
                    Path page = RunReport.write(report, "Training " + layerSpec, layerSpec, config.optimizer(),
                            Map.of("batch size", Integer.toString(config.batchSize()), "epochs", Integer.toString(epochs),
                                    "schedule", config.schedule().toString(), "init", init),
                            config.seed(), dev.description(), data.datasetName(), data.checksumStatus(),
                            (System.nanoTime() - started) / 1e9, result.epochs(), eval, pair.test(), trainer.model().parameters());
                    out.println("report: " + page);
                }
                return 0;
            }
        }
    }

    /**
     * While open, Ctrl-C (the JVM's shutdown) asks for a stop after the current step, then waits (up to 30 s) for
     * this to be closed, so the run ends cleanly and the last complete checkpoint stays as it was.
     */
    private static final class StopOnInterrupt implements AutoCloseable {
        private final CountDownLatch closed = new CountDownLatch(1);
        private final Thread hook;
        private final AutoCloseable[] before;

        /** {@code before}: closed first (the output locks), so that they are released before the JVM exits. */
        StopOnInterrupt(Runnable requestStop, AutoCloseable... before) {
            this.before = before;
            hook = new Thread(() -> {
                requestStop.run();
                try {
                    closed.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "kiln-stop");
            Runtime.getRuntime().addShutdownHook(hook);
        }

        @Override
        public void close() {
            for (AutoCloseable c : before) {
                try {
                    if (c != null) {
                        c.close();
                    }
                } catch (Exception e) {
                    // releasing a lock cannot fail in a way worth reporting; the OS releases it at exit anyway
                }
            }
            closed.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // Ctrl-C: the hook is running and has just been released
            }
        }
    }

    private void validate() {
        if (table.given() && (data.dataDir != null || report != null)) {
            throw new KilnException("--data (your own data) cannot be combined with " + (report != null ? "--report" : "--data-dir"),
                    report != null ? "the report draws MNIST-shaped pictures; leave --report out" : "use one of them");
        }
        if (epochs <= 0) {
            throw new UsageException("--epochs must be positive, got " + epochs);
        }
        if (batchSize <= 0) {
            throw new UsageException("--batch-size must be positive, got " + batchSize, "64 or 128 are usual");
        }
        if (checkpointEvery <= 0) {
            throw new UsageException("--checkpoint-every must be positive, got " + checkpointEvery);
        }
        if (!ranks.isRoot()) {
            return; // rank 0 alone writes, on its own machine: the others need not have its folders
        }
        if (checkpoint.getParent() != null && !Files.isDirectory(checkpoint.getParent())) {
            throw new KilnException("cannot save to " + checkpoint + ": no folder " + checkpoint.getParent(),
                    "create it first, or pass another --checkpoint");
        }
        AtomicFile.checkTarget(checkpoint);
        if (metrics != null) {
            Path folder = metrics.toAbsolutePath().getParent();
            if (!Files.isDirectory(folder)) {
                throw new KilnException("cannot write metrics to " + metrics + ": no folder " + folder,
                        "create it first, or pass another --metrics");
            }
            AtomicFile.checkTarget(metrics);
        }
        if (report != null) { // refused now rather than after the training
            AtomicFile.checkTarget(report.resolve(ReportWriter.HTML));
            AtomicFile.checkTarget(report.resolve(ReportWriter.METRICS));
        }
    }

    /**
     * Refuses, before any work, a network whose training or checkpoint would not fit the Java heap: an
     * out-of-memory error after an epoch would lose it. Estimated: on a device that keeps its tensors in the heap
     * (the CPU ones), the parameters, their gradients, a transposed weight copy, the optimizer's state and about four
     * activations per unit and row of a batch; for every device, saving holds the parameters and optimizer state
     * twice (downloaded, then cut into tensors).
     */
    static void checkMemory(LayerSpec spec, TrainConfig config, boolean heapDevice) {
        long p = spec.parameterCount(), k = config.optimizer().stateNames().size();
        long units = 0;
        for (int w : spec.sizes()) {
            units += w;
        }
        long training = heapDevice ? 4 * p * (3 + k) + 16L * config.batchSize() * units : 0;
        long saving = 8 * p * (1 + k);
        Runtime rt = Runtime.getRuntime();
        long available = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        if (training + saving > available) {
            throw new KilnException(String.format(Locale.ROOT,
                    "%s (%,d parameters) needs about %s of Java heap (%s to train, %s to save a checkpoint), but %s is free",
                    spec, p, gb(training + saving), gb(training), gb(saving), gb(available)),
                    "use smaller --layers or --batch-size, or give Java more heap: JAVA_OPTS=-Xmx" 
                            + Math.max(1, (long) Math.ceil(1.25 * (training + saving + rt.totalMemory() - rt.freeMemory()) / (1L << 30)))
                            + "g ./kiln train ...");
        }
    }

    private static String gb(long bytes) {
        return String.format(Locale.ROOT, "%.1f GB", bytes / 1e9);
    }

    private LayerSpec chooseLayers(TrainingState resumed, Dataset train) {
        if (resumed == null) {
            return layersFor(train);
        }
        if (layers != null && !layersFor(train).equals(resumed.layers())) {
            throw new KilnException("--layers " + layers + " differs from the checkpoint's " + resumed.layers(),
                    "leave --layers out when resuming");
        }
        return resumed.layers();
    }

    static LayerSpec parseLayers(String text) {
        try {
            return LayerSpec.parse(text);
        } catch (KilnException e) {
            throw new UsageException("--layers " + text + ": " + e.getMessage(), e.hint());
        }
    }

    /** --layers (all sizes, or the hidden ones alone) for the data's input and class counts. */
    private LayerSpec layersFor(Dataset train) {
        try {
            return LayerSpec.forData(layers, train.pixelsPerSample(), train.classes());
        } catch (KilnException e) {
            if (layers == null) {
                throw e;
            }
            throw new UsageException("--layers " + layers + ": " + e.getMessage(), e.hint());
        }
    }

    /** True when the person typed this option (rather than taking its default). */
    private boolean given(String option) {
        return spec.commandLine().getParseResult().hasMatchedOption(option);
    }

    /**
     * The run's settings. A resumed run continues with the settings it was saved with (optimizer and its
     * hyperparameters, batch size, schedule, seed), so that it goes on exactly as an uninterrupted run would; a
     * flag typed now changes that one setting.
     */
    private Map<String, String> dataMetadata = Map.of(); // what --data's scaling and label column save in the checkpoint

    private TrainConfig config(TrainingState resumed) {
        Init in = switch (init.toLowerCase(Locale.ROOT)) {
            case "pytorch" -> Init.PYTORCH_DEFAULT;
            case "he" -> Init.HE_NORMAL;
            case "xavier" -> Init.XAVIER_UNIFORM;
            default -> throw new UsageException("unknown --init '" + init + "'", "choose pytorch, he or xavier");
        };
        TrainConfig base = TrainConfig.defaults().withEpochs(epochs).withInit(in);
        if (resumed == null) {
            return base.withBatchSize(batchSize).withSeed(seed).withOptimizer(optimizer(null)).withSchedule(schedule(null));
        }
        if (given("--seed") && seed != resumed.seed()) {
            throw new KilnException("--seed " + seed + " differs from the checkpoint's " + resumed.seed()
                    + "; a resumed run keeps its seed, which fixes every epoch's shuffle", "leave --seed out when resuming");
        }
        TrainConfig c = base.resuming(resumed).withOptimizer(optimizer(resumed.optimizer()))
                .withSchedule(schedule(resumed.schedule()));
        return given("--batch-size") ? c.withBatchSize(batchSize) : c;
    }

    /** The optimizer the flags ask for; on a resume, {@code saved} with the hyperparameters typed now. */
    private Optimizer optimizer(Optimizer saved) {
        String savedName = saved == null ? null : Checkpoint.optimizerMetadata(saved).get("optimizer");
        String name = saved != null && !given("--optimizer") ? savedName : optimizer.toLowerCase(Locale.ROOT);
        Optimizer opt;
        if (saved != null && name.equals(savedName)) {
            opt = switch (saved) {
                case Optimizer.Adam a -> new Optimizer.Adam(lr == null ? a.lr() : lr, a.beta1(), a.beta2(), a.eps(),
                        decay(a.weightDecay()), a.decoupled());
                case Optimizer.Sgd g -> new Optimizer.Sgd(lr == null ? g.lr() : lr,
                        given("--momentum") ? momentum : g.momentum(), decay(g.weightDecay()));
            };
        } else {
            double savedLr = saved == null ? Double.NaN : lrOf(saved);
            opt = switch (name) {
                case "adam" -> new Optimizer.Adam(rate(savedLr, 1e-3), Optimizer.Adam.DEFAULT_BETA1, Optimizer.Adam.DEFAULT_BETA2,
                        Optimizer.Adam.DEFAULT_EPS, decay(0), false);
                case "adamw" -> Optimizer.Adam.adamW(rate(savedLr, 1e-3), decay(Optimizer.Adam.DEFAULT_ADAMW_WEIGHT_DECAY));
                case "sgd" -> new Optimizer.Sgd(rate(savedLr, 0.1), momentum, decay(0));
                default -> throw new UsageException("unknown --optimizer '" + optimizer + "'", "choose adam, adamw or sgd");
            };
        }
        if (given("--momentum") && !(opt instanceof Optimizer.Sgd)) {
            throw new UsageException("--momentum applies to sgd only", "use --optimizer sgd, or leave --momentum out");
        }
        return opt;
    }

    private static double lrOf(Optimizer o) {
        return switch (o) {
            case Optimizer.Adam a -> a.lr();
            case Optimizer.Sgd g -> g.lr();
        };
    }

    /** The schedule the flags ask for; on a resume, {@code saved} unless a schedule flag was typed now. */
    private Schedule schedule(Schedule saved) {
        if (saved != null && !given("--schedule") && !given("--step-epochs") && !given("--gamma")) {
            return saved;
        }
        String name = saved != null && !given("--schedule") ? saved.toString().split(":")[0] : schedule.toLowerCase(Locale.ROOT);
        return switch (name) {
            case "constant" -> new Schedule.Constant();
            case "step" -> new Schedule.StepDecay(
                    !given("--step-epochs") && saved instanceof Schedule.StepDecay d ? d.everyEpochs() : stepEpochs,
                    !given("--gamma") && saved instanceof Schedule.StepDecay d ? d.gamma() : gamma);
            case "cosine" -> new Schedule.Cosine(saved instanceof Schedule.Cosine c ? c.floor() : 0);
            default -> throw new UsageException("unknown --schedule '" + schedule + "'", "choose constant, step or cosine");
        };
    }

    /** What differs between the saved run's settings and this one's, as "lr 0.1 -> 0.05, batch_size 64 -> 32". */
    static String changes(TrainingState saved, TrainConfig now) {
        Map<String, String> before = settings(saved.optimizer(), saved.batchSize(), saved.schedule());
        Map<String, String> after = settings(now.optimizer(), now.batchSize(), now.schedule());
        java.util.Set<String> keys = new java.util.LinkedHashSet<>(before.keySet());
        keys.addAll(after.keySet());
        StringBuilder out = new StringBuilder();
        for (String k : keys) {
            String a = before.getOrDefault(k, "-"), b = after.getOrDefault(k, "-");
            if (!a.equals(b)) {
                out.append(out.isEmpty() ? "" : ", ").append(k).append(' ').append(a).append(" -> ").append(b);
            }
        }
        return out.toString();
    }

    private static Map<String, String> settings(Optimizer optimizer, int batchSize, Schedule schedule) {
        Map<String, String> m = new LinkedHashMap<>(Checkpoint.optimizerMetadata(optimizer));
        m.put("batch_size", Integer.toString(batchSize));
        m.put("schedule", schedule.toString());
        return m;
    }

    private double rate(double saved, double dflt) {
        return lr != null ? lr : Double.isNaN(saved) ? dflt : saved;
    }

    private double decay(double dflt) {
        return weightDecay == null ? dflt : weightDecay;
    }

    /** Prints progress, writes metrics lines and checkpoints as epochs finish. */
    private final class RunListener implements TrainingListener, AutoCloseable {
        private final Trainer trainer;
        private final PrintWriter out;
        private final PrintWriter err;
        private final boolean live = System.console() != null && System.console().isTerminal();
        private final MetricsLog metricsOut;
        private boolean lineOpen;
        int savedEpoch;

        RunListener(Trainer trainer, PrintWriter out, PrintWriter err, MetricsLog metricsOut) {
            this.trainer = trainer;
            this.out = out;
            this.err = err;
            this.metricsOut = metricsOut;
        }

        @Override
        public void onStep(int epoch, int step, int totalSteps, double runningLoss, double samplesPerSecond) {
            if (!live) {
                return;
            }
            double remaining = samplesPerSecond > 0 ? (totalSteps - step) * (double) trainer.config().batchSize() / samplesPerSecond : 0;
            err.printf(Locale.ROOT, "\r  epoch %d/%d  step %d/%d  loss %.4f  %,.0f samples/s  ETA %s   ",
                    epoch, epochs, step, totalSteps, runningLoss, samplesPerSecond, clock(remaining));
            err.flush();
            lineOpen = true;
        }

        @Override
        public void onEpoch(EpochMetrics m) {
            endLine();
            out.printf(Locale.ROOT, "epoch %2d/%d  train loss %.4f  acc %6.2f%%  test loss %.4f  acc %6.2f%%  %6.2f s  %,9.0f samples/s%n",
                    m.epoch(), epochs, m.trainLoss(), 100 * m.trainAccuracy(), m.testLoss(), 100 * m.testAccuracy(),
                    m.epochSeconds(), m.samplesPerSecond());
            out.flush();
            writeMetrics(m);
            if (m.epoch() % checkpointEvery == 0) {
                save();
            }
        }

        void save() {
            Map<String, String> meta = new LinkedHashMap<>(); // ordered, so equal runs write equal files
            meta.put("kiln_version", Kiln.version());
            meta.putAll(dataMetadata);
            if (ranks.isRoot()) {
                Checkpoint.save(checkpoint, trainer.exportState(), meta);
            }
            savedEpoch = trainer.epochsCompleted();
        }

        void endLine() {
            if (lineOpen) {
                err.print("\r" + " ".repeat(100) + "\r");
                err.flush();
                lineOpen = false;
            }
        }

        private void writeMetrics(EpochMetrics m) {
            if (metricsOut != null) {
                metricsOut.append(m);
            }
        }

        @Override
        public void close() {
            endLine(); // Ctrl-C: the live line is cleared before the messages that follow
        }
    }

    static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String.format("%d:%02d", s / 60, s % 60);
    }
}
