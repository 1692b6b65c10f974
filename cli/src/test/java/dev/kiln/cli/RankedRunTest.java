package dev.kiln.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A rank's set-up: the GPU it opens, and one clear line where a launcher started it but no MPI library loads. */
class RankedRunTest {

    @Test
    void aRankOpensTheGpuOfItsLocalRankUnlessTheLauncherLeftItOne() {
        dev.kiln.engine.dist.Ranks third = new dev.kiln.engine.dist.Ranks() {
            @Override public int rank() { return 6; }
            @Override public int size() { return 8; }
            @Override public int localRank() { return 2; }
            @Override public int localSize() { return 4; }
            @Override public void sum(float[] values) { }
            @Override public void sum(double[] values) { }
            @Override public byte[] broadcast(byte[] bytes) { return bytes; }
            @Override public void abort(int code) { }
            @Override public void close() { }
        };
        assertEquals(2, RankedRun.gpuIndex(third, null));
        assertEquals(2, RankedRun.gpuIndex(third, "0,1,2,3"));
        assertEquals(0, RankedRun.gpuIndex(third, "2"));
    }

    @Test
    void saysMpiIsMissingInOneLineWithAHint(@TempDir Path dir) throws Exception {
        List<String> cmd = new ArrayList<>(MpiTrainTest.java());
        cmd.addAll(List.of("train", "--device", "cpu", "--epochs", "1", "--data-dir", dir.toString(),
                "--checkpoint", dir.resolve("x.safetensors").toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("log").toFile());
        pb.environment().put("OMPI_COMM_WORLD_SIZE", "2");
        pb.environment().put("OMPI_COMM_WORLD_RANK", "1");
        pb.environment().put("KILN_MPI", dir.resolve("nowhere").toString());
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        String log = Files.readString(dir.resolve("log"));
        assertEquals(1, p.exitValue(), log);
        List<String> kiln = log.lines().filter(l -> l.startsWith("kiln: ")).toList();
        assertEquals(1, kiln.size(), log);
        assertTrue(kiln.getFirst().startsWith("kiln: KILN_MPI=" + dir.resolve("nowhere") + " does not name a loadable MPI"),
                kiln.getFirst());
        assertTrue(kiln.getFirst().contains("hint: "), kiln.getFirst());
        assertTrue(log.lines().noneMatch(l -> l.startsWith("\tat ")), log);
    }
}
