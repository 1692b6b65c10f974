package dev.kiln.examples;

import dev.kiln.data.Dataset;
import dev.kiln.data.Mnist;
import dev.kiln.data.Progress;
import dev.kiln.engine.Model;
import dev.kiln.engine.checkpoint.Checkpoint;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.Devices;
import dev.kiln.engine.dist.Ranks;
import dev.kiln.engine.train.TrainConfig;
import dev.kiln.engine.train.TrainingResult;

import java.nio.file.Path;
import java.util.Map;

/**
 * Trains data-parallel on the ranks mpirun started: {@code mpirun -np 4 java ... TrainParallel DATA_DIR OUT}.
 * Without mpirun it trains in this process alone.
 */
public final class TrainParallel {
    public static void main(String[] args) {
        Dataset.Pair data = Mnist.load(Path.of(args[0]), Progress.NONE); // every rank loads the same data
        try (Ranks ranks = Ranks.join();                                  // MPI under mpirun, else this process
             Device cpu = Devices.open("cpu", new DeviceOptions(1, false, false, 0)).device(); // a core per rank
             Model model = Model.create("784,25,25,10", 42, cpu).distribute(ranks)) {
            // each rank trains on its slice of every batch of 128; gradients are summed over the ranks
            TrainingResult result = model.train(data, TrainConfig.defaults().withEpochs(3).withBatchSize(128), null);
            if (ranks.isRoot()) { // every rank holds the same model: rank 0 reports and saves it
                System.out.printf("%d ranks: test accuracy %.2f%%%n", ranks.size(), 100 * result.last().testAccuracy());
                Checkpoint.save(Path.of(args[1]), model.trainingState(), Map.of());
            }
        }
    }
}
