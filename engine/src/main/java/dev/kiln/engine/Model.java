package dev.kiln.engine;

import dev.kiln.data.Dataset;
import dev.kiln.data.KilnException;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.Devices;
import dev.kiln.engine.dist.Ranks;
import dev.kiln.engine.eval.Evaluation;
import dev.kiln.engine.eval.Evaluator;
import dev.kiln.engine.model.Init;
import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.model.Mlp;
import dev.kiln.engine.train.EpochMetrics;
import dev.kiln.engine.train.TrainConfig;
import dev.kiln.engine.train.Trainer;
import dev.kiln.engine.train.TrainingListener;
import dev.kiln.engine.train.TrainingResult;
import dev.kiln.engine.train.TrainingState;

/**
 * Kiln for Java code that embeds it: a network on a device, trained, evaluated and queried in a few calls.
 *
 * <pre>{@code
 * try (Model model = Model.create("784,25,25,10", 42)) {
 *     model.train(new Dataset.Pair(train, test), TrainConfig.defaults().withEpochs(5), null);
 *     Evaluation e = model.evaluate(test);
 *     float[] probabilities = model.predict(pixels01); // 784 values in [0, 1]
 * }
 * }</pre>
 *
 * A model owns the device it opened (and closes it); one given to {@link #create(String, long, Device)} stays the
 * caller's. Successive {@link #train} calls continue the same run: parameters, optimizer state and epoch count
 * carry over. Not thread-safe, except {@link #requestStop()}.
 *
 * <p>Under {@code mpirun}, {@link #distribute} with {@link Ranks#join()} makes {@link #train} data-parallel: every
 * rank creates the same model and trains it on the same data and config, each on its slice of every batch, and all
 * end with the same parameters (README, "Scaling out").
 */
public final class Model implements AutoCloseable {
    private final Device device;
    private final boolean ownsDevice;
    private final Mlp mlp;
    private Evaluator evaluator;         // created on first use
    private TrainingState state;         // after the last completed epoch, or null before any training
    private volatile Trainer running;
    private Ranks ranks = Ranks.single();

    private Model(Device device, boolean ownsDevice, Mlp mlp) {
        this.device = device;
        this.ownsDevice = ownsDevice;
        this.mlp = mlp;
    }

    /** A network of {@code layers} (e.g. "784,25,25,10") with PyTorch's default initialisation, on the best device. */
    public static Model create(String layers, long seed) {
        LayerSpec spec = LayerSpec.parse(layers);
        Device device = Devices.open("auto", DeviceOptions.DEFAULTS).device();
        return new Model(device, true, Mlp.initialized(device, spec, Init.PYTORCH_DEFAULT, seed));
    }

    /** As {@link #create(String, long)}, on a device the caller opened (and will close). */
    public static Model create(String layers, long seed, Init init, Device device) {
        LayerSpec spec = LayerSpec.parse(layers);
        return new Model(device, false, Mlp.initialized(device, spec, init, seed));
    }

    /** As {@link #create(String, long)} with PyTorch's initialisation, on the caller's device. */
    public static Model create(String layers, long seed, Device device) {
        return create(layers, seed, Init.PYTORCH_DEFAULT, device);
    }

    /** A model restored from a training state (e.g. a checkpoint), on the caller's device; training continues it. */
    public static Model restore(TrainingState state, Device device) {
        Model m = new Model(device, false, new Mlp(device, state.layers()));
        m.mlp.setParameters(state.parameters());
        m.state = state;
        return m;
    }

    /**
     * Makes {@link #train} one rank's part of a data-parallel run over {@code ranks}: gradients, losses
     * and the evaluation are summed over the ranks, so each sees what one process training on the whole batch would.
     * A failure inside {@code train} on any rank then prints one line naming the rank on stderr and aborts every rank,
     * which would otherwise wait for it forever. Returns this model.
     */
    public Model distribute(Ranks ranks) {
        this.ranks = ranks;
        return this;
    }

    /** Trains on {@code data.train()}, evaluating {@code data.test()} after every epoch. */
    public TrainingResult train(Dataset.Pair data, TrainConfig config, TrainingListener listener) {
        return train(data.train(), data.test(), config, listener);
    }

    /**
     * Trains up to {@code config.epochs()} epochs in total over this model's life (a second call with a larger
     * count continues). {@code test} may be null; {@code listener} may be null.
     */
    public TrainingResult train(Dataset train, Dataset test, TrainConfig config, TrainingListener listener) {
        Trainer trainer = state == null ? new Trainer(mlp, config) : new Trainer(mlp, config, state);
        trainer.distribute(ranks);
        running = trainer;
        try {
            TrainingListener capture = new TrainingListener() {
                @Override
                public void onStep(int epoch, int step, int totalSteps, double runningLoss, double samplesPerSecond) {
                    if (listener != null) {
                        listener.onStep(epoch, step, totalSteps, runningLoss, samplesPerSecond);
                    }
                }

                @Override
                public void onEpoch(EpochMetrics metrics) {
                    state = trainer.exportState();
                    if (listener != null) {
                        listener.onEpoch(metrics);
                    }
                }
            };
            TrainingResult result;
            try {
                result = trainer.fit(train, test, capture);
            } catch (RuntimeException | Error e) {
                if (ranks.size() == 1) {
                    throw e;
                }
                System.err.println("kiln: " + ranks.describe() + ": "
                        + (e instanceof KilnException k ? k.oneLine() : e.toString()));
                System.err.flush();
                ranks.abort(1);
                throw e;
            }
            if (result.stopped() && state != null) {
                mlp.setParameters(state.parameters()); // back to the last complete epoch, as a checkpoint would be
            }
            return result;
        } finally {
            running = null;
        }
    }

    /** Asks a running {@link #train} to stop after its current step (the model returns to its last whole epoch). */
    public void requestStop() {
        Trainer t = running;
        if (t != null) {
            t.requestStop();
        }
    }

    /** Loss, accuracy, predictions, confidences, confusion matrix on {@code data}. */
    public Evaluation evaluate(Dataset data) {
        return evaluator().evaluate(data);
    }

    /** Class probabilities for one input of {@code inputSize()} values in [0, 1] (pixels / 255). */
    public float[] predict(float[] pixels01) {
        return evaluator().probabilities(new float[][] {pixels01})[0];
    }

    /** Class probabilities for many inputs. */
    public float[][] predict(float[][] pixels01) {
        return evaluator().probabilities(pixels01);
    }

    /** The class with the highest probability (ties to the lowest). */
    public int classify(float[] pixels01) {
        float[] p = predict(pixels01);
        int best = 0;
        for (int c = 1; c < p.length; c++) {
            if (p[c] > p[best]) {
                best = c;
            }
        }
        return best;
    }

    /** Every parameter, flat, in PyTorch state-dict order (see {@link LayerSpec}). */
    public float[] parameters() {
        return mlp.parameters();
    }

    /** Replaces every parameter (the optimizer state is kept). */
    public void setParameters(float[] parameters) {
        mlp.setParameters(parameters);
        if (state != null) {
            state = state.withParameters(parameters.clone());
        }
    }

    public LayerSpec layers() { return mlp.spec(); }

    public Device device() { return device; }

    /** The network on its device, for code that drives the engine directly. */
    public Mlp network() { return mlp; }

    /** The run after its last completed epoch (what a checkpoint saves), or null before any training. */
    public TrainingState trainingState() { return state; }

    private Evaluator evaluator() {
        if (evaluator == null) {
            evaluator = new Evaluator(mlp, 1000);
        }
        return evaluator;
    }

    /** Closes the device if this model opened it. */
    @Override
    public void close() {
        if (ownsDevice) {
            device.close();
        }
    }
}
