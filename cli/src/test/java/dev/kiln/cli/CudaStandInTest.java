package dev.kiln.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.kiln.cli.Cli.ok;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole CUDA path of the CLI, run in CI against the CPU stand-in of the CUDA driver and cuBLAS
 * (kernels/src/test/standin; the Surefire execution "standin" points KILN_CUDA_DRIVER and KILN_CUBLAS at it). It is
 * not a GPU: these runs prove the Java side (context, streams, uploads, graph capture and replay, cuBLAS calls,
 * kernel launches) and the kernels' source, never GPU speed.
 *
 * <p>Tolerances against the reference device: per-epoch train and test loss within 2e-3 and accuracies within 0.5
 * points. The stand-in's kernels are Kiln's .cu files compiled for the host, so they differ from the reference by the
 * ulps of expf/logf/powf and by summation order (the loss kernel's per-block sums, the column sums' 32 partials).
 */
@Tag("standin")
class CudaStandInTest {
    @TempDir
    static Path dir;
    static Path data;

    private static final double LOSS_TOLERANCE = 2e-3, ACCURACY_TOLERANCE = 0.005;

    @BeforeAll
    static void data() {
        assertTrue(System.getenv("KILN_CUDA_DRIVER") != null, "run by the Surefire execution 'standin'");
        data = Cli.mnistLike(dir.resolve("data"), 2000, 300, 7); // 2000 = 31 x 64 + 16: a partial last batch
    }

    private static String[] train(String device, String out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data-dir", data.toString(), "--device", device,
                "--epochs", "2", "-o", dir.resolve(out).toString(), "--metrics", dir.resolve(out + ".jsonl").toString()));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    /** The numbers of each epoch's metrics line: train loss, train accuracy, test loss, test accuracy. */
    private static List<double[]> metrics(String out) throws IOException {
        List<double[]> epochs = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve(out + ".jsonl"))) {
            double[] row = new double[4];
            String[] keys = {"train_loss", "train_accuracy", "test_loss", "test_accuracy"};
            for (int i = 0; i < 4; i++) {
                Matcher m = Pattern.compile("\"" + keys[i] + "\"\\s*:\\s*([-0-9.eE]+)").matcher(line);
                assertTrue(m.find(), keys[i] + " in " + line);
                row[i] = Double.parseDouble(m.group(1));
            }
            epochs.add(row);
        }
        return epochs;
    }

    private static void assertClose(String cuda, String reference) throws IOException {
        List<double[]> c = metrics(cuda), r = metrics(reference);
        assertEquals(r.size(), c.size(), "epochs");
        for (int e = 0; e < c.size(); e++) {
            for (int i = 0; i < 4; i++) {
                double tol = i % 2 == 0 ? LOSS_TOLERANCE : ACCURACY_TOLERANCE;
                assertTrue(Math.abs(c.get(e)[i] - r.get(e)[i]) <= tol, "epoch " + (e + 1) + " value " + i + ": cuda "
                        + c.get(e)[i] + ", reference " + r.get(e)[i] + " (tolerance " + tol + ")");
            }
        }
    }

    private static MethodHandle counter;

    /** A counter of the stand-in driver (cuda_standin.cpp): "captures", "graph launches", ... */
    private static long standIn(String name) throws Throwable {
        if (counter == null) {
            SymbolLookup lib = SymbolLookup.libraryLookup(Path.of(System.getenv("KILN_CUDA_DRIVER")), Arena.global());
            counter = Linker.nativeLinker().downcallHandle(lib.find("kiln_standin_counter").orElseThrow(),
                    FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        }
        try (Arena a = Arena.ofConfined()) {
            return (long) counter.invokeExact(a.allocateFrom(name));
        }
    }

    @Test
    void adamWithACosineScheduleTrainsThroughReplayedGraphsLikeTheReference() throws Throwable {
        long captures = standIn("captures"), replays = standIn("graph launches");
        Cli.Result cuda = ok(train("cuda", "adam-cuda.safetensors", "--schedule", "cosine"));
        assertTrue(cuda.err().contains("stand-in (not a GPU)"), "the device says what it is: " + cuda.err());
        assertFalse(cuda.err().contains("graph capture failed"), cuda.err());
        // two bodies (whole batches, the partial last one), each captured once, then only replayed
        assertEquals(2, standIn("captures") - captures, "captures");
        assertTrue(standIn("graph launches") - replays >= 2 * 31 - 4, "replays: " + (standIn("graph launches") - replays));
        ok(train("reference", "adam-ref.safetensors", "--schedule", "cosine"));
        assertClose("adam-cuda.safetensors", "adam-ref.safetensors");
    }

    @Test
    void sgdWithMomentumAndAStepScheduleTrainsLikeTheReference() throws IOException {
        String[] sgd = {"--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9", "--schedule", "step", "--step-epochs", "1"};
        ok(train("cuda", "sgd-cuda.safetensors", sgd));
        ok(train("reference", "sgd-ref.safetensors", sgd));
        assertClose("sgd-cuda.safetensors", "sgd-ref.safetensors");
    }

    @Test
    void validateChecksEveryOpOfTheRunAgainstTheReference() {
        Cli.Result r = ok(train("cuda", "validate.safetensors", "--validate", "--limit", "500", "--layers", "784,16,10"));
        assertTrue(r.out().contains("done: test accuracy"), r.out());
    }

    @Test
    void checkpointsMoveBetweenTheCudaDeviceAndTheCpuBothWays() throws IOException {
        Path cuda = dir.resolve("move-cuda.safetensors"), cpu = dir.resolve("move-cpu.safetensors");
        ok(train("cuda", "move-cuda.safetensors", "--layers", "784,16,10"));
        ok(train("cpu", "move-cpu.safetensors", "--layers", "784,16,10"));
        Cli.Result onCpu = ok("train", "--data-dir", data.toString(), "--device", "cpu", "--epochs", "3", "--resume",
                cuda.toString(), "-o", dir.resolve("cuda-then-cpu.safetensors").toString());
        assertTrue(onCpu.out().contains("epoch  3/3"), onCpu.out());
        Cli.Result onCuda = ok("train", "--data-dir", data.toString(), "--device", "cuda", "--epochs", "3", "--resume",
                cpu.toString(), "-o", dir.resolve("cpu-then-cuda.safetensors").toString());
        assertTrue(onCuda.out().contains("epoch  3/3"), onCuda.out());

        // eval on the CUDA device gives what the reference gives for the same checkpoint
        Cli.Result evalCuda = ok("eval", "--model", cuda.toString(), "--data-dir", data.toString(), "--device", "cuda");
        Cli.Result evalRef = ok("eval", "--model", cuda.toString(), "--data-dir", data.toString(), "--device", "reference");
        assertEquals(accuracyLine(evalRef.out()), accuracyLine(evalCuda.out()));
        // predict runs on the CPU by design (one picture is too little work for a GPU): a CUDA checkpoint loads there
        Path seven = PredictCommandTest.drawSeven(dir.resolve("seven.png"));
        assertTrue(ok("predict", "--model", cuda.toString(), seven.toString()).out().startsWith(seven + ": "));
    }

    private static String accuracyLine(String out) {
        return out.lines().filter(l -> l.contains("accuracy")).findFirst().orElseThrow(() -> new AssertionError(out));
    }
}
