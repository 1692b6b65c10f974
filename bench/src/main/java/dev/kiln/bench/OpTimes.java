package dev.kiln.bench;

import dev.kiln.engine.cpu.CpuDevice;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-op timing of one training step (the ops of {@link Mlp#step}), outside JMH: each op is timed with
 * {@code System.nanoTime} around it, over many steps, and the median per op is printed beside the median of whole
 * steps timed the same way. It is for finding the biggest op; on a shared machine compare ratios within one run.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.kiln.bench.OpTimes [seed|wide] [batch] [threads] [steps] [samples]</pre>
 */
public final class OpTimes {
    private OpTimes() {
    }

    public static void main(String[] args) {
        String net = args.length > 0 ? args[0] : "seed";
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 0;
        int steps = args.length > 3 ? Integer.parseInt(args[3]) : 3000;
        // 60000 reads random rows of a 47 MB array as real MNIST training does; 4096 stays in the caches
        int samples = args.length > 4 ? Integer.parseInt(args[4]) : 4096;
        int[] widths = StepBench.widths(net);
        try (CpuDevice cpu = new CpuDevice(new DeviceOptions(threads, false, false, 0))) {
            Mlp mlp = new Mlp(cpu, widths, batch, samples, 42);
            Timer t = new Timer();
            for (int round = 0; round < 2; round++) { // the first round warms the JIT up
                t.clear();
                for (int s = 0; s < steps; s++) {
                    long t0 = System.nanoTime();
                    timedStep(mlp, t);
                    t.add("= whole step", System.nanoTime() - t0);
                }
            }
            System.out.printf("%s net %s, batch %d, %s, median of %d steps, %d samples (µs)%n", net,
                    Arrays.toString(widths), batch, cpu.description(), steps, samples);
            double sum = 0;
            for (Map.Entry<String, List<Long>> e : t.times.entrySet()) {
                double med = median(e.getValue()) / 1e3;
                if (!e.getKey().startsWith("=")) {
                    sum += med;
                }
                System.out.printf("  %-34s %9.2f%n", e.getKey(), med);
            }
            double step = median(t.times.get("= whole step")) / 1e3;
            System.out.printf("  %-34s %9.2f%n", "= sum of op medians", sum);
            System.out.printf("  epoch of 60,000 at the whole-step median: %.1f ms%n", step * (60_000 / batch) / 1e3);
        }
    }

    private static void timedStep(Mlp m, Timer t) {
        var d = m.d;
        int layers = m.w.length;
        long t0 = System.nanoTime();
        d.gatherBatch(m.images, m.labels, m.order, m.cursor, m.x, m.y);
        t0 = t.lap("gather", t0);
        Tensor in = m.x;
        for (int l = 0; l < layers; l++) {
            d.gemm(false, true, 1f, in, m.w[l], 0f, m.h[l]);
            t0 = t.lap("fwd gemm NT l" + l, t0);
            d.biasActivation(m.h[l], m.b[l], l < layers - 1);
            t0 = t.lap("bias+relu l" + l, t0);
            in = m.h[l];
        }
        d.softmaxCrossEntropy(m.h[layers - 1], m.y, m.dh[layers - 1], m.stats);
        t0 = t.lap("softmax xent", t0);
        for (int l = layers - 1; l >= 0; l--) {
            Tensor input = l == 0 ? m.x : m.h[l - 1];
            d.gemm(true, false, 1f, m.dh[l], input, 0f, m.dw[l]);
            t0 = t.lap("dW gemm TN l" + l, t0);
            if (l == layers - 1) {
                d.columnSums(m.dh[l], m.db[l]);
                t0 = t.lap("columnSums l" + l, t0);
            }
            if (l > 0) {
                d.gemm(false, false, 1f, m.dh[l], m.w[l], 0f, m.dh[l - 1]);
                t0 = t.lap("dx gemm NN l" + l, t0);
                d.reluBackward(m.dh[l - 1], m.h[l - 1], m.db[l - 1]);
                t0 = t.lap("reluBackward l" + (l - 1), t0);
            }
        }
        d.addInt(m.step, 1);
        d.adam(m.params, m.grads, m.m, m.v, m.step, m.lr, 0.9f, 0.999f, 1e-8f, 0f, false);
        t.lap("adam", t0);
        d.addInt(m.cursor, m.batch);
        if (m.advance()) {
            d.fill(m.cursor, 0);
        }
    }

    private static double median(List<Long> v) {
        long[] a = v.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(a);
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2.0;
    }

    /** Durations by label, in first-seen order. */
    private static final class Timer {
        final Map<String, List<Long>> times = new LinkedHashMap<>();

        void add(String label, long nanos) {
            times.computeIfAbsent(label, k -> new ArrayList<>()).add(nanos);
        }

        long lap(String label, long t0) {
            long now = System.nanoTime();
            add(label, now - t0);
            return System.nanoTime();
        }

        void clear() {
            times.clear();
        }
    }
}
