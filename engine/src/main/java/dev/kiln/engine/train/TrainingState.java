package dev.kiln.engine.train;

import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.optim.Optimizer;
import dev.kiln.engine.optim.Schedule;

import java.util.Objects;

/**
 * Everything needed to continue a run exactly where it stopped, taken between epochs: a checkpoint's content.
 * Resuming from it with the same data and configuration gives parameters bit-identical to an uninterrupted run
 * (on the same device kind). Arrays are not copied; treat them as read-only.
 *
 * @param layers          the network's shape
 * @param optimizer       the update rule and hyperparameters the run used
 * @param parameters      flat parameters, in {@link LayerSpec}'s layout (PyTorch state-dict order)
 * @param optimizerState  per-parameter vectors, named by {@code optimizer.stateNames()} (Adam: m, v; SGD: velocity)
 * @param step            optimizer updates done so far (Adam's t)
 * @param epochsCompleted whole epochs trained
 * @param seed            the run's seed, which fixes every epoch's shuffle
 * @param batchSize       the run's batch size
 * @param schedule        the run's learning-rate schedule
 */
public record TrainingState(LayerSpec layers, Optimizer optimizer, float[] parameters, float[][] optimizerState,
                            long step, int epochsCompleted, long seed, int batchSize, Schedule schedule) {

    /** A state of a run with the default batch size (64) and a constant learning rate. */
    public TrainingState(LayerSpec layers, Optimizer optimizer, float[] parameters, float[][] optimizerState,
                         long step, int epochsCompleted, long seed) {
        this(layers, optimizer, parameters, optimizerState, step, epochsCompleted, seed,
                TrainConfig.defaults().batchSize(), TrainConfig.defaults().schedule());
    }

    public TrainingState {
        if (parameters.length != layers.parameterCount()) {
            throw new IllegalArgumentException("network " + layers + " has " + layers.parameterCount()
                    + " parameters, got " + parameters.length);
        }
        if (optimizerState.length != optimizer.stateNames().size()) {
            throw new IllegalArgumentException(optimizer + " keeps " + optimizer.stateNames() + ", got "
                    + optimizerState.length + " vectors");
        }
        if (step < 0 || epochsCompleted < 0) {
            throw new IllegalArgumentException("negative step or epoch count");
        }
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        }
        Objects.requireNonNull(schedule, "schedule");
    }

    /** This state with other parameters (the rest unchanged). */
    public TrainingState withParameters(float[] parameters) {
        return new TrainingState(layers, optimizer, parameters, optimizerState, step, epochsCompleted, seed, batchSize, schedule);
    }
}
