package dev.kiln.bench;

import dev.kiln.engine.cpu.CpuDevice;
import dev.kiln.engine.device.DType;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.ReferenceDevice;
import dev.kiln.engine.device.Tensor;
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

import java.util.SplittableRandom;

/**
 * The three GEMMs of one dense layer on the CPU device, for the layers of the seed net (784-25-25-10: layer 784x25)
 * and the wide net (784-1024-1024-10: layers 784x1024 and 1024x1024) at batches 64, 256, 1024. Each form does
 * {@code 2 B I O} floating-point operations, so GFLOP/s = ops/s * 2 * batch * in * out / 1e9 ({@link Report} prints it).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class GemmBench {

    /** Layer inputs x outputs. */
    @Param({"784x25", "784x1024", "1024x1024"})
    public String layer;

    @Param({"64", "256", "1024"})
    public int batch;

    /** CPU threads; 0 = every core. */
    @Param({"0"})
    public int threads;

    private Device cpu;
    private Tensor x, w, z, dz, dw, dx; // x (B, I), w (O, I), z (B, O), dz (B, O), dw (O, I), dx (B, I)

    @Setup
    public void setUp() {
        String[] io = layer.split("x");
        int in = Integer.parseInt(io[0]), out = Integer.parseInt(io[1]);
        SplittableRandom rng = new SplittableRandom(42);
        float[] xs = random(rng, batch * in), ws = random(rng, out * in), dzs = random(rng, batch * out);
        cpu = new CpuDevice(new DeviceOptions(threads, false, false, 0));
        x = upload(cpu, xs, batch, in);
        w = upload(cpu, ws, out, in);
        dz = upload(cpu, dzs, batch, out);
        z = cpu.allocate(DType.F32, batch, out);
        dw = cpu.allocate(DType.F32, out, in);
        dx = cpu.allocate(DType.F32, batch, in);
        forward();
        weightGradient();
        inputGradient();
        // validate against the reference before timing
        Device ref = new ReferenceDevice();
        Tensor rx = upload(ref, xs, batch, in), rw = upload(ref, ws, out, in), rdz = upload(ref, dzs, batch, out);
        Tensor rz = ref.allocate(DType.F32, batch, out), rdw = ref.allocate(DType.F32, out, in), rdx = ref.allocate(DType.F32, batch, in);
        ref.gemm(false, true, 1f, rx, rw, 0f, rz);
        ref.gemm(true, false, 1f, rdz, rx, 0f, rdw);
        ref.gemm(false, false, 1f, rdz, rw, 0f, rdx);
        Check.close("forward " + layer + " batch " + batch, download(cpu, z), download(ref, rz), 2e-6 * in, 1e-5);
        Check.close("weight gradient " + layer + " batch " + batch, download(cpu, dw), download(ref, rdw), 2e-6 * batch, 1e-5);
        Check.close("input gradient " + layer + " batch " + batch, download(cpu, dx), download(ref, rdx), 2e-6 * out, 1e-5);
    }

    @TearDown
    public void tearDown() {
        cpu.close();
    }

    /** z (B, O) = x (B, I) W (O, I)^T. */
    @Benchmark
    public Tensor forward() {
        cpu.gemm(false, true, 1f, x, w, 0f, z);
        return z;
    }

    /** dW (O, I) = dz (B, O)^T x (B, I). */
    @Benchmark
    public Tensor weightGradient() {
        cpu.gemm(true, false, 1f, dz, x, 0f, dw);
        return dw;
    }

    /** dx (B, I) = dz (B, O) W (O, I). */
    @Benchmark
    public Tensor inputGradient() {
        cpu.gemm(false, false, 1f, dz, w, 0f, dx);
        return dx;
    }

    static float[] random(SplittableRandom rng, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rng.nextDouble(-1, 1);
        }
        return v;
    }

    static Tensor upload(Device d, float[] v, int rows, int cols) {
        Tensor t = d.allocate(DType.F32, rows, cols);
        d.upload(v, t);
        return t;
    }

    static float[] download(Device d, Tensor t) {
        float[] v = new float[(int) t.size()];
        d.download(t, v);
        return v;
    }
}
