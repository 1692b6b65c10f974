package dev.kiln.bench;

import dev.kiln.data.Dataset;
import dev.kiln.engine.cpu.CpuDevice;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.ReferenceDevice;
import dev.kiln.engine.model.LayerSpec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The trainer's whole training step ({@link dev.kiln.engine.train.TrainingStep}: gather, forward, loss, backward,
 * the weighted gradient sum where the CPU device runs the batch as replicas, Adam) on the CPU device, over 60,000
 * random samples in a shuffled order: the seed net 784-25-25-10 at batches 64 and 1024 and the wide net
 * 784-1024-1024-10 at batch 256. Samples/s = ops/s * batch ({@link Report} prints it and ms per 60,000-sample
 * epoch).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class StepBench {

    /** "seed/64", "seed/1024" or "wide/256": the net and the batch. */
    @Param({"seed/64", "seed/1024", "wide/256"})
    public String net;

    /** CPU threads; 0 = every core. */
    @Param({"0"})
    public int threads;

    private TrainingRig rig;

    static int[] widths(String net) {
        return net.startsWith("seed") ? new int[]{784, 25, 25, 10} : new int[]{784, 1024, 1024, 10};
    }

    static int batch(String net) {
        return Integer.parseInt(net.substring(net.indexOf('/') + 1));
    }

    @Setup
    public void setUp() {
        LayerSpec spec = new LayerSpec(widths(net));
        Dataset data = TrainingRig.randomData(spec, 60_000, 42);
        rig = new TrainingRig(new CpuDevice(new DeviceOptions(threads, false, false, 0)), spec, data, batch(net));
        // validate: three steps here and on the reference, from the same start, give the same parameters. Adam moves
        // a parameter by up to lr = 1e-3 a step whatever its gradient's size, so where a gradient is near 0 its
        // rounding (GEMM sums in another order) shows in the step: 1e-4 is a tenth of a step, far below what a wrong
        // gradient or a missed row would do to many parameters
        TrainingRig ref = new TrainingRig(new ReferenceDevice(), spec, data, batch(net));
        for (int i = 0; i < 3; i++) {
            rig.step();
            ref.step();
        }
        Check.close("parameters after 3 steps of " + net, rig.model.parameters(), ref.model.parameters(), 1e-4, 1e-3);
    }

    @TearDown
    public void tearDown() {
        rig.device.close();
    }

    @Benchmark
    public void step() {
        rig.step();
    }
}
