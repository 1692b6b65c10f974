package dev.kiln.engine.dist;

import dev.kiln.data.KilnException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which launcher started a process, from its environment; and the clean error when MPI is missing. */
class LaunchTest {

    @Test
    void aPlainProcessHasNoLauncher() {
        assertNull(Launch.detect(Map.of("PATH", "/usr/bin", "HOME", "/root")));
        // a Slurm batch script's own shell is not a step that srun started
        assertNull(Launch.detect(Map.of("SLURM_JOB_ID", "7", "SLURM_PROCID", "0", "SLURM_NTASKS", "4")));
    }

    @Test
    void openMpiSaysRankSizeAndLocalRank() {
        Launch l = Launch.detect(Map.of("OMPI_COMM_WORLD_RANK", "3", "OMPI_COMM_WORLD_SIZE", "8",
                "OMPI_COMM_WORLD_LOCAL_RANK", "1", "OMPI_COMM_WORLD_LOCAL_SIZE", "2", "PMIX_RANK", "3"));
        assertEquals(new Launch("mpirun (OMPI_COMM_WORLD_SIZE)", 3, 8, 1, 2), l);
    }

    @Test
    void srunAndPmixAndHydra() {
        assertEquals(new Launch("srun (SLURM_PROCID)", 5, 16, 1, 8), Launch.detect(Map.of("SLURM_PROCID", "5",
                "SLURM_NTASKS", "16", "SLURM_LOCALID", "1", "SLURM_STEP_ID", "0", "SLURM_NTASKS_PER_NODE", "8")));
        assertEquals(new Launch("a PMIx launcher (PMIX_RANK)", 2, 4, 0, 1),
                Launch.detect(Map.of("PMIX_RANK", "2", "PMIX_SIZE", "4", "PMIX_LOCAL_RANK", "0")));
        assertEquals(new Launch("mpiexec (PMI_RANK)", 1, 2, 1, 2),
                Launch.detect(Map.of("PMI_RANK", "1", "PMI_SIZE", "2", "MPI_LOCALRANKID", "1", "MPI_LOCALNRANKS", "2")));
    }

    @Test
    void withoutALauncherRanksAreThisProcessAlone() {
        // the test JVM is not started by mpirun; nothing is loaded
        if (Launch.detect() == null) {
            Ranks r = Ranks.join();
            assertEquals(1, r.size());
            assertEquals(0, r.rank());
            float[] v = {1.5f};
            r.sum(v);
            assertEquals(1.5f, v[0]);
        }
    }

    @Test
    void missingMpiIsOneLineNamingEveryPlaceLooked(@TempDir Path dir) {
        KilnException e = assertThrows(KilnException.class,
                () -> new MpiSearch(null, false, List.of(dir.resolve("a"), dir.resolve("b"))).find());
        assertTrue(e.oneLine().startsWith("a launcher started this process as one of several ranks, but Open MPI's "
                + "libmpi.so.40 was not found: looked in " + dir.resolve("a") + ", " + dir.resolve("b")), e.oneLine());
        assertTrue(e.hint().contains("apt-get install libopenmpi-dev"), e.hint());
        assertEquals(1, e.oneLine().lines().count());
    }

    @Test
    void kilnMpiNamesTheLibraryAndNothingElseIsTried(@TempDir Path dir) throws Exception {
        Path notALibrary = Files.writeString(dir.resolve(MpiSearch.SONAME), "not an ELF file");
        KilnException e = assertThrows(KilnException.class,
                () -> new MpiSearch(dir.toString(), true, List.of(Path.of("/usr/lib/x86_64-linux-gnu"))).find());
        assertTrue(e.getMessage().startsWith("KILN_MPI=" + dir + " does not name a loadable MPI: " + notALibrary
                + " (did not load"), e.getMessage());
    }
}
