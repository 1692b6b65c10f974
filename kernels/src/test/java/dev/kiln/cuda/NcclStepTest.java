package dev.kiln.cuda;

import dev.kiln.data.Dataset;
import dev.kiln.engine.DeviceDataset;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.dist.Ranks;
import dev.kiln.engine.model.Init;
import dev.kiln.engine.model.LayerSpec;
import dev.kiln.engine.model.Mlp;
import dev.kiln.engine.optim.Optimizer;
import dev.kiln.engine.optim.OptimizerState;
import dev.kiln.engine.train.GradientReduction;
import dev.kiln.engine.train.TrainingStep;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * NCCL with one rank (no MPI): the captured step with its ncclAllReduce (PreMulSum by 1) gives the same parameters,
 * bit for bit, as the step without it. Run in CI against the CPU stand-ins of the CUDA driver, cuBLAS and NCCL
 * (Surefire execution "standin"); on a GPU machine, with KILN_CUDA_DRIVER and KILN_NCCL unset, against the real ones.
 */
@Tag("standin")
class NcclStepTest {
    private static final LayerSpec SPEC = new LayerSpec(784, 25, 25, 10);

    @Test
    void oneRankThroughNcclMatchesTheLocalStep() {
        CudaRuntime.Probe p = CudaRuntime.get();
        assertTrue(p.usable(), () -> "no usable CUDA device: " + p.reason());
        System.out.println("NCCL " + Nccl.versionString(Nccl.load().version()));
        SplittableRandom rng = new SplittableRandom(5);
        int n = 1000;
        byte[] px = new byte[n * 784];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = rng.nextInt(10);
            for (int q = 0; q < 784; q++) {
                px[i * 784 + q] = (byte) (q / 28 == 4 + 2 * y[i] ? 200 : rng.nextInt(50));
            }
        }
        Dataset data = new Dataset("bars", 28, 28, 10, px, y);
        float[][] params = new float[2][];
        for (int withNccl = 0; withNccl < 2; withNccl++) {
            try (CudaDevice gpu = (CudaDevice) new CudaDeviceProvider().open(new DeviceOptions(0, false, false, 0))) {
                Mlp model = Mlp.initialized(gpu, SPEC, Init.PYTORCH_DEFAULT, 3);
                OptimizerState adam = new OptimizerState(gpu, Optimizer.Adam.defaults(), model.flatSize());
                DeviceDataset onGpu = DeviceDataset.upload(gpu, data);
                onGpu.useIdentityOrder();
                GradientReduction reduction = withNccl == 1 ? gpu.rankReduction(Ranks.single()) : GradientReduction.local();
                TrainingStep step = new TrainingStep(model, adam, onGpu, 96, reduction, 0, 1);
                for (int epoch = 0; epoch < 2; epoch++) {
                    step.rewind();
                    for (int s = 0; s < step.fullBatches(); s++) {
                        step.fullBatch().run();
                    }
                    step.partialBatch().run();
                }
                params[withNccl] = model.parameters();
            }
        }
        assertArrayEquals(params[0], params[1]);
    }
}
