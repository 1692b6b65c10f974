package dev.kiln.engine.report;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Opens a synthetic report in headless Chromium: a screenshot that must be a real, colourful image of the asked
 * size, and the DOM as the browser built it, whose charts must have drawn elements and whose images must be data
 * URIs. Chromium's log must show no console message and no resource the page's Content-Security-Policy refused.
 * Skipped where Chromium is missing, except on CI (CI set), where it fails: CI must install it. The screenshot and
 * the page are kept in engine/target/report-browser/ for a person to look at.
 */
@Tag("browser")
class ReportBrowserTest {
    static final String INSTALL = "apt-get update && apt-get install -y chromium";
    private static final int WIDTH = 1280;
    private static final int HEIGHT = 2400;
    private static final long RUN_SECONDS = 25;

    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void chromiumRendersTheReport() throws Exception {
        String chromium = requireChromium();
        Path page = ReportWriter.write(tmp.resolve("report"), SyntheticReports.full(12, 2025));
        String url = page.toUri().toString();

        Path png = tmp.resolve("screenshot.png");
        Run shot = run(chromium, "--screenshot=" + png, "--window-size=" + WIDTH + "," + HEIGHT, url);
        Run dom = run(chromium, "--dump-dom", url);

        assertNoConsoleErrors(shot);
        assertNoConsoleErrors(dom);

        assertTrue(Files.size(png) > 0, "no screenshot written; chromium said:\n" + shot.stderr);
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, "the screenshot is not a readable PNG");
        assertEquals(WIDTH, img.getWidth());
        assertEquals(HEIGHT, img.getHeight());
        assertTrue(distinctColours(img) > 200, "the screenshot looks blank: " + distinctColours(img) + " colours");

        String html = dom.stdout;
        assertTrue(html.contains("<h1>Kiln training report</h1>"), "the DOM dump has no report:\n" + dom.stderr);
        List<String> svgs = elements(html, "svg");
        assertEquals(5, svgs.size(), "4 curves and the confusion matrix");
        for (String svg : svgs) {
            assertTrue(Pattern.compile("<(polyline|path|rect|circle)\\b").matcher(svg).find(), "an empty chart: "
                    + svg.substring(0, Math.min(200, svg.length())));
        }
        Matcher tag = Pattern.compile("<img\\b[^>]*>").matcher(html);
        int images = 0;
        while (tag.find()) {
            assertTrue(tag.group().contains("src=\"data:image/png;base64,"), tag.group());
            images++;
        }
        assertEquals(25 + 25, images, "25 mistakes and 25 weight tiles");

        keep(png, page, "");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void chromiumRendersTheBenchPage() throws Exception {
        String chromium = requireChromium();
        Path page = ReportWriter.writeBench(tmp.resolve("bench"), ReportWriterTest.benchRows(),
                SyntheticReports.facts("784,25,25,10"));
        Path png = tmp.resolve("bench.png");
        Run shot = run(chromium, "--screenshot=" + png, "--window-size=" + WIDTH + ",1200", page.toUri().toString());
        assertNoConsoleErrors(shot);
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, "the screenshot is not a readable PNG");
        assertEquals(WIDTH, img.getWidth());
        assertTrue(distinctColours(img) > 100, "the screenshot looks blank: " + distinctColours(img) + " colours");
        keep(png, page, "bench-");
    }

    /** Keeps the page and its screenshot in engine/target/report-browser/ for a person to look at. */
    private static void keep(Path png, Path page, String prefix) throws Exception {
        Path keep = Path.of("target", "report-browser");
        Files.createDirectories(keep);
        Files.copy(png, keep.resolve(prefix + "screenshot.png"), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(page, keep.resolve(prefix + "report.html"), StandardCopyOption.REPLACE_EXISTING);
    }

    private static void assertNoConsoleErrors(Run r) {
        // The page has no script, so any console line at all (Chromium logs them as INFO:CONSOLE, errors included)
        // is a fault, as is a resource the page's Content-Security-Policy blocked.
        for (String bad : List.of(":CONSOLE", "Uncaught", "Refused to", "Content Security Policy")) {
            assertFalse(r.stderr.contains(bad), "chromium reported '" + bad + "':\n" + r.stderr);
        }
    }

    /** The chromium binary; skips the test where it is missing, fails it on CI. */
    private static String requireChromium() {
        String chromium = findChromium();
        boolean ci = System.getenv("CI") != null && !System.getenv("CI").isBlank();
        if (chromium == null && ci) {
            fail("chromium is not installed; the CI test script must install it first: " + INSTALL);
        }
        Assumptions.assumeTrue(chromium != null, "chromium is not installed (" + INSTALL + "); browser test skipped");
        return chromium;
    }

    private record Run(String stdout, String stderr) {}

    /** Runs chromium headless with a fresh profile; kills it (and its helpers) if it hangs. */
    private Run run(String chromium, String... args) throws Exception {
        Path profile = Files.createTempDirectory(tmp, "profile");
        List<String> cmd = new ArrayList<>(List.of(chromium, "--headless", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-quic", "--enable-logging=stderr", "--v=0", "--user-data-dir=" + profile));
        cmd.addAll(List.of(args));
        File out = Files.createTempFile(tmp, "out", ".txt").toFile();
        File err = Files.createTempFile(tmp, "err", ".txt").toFile();
        Process p = new ProcessBuilder(cmd).redirectOutput(out).redirectError(err).start();
        try {
            if (!p.waitFor(RUN_SECONDS, TimeUnit.SECONDS)) {
                fail("chromium did not finish in " + RUN_SECONDS + " s: " + String.join(" ", cmd)
                        + "\n" + Files.readString(err.toPath()));
            }
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
        }
        String stderr = Files.readString(err.toPath());
        assertEquals(0, p.exitValue(), "chromium failed: " + String.join(" ", cmd) + "\n" + stderr);
        return new Run(Files.readString(out.toPath()), stderr);
    }

    private static String findChromium() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            for (String name : List.of("chromium", "chromium-browser")) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) {
                    return p.toString();
                }
            }
        }
        return null;
    }

    private static List<String> elements(String html, String tag) {
        List<String> found = new ArrayList<>();
        Matcher m = Pattern.compile("<" + tag + "\\b.*?</" + tag + ">", Pattern.DOTALL).matcher(html);
        while (m.find()) {
            found.add(m.group());
        }
        return found;
    }

    private static int distinctColours(BufferedImage img) {
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < img.getHeight(); y += 2) {
            for (int x = 0; x < img.getWidth(); x += 2) {
                colours.add(img.getRGB(x, y));
            }
        }
        return colours.size();
    }
}
