package dev.kiln.data;

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

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DigitImageTest {

    @TempDir
    Path dir;

    /** A thick "1" with a flag, off-centre, on a large canvas. */
    private static void drawOne(Graphics2D g) {
        g.setStroke(new BasicStroke(50, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
        g.drawLine(260, 60, 260, 440);
        g.drawLine(260, 60, 200, 130);
    }

    /** A ring, wider than tall. */
    private static void drawRing(Graphics2D g) {
        g.setStroke(new BasicStroke(24));
        g.drawOval(80, 120, 180, 260);
    }

    private interface Shape {
        void draw(Graphics2D g);
    }

    private static BufferedImage canvas(int type, int w, int h, Color background, Color ink, Shape shape) {
        BufferedImage img = new BufferedImage(w, h, type);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setComposite(java.awt.AlphaComposite.Src);
        g.setColor(background);
        g.fillRect(0, 0, w, h);
        g.setColor(ink);
        shape.draw(g);
        g.dispose();
        return img;
    }

    @Test
    void aHugePictureIsRefusedFromItsHeaderBeforeDecoding() throws IOException {
        // 30000 x 30000 RGB in a few hundred bytes: decoding it would need 2.7 GB
        java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
        png.writeBytes(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        chunk(png, "IHDR", java.nio.ByteBuffer.allocate(13).putInt(30000).putInt(30000).put((byte) 8).put((byte) 2)
                .put((byte) 0).put((byte) 0).put((byte) 0).array());
        java.io.ByteArrayOutputStream z = new java.io.ByteArrayOutputStream();
        try (java.util.zip.DeflaterOutputStream d = new java.util.zip.DeflaterOutputStream(z)) {
            d.write(new byte[1000]);
        }
        chunk(png, "IDAT", z.toByteArray());
        chunk(png, "IEND", new byte[0]);
        Path f = Files.write(dir.resolve("huge.png"), png.toByteArray());
        KilnException e = assertThrows(KilnException.class, () -> DigitImage.prepare(f));
        assertTrue(e.getMessage().contains("is 30,000 x 30,000 pixels, more than the 25 megapixels Kiln reads"), e.getMessage());
    }

    private static void chunk(java.io.ByteArrayOutputStream out, String type, byte[] data) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(12 + data.length).putInt(data.length);
        byte[] typeBytes = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        b.put(typeBytes).put(data);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(typeBytes);
        crc.update(data);
        out.writeBytes(b.putInt((int) crc.getValue()).array());
    }

    @Test
    void blackOneOnWhiteRgbLooksLikeMnist() {
        byte[] out = DigitImage.prepare(canvas(BufferedImage.TYPE_INT_RGB, 400, 500, Color.WHITE, Color.BLACK,
                DigitImageTest::drawOne));
        assertMnistLike(out);
    }

    @Test
    void whiteRingOnBlackGreyLooksLikeMnist() {
        byte[] out = DigitImage.prepare(canvas(BufferedImage.TYPE_BYTE_GRAY, 350, 450, Color.BLACK, Color.WHITE,
                DigitImageTest::drawRing));
        assertMnistLike(out);
        // The ring is hollow: the centre pixel is background.
        assertTrue(u(out, 14, 14) < 30, "centre of the ring " + u(out, 14, 14));
    }

    @Test
    void blackRingOnTransparentIsCompositedOverWhite() {
        BufferedImage img = canvas(BufferedImage.TYPE_INT_ARGB, 350, 450, new Color(0, 0, 0, 0), Color.BLACK,
                DigitImageTest::drawRing);
        byte[] out = DigitImage.prepare(img);
        assertMnistLike(out);
        byte[] opaque = DigitImage.prepare(canvas(BufferedImage.TYPE_INT_RGB, 350, 450, Color.WHITE, Color.BLACK,
                DigitImageTest::drawRing));
        assertTrue(maxDiff(out, opaque) <= 2, "alpha vs opaque differ by " + maxDiff(out, opaque));
    }

    @Test
    void invertedAndNonInvertedInputsGiveTheSameDigit() {
        byte[] dark = DigitImage.prepare(canvas(BufferedImage.TYPE_INT_RGB, 400, 500, Color.WHITE, Color.BLACK,
                DigitImageTest::drawOne));
        byte[] light = DigitImage.prepare(canvas(BufferedImage.TYPE_BYTE_GRAY, 400, 500, Color.BLACK, Color.WHITE,
                DigitImageTest::drawOne));
        assertTrue(maxDiff(dark, light) <= 2, "differ by " + maxDiff(dark, light));
    }

    @Test
    void aGreyPhotoWithOffWhitePaperLosesItsBackground() {
        // Paper at 200, ink at 60: the background must come out as 0 and the ink as full strength.
        byte[] out = DigitImage.prepare(canvas(BufferedImage.TYPE_INT_RGB, 400, 500, new Color(200, 200, 200),
                new Color(60, 60, 60), DigitImageTest::drawOne));
        assertMnistLike(out);
        byte[] clean = DigitImage.prepare(canvas(BufferedImage.TYPE_INT_RGB, 400, 500, Color.WHITE, Color.BLACK,
                DigitImageTest::drawOne));
        assertTrue(maxDiff(out, clean) <= 3, "differ by " + maxDiff(out, clean));
    }

    @Test
    void greyImagesAreReadFromTheRasterNotThroughLinearGrey() {
        BufferedImage img = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_GRAY);
        img.getRaster().setSample(0, 0, 0, 100);
        img.getRaster().setSample(1, 0, 0, 200);
        double[][] grey = DigitImage.luma(img);
        assertEquals(100, grey[0][0], 1e-9);
        assertEquals(200, grey[0][1], 1e-9);
        BufferedImage rgb = new BufferedImage(1, 1, BufferedImage.TYPE_INT_ARGB);
        rgb.setRGB(0, 0, 0x80_64_00_FF); // half-transparent (100, 0, 255)
        double a = 0x80 / 255.0;
        double l = 0.299 * 100 + 0.114 * 255;
        assertEquals(l * a + 255 * (1 - a), DigitImage.luma(rgb)[0][0], 1e-9);
    }

    @Test
    void aTinyImageWorks() {
        BufferedImage img = new BufferedImage(5, 5, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 5; y++) {
            for (int x = 0; x < 5; x++) {
                img.setRGB(x, y, x == 2 && y >= 1 && y <= 3 ? 0x000000 : 0xFFFFFF);
            }
        }
        byte[] out = DigitImage.prepare(img);
        assertEquals(784, out.length);
        int[] box = boundingBox(out);
        assertEquals(20, box[3] - box[2] + 1, "height of the bar");
        assertTrue(box[1] - box[0] + 1 <= 8, "width of the bar");
        assertEquals(255, u(out, 14, 14));
        assertEquals(0, u(out, 0, 0));
    }

    @Test
    void aBlankImageHasNoDigit() {
        BufferedImage white = canvas(BufferedImage.TYPE_INT_RGB, 50, 50, Color.WHITE, Color.WHITE, g -> { });
        KilnException e = assertThrows(KilnException.class, () -> DigitImage.prepare(white));
        assertTrue(e.getMessage().contains("no digit found"), e.getMessage());
        assertTrue(e.hint() != null);
        // Faint noise on paper is not a digit either.
        BufferedImage faint = canvas(BufferedImage.TYPE_INT_RGB, 50, 50, Color.WHITE, new Color(240, 240, 240),
                DigitImageTest::drawDot);
        assertThrows(KilnException.class, () -> DigitImage.prepare(faint));
    }

    private static void drawDot(Graphics2D g) {
        g.fillRect(20, 20, 5, 5);
    }

    @Test
    void readsPngAndJpegFiles() throws IOException {
        BufferedImage rgb = canvas(BufferedImage.TYPE_INT_RGB, 400, 500, Color.WHITE, Color.BLACK,
                DigitImageTest::drawOne);
        Path png = dir.resolve("one.png");
        ImageIO.write(rgb, "png", png.toFile());
        assertArrayEquals(DigitImage.prepare(rgb), DigitImage.prepare(png));

        Path jpg = dir.resolve("one.jpg");
        ImageIO.write(rgb, "jpg", jpg.toFile());
        byte[] fromJpeg = DigitImage.prepare(jpg);
        assertMnistLike(fromJpeg);
        assertTrue(maxDiff(fromJpeg, DigitImage.prepare(rgb)) <= 40, "JPEG artefacts only");

        BufferedImage grey = canvas(BufferedImage.TYPE_BYTE_GRAY, 350, 450, Color.BLACK, Color.WHITE,
                DigitImageTest::drawRing);
        Path greyPng = dir.resolve("ring.png");
        ImageIO.write(grey, "png", greyPng.toFile());
        assertArrayEquals(DigitImage.prepare(grey), DigitImage.prepare(greyPng));
    }

    @Test
    void aFileThatIsNotAnImageGivesAClearError() throws IOException {
        Path notImage = Files.writeString(dir.resolve("digit.png"), "this is text, not a picture");
        KilnException e = assertThrows(KilnException.class, () -> DigitImage.prepare(notImage));
        assertTrue(e.getMessage().contains(notImage.toString()), e.getMessage());
        assertTrue(e.hint().contains("PNG or JPEG"), e.hint());

        Path missing = dir.resolve("missing.png");
        KilnException m = assertThrows(KilnException.class, () -> DigitImage.prepare(missing));
        assertTrue(m.getMessage().contains(missing.toString()), m.getMessage());
    }

    @Test
    void aBlankFileNamesTheFile() throws IOException {
        Path blank = dir.resolve("blank.png");
        ImageIO.write(canvas(BufferedImage.TYPE_INT_RGB, 30, 30, Color.WHITE, Color.WHITE, g -> { }), "png",
                blank.toFile());
        KilnException e = assertThrows(KilnException.class, () -> DigitImage.prepare(blank));
        assertTrue(e.getMessage().contains(blank.toString()) && e.getMessage().contains("no digit found"),
                e.getMessage());
    }

    // ---- checks ----

    private static void assertMnistLike(byte[] out) {
        assertEquals(784, out.length);
        int[] box = boundingBox(out);
        int side = Math.max(box[1] - box[0] + 1, box[3] - box[2] + 1);
        assertTrue(side >= 19 && side <= 20, "bounding box max side " + side);
        // Background: the corners and everything outside the box are 0.
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                if (x < box[0] || x > box[1] || y < box[2] || y > box[3]) {
                    assertEquals(0, u(out, x, y));
                }
            }
        }
        int full = 0;
        double mass = 0, mx = 0, my = 0;
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                int v = u(out, x, y);
                full += v >= 250 ? 1 : 0;
                mass += v;
                mx += x * v;
                my += y * v;
            }
        }
        assertTrue(full >= 10, "solid ink pixels: " + full);
        assertEquals(14, mx / mass, 1.0, "centre of mass x");
        assertEquals(14, my / mass, 1.0, "centre of mass y");
    }

    /** {minX, maxX, minY, maxY} of the non-zero pixels. */
    private static int[] boundingBox(byte[] out) {
        int minX = 28, maxX = -1, minY = 28, maxY = -1;
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                if (u(out, x, y) > 0) {
                    minX = Math.min(minX, x);
                    maxX = Math.max(maxX, x);
                    minY = Math.min(minY, y);
                    maxY = Math.max(maxY, y);
                }
            }
        }
        assertTrue(maxX >= 0, "no ink at all");
        return new int[] {minX, maxX, minY, maxY};
    }

    private static int u(byte[] img, int x, int y) {
        return img[y * 28 + x] & 0xff;
    }

    private static int maxDiff(byte[] a, byte[] b) {
        int m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs((a[i] & 0xff) - (b[i] & 0xff)));
        }
        return m;
    }
}
