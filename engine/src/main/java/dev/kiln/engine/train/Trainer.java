package dev.kiln.engine.train;

import dev.kiln.data.Dataset;
import dev.kiln.data.KilnException;
import dev.kiln.data.Shuffle;
import dev.kiln.engine.DeviceDataset;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.dist.RankCheck;
import dev.kiln.engine.dist.Ranks;
import dev.kiln.engine.dist.RankedData;
import dev.kiln.engine.eval.Evaluator;
import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.model.Mlp;
import dev.kiln.engine.optim.OptimizerState;

import java.util.ArrayList;
import java.util.List;

/**
 * Runs epochs of minibatch training on any {@link Device}: per epoch it uploads the learning rate and the shuffled
 * order ({@link Shuffle#order}), replays the {@link TrainingStep} once per batch, reads the loss and accuracy back
 * only for progress and at the epoch's end (checking them for NaN or infinity each time), then evaluates the test
 * set. It can start fresh, continue a {@link TrainingState}, and stop cleanly after the current step.
 *
 * <p>It does not write checkpoints or print anything: listeners do (see {@link TrainingListener#onEpoch}).
 *
 * <p>Data-parallel over processes ({@link #distribute}), every rank runs the same trainer on the same data and seed;
 * each trains on its slice of every batch and evaluates its slice of the test set, and the gradients, losses,
 * counts and evaluation are summed over the ranks, so every rank sees the same numbers as one process would.
 */
public final class Trainer {
    private static final long PROGRESS_NANOS = 100_000_000L; // progress cadence when progressEverySteps is 0
    private static final int RANKED_PROGRESS_STEPS = 100;     // the same, over several ranks

    private final Mlp model;
    private final TrainConfig config;
    private final OptimizerState optimizer;
    private final long seed;
    private long step;           // mirrors the device's step counter: updates done
    private int epochsCompleted;
    private boolean midEpoch;    // true after a stop inside an epoch: the state is then not resumable
    private volatile boolean stopRequested;
    private boolean agreedStop; // over several ranks: some rank asked to stop, as of the last progress read
    private Ranks ranks = Ranks.single();

    /**
     * Trains {@code model} from its current parameters with fresh optimizer state (step 0, epoch 0); the config's
     * seed drives the shuffles and its {@code init} is not used.
     */
    public Trainer(Mlp model, TrainConfig config) {
        this.model = model;
        this.config = config;
        this.seed = config.seed();
        this.optimizer = new OptimizerState(model.device(), config.optimizer(), model.flatSize());
    }

    /**
     * Continues {@code from}: its parameters, optimizer state, step count and epoch count are loaded into
     * {@code model}, and the shuffles follow its seed (not the config's). The config's optimizer must keep the same
     * state vectors (e.g. Adam to Adam); its hyperparameters, such as the learning rate, may differ.
     */
    public Trainer(Mlp model, TrainConfig config, TrainingState from) {
        if (!from.layers().equals(model.spec())) {
            throw new KilnException("the saved network is " + from.layers() + " but this one is " + model.spec(),
                    "resume with the layer sizes the checkpoint was trained with");
        }
        if (!from.optimizer().stateNames().equals(config.optimizer().stateNames())) {
            throw new KilnException("the saved run used " + from.optimizer() + " but this one asks for " + config.optimizer(),
                    "resume with the same optimizer");
        }
        if (from.step() > Integer.MAX_VALUE) {
            throw new KilnException("the saved run is at step " + from.step() + ", beyond what the step counter holds");
        }
        this.model = model;
        this.config = config;
        this.seed = from.seed();
        this.optimizer = new OptimizerState(model.device(), config.optimizer(), model.flatSize());
        model.setParameters(from.parameters());
        optimizer.upload(unpack(model, from.optimizerState()));
        optimizer.setStep((int) from.step());
        this.step = from.step();
        this.epochsCompleted = from.epochsCompleted();
    }

    /** A fresh network of shape {@code spec} on {@code device}, initialised by {@code config.init()} from its seed. */
    public static Trainer fresh(Device device, LayerSpec spec, TrainConfig config) {
        return new Trainer(Mlp.initialized(device, spec, config.init(), config.seed()), config);
    }

    /** A network on {@code device} restored from {@code state}, ready to continue. */
    public static Trainer resume(Device device, TrainingState state, TrainConfig config) {
        return new Trainer(new Mlp(device, state.layers()), config, state);
    }

    public Mlp model() { return model; }

    public TrainConfig config() { return config; }

    public OptimizerState optimizerState() { return optimizer; }

    /** Optimizer updates done so far. */
    public long step() { return step; }

    public int epochsCompleted() { return epochsCompleted; }

    /**
     * Makes this trainer one rank of a data-parallel run over {@code ranks}: every rank must call
     * {@link #fit} with the same data, config and starting state. Returns this trainer.
     */
    public Trainer distribute(Ranks ranks) {
        this.ranks = ranks;
        return this;
    }

    /**
     * Asks a running {@link #fit} to return after its current step; safe from any thread (e.g. a Ctrl-C hook). Over
     * several ranks, asked on any of them, every rank returns after the same step: the one at the next progress read.
     */
    public void requestStop() {
        stopRequested = true;
    }

    /**
     * The run as it stands between epochs, for a checkpoint or a later {@link #Trainer(Mlp, TrainConfig,
     * TrainingState)}. Downloads parameters and optimizer state.
     *
     * @throws IllegalStateException after a stop inside an epoch: that state could not be resumed exactly
     */
    public TrainingState exportState() {
        if (midEpoch) {
            throw new IllegalStateException("training stopped inside epoch " + (epochsCompleted + 1)
                    + "; only states between epochs can be exported");
        }
        float[][] state = optimizer.download();
        for (int i = 0; i < state.length; i++) {
            state[i] = model.pack(state[i]);
        }
        return new TrainingState(model.spec(), config.optimizer(), model.parameters(), state,
                step, epochsCompleted, seed, config.batchSize(), config.schedule());
    }

    /**
     * Trains from the next epoch up to {@code config.epochs()}.
     *
     * @param train    training set
     * @param test     evaluated after every epoch; may be null
     * @param listener progress and per-epoch metrics; may be null
     * @throws KilnException when the loss becomes NaN or infinite, or the data does not fit the network
     */
    public TrainingResult fit(Dataset train, Dataset test, TrainingListener listener) {
        if (midEpoch) {
            throw new IllegalStateException("this trainer was stopped inside an epoch; resume from the last exported state");
        }
        TrainingListener out = listener == null ? TrainingListener.NONE : listener;
        Evaluator.requireCompatible(model, train);
        if (train.size() == 0) {
            throw new KilnException("the training set " + train.name() + " is empty", "check the data directory and --limit");
        }
        if (test != null && test.size() == 0) {
            test = null;
        }
        if (test != null) {
            Evaluator.requireCompatible(model, test);
        }
        Device device = model.device();
        RankCheck.sameRun(ranks, model.spec() + ", " + train.size() + " train and " + (test == null ? 0 : test.size())
                + " test rows, batch " + config.batchSize() + ", " + config.epochs() + " epochs, " + config.optimizer()
                + ", " + config.schedule() + ", seed " + seed + ", from epoch " + epochsCompleted + " step " + step, train, test);
        DeviceDataset trainData = DeviceDataset.upload(device, train);
        if (ranks.size() > 1) {
            test = test == null ? null : RankedData.slice(test, ranks.rank(), ranks.size()); // each evaluates its slice
        }
        DeviceDataset testData = test == null || test.size() == 0 ? null : DeviceDataset.upload(device, test);
        // by default the evaluation after each epoch runs in batches of the steps' size, so that it takes the steps'
        // code paths and C2's code for them stays valid: at batch 64 (steps whole) an evaluation in replicated batches
        // of 1000 threw away the compiled code of a dozen of the step's methods after epoch 1
        int evalRows = config.evalBatchSize() > 0 ? config.evalBatchSize() : config.batchSize();
        Evaluator evaluator = testData == null ? null : new Evaluator(model, Math.min(evalRows, test.size()));
        boolean evaluate = test != null;
        TrainingStep stepper = ranks.size() == 1 ? new TrainingStep(model, optimizer, trainData, config.batchSize())
                : new TrainingStep(model, optimizer, trainData, config.batchSize(), device.rankReduction(ranks),
                ranks.rank(), ranks.size());

        List<EpochMetrics> done = new ArrayList<>();
        stopRequested = false;
        agreedStop = false;
        while (epochsCompleted < config.epochs()) {
            int epoch = epochsCompleted; // 0-based
            double lr = config.schedule().lr(config.optimizer().lr(), epoch, config.epochs());
            optimizer.setLearningRate(lr);
            trainData.setOrder(Shuffle.order(train.size(), seed, epoch));
            stepper.rewind();
            stepper.resetStats();

            long t0 = System.nanoTime();
            float[] stats = runEpoch(stepper, epoch, lr, out, t0);
            if (stats == null) {
                midEpoch = true;
                return new TrainingResult(done, true);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            epochsCompleted++;

            double testLoss = Double.NaN, testAccuracy = Double.NaN;
            if (evaluate && ranks.size() == 1) {
                Evaluator.Summary s = evaluator.summarize(testData);
                testLoss = s.loss();
                testAccuracy = s.accuracy();
            } else if (evaluate) {
                double[] sums = new double[3]; // loss sum, correct count, rows; a rank's slice may be empty
                if (evaluator != null) {
                    Evaluator.Summary s = evaluator.summarize(testData);
                    sums[0] = s.loss() * testData.size();
                    sums[1] = s.accuracy() * testData.size();
                    sums[2] = testData.size();
                }
                ranks.sum(sums);
                testLoss = sums[0] / sums[2];
                testAccuracy = sums[1] / sums[2];
            }
            int n = train.size();
            EpochMetrics m = new EpochMetrics(epoch + 1, (double) stats[0] / n, (double) stats[1] / n,
                    testLoss, testAccuracy, lr, seconds, n / seconds, device.name());
            done.add(m);
            out.onEpoch(m);
            if (stopping()) {
                return new TrainingResult(done, true);
            }
        }
        return new TrainingResult(done, false);
    }

    /** The epoch's steps; returns the final {loss sum, correct count}, or null if stopped inside the epoch. */
    private float[] runEpoch(TrainingStep stepper, int epoch, double lr, TrainingListener out, long t0) {
        int total = stepper.stepsPerEpoch();
        int every = config.progressEverySteps();
        long lastReport = t0;
        long lastFiniteStep = step;
        for (int s = 1; s <= total; s++) {
            boolean partial = s > stepper.fullBatches();
            (partial ? stepper.partialBatch() : stepper.fullBatch()).run();
            step++;
            int samples = partial ? stepper.fullBatches() * stepper.batchSize() + stepper.partialRows()
                    : s * stepper.batchSize();
            long now = System.nanoTime();
            // ranks read (a collective) at the same steps, so not by their own clocks
            boolean due = every > 0 ? s % every == 0
                    : ranks.size() > 1 ? s % RANKED_PROGRESS_STEPS == 0 : now - lastReport >= PROGRESS_NANOS;
            if (s == total || due) {
                float[] stats = readStats(stepper);
                checkFinite(stats[0], lastFiniteStep, epoch, lr);
                lastFiniteStep = step;
                now = System.nanoTime();
                lastReport = now;
                out.onStep(epoch + 1, s, total, stats[0] / samples, samples / ((now - t0) / 1e9));
                if (s == total) {
                    return stats;
                }
            }
            if (stopping()) {
                return null;
            }
        }
        throw new IllegalStateException("an epoch with no steps");
    }

    /** The loss sum and correct count over every rank; over several, also agrees on whether some rank asked to stop. */
    private float[] readStats(TrainingStep stepper) {
        float[] local = stepper.readStats();
        if (ranks.size() == 1) {
            return local;
        }
        float[] all = {local[0], local[1], stopRequested ? 1 : 0};
        ranks.sum(all);
        agreedStop = all[2] > 0;
        return new float[] {all[0], all[1]};
    }

    /**
     * Whether to stop after this step: alone, as soon as asked; over several ranks, at the progress read where some
     * rank's request was first seen, so that all stop after the same step (a lone rank stopping would leave the others
     * waiting in their next allreduce).
     */
    private boolean stopping() {
        return ranks.size() == 1 ? stopRequested : agreedStop;
    }

    private void checkFinite(float lossSum, long lastFiniteStep, int epoch, double lr) {
        if (Float.isFinite(lossSum)) {
            return;
        }
        String what = Float.isNaN(lossSum) ? "NaN" : "infinite";
        String when = lastFiniteStep + 1 == step ? "at step " + step
                : "at step " + step + " (first between steps " + (lastFiniteStep + 1) + " and " + step + ")";
        throw new KilnException("training diverged: the loss became " + what + " " + when + ", in epoch " + (epoch + 1),
                String.format("lower the learning rate (it was %.3g), e.g. to %.3g", lr, lr / 10));
    }

    /** Optimizer state as a checkpoint holds it (packed), laid out for the model's device. */
    private static float[][] unpack(Mlp model, float[][] packed) {
        float[][] out = new float[packed.length][];
        for (int i = 0; i < packed.length; i++) {
            out[i] = model.unpack(packed[i]);
        }
        return out;
    }
}
