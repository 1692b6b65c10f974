package dev.kiln.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} arrays (format versions 1 to 3, as {@code numpy.save} writes them), so Python users can hand
 * data over: features as {@code float32} (or {@code float64}) of shape (N, F), labels as integers of shape (N).
 */
public final class Npy {
    private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([<>|=])([a-z])(\\d+)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order':\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

    private Npy() {
    }

    /** One array: its type ('f', 'i' or 'u' and bytes per element), shape and raw little-endian data. */
    private record Array(Path file, char kind, int bytes, int[] shape, ByteBuffer data) {
    }

    /**
     * A labelled {@link Table} from two files. Labels are class indices 0, 1, ...; with {@code classes} (a model's),
     * they must be below its count, else the count is the largest label + 1.
     */
    public static Table read(Path featuresFile, Path labelsFile, List<String> classes) {
        float[][] x = features(featuresFile);
        int[] y = labels(labelsFile);
        if (y.length != x.length) {
            throw new KilnException(labelsFile + " holds " + y.length + " labels but " + featuresFile + " has " + x.length + " rows");
        }
        int max = 0;
        for (int i = 0; i < y.length; i++) {
            if (y[i] < 0 || (classes != null && y[i] >= classes.size())) {
                throw new KilnException(labelsFile + ", row " + i + ": label " + y[i] + " is out of range "
                        + (classes != null ? "0.." + (classes.size() - 1) + " (the model's classes)" : "(it is negative)"),
                        "labels count classes from 0");
            }
            max = Math.max(max, y[i]);
        }
        List<String> names = classes;
        if (names == null) {
            names = new ArrayList<>();
            for (int c = 0; c <= max; c++) {
                names.add(Integer.toString(c));
            }
        }
        return new Table(featuresFile.toString(), featureNames(x[0].length), x, y, names);
    }

    /** Rows to predict: features only. */
    public static Table unlabelled(Path featuresFile, List<String> classes) {
        float[][] x = features(featuresFile);
        return new Table(featuresFile.toString(), featureNames(x[0].length), x, null, classes);
    }

    private static List<String> featureNames(int f) {
        List<String> names = new ArrayList<>();
        for (int c = 0; c < f; c++) {
            names.add("column " + (c + 1));
        }
        return names;
    }

    /** A float32 or float64 array of shape (N, F), every value finite. */
    public static float[][] features(Path file) {
        Array a = read(file);
        if (a.kind != 'f' || (a.bytes != 4 && a.bytes != 8) || a.shape.length != 2 || a.shape[0] == 0 || a.shape[1] == 0) {
            throw new KilnException(file + " holds " + describe(a) + ", not float32 features of shape (N, F)",
                    "np.save(file, x.astype(np.float32)) with x of shape (rows, features)");
        }
        int n = a.shape[0], f = a.shape[1];
        float[][] x = new float[n][f];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < f; j++) {
                float v = a.bytes == 4 ? a.data.getFloat() : (float) a.data.getDouble();
                if (!Float.isFinite(v)) {
                    throw new KilnException(file + ", row " + i + ", column " + j + ": " + v + " is not a finite number",
                            "fill in or drop rows with missing values");
                }
                x[i][j] = v;
            }
        }
        return x;
    }

    /** An integer array of shape (N) (or (N, 1)). */
    public static int[] labels(Path file) {
        Array a = read(file);
        boolean vector = a.shape.length == 1 || (a.shape.length == 2 && a.shape[1] == 1);
        if ((a.kind != 'i' && a.kind != 'u') || !vector) {
            throw new KilnException(file + " holds " + describe(a) + ", not integer labels of shape (N)",
                    "np.save(file, y.astype(np.int64)) with y of shape (rows,)");
        }
        int[] y = new int[a.shape[0]];
        for (int i = 0; i < y.length; i++) {
            long v = switch (a.bytes) {
                case 1 -> a.kind == 'u' ? a.data.get() & 0xff : a.data.get();
                case 2 -> a.kind == 'u' ? a.data.getShort() & 0xffff : a.data.getShort();
                case 4 -> a.kind == 'u' ? a.data.getInt() & 0xffffffffL : a.data.getInt();
                default -> a.data.getLong();
            };
            if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
                throw new KilnException(file + ", row " + i + ": label " + v + " is out of range");
            }
            y[i] = (int) v;
        }
        return y;
    }

    private static String describe(Array a) {
        return a.kind + Integer.toString(a.bytes) + " of shape " + java.util.Arrays.toString(a.shape);
    }

    private static Array read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new KilnException("no file " + file, "check the path");
        } catch (IOException e) {
            throw new KilnException("cannot read " + file + ": " + e.getMessage());
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 10 || (bytes[0] & 0xff) != 0x93 || !new String(bytes, 1, 5, StandardCharsets.ISO_8859_1).equals("NUMPY")) {
            throw new KilnException(file + " is not a NumPy .npy file (no \\x93NUMPY magic)", "write it with numpy.save");
        }
        int major = bytes[6];
        int headerLength;
        int at;
        if (major == 1) {
            headerLength = b.getShort(8) & 0xffff;
            at = 10;
        } else if (major == 2 || major == 3) {
            headerLength = b.getInt(8);
            at = 12;
        } else {
            throw new KilnException(file + " is .npy format version " + major + ", Kiln reads 1 to 3");
        }
        if (headerLength < 0 || at + headerLength > bytes.length) {
            throw new KilnException(file + " is cut short inside its header");
        }
        String header = new String(bytes, at, headerLength, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(header), fo = FORTRAN.matcher(header), s = SHAPE.matcher(header);
        if (!d.find() || !fo.find() || !s.find()) {
            throw new KilnException(file + " has a header Kiln cannot read: " + header.strip());
        }
        if (d.group(1).equals(">") && !d.group(3).equals("1")) {
            throw new KilnException(file + " is big-endian", "save it little-endian: x.astype('<f4')");
        }
        if (fo.group(1).equals("True")) {
            throw new KilnException(file + " is in Fortran order", "save np.ascontiguousarray(x)");
        }
        List<Integer> dims = new ArrayList<>();
        for (String part : s.group(1).split(",")) {
            if (!part.isBlank()) {
                dims.add(Integer.parseInt(part.strip()));
            }
        }
        int[] shape = dims.stream().mapToInt(Integer::intValue).toArray();
        int elementBytes = Integer.parseInt(d.group(3));
        long count = 1;
        for (int dim : shape) {
            count *= dim;
        }
        ByteBuffer data = b.position(at + headerLength).slice().order(ByteOrder.LITTLE_ENDIAN);
        if (data.remaining() < count * elementBytes) {
            throw new KilnException(file + " is cut short: its header promises " + count + " values of " + elementBytes
                    + " bytes, it holds " + data.remaining() + " bytes");
        }
        return new Array(file, d.group(2).charAt(0), elementBytes, shape, data);
    }
}
