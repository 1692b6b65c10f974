package dev.kiln.engine.report;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;

/**
 * Small images as {@code data:image/png;base64,...} URIs, scaled up by whole pixels (nearest neighbour) so that a
 * 28x28 digit stays crisp in every browser and in print.
 */
final class Png {
    private Png() {}

    /** A grey image: {@code pixels} (rows * cols) row-major, 0..255, each drawn as a scale x scale block. */
    static String gray(byte[] pixels, int rows, int cols, int scale) {
        BufferedImage img = new BufferedImage(cols * scale, rows * scale, BufferedImage.TYPE_BYTE_GRAY);
        var raster = img.getRaster();
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int v = pixels[r * cols + c] & 0xff;
                for (int dy = 0; dy < scale; dy++) {
                    for (int dx = 0; dx < scale; dx++) {
                        raster.setSample(c * scale + dx, r * scale + dy, 0, v);
                    }
                }
            }
        }
        return dataUri(img);
    }

    /** A colour image: {@code rgb} (rows * cols) row-major 0xRRGGBB, each drawn as a scale x scale block. */
    static String rgb(int[] rgb, int rows, int cols, int scale) {
        BufferedImage img = new BufferedImage(cols * scale, rows * scale, BufferedImage.TYPE_INT_RGB);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int v = rgb[r * cols + c];
                for (int dy = 0; dy < scale; dy++) {
                    for (int dx = 0; dx < scale; dx++) {
                        img.setRGB(c * scale + dx, r * scale + dy, v);
                    }
                }
            }
        }
        return dataUri(img);
    }

    private static String dataUri(BufferedImage img) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(img, "png", out)) {
                throw new IllegalStateException("this JDK has no PNG writer");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing a PNG to memory", e); // cannot happen with a byte array
        }
        return "data:image/png;base64," + Base64.getEncoder().encodeToString(out.toByteArray());
    }
}
