package dev.kiln.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The tracked PTX without a GPU: every family is on the class path, states a PTX ISA a CUDA 12.0 driver loads, and
 * assembles with {@code ptxas} for sm_80 and sm_90 (skipped, saying so, where ptxas is not installed). So a broken
 * kernel fails CI on a machine that cannot run it.
 */
class PtxTest {

    @Test
    void everyFamilyIsOnTheClassPathWithALoadableIsaVersion() {
        for (String family : PtxModule.FAMILIES) {
            String ptx = new String(PtxModule.ptx(family), StandardCharsets.US_ASCII);
            Matcher m = Pattern.compile("(?m)^\\.version (\\d+)\\.(\\d+)$").matcher(ptx);
            assertTrue(m.find(), family + ".ptx has no .version line");
            int version = Integer.parseInt(m.group(1)) * 10 + Integer.parseInt(m.group(2));
            assertTrue(version <= 80, family + ".ptx states PTX ISA " + m.group(1) + "." + m.group(2)
                    + "; CUDA 12.0 drivers load at most 8.0 (kernels/regen-ptx.sh lowers it)");
            assertTrue(ptx.contains(".target sm_80"), family + ".ptx should target sm_80 (compute_80)");
            assertTrue(ptx.indexOf('\0') < 0, family + ".ptx must be text; the loader adds the NUL terminator");
        }
    }

    @Test
    void everyFamilyAssemblesForAmpereAndHopper() throws Exception {
        Path ptxas = onPath("ptxas");
        assumeTrue(ptxas != null, "ptxas is not on PATH (install the CUDA toolkit to assemble the PTX in this test)");
        Path dir = Files.createTempDirectory("kiln-ptx");
        try {
            for (String family : PtxModule.FAMILIES) {
                Path file = dir.resolve(family + ".ptx");
                Files.write(file, PtxModule.ptx(family));
                for (String arch : List.of("sm_80", "sm_90")) {
                    Process p = new ProcessBuilder(ptxas.toString(), "-arch=" + arch, "-o", dir.resolve(family + ".cubin").toString(),
                            file.toString()).redirectErrorStream(true).start();
                    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "ptxas timed out on " + family);
                    assertEquals(0, p.exitValue(), "ptxas -arch=" + arch + " " + family + ".ptx failed:\n" + out);
                }
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    @Test
    void kernelsLaunchedWith1024ThreadsAreBoundedSoTheirRegistersFit() {
        // 65536 registers per block on sm_80/sm_90: 1024 threads may use 64 each, which only .maxntid guarantees
        String ptx = new String(PtxModule.ptx("activation"), StandardCharsets.US_ASCII);
        for (String kernel : List.of("relu_backward", "column_sums")) {
            Matcher m = Pattern.compile("\\.entry " + kernel + "\\([^)]*\\)\\s*\\.maxntid (\\d+), 1, 1").matcher(ptx);
            assertTrue(m.find(), kernel + " has no .maxntid (add __launch_bounds__)");
            assertEquals(1024, Integer.parseInt(m.group(1)), kernel);
        }
    }

    @Test
    void trackedPtxIsWhatRegenPtxMakesFromTheCudaSources() throws Exception {
        assumeTrue(onPath("nvcc") != null && onPath("ptxas") != null,
                "nvcc is not on PATH (install the CUDA toolkit to check the PTX against kernels/src/main/cuda)");
        Path script = Path.of("regen-ptx.sh").toAbsolutePath(); // Surefire runs in the module folder
        assumeTrue(Files.isRegularFile(script), "no " + script);
        Path dir = Files.createTempDirectory("kiln-regen-ptx");
        try {
            ProcessBuilder pb = new ProcessBuilder("bash", script.toString()).redirectErrorStream(true);
            pb.environment().put("KILN_PTX_OUT", dir.toString());
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(300, TimeUnit.SECONDS), "regen-ptx.sh timed out");
            assertEquals(0, p.exitValue(), "regen-ptx.sh failed:\n" + out);
            for (String family : PtxModule.FAMILIES) {
                String fresh = Files.readString(dir.resolve(family + ".ptx"), StandardCharsets.US_ASCII);
                String tracked = new String(PtxModule.ptx(family), StandardCharsets.US_ASCII);
                assumeTrue(toolkit(fresh).equals(toolkit(tracked)), "the tracked PTX was made by " + toolkit(tracked)
                        + ", this nvcc is " + toolkit(fresh) + ": their code differs, so only the same toolkit can compare");
                assertEquals(withoutCompilerBanner(fresh), withoutCompilerBanner(tracked), family
                        + ".ptx is not what kernels/src/main/cuda/" + family + ".cu compiles to: run kernels/regen-ptx.sh");
                assertTrue(java.util.Arrays.equals(Files.readAllBytes(dir.resolve(family + ".fatbin")), PtxModule.fatbin(family)),
                        family + ".fatbin is not what kernels/regen-ptx.sh makes from " + family + ".ptx: run it");
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    /** The "Cuda compilation tools, release 13.0, V13.0.88" line of a PTX banner. */
    private static String toolkit(String ptx) {
        Matcher m = Pattern.compile("(?m)^// (Cuda compilation tools.*)$").matcher(ptx);
        return m.find() ? m.group(1).trim() : "an unknown nvcc";
    }

    /** PTX without its leading comment lines (compiler build id and version), which differ between toolkits. */
    private static String withoutCompilerBanner(String ptx) {
        return ptx.replaceAll("(?m)^//.*\\R", "");
    }

    /** The PTX entry points of a family and their parameter types (u64, u32, s32, f32...). */
    static List<Entry> entries(String family) {
        String ptx = new String(PtxModule.ptx(family), StandardCharsets.US_ASCII);
        List<Entry> out = new ArrayList<>();
        Matcher m = Pattern.compile("\\.visible \\.entry (\\w+)\\(([^)]*)\\)").matcher(ptx);
        while (m.find()) {
            List<String> types = new ArrayList<>();
            Matcher p = Pattern.compile("\\.param \\.(\\w+) ").matcher(m.group(2));
            while (p.find()) {
                types.add(p.group(1));
            }
            out.add(new Entry(m.group(1), types));
        }
        return out;
    }

    record Entry(String name, List<String> paramTypes) {
    }

    static Path onPath(String tool) throws IOException {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String dir : path.split(":")) {
            Path p = Path.of(dir, tool);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }
}
