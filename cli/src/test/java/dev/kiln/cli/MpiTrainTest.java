package dev.kiln.cli;

import dev.kiln.engine.checkpoint.Checkpoint;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code kiln train} as ranks of Open MPI's {@code mpirun} (which ./test installs), against one process. Each run is
 * a fresh JVM per rank on small generated data; the ranks run one thread each.
 */
class MpiTrainTest {
    @TempDir
    static Path dir;
    static Path data;

    @BeforeAll
    static void data() {
        assumeTrue(onPath("mpirun"), "mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev)");
        data = Cli.mnistLike(dir.resolve("data"), 1050, 120, 7);
    }

    /** 1,024 of the images in 8 batches of 128: one process cuts each into 2 replicas of 64, two ranks take 64 each. */
    @Test
    void twoRanksAreBitIdenticalToOneProcessWithTwoReplicas() throws Exception {
        Path one = dir.resolve("one.safetensors"), two = dir.resolve("two.safetensors");
        Run single = run(List.of(), train(one, "--limit", "1024", "--batch-size", "128", "--epochs", "2"));
        assertEquals(0, single.code, single.output);
        Run ranks = run(mpirun(2), train(two, "--limit", "1024", "--batch-size", "128", "--epochs", "2",
                "--metrics", dir.resolve("two.jsonl").toString()));
        assertEquals(0, ranks.code, ranks.output);
        Cli.assertSameTensors(one, two);
        // rank 0 alone prints: one header, two epoch lines, one done line
        assertEquals(1, ranks.output.lines().filter(l -> l.startsWith("training ")).count(), ranks.output);
        assertEquals(2, ranks.output.lines().filter(l -> l.startsWith("epoch ")).count(), ranks.output);
        assertEquals(2, Files.readAllLines(dir.resolve("two.jsonl")).size());
        assertEquals(epochLines(single.output), epochLines(ranks.output));
    }

    /**
     * 1,002 images in batches of 100 (ranks of 33, 33, 34 rows) and a last batch of 2 (rank 0's slice of it is
     * empty).
     */
    @Test
    void threeRanksWithAnUnevenBatchAndAPartialOneMatchOneProcess() throws Exception {
        Path one = dir.resolve("one3.safetensors"), three = dir.resolve("three.safetensors");
        Run single = run(List.of(), train(one, "--limit", "1002", "--batch-size", "100", "--epochs", "2"));
        assertEquals(0, single.code, single.output);
        Run ranks = run(mpirun(3), train(three, "--limit", "1002", "--batch-size", "100", "--epochs", "2"));
        assertEquals(0, ranks.code, ranks.output);
        float[] a = Checkpoint.load(one).state().parameters(), b = Checkpoint.load(three).state().parameters();
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1e-3 + Math.abs(a[i])));
        }
        assertTrue(worst < 1e-4, "largest relative difference " + worst);
    }

    /**
     * One epoch in one process, then the second under two ranks: the same file as two epochs in one process. Rank 1 is
     * told a checkpoint path that does not exist: rank 0 reads the file and broadcasts it.
     */
    @Test
    void resumesUnderTwoRanksFromRankZerosFile() throws Exception {
        Path whole = dir.resolve("whole.safetensors"), half = dir.resolve("half.safetensors");
        List<String> common = List.of("--limit", "1024", "--batch-size", "128");
        assertEquals(0, run(List.of(), train(whole, plus(common, "--epochs", "2"))).code);
        assertEquals(0, run(List.of(), train(half, plus(common, "--epochs", "1"))).code);
        List<String> cmd = new ArrayList<>(mpirunLauncher());
        cmd.addAll(List.of("-np", "1"));
        cmd.addAll(java());
        cmd.addAll(train(half, plus(common, "--epochs", "2", "--resume", half.toString())));
        cmd.addAll(List.of(":", "-np", "1"));
        cmd.addAll(java());
        cmd.addAll(train(half, plus(common, "--epochs", "2", "--resume", dir.resolve("nowhere.safetensors").toString())));
        Run resumed = exec(cmd);
        assertEquals(0, resumed.code, resumed.output);
        Cli.assertSameTensors(whole, half);
    }

    /** Rank 1 killed mid-run: every rank is gone within seconds, non-zero, and the last checkpoint loads. */
    @Test
    void aKilledRankEndsTheRunAndTheCheckpointSurvives() throws Exception {
        Path ckpt = dir.resolve("killed.safetensors");
        List<String> cmd = new ArrayList<>(mpirun(2));
        cmd.addAll(java());
        cmd.addAll(train(ckpt, "--epochs", "100000", "--batch-size", "50"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("killed.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!Files.exists(ckpt) && System.nanoTime() < deadline && p.isAlive()) {
                Thread.sleep(100);
            }
            assertTrue(Files.exists(ckpt), "no checkpoint after 120 s: " + Files.readString(dir.resolve("killed.log")));
            ProcessHandle rank1 = p.descendants().filter(h -> isRank(h, 1)).findFirst().orElseThrow();
            rank1.destroyForcibly();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "mpirun still runs 30 s after rank 1 was killed");
            String log = Files.readString(dir.resolve("killed.log"));
            assertNotEquals(0, p.exitValue(), log);
            assertTrue(log.contains("rank 1"), log);
            assertTrue(Checkpoint.load(ckpt).state().epochsCompleted() >= 1);
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    /** Rank 1 reads data that is not there: one line names it, and rank 0 (waiting on it) ends too. */
    @Test
    void aRankThatFailsEndsEveryRankWithOneLine() throws Exception {
        Path ckpt = dir.resolve("failed.safetensors");
        List<String> cmd = new ArrayList<>(mpirunLauncher());
        cmd.addAll(List.of("-np", "1"));
        cmd.addAll(java());
        cmd.addAll(train(ckpt, "--epochs", "2"));
        cmd.addAll(List.of(":", "-np", "1"));
        cmd.addAll(java());
        cmd.addAll(List.of("train", "--device", "cpu", "--epochs", "2", "--data-dir", dir.resolve("empty").toString(),
                "--checkpoint", ckpt.toString()));
        Files.createDirectories(dir.resolve("empty"));
        Run r = exec(cmd);
        assertNotEquals(0, r.code, r.output);
        List<String> kiln = r.output.lines().filter(l -> l.startsWith("kiln: ")).toList();
        assertEquals(1, kiln.size(), r.output);
        assertTrue(kiln.getFirst().startsWith("kiln: rank 1 of 2: "), kiln.getFirst());
        assertTrue(Files.notExists(ckpt));
    }

    /**
     * Ranks started with different flags (rank 1 asks for 3 epochs): every rank refuses before training, and the
     * failure they share is told once, by rank 0.
     */
    @Test
    void ranksStartedDifferentlyRefuseToTrainWithOneLine() throws Exception {
        Path ckpt = dir.resolve("mismatch.safetensors");
        List<String> cmd = new ArrayList<>(mpirunLauncher());
        cmd.addAll(List.of("-np", "1"));
        cmd.addAll(java());
        cmd.addAll(train(ckpt, "--epochs", "2"));
        cmd.addAll(List.of(":", "-np", "1"));
        cmd.addAll(java());
        cmd.addAll(train(ckpt, "--epochs", "3"));
        Run r = exec(cmd);
        assertNotEquals(0, r.code, r.output);
        List<String> kiln = r.output.lines().filter(l -> l.startsWith("kiln: ")).toList();
        assertEquals(1, kiln.size(), r.output);
        assertTrue(kiln.getFirst().startsWith("kiln: rank 0 of 2: the ranks are not running the same training"),
                kiln.getFirst());
        assertTrue(Files.notExists(ckpt));
    }

    /** The README's Java example ({@code TrainParallel}) alone and under two ranks: both learn, rank 0 alone speaks. */
    @Test
    void theJavaExampleTrainsUnderMpirun() throws Exception {
        Path one = dir.resolve("example1.safetensors"), two = dir.resolve("example2.safetensors");
        Run alone = exec(plus(example(), data.toString(), one.toString()));
        assertEquals(0, alone.code, alone.output);
        List<String> cmd = new ArrayList<>(mpirun(2));
        cmd.addAll(plus(example(), data.toString(), two.toString()));
        Run ranks = exec(cmd);
        assertEquals(0, ranks.code, ranks.output);
        String a = alone.output.lines().filter(l -> l.contains("test accuracy")).findFirst().orElseThrow();
        List<String> b = ranks.output.lines().filter(l -> l.contains("test accuracy")).toList();
        assertEquals(1, b.size(), ranks.output);
        assertTrue(a.startsWith("1 ranks: ") && b.getFirst().startsWith("2 ranks: "), a + " / " + b);
        // the same run up to the last batch's rounding (26 rows: one replica alone, 13 per rank)
        assertEquals(accuracy(a), accuracy(b.getFirst()), 0.01);
        assertTrue(accuracy(a) >= 0.8, a);
        assertEquals(3, Checkpoint.load(two).state().epochsCompleted());
    }

    private static double accuracy(String line) {
        return Double.parseDouble(line.replaceAll(".*test accuracy ([0-9.]+)%.*", "$1")) / 100;
    }

    private static List<String> example() {
        List<String> l = new ArrayList<>(java().subList(0, java().size() - 1));
        l.add(dev.kiln.examples.TrainParallel.class.getName());
        return l;
    }

    // ---- helpers ----

    private record Run(int code, String output) {
    }

    private static String epochLines(String out) {
        // the epochs' losses and accuracies, without the timings
        StringBuilder s = new StringBuilder();
        out.lines().filter(l -> l.startsWith("epoch ")).forEach(l -> s.append(l, 0, l.indexOf(" s ") - 6).append('\n'));
        return s.toString();
    }

    private static List<String> train(Path checkpoint, String... more) {
        return train(checkpoint, List.of(more));
    }

    private static List<String> train(Path checkpoint, List<String> more) {
        List<String> a = new ArrayList<>(List.of("train", "--device", "cpu", "--threads", "1", "--data-dir", data.toString(),
                "--checkpoint", checkpoint.toString()));
        a.addAll(more);
        return a;
    }

    static List<String> plus(List<String> a, String... more) {
        List<String> l = new ArrayList<>(a);
        l.addAll(List.of(more));
        return l;
    }

    private static List<String> mpirunLauncher() {
        return List.of("mpirun", "--allow-run-as-root", "--oversubscribe");
    }

    private static List<String> mpirun(int ranks) {
        List<String> l = new ArrayList<>(mpirunLauncher());
        l.addAll(List.of("-np", Integer.toString(ranks)));
        return l;
    }

    /** This JVM, with Kiln's flags and the test classpath, running the CLI. */
    static List<String> java() {
        return List.of(ProcessHandle.current().info().command().orElse("java"), "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Kiln.class.getName());
    }

    /** {@code prefix} (mpirun and its flags, or nothing) then this JVM running {@code args}. */
    private static Run run(List<String> prefix, List<String> args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(java());
        cmd.addAll(args);
        return exec(cmd);
    }

    private static Run exec(List<String> cmd) throws IOException, InterruptedException {
        Path log = Files.createTempFile(dir, "run", ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError("still running after 180 s: " + String.join(" ", cmd) + "\n" + Files.readString(log));
        }
        return new Run(p.exitValue(), Files.readString(log));
    }

    private static boolean isRank(ProcessHandle h, int rank) {
        try {
            return ("\0" + new String(Files.readAllBytes(Path.of("/proc", Long.toString(h.pid()), "environ"))))
                    .contains("\0OMPI_COMM_WORLD_RANK=" + rank + "\0");
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean onPath(String program) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, program))) {
                return true;
            }
        }
        return false;
    }
}
