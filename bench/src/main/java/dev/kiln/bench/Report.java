package dev.kiln.bench;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.Options;

import java.util.Collection;

/**
 * Runs JMH with the usual command-line options and adds the numbers people ask for: GFLOP/s for {@link GemmBench}
 * (ops/s * 2 * batch * in * out) and samples/s and ms per MNIST epoch (60,000 samples) for {@link StepBench}.
 * Usage: {@code java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.kiln.bench.Report [JMH options]}.
 */
public final class Report {
    private Report() {
    }

    public static void main(String[] args) throws RunnerException, org.openjdk.jmh.runner.options.CommandLineOptionException {
        Options options = new CommandLineOptions(args);
        Collection<RunResult> results = new Runner(options).run();
        System.out.println();
        for (RunResult r : results) {
            var p = r.getParams();
            String name = p.getBenchmark().substring(p.getBenchmark().lastIndexOf('.', p.getBenchmark().lastIndexOf('.') - 1) + 1);
            var score = r.getPrimaryResult();
            double opsPerSecond = score.getScore(), error = score.getScoreError();
            if (name.startsWith("GemmBench")) {
                String[] io = p.getParam("layer").split("x");
                double flop = 2.0 * Integer.parseInt(p.getParam("batch")) * Integer.parseInt(io[0]) * Integer.parseInt(io[1]);
                System.out.printf("%-28s layer %-9s batch %4s threads %s: %8.1f GFLOP/s (+- %.1f)%n", name, p.getParam("layer"),
                        p.getParam("batch"), p.getParam("threads"), opsPerSecond * flop / 1e9, error * flop / 1e9);
            } else if (name.startsWith("StepBench")) {
                int batch = StepBench.batch(p.getParam("net"));
                double samples = opsPerSecond * batch;
                System.out.printf("%-28s net %-9s threads %s: %10.0f samples/s, %.1f us/step, %.1f ms per 60,000-sample epoch%n",
                        name, p.getParam("net"), p.getParam("threads"), samples, 1e6 / opsPerSecond, 60_000 / samples * 1e3);
            }
        }
    }
}
