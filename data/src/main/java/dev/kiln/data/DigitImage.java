package dev.kiln.data;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.util.Collections;
import java.util.Iterator;
import java.util.Locale;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Turns a picture of one handwritten digit (a photo, a scan, a drawing; PNG or JPEG, any size) into a 28x28 MNIST
 * sample, the way MNIST itself was made (LeCun et al.): grey levels, white ink on black, the digit's bounding box
 * scaled with anti-aliasing to fit 20x20 keeping its aspect ratio, then placed in a 28x28 field so its centre of
 * mass sits at the centre (14, 14).
 *
 * <p>Steps: composite any alpha over white, convert to grey (luma 0.299/0.587/0.114), invert when the border is
 * light (a dark digit on paper), subtract the background level (the border's mean) and stretch the ink to 0..255,
 * drop what is fainter than {@link #INK_THRESHOLD} (paper texture, shadows), crop to the ink, area-average down
 * (or up) to fit 20x20, shift by the centre of mass. It does not find a digit among other things, straighten a
 * tilted photo or separate several digits: the picture should hold one digit on a plain background.
 */
public final class DigitImage {

    public static final int SIDE = 28;
    /** The largest picture read: 25 megapixels (5000 x 5000; decoding takes about 12 bytes a pixel). */
    public static final long MAX_PIXELS = 25_000_000;
    /** MNIST's digits were normalised to fit this box inside the 28x28 field. */
    static final int BOX = 20;
    /** After background removal and stretching, fainter pixels (0..1) are background, not ink. */
    static final double INK_THRESHOLD = 0.2;
    /** A picture whose darkest-to-background contrast is below this (0..255) has no digit on it. */
    static final double MIN_CONTRAST = 32;

    private DigitImage() {}

    /** Reads a PNG or JPEG file and prepares it; see {@link #prepare(BufferedImage)}. */
    public static byte[] prepare(Path imageFile) {
        if (!Files.isRegularFile(imageFile)) {
            throw new KilnException("image " + imageFile + " does not exist or is not a file", "check the path");
        }
        BufferedImage image;
        try (ImageInputStream in = ImageIO.createImageInputStream(imageFile.toFile())) {
            Iterator<ImageReader> readers = in == null ? Collections.emptyIterator() : ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new KilnException("image " + imageFile + " is not in a format Kiln can read",
                        "save the picture as a PNG or JPEG");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                // the size from the header, before any pixel is decoded: a small file can unpack to gigabytes
                long w = reader.getWidth(0), h = reader.getHeight(0);
                if (w * h > MAX_PIXELS) {
                    throw new KilnException(String.format(Locale.ROOT, "image %s is %,d x %,d pixels, more than the %,d"
                                    + " megapixels Kiln reads", imageFile, w, h, MAX_PIXELS / 1_000_000),
                            "scale the picture down (a digit needs only 28 x 28 pixels)");
                }
                image = reader.read(0);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof KilnException k) {
                throw k;
            }
            throw new KilnException("cannot read image " + imageFile + ": " + e.getMessage(),
                    "save the picture as a PNG or JPEG (RGB or greyscale)", e);
        }
        if (image == null) {
            throw new KilnException("image " + imageFile + " is not in a format Kiln can read",
                    "save the picture as a PNG or JPEG");
        }
        try {
            return prepare(image);
        } catch (KilnException e) {
            throw new KilnException("image " + imageFile + ": " + e.getMessage(), e.hint(), e);
        }
    }

    /**
     * Prepares a picture of one digit: returns 784 bytes (28x28, row-major, 0 = background, 255 = full ink), like an
     * MNIST image. Throws {@link KilnException} when no digit stands out from the background.
     */
    public static byte[] prepare(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        double[][] ink = luma(image); // (h, w), 0..255, 255 = white
        if (borderMean(ink) > 127) {
            for (double[] row : ink) {
                for (int x = 0; x < w; x++) {
                    row[x] = 255 - row[x];
                }
            }
        }
        // Paper is never quite white in a photo: measure the background on the border and stretch the rest.
        double background = borderMean(ink);
        double peak = 0;
        for (double[] row : ink) {
            for (double v : row) {
                peak = Math.max(peak, v);
            }
        }
        if (peak - background < MIN_CONTRAST) {
            throw noDigit();
        }
        int minX = w, minY = h, maxX = -1, maxY = -1;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double v = (ink[y][x] - background) / (peak - background);
                v = v < INK_THRESHOLD ? 0 : Math.min(1, v);
                ink[y][x] = v;
                if (v > 0) {
                    minX = Math.min(minX, x);
                    maxX = Math.max(maxX, x);
                    minY = Math.min(minY, y);
                    maxY = Math.max(maxY, y);
                }
            }
        }
        if (maxX < 0) {
            throw noDigit();
        }
        int bw = maxX - minX + 1;
        int bh = maxY - minY + 1;
        double scale = (double) BOX / Math.max(bw, bh);
        int nw = Math.clamp(Math.round(bw * scale), 1, BOX);
        int nh = Math.clamp(Math.round(bh * scale), 1, BOX);
        double[][] digit = resample(ink, minX, minY, bw, bh, nw, nh); // (nh, nw), 0..1

        double mass = 0, mx = 0, my = 0;
        for (int y = 0; y < nh; y++) {
            for (int x = 0; x < nw; x++) {
                mass += digit[y][x];
                mx += x * digit[y][x];
                my += y * digit[y][x];
            }
        }
        // Place so the centre of mass (pixel-index coordinates) lands on (14, 14), without cutting the digit off.
        int ox = Math.clamp(Math.round(SIDE / 2.0 - mx / mass), 0, SIDE - nw);
        int oy = Math.clamp(Math.round(SIDE / 2.0 - my / mass), 0, SIDE - nh);
        byte[] out = new byte[SIDE * SIDE];
        for (int y = 0; y < nh; y++) {
            for (int x = 0; x < nw; x++) {
                out[(oy + y) * SIDE + ox + x] = (byte) Math.round(digit[y][x] * 255);
            }
        }
        return out;
    }

    /**
     * Grey levels 0..255 (255 white) of every pixel, alpha composited over white. Greyscale images are read from
     * their raster: {@code getRGB} would treat their values as linear light and brighten them.
     */
    static double[][] luma(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        double[][] grey = new double[h][w];
        ColorModel cm = image.getColorModel();
        if (cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY && !(cm instanceof IndexColorModel)
                && cm.getNumComponents() <= 2) {
            Raster r = image.getRaster();
            double greyMax = (1 << cm.getComponentSize(0)) - 1;
            double alphaMax = cm.hasAlpha() ? (1 << cm.getComponentSize(1)) - 1 : 1;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    double g = r.getSample(x, y, 0) * 255 / greyMax;
                    double a = cm.hasAlpha() ? r.getSample(x, y, 1) / alphaMax : 1;
                    grey[y][x] = g * a + 255 * (1 - a);
                }
            }
            return grey;
        }
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int argb = image.getRGB(x, y);
                double a = (argb >>> 24) / 255.0;
                double l = 0.299 * ((argb >> 16) & 0xff) + 0.587 * ((argb >> 8) & 0xff) + 0.114 * (argb & 0xff);
                grey[y][x] = l * a + 255 * (1 - a);
            }
        }
        return grey;
    }

    /** Mean of the outermost ring of pixels: what the background looks like. */
    private static double borderMean(double[][] img) {
        int h = img.length;
        int w = img[0].length;
        double sum = 0;
        int n = 0;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (y == 0 || y == h - 1 || x == 0 || x == w - 1) {
                    sum += img[y][x];
                    n++;
                }
            }
        }
        return sum / n;
    }

    /**
     * Area-averaging resample of the (bh, bw) window at (x0, y0) to (nh, nw): each output pixel is the mean of the
     * source area it covers, partial pixels weighted by coverage. That is the anti-aliasing MNIST's grey edges come
     * from; it also works for enlarging (each output pixel then covers part of one or two source pixels).
     */
    static double[][] resample(double[][] src, int x0, int y0, int bw, int bh, int nw, int nh) {
        double[][] cols = weights(bw, nw); // (nw, bw)
        double[][] rows = weights(bh, nh); // (nh, bh)
        double[][] tmp = new double[bh][nw];
        for (int y = 0; y < bh; y++) {
            for (int i = 0; i < nw; i++) {
                double s = 0;
                for (int x = 0; x < bw; x++) {
                    s += cols[i][x] * src[y0 + y][x0 + x];
                }
                tmp[y][i] = s;
            }
        }
        double[][] out = new double[nh][nw];
        for (int j = 0; j < nh; j++) {
            for (int y = 0; y < bh; y++) {
                if (rows[j][y] != 0) {
                    for (int i = 0; i < nw; i++) {
                        out[j][i] += rows[j][y] * tmp[y][i];
                    }
                }
            }
        }
        return out;
    }

    /** weights[i][k]: the share of target pixel i covered by source pixel k (each row sums to 1). */
    private static double[][] weights(int from, int to) {
        double step = (double) from / to; // source pixels per target pixel
        double[][] wt = new double[to][from];
        for (int i = 0; i < to; i++) {
            double lo = i * step;
            double hi = (i + 1) * step;
            for (int k = (int) Math.floor(lo); k < from && k < hi; k++) {
                double overlap = Math.min(hi, k + 1) - Math.max(lo, k);
                if (overlap > 0) {
                    wt[i][k] = overlap / step;
                }
            }
        }
        return wt;
    }

    private static KilnException noDigit() {
        return new KilnException("no digit found: the picture is blank or has too little contrast",
                "photograph one dark digit on plain light paper (or a light digit on a dark background)");
    }
}
