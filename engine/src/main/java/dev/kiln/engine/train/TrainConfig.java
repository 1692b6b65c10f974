package dev.kiln.engine.train;

import dev.kiln.data.KilnException;
import dev.kiln.engine.model.Init;
import dev.kiln.engine.optim.Optimizer;
import dev.kiln.engine.optim.Schedule;

/**
 * How to train: a plain value. Start from {@link #defaults()} and change what you need with the {@code with}
 * methods.
 *
 * @param epochs             total epochs of the run (a resumed run continues up to this number)
 * @param batchSize          samples per step B
 * @param seed               drives the initial parameters ({@link #init}) and every epoch's shuffle
 * @param optimizer          update rule and its hyperparameters
 * @param schedule           learning rate per epoch
 * @param init               how a fresh network's parameters are drawn ({@link Trainer#fresh})
 * @param progressEverySteps read progress back every this many steps; 0 means about every 100 ms. Each read waits
 *                           for the device, and the NaN check happens at each read.
 * @param evalBatchSize      rows per forward pass when evaluating the test set; 0 (the default) for the training
 *                           batch size, so that the evaluation runs the steps' own code paths
 */
public record TrainConfig(int epochs, int batchSize, long seed, Optimizer optimizer, Schedule schedule, Init init,
                          int progressEverySteps, int evalBatchSize) {

    public TrainConfig {
        if (epochs <= 0) {
            throw new KilnException("epochs must be positive, got " + epochs);
        }
        if (batchSize <= 0) {
            throw new KilnException("batch size must be positive, got " + batchSize, "64 or 128 are usual");
        }
        if (progressEverySteps < 0) {
            throw new IllegalArgumentException("progressEverySteps must be 0 (by time) or positive, got " + progressEverySteps);
        }
        if (evalBatchSize < 0) {
            throw new IllegalArgumentException("evalBatchSize must be positive (or 0: the batch size), got " + evalBatchSize);
        }
        if (optimizer == null || schedule == null || init == null) {
            throw new NullPointerException("optimizer, schedule and init are required");
        }
    }

    /** 10 epochs, batch 64, seed 42, Adam (lr 1e-3), constant rate, PyTorch's initialisation; evaluation in batches of 64. */
    public static TrainConfig defaults() {
        return new TrainConfig(10, 64, 42, Optimizer.Adam.defaults(), new Schedule.Constant(), Init.PYTORCH_DEFAULT, 0, 0);
    }

    /**
     * This config with the settings {@code saved} was trained with: optimizer, batch size, schedule and seed, so
     * that {@link Trainer#resume} continues as the saved run would have.
     */
    public TrainConfig resuming(TrainingState saved) {
        return new TrainConfig(epochs, saved.batchSize(), saved.seed(), saved.optimizer(), saved.schedule(), init,
                progressEverySteps, evalBatchSize);
    }

    public TrainConfig withEpochs(int epochs) {
        return new TrainConfig(epochs, batchSize, seed, optimizer, schedule, init, progressEverySteps, evalBatchSize);
    }

    public TrainConfig withBatchSize(int batchSize) {
        return new TrainConfig(epochs, batchSize, seed, optimizer, schedule, init, progressEverySteps, evalBatchSize);
    }

    public TrainConfig withSeed(long seed) {
        return new TrainConfig(epochs, batchSize, seed, optimizer, schedule, init, progressEverySteps, evalBatchSize);
    }

    public TrainConfig withOptimizer(Optimizer optimizer) {
        return new TrainConfig(epochs, batchSize, seed, optimizer, schedule, init, progressEverySteps, evalBatchSize);
    }

    public TrainConfig withSchedule(Schedule schedule) {
        return new TrainConfig(epochs, batchSize, seed, optimizer, schedule, init, progressEverySteps, evalBatchSize);
    }

    public TrainConfig withInit(Init init) {
        return new TrainConfig(epochs, batchSize, seed, optimizer, schedule, init, progressEverySteps, evalBatchSize);
    }

    public TrainConfig withProgressEverySteps(int steps) {
        return new TrainConfig(epochs, batchSize, seed, optimizer, schedule, init, steps, evalBatchSize);
    }

    public TrainConfig withEvalBatchSize(int rows) {
        return new TrainConfig(epochs, batchSize, seed, optimizer, schedule, init, progressEverySteps, rows);
    }
}
