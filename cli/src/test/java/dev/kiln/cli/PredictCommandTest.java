package dev.kiln.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.kiln.cli.Cli.kiln;
import static dev.kiln.cli.Cli.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code kiln predict} on pictures drawn here, with a model trained once on generated data. */
class PredictCommandTest {
    @TempDir
    static Path dir;
    static Path model;

    @BeforeAll
    static void trainOnce() {
        Path data = Cli.mnistLike(dir.resolve("data"), 60, 10, 5);
        model = dir.resolve("m.safetensors");
        ok("train", "--data-dir", data.toString(), "--device", "reference", "--layers", "784,16,10", "--epochs", "1",
                "-o", model.toString());
    }

    /** A dark, thick "7" on white paper, 120x160 pixels, as a phone photo of a drawn digit would be. */
    static Path drawSeven(Path file) throws IOException {
        BufferedImage img = new BufferedImage(120, 160, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, 120, 160);
        g.setColor(new Color(20, 20, 30));
        g.setStroke(new BasicStroke(14, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
        g.drawLine(25, 30, 95, 30);
        g.drawLine(95, 30, 50, 135);
        g.dispose();
        ImageIO.write(img, "png", file.toFile());
        return file;
    }

    @Test
    void printsADigitAndTheTopProbabilities() throws IOException {
        Path png = drawSeven(dir.resolve("seven.png"));
        Cli.Result r = ok("predict", "--model", model.toString(), png.toString());
        String line = r.out().strip();
        Matcher m = Pattern.compile(Pattern.quote(png.toString())
                + ": (\\d)   \\((\\d) ([0-9.]+)%, (\\d) ([0-9.]+)%, (\\d) ([0-9.]+)%\\)").matcher(line);
        assertTrue(m.matches(), line);
        assertEquals(m.group(1), m.group(2), "the digit printed is the most likely one");
        double p1 = Double.parseDouble(m.group(3)), p2 = Double.parseDouble(m.group(5)), p3 = Double.parseDouble(m.group(7));
        assertTrue(p1 >= p2 && p2 >= p3 && p1 + p2 + p3 <= 100.05, line);
    }

    @Test
    void aFileThatIsNoPictureIsOneLine() throws IOException {
        Path text = Files.writeString(dir.resolve("digit.png"), "this is not a PNG");
        String line = kiln("predict", "--model", model.toString(), text.toString()).failureLine();
        assertTrue(line.startsWith("kiln: image " + text + " is not in a format Kiln can read"), line);
    }

    @Test
    void aMissingPictureIsOneLine() {
        Path none = dir.resolve("none.png");
        String line = kiln("predict", "--model", model.toString(), none.toString()).failureLine();
        assertTrue(line.startsWith("kiln: image " + none + " does not exist"), line);
    }
}
