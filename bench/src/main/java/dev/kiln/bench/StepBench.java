package dev.kiln.bench;

import dev.kiln.engine.cpu.CpuDevice;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.ReferenceDevice;
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
 * A whole training step (gather, forward, loss, backward, Adam) on the CPU device: the seed net 784-25-25-10 at
 * batch 64 and the wide net 784-1024-1024-10 at batch 256. Samples/s = ops/s * batch; an MNIST epoch is 938 steps
 * at batch 64 ({@link Report} prints both).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class StepBench {

    /** "seed/64" or "wide/256": the net and the batch. */
    @Param({"seed/64", "wide/256"})
    public String net;

    /** CPU threads; 0 = every core. */
    @Param({"0"})
    public int threads;

    private Mlp mlp;

    static int[] widths(String net) {
        return net.startsWith("seed") ? new int[]{784, 25, 25, 10} : new int[]{784, 1024, 1024, 10};
    }

    static int batch(String net) {
        return Integer.parseInt(net.substring(net.indexOf('/') + 1));
    }

    @Setup
    public void setUp() {
        int[] widths = widths(net);
        int batch = batch(net);
        mlp = new Mlp(new CpuDevice(new DeviceOptions(threads, false, false, 0)), widths, batch, 4096, 42);
        // validate: three steps here and on the reference, from the same start, give the same parameters
        Mlp ref = new Mlp(new ReferenceDevice(), widths, batch, 4096, 42);
        for (int i = 0; i < 3; i++) {
            mlp.step();
            ref.step();
        }
        Check.close("parameters after 3 steps of " + net, mlp.parameters(), ref.parameters(), 1e-5, 1e-3);
    }

    @TearDown
    public void tearDown() {
        mlp.d.close();
    }

    @Benchmark
    public void step() {
        mlp.step();
    }
}
