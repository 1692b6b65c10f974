package dev.kiln.cli;

import dev.kiln.engine.checkpoint.SafeTensors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.kiln.cli.Cli.kiln;
import static dev.kiln.cli.Cli.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code kiln train} on small generated data with the reference device: resume, refusals, flags, metrics. */
class TrainCommandTest {
    @TempDir
    Path dir;
    Path data;

    @BeforeEach
    void data() {
        data = Cli.mnistLike(dir.resolve("data"), 150, 40, 1); // 150 = 2 x 64 + 22: a partial last batch
    }

    /** train with the small network on the generated data; extra flags after. */
    private String[] train(String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data-dir", data.toString(), "--device", "reference",
                "--layers", "784,16,10"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    private String[] trainNoLayers(String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data-dir", data.toString(), "--device", "reference"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void resumingThroughTheCliIsBitIdenticalToAStraightRun() {
        Path a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors");
        ok(train("--epochs", "2", "-o", a.toString()));
        Cli.Result resumed = ok(trainNoLayers("--epochs", "4", "--resume", a.toString(), "-o", a.toString()));
        assertTrue(resumed.err().contains("resuming " + a + " at epoch 2, step 6"), resumed.err());
        assertFalse(resumed.out().contains("epoch  1/"), resumed.out());
        assertTrue(resumed.out().contains("epoch  3/4"), resumed.out());
        ok(train("--epochs", "4", "-o", b.toString()));

        Cli.assertSameTensors(b, a); // parameters and Adam's m and v
        Map<String, String> ma = SafeTensors.read(a).metadata(), mb = SafeTensors.read(b).metadata();
        assertEquals("4", ma.get("epoch"));
        assertEquals("12", ma.get("step")); // 3 steps per epoch
        for (String k : List.of("epoch", "step", "seed", "layers", "optimizer", "lr")) {
            assertEquals(mb.get(k), ma.get(k), k);
        }
    }

    @Test
    void reportsOfTrainingAndEvaluationAreWrittenWithTheRunsNumbers() throws IOException {
        Path model = dir.resolve("m.safetensors"), trained = dir.resolve("train-report"), evaluated = dir.resolve("eval-report");
        Cli.Result r = ok(train("--epochs", "2", "-o", model.toString(), "--report", trained.toString()));
        assertTrue(r.out().contains("report: " + trained.resolve("report.html")), r.out());
        String html = Files.readString(trained.resolve("report.html"));
        assertTrue(html.contains("784,16,10") && html.contains("<svg"), "the page names the network and draws charts");
        String metrics = Files.readString(trained.resolve("metrics.json"));
        assertTrue(metrics.contains("\"epochs\"") && metrics.contains("\"confusion\""), metrics);

        Cli.Result e = ok("eval", "--model", model.toString(), "--data-dir", data.toString(), "--device", "reference",
                "--report", evaluated.toString());
        assertTrue(Files.readString(evaluated.resolve("report.html")).contains("Evaluation of m.safetensors"), e.out());
    }

    @Test
    void aResumedRunKeepsItsSavedOptimizerBatchSizeAndSchedule() throws IOException {
        Path a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors");
        String[] settings = {"--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9", "--batch-size", "50", "--schedule", "step", "--step-epochs", "1"};
        List<String> first = new ArrayList<>(List.of("--epochs", "2", "-o", a.toString()));
        first.addAll(List.of(settings));
        ok(train(first.toArray(String[]::new)));
        ok(trainNoLayers("--epochs", "3", "--resume", a.toString(), "-o", a.toString())); // no settings repeated
        List<String> straight = new ArrayList<>(List.of("--epochs", "3", "-o", b.toString()));
        straight.addAll(List.of(settings));
        ok(train(straight.toArray(String[]::new)));
        // the step schedule decays per epoch, independent of the total, so resume can match a straight run
        assertTrue(Arrays.equals(readAll(b), readAll(a)), "resumed and straight runs write byte-identical files");
    }

    @Test
    void resumeRefusesOtherLayersTooFewEpochsAndAnotherOptimizer() {
        Path a = dir.resolve("a.safetensors");
        ok(train("--epochs", "2", "-o", a.toString()));
        byte[] saved = readAll(a);

        String layers = kiln(trainNoLayers("--layers", "784,20,10", "--epochs", "3", "--resume", a.toString(),
                "-o", a.toString())).failureLine();
        assertTrue(layers.contains("--layers 784,20,10 differs from the checkpoint's 784,16,10"), layers);

        String epochs = kiln(trainNoLayers("--epochs", "2", "--resume", a.toString(), "-o", a.toString())).failureLine();
        assertTrue(epochs.contains("already holds 2 epochs") && epochs.contains("larger than 2"), epochs);

        String opt = kiln(trainNoLayers("--epochs", "3", "--optimizer", "sgd", "--resume", a.toString(),
                "-o", a.toString())).failureLine();
        assertTrue(opt.contains("sgd") && opt.contains("adam"), opt);

        assertTrue(Arrays.equals(saved, readAll(a)), "a refused resume leaves the checkpoint as it was");
    }

    private static byte[] readAll(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void aBadFlagOrValueIsOneUsageLineWithExitTwo() {
        String typo = Cli.usageLine(kiln("train", "--epoch", "3"));
        assertTrue(typo.contains("did you mean --epochs?") && typo.contains("see `kiln train --help`"), typo);
        String notANumber = Cli.usageLine(kiln("train", "--epochs", "abc"));
        assertTrue(notANumber.contains("'abc' is not an int"), notANumber);
        String optimizer = Cli.usageLine(kiln(train("--optimizer", "lion")));
        assertTrue(optimizer.contains("unknown --optimizer 'lion'; hint: choose adam, adamw or sgd"), optimizer);
        String epochs = Cli.usageLine(kiln(train("--epochs", "0")));
        assertTrue(epochs.contains("--epochs must be positive"), epochs);
        String layers = Cli.usageLine(kiln(trainNoLayers("--layers", "784,x,10")));
        assertTrue(layers.contains("--layers 784,x,10"), layers);
        // gpu: once "this build has no CUDA backend", which is false
        String gpu = Cli.usageLine(kiln("train", "--data-dir", data.toString(), "--device", "gpu"));
        assertTrue(gpu.contains("unknown --device 'gpu'; hint: did you mean cuda? choose one of auto, ") && gpu.contains("reference"), gpu);
        assertFalse(gpu.contains("no CUDA backend"), gpu);
    }

    @Test
    void aMissingDataDirIsOneLine() {
        Path nowhere = dir.resolve("nowhere");
        String line = kiln("train", "--data-dir", nowhere.toString(), "--device", "reference",
                "-o", dir.resolve("m.safetensors").toString()).failureLine();
        assertTrue(line.startsWith("kiln: " + nowhere + " is not a directory"), line);
    }

    @Test
    void divergenceNamesTheStepAndSuggestsALowerLearningRate() {
        Path out = dir.resolve("m.safetensors");
        String line = kiln(trainNoLayers("--epochs", "2", "--lr", "1e12", "-o", out.toString())).failureLine();
        assertTrue(line.startsWith("kiln: training diverged: the loss became"), line);
        assertTrue(Pattern.compile("at step \\d+").matcher(line).find(), line);
        assertTrue(line.contains("hint: lower the learning rate"), line);
        assertFalse(Files.exists(out), "nothing is saved from a diverged epoch");
    }

    @Test
    void anUnwritableCheckpointFolderIsOneLineBeforeTraining() throws IOException {
        Path file = Files.writeString(dir.resolve("a-file"), "not a folder");
        for (Path target : List.of(dir.resolve("no-such-folder/m.safetensors"), file.resolve("m.safetensors"))) {
            Cli.Result r = kiln(train("--epochs", "1", "-o", target.toString()));
            String line = r.failureLine();
            assertTrue(line.startsWith("kiln: cannot save to " + target), line);
            assertEquals("", r.out(), "refused before any training");
        }
    }

    @Test
    void anUnwritableMetricsFileIsOneLine() {
        Path metrics = dir.resolve("no-such-folder/metrics.jsonl");
        String line = kiln(train("--epochs", "1", "-o", dir.resolve("m.safetensors").toString(),
                "--metrics", metrics.toString())).failureLine();
        assertTrue(line.startsWith("kiln: cannot write metrics to " + metrics), line);
    }

    @Test
    void metricsAreOneJsonObjectPerEpoch() throws IOException {
        Path metrics = dir.resolve("metrics.jsonl");
        ok(train("--epochs", "2", "-o", dir.resolve("m.safetensors").toString(), "--metrics", metrics.toString()));
        List<String> lines = Files.readAllLines(metrics);
        assertEquals(2, lines.size(), lines.toString());
        for (int e = 0; e < 2; e++) {
            Map<String, String> m = flatJson(lines.get(e));
            assertEquals(List.of("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "learning_rate",
                    "epoch_seconds", "samples_per_second", "device"), List.copyOf(m.keySet()));
            assertEquals(e + 1, Integer.parseInt(m.get("epoch")));
            for (String k : List.of("train_loss", "test_loss", "epoch_seconds", "samples_per_second")) {
                assertTrue(Double.parseDouble(m.get(k)) > 0, k + " = " + m.get(k));
            }
            for (String k : List.of("train_accuracy", "test_accuracy")) {
                double v = Double.parseDouble(m.get(k));
                assertTrue(v >= 0 && v <= 1, k + " = " + v);
            }
            assertEquals(1e-3, Double.parseDouble(m.get("learning_rate")), 1e-9);
            assertTrue(m.get("device").startsWith("\"") && m.get("device").length() > 2, m.get("device"));
        }
    }

    @Test
    void aResumeWithoutOutputSavesToTheFileItResumed() {
        Path a = dir.resolve("a.safetensors");
        ok(train("--epochs", "2", "-o", a.toString()));
        Cli.Result r = ok(trainNoLayers("--epochs", "3", "--resume", a.toString()));
        assertTrue(r.out().contains("saved " + a), r.out());
        assertEquals("3", SafeTensors.read(a).metadata().get("epoch"), "the resumed file moved on");
    }

    @Test
    void aResumedRunAppendsToItsMetricsAfterTheEpochsItKeeps() throws IOException {
        Path a = dir.resolve("a.safetensors"), metrics = dir.resolve("m.jsonl");
        ok(train("--epochs", "2", "-o", a.toString(), "--metrics", metrics.toString()));
        ok(trainNoLayers("--epochs", "4", "--resume", a.toString(), "--metrics", metrics.toString()));
        assertEquals(List.of("1", "2", "3", "4"), Files.readAllLines(metrics).stream().map(l -> flatJson(l).get("epoch")).toList());
    }

    @Test
    void aNegativeSeedTrainsAndItsCheckpointLoadsEverywhere() {
        Path a = dir.resolve("a.safetensors");
        ok(train("--epochs", "1", "--seed", "-1", "-o", a.toString()));
        ok("eval", "--model", a.toString(), "--data-dir", data.toString(), "--device", "reference");
        ok(trainNoLayers("--epochs", "2", "--resume", a.toString()));
        assertEquals("-1", SafeTensors.read(a).metadata().get("seed"));
    }

    @Test
    void onlyRegularFilesAreWrittenAndASymlinkIsFollowed() throws Exception {
        Path fifo = dir.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        for (String flag : List.of("-o", "--metrics")) {
            List<String> args = new ArrayList<>(List.of("--epochs", "1", flag, fifo.toString()));
            if (flag.equals("--metrics")) {
                args.addAll(List.of("-o", dir.resolve("m.safetensors").toString()));
            }
            Cli.Result r = kiln(train(args.toArray(String[]::new)));
            String line = r.failureLine();
            assertTrue(line.contains("cannot write " + fifo + ": it exists and is not a regular file"), line);
            assertEquals("", r.out(), "refused before training");
        }
        Path report = Files.createDirectories(dir.resolve("report/report.html")); // a folder where the page would go
        Cli.Result refused = kiln(train("--epochs", "1", "-o", dir.resolve("m.safetensors").toString(), "--report", report.getParent().toString()));
        assertTrue(refused.failureLine().contains("cannot write " + report + ": it exists and is not a regular file (a folder)"), refused.err());
        assertEquals("", refused.out(), "refused before training");
        assertTrue(Files.readAttributes(fifo, java.nio.file.attribute.BasicFileAttributes.class).isOther(), "the FIFO is still a FIFO");

        Path real = dir.resolve("real.safetensors"), link = Files.createSymbolicLink(dir.resolve("link.safetensors"), real.getFileName());
        ok(train("--epochs", "1", "-o", link.toString()));
        assertTrue(Files.isSymbolicLink(link), "the link stays a link");
        assertEquals("1", SafeTensors.read(real).metadata().get("epoch"), "the file it points to was written");

        Path dangling = Files.createSymbolicLink(dir.resolve("dangling"), dir.resolve("nowhere/x"));
        String line = kiln(train("--epochs", "1", "-o", dangling.toString())).failureLine();
        assertTrue(line.contains("symbolic link to nothing"), line);
    }

    @Test
    void aResumeKeepsEverySavedSettingNotTypedAndPrintsWhatChanged() {
        Path a = dir.resolve("sgd.safetensors");
        ok(train("--epochs", "1", "--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.9", "-o", a.toString()));
        // only the learning rate typed: once an error about adam, and before that the momentum fell to 0
        Cli.Result r = ok(trainNoLayers("--epochs", "2", "--resume", a.toString(), "--lr", "0.05"));
        assertTrue(r.err().contains("resuming with changes: lr 0.1 -> 0.05"), r.err());
        Map<String, String> meta = SafeTensors.read(a).metadata();
        assertEquals("sgd", meta.get("optimizer"));
        assertEquals("0.05", meta.get("lr"));
        assertEquals("0.9", meta.get("momentum"));
        Cli.Result same = ok(trainNoLayers("--epochs", "3", "--resume", a.toString(), "--optimizer", "sgd", "--batch-size", "32"));
        assertTrue(same.err().contains("resuming with changes: batch_size 64 -> 32"), same.err());
        assertEquals("0.9", SafeTensors.read(a).metadata().get("momentum"));
    }

    @Test
    void aSecondRunWritingTheSameOutputIsRefused() throws IOException {
        Path a = dir.resolve("a.safetensors"), metrics = dir.resolve("m.jsonl");
        try (dev.kiln.data.OutputLock held = dev.kiln.data.OutputLock.take(a, "the checkpoint")) {
            Cli.Result r = kiln(train("--epochs", "1", "-o", a.toString()));
            assertTrue(r.failureLine().contains("the checkpoint " + a + " is being written by another Kiln run (process "
                    + ProcessHandle.current().pid() + ")"), r.err());
            assertFalse(Files.exists(a));
        }
        try (dev.kiln.data.OutputLock held = dev.kiln.data.OutputLock.take(metrics, "the metrics file")) {
            String line = kiln(train("--epochs", "1", "-o", a.toString(), "--metrics", metrics.toString())).failureLine();
            assertTrue(line.contains("the metrics file " + metrics + " is being written by another Kiln run"), line);
        }
        ok(train("--epochs", "1", "-o", a.toString(), "--metrics", metrics.toString()));
        try (var files = Files.list(dir)) {
            assertEquals(List.of(), files.filter(f -> f.toString().endsWith(".lock")).toList(), "no lock file stays");
        }
    }

    @Test
    void aNetworkTooLargeForTheHeapIsRefusedBeforeTraining() {
        Cli.Result r = kiln(trainNoLayers("--epochs", "1", "--layers", "784,1000000,10", "-o", dir.resolve("big.safetensors").toString()));
        String line = r.failureLine();
        assertTrue(line.contains("784,1000000,10 (795,000,010 parameters) needs about") && line.contains("JAVA_OPTS=-Xmx"), line);
        assertEquals("", r.out(), "refused before training");
    }

    @picocli.CommandLine.Command(name = "boom")
    static final class Boom implements java.util.concurrent.Callable<Integer> {
        @Override
        public Integer call() {
            throw new OutOfMemoryError("Java heap space");
        }
    }

    @Test
    void runningOutOfMemoryIsOneLineNotAStackTrace() {
        java.io.StringWriter err = new java.io.StringWriter();
        picocli.CommandLine cl = new picocli.CommandLine(new Boom());
        cl.setErr(new java.io.PrintWriter(err, true));
        assertEquals(1, Kiln.run(cl, new String[0]));
        assertEquals(List.of("kiln: out of Java heap memory; hint: a smaller --batch-size or --limit, or more heap"
                + " (JAVA_OPTS=-Xmx8g ./kiln ...)"), err.toString().lines().toList());
    }

    /** Keys and raw values of a flat JSON object (numbers, null, strings without escapes): enough for metrics. */
    static Map<String, String> flatJson(String line) {
        assertTrue(line.startsWith("{") && line.endsWith("}"), line);
        Matcher m = Pattern.compile("\"([a-z_]+)\":(\"[^\"\\\\]*\"|[-0-9.eE]+|null)(,|})").matcher(line);
        Map<String, String> out = new LinkedHashMap<>();
        int at = 1;
        while (m.find() && m.start() == at) {
            out.put(m.group(1), m.group(2));
            at = m.end();
        }
        assertEquals(line.length(), at, "not a flat JSON object: " + line);
        return out;
    }
}
