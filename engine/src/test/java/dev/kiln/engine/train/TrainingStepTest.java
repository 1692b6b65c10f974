package dev.kiln.engine.train;

import dev.kiln.engine.DeviceDataset;
import dev.kiln.engine.ReplicatedReference;
import dev.kiln.engine.TestData;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.model.Init;
import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.model.Mlp;
import dev.kiln.engine.optim.Optimizer;
import dev.kiln.engine.optim.OptimizerState;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The reduction stage is a hook: a step hands it its replicas' gradient buffers and rows, and runs its stage. */
class TrainingStepTest {
    private static final LayerSpec SPEC = new LayerSpec(6, 4, 3);

    @Test
    void aStepRunsTheReductionItWasGivenOverItsReplicasRows() {
        Device device = new ReplicatedReference(3);
        Mlp model = Mlp.initialized(device, SPEC, Init.PYTORCH_DEFAULT, 1);
        OptimizerState adam = new OptimizerState(device, Optimizer.Adam.defaults(), SPEC.parameterCount());
        DeviceDataset data = DeviceDataset.upload(device, TestData.random("step", 10, 6, 3, 2));
        data.useIdentityOrder();
        List<int[]> planned = new ArrayList<>();
        int[] runs = new int[1];
        GradientReduction counting = (d, replicaGrads, rows, grads) -> {
            planned.add(rows.clone());
            assertEquals(rows.length, replicaGrads.rows(), "one gradient buffer per replica");
            Runnable local = GradientReduction.local().plan(d, replicaGrads, rows, grads);
            return () -> {
                runs[0]++;
                local.run();
            };
        };
        TrainingStep step = new TrainingStep(model, adam, data, 4, counting);
        // batches of 4 as 3 replicas (1 + 1 + 2 rows); the last 2 rows as 2 (1 + 1)
        assertEquals(2, planned.size());
        assertArrayEquals(new int[] {1, 1, 2}, planned.get(0));
        assertArrayEquals(new int[] {1, 1}, planned.get(1));
        step.fullBatch().run();
        step.fullBatch().run();
        step.partialBatch().run();
        assertEquals(3, runs[0], "the stage runs once a step");
    }
}
