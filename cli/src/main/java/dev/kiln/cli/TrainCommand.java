package dev.kiln.cli;

import dev.kiln.data.Dataset;
import dev.kiln.data.KilnException;
import dev.kiln.engine.checkpoint.Checkpoint;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.Devices;
import dev.kiln.engine.dist.Ranks;
import dev.kiln.engine.eval.Evaluation;
import dev.kiln.engine.eval.Evaluator;
import dev.kiln.engine.json.Json;
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

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
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
    @Spec
    CommandSpec spec;
    @Mixin
    Kiln.Verbosity verbosity;

    @Option(names = "--layers", paramLabel = "SIZES", description = "Layer sizes, input first. Default: 784,25,25,10 (or the resumed checkpoint's).")
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
    @Option(names = {"--checkpoint", "-o"}, defaultValue = "kiln-mnist.safetensors", paramLabel = "FILE", description = "Where the model is saved. Default: ${DEFAULT-VALUE}.")
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
        return RankedRun.run(ranks, spec.commandLine().getErr(), this::train);
    }

    private int train() throws Exception {
        PrintWriter out = RankedRun.quietUnlessRoot(ranks, spec.commandLine().getOut());
        PrintWriter err = RankedRun.quietUnlessRoot(ranks, spec.commandLine().getErr());
        long started = System.nanoTime();
        validate();
        Checkpoint.Loaded loaded = resume == null ? null : RankedRun.load(ranks, resume);
        TrainingState resumed = loaded == null ? null : loaded.state();
        if (resumed != null) {
            if (resumed.epochsCompleted() >= epochs) {
                throw new KilnException(resume + " already holds " + resumed.epochsCompleted() + " epochs",
                        "pass --epochs larger than " + resumed.epochsCompleted() + " to train further");
            }
            adoptSavedSettings(loaded.metadata());
            if (!loaded.hasOptimizerState()) {
                err.println("note: " + resume + " has no optimizer state; the optimizer starts afresh from its weights");
            }
        }
        LayerSpec layerSpec = chooseLayers(resumed);
        TrainConfig config = config(resumed);

        Dataset.Pair pair = data.load();
        RankedRun.shareMachine(ranks, device);
        Devices.Selection selection = device.open(err);
        try (Device dev = selection.device()) {
            Trainer trainer = resumed == null ? Trainer.fresh(dev, layerSpec, config) : Trainer.resume(dev, resumed, config);
            RankedRun.distribute(ranks, dev, trainer, err);
            if (resumed != null) {
                err.printf(Locale.ROOT, "resuming %s at epoch %d, step %d%n", resume, resumed.epochsCompleted(), resumed.step());
            }
            out.printf(Locale.ROOT, "training %s (%,d parameters) on %s: %d train / %d test images, %s, batch %d, %d epochs%n",
                    layerSpec, layerSpec.parameterCount(), data.provenance(), pair.train().size(), pair.test().size(),
                    config.optimizer(), batchSize, epochs);
            out.flush();
            // Declared first, closed last: Ctrl-C waits until the messages below are out and the metrics closed.
            // over several ranks Ctrl-C ends them all at once (each would stop at a step of its own, and wait for the rest)
            try (StopOnInterrupt stop = ranks.size() > 1 ? null : new StopOnInterrupt(trainer::requestStop);
                 RunListener listener = new RunListener(trainer, out, err)) {
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
                            Map.of("batch size", Integer.toString(batchSize), "epochs", Integer.toString(epochs),
                                    "schedule", schedule, "init", init),
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

        StopOnInterrupt(Runnable requestStop) {
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
            closed.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // Ctrl-C: the hook is running and has just been released
            }
        }
    }

    private void validate() {
        if (epochs <= 0) {
            throw new KilnException("--epochs must be positive, got " + epochs);
        }
        if (batchSize <= 0) {
            throw new KilnException("--batch-size must be positive, got " + batchSize, "64 or 128 are usual");
        }
        if (checkpointEvery <= 0) {
            throw new KilnException("--checkpoint-every must be positive, got " + checkpointEvery);
        }
        if (checkpoint.getParent() != null && !Files.isDirectory(checkpoint.getParent())) {
            throw new KilnException("cannot save to " + checkpoint + ": no folder " + checkpoint.getParent(),
                    "create it first, or pass another --checkpoint");
        }
    }

    private LayerSpec chooseLayers(TrainingState resumed) {
        if (resumed == null) {
            return LayerSpec.parse(layers == null ? "784,25,25,10" : layers);
        }
        if (layers != null && !LayerSpec.parse(layers).equals(resumed.layers())) {
            throw new KilnException("--layers " + layers + " differs from the checkpoint's " + resumed.layers(),
                    "leave --layers out when resuming");
        }
        return resumed.layers();
    }

    /** True when the person typed this option (rather than taking its default). */
    private boolean given(String option) {
        return spec.commandLine().getParseResult().hasMatchedOption(option);
    }

    /**
     * A resumed run continues with the settings it was saved with (batch size, schedule), so that it goes on
     * exactly as an uninterrupted run would; a flag typed now overrides.
     */
    private void adoptSavedSettings(Map<String, String> meta) {
        if (!given("--batch-size") && meta.containsKey("batch_size")) {
            try {
                batchSize = Integer.parseInt(meta.get("batch_size"));
            } catch (NumberFormatException e) {
                throw new KilnException(resume + ": metadata batch_size is '" + meta.get("batch_size") + "', not a number",
                        "pass --batch-size explicitly");
            }
        }
        if (!given("--schedule") && meta.containsKey("schedule")) {
            savedSchedule = Schedule.parse(meta.get("schedule"));
        }
    }

    private Schedule savedSchedule;

    private TrainConfig config(TrainingState resumed) {
        boolean optimizerFlags = given("--optimizer") || given("--lr") || given("--weight-decay") || given("--momentum");
        Optimizer opt = resumed != null && !optimizerFlags ? resumed.optimizer() : switch (optimizer.toLowerCase(Locale.ROOT)) {
            case "adam" -> new Optimizer.Adam(rate(1e-3), Optimizer.Adam.DEFAULT_BETA1, Optimizer.Adam.DEFAULT_BETA2,
                    Optimizer.Adam.DEFAULT_EPS, decay(0), false);
            case "adamw" -> Optimizer.Adam.adamW(rate(1e-3), decay(Optimizer.Adam.DEFAULT_ADAMW_WEIGHT_DECAY));
            case "sgd" -> new Optimizer.Sgd(rate(0.1), momentum, decay(0));
            default -> throw new KilnException("unknown --optimizer '" + optimizer + "'", "choose adam, adamw or sgd");
        };
        if (momentum != 0 && !(opt instanceof Optimizer.Sgd)) {
            throw new KilnException("--momentum applies to sgd only", "use --optimizer sgd, or leave --momentum out");
        }
        Schedule sched = savedSchedule != null ? savedSchedule : switch (schedule.toLowerCase(Locale.ROOT)) {
            case "constant" -> new Schedule.Constant();
            case "step" -> new Schedule.StepDecay(stepEpochs, gamma);
            case "cosine" -> new Schedule.Cosine(0);
            default -> throw new KilnException("unknown --schedule '" + schedule + "'", "choose constant, step or cosine");
        };
        Init in = switch (init.toLowerCase(Locale.ROOT)) {
            case "pytorch" -> Init.PYTORCH_DEFAULT;
            case "he" -> Init.HE_NORMAL;
            case "xavier" -> Init.XAVIER_UNIFORM;
            default -> throw new KilnException("unknown --init '" + init + "'", "choose pytorch, he or xavier");
        };
        return TrainConfig.defaults().withEpochs(epochs).withBatchSize(batchSize).withSeed(seed)
                .withOptimizer(opt).withSchedule(sched).withInit(in);
    }

    private double rate(double dflt) {
        return lr == null ? dflt : lr;
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
        private final Writer metricsOut;
        private boolean lineOpen;
        int savedEpoch;

        RunListener(Trainer trainer, PrintWriter out, PrintWriter err) throws IOException {
            this.trainer = trainer;
            this.out = out;
            this.err = err;
            try {
                this.metricsOut = metrics == null || !ranks.isRoot() ? null : Files.newBufferedWriter(metrics);
            } catch (IOException e) {
                throw new KilnException("cannot write metrics to " + metrics + ": " + e, "check that its folder exists and is writable");
            }
        }

        @Override
        public void onStep(int epoch, int step, int totalSteps, double runningLoss, double samplesPerSecond) {
            if (!live) {
                return;
            }
            double remaining = samplesPerSecond > 0 ? (totalSteps - step) * (double) batchSize / samplesPerSecond : 0;
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
            meta.put("batch_size", Integer.toString(batchSize));
            meta.put("schedule", trainer.config().schedule().toString());
            meta.put("kiln_version", Kiln.version());
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
            if (metricsOut == null) {
                return;
            }
            try {
                StringBuilder device = new StringBuilder();
                Json.writeString(device, m.device());
                metricsOut.write(String.format(Locale.ROOT,
                        "{\"epoch\":%d,\"train_loss\":%s,\"train_accuracy\":%s,\"test_loss\":%s,\"test_accuracy\":%s,"
                                + "\"learning_rate\":%s,\"epoch_seconds\":%s,\"samples_per_second\":%s,\"device\":%s}%n",
                        m.epoch(), num(m.trainLoss()), num(m.trainAccuracy()), num(m.testLoss()), num(m.testAccuracy()),
                        num(m.learningRate()), num(m.epochSeconds()), num(m.samplesPerSecond()), device));
                metricsOut.flush();
            } catch (IOException e) {
                throw new KilnException("cannot write metrics to " + metrics + ": " + e.getMessage());
            }
        }

        @Override
        public void close() throws IOException {
            if (metricsOut != null) {
                metricsOut.close();
            }
        }
    }

    /** JSON number, or null for NaN and infinities (JSON has neither). */
    static String num(double v) {
        return Double.isFinite(v) ? Double.toString(v) : "null";
    }

    static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String.format("%d:%02d", s / 60, s % 60);
    }
}
