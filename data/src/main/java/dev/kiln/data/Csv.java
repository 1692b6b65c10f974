package dev.kiln.data;

import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.TreeSet;

/**
 * Reads a CSV file of numeric feature columns and one label column into a {@link Table}, through Apache Commons
 * CSV (RFC 4180: quoted fields, commas and line breaks inside quotes). Every bad row is one {@link KilnException}
 * that names the file, the line and the column.
 */
public final class Csv {
    private Csv() {
    }

    /**
     * How to read a file.
     *
     * @param labelColumn the label column's header name, or its index (0 is the first column, -1 the last); null
     *                    when the rows carry no label (rows to predict)
     * @param header      whether the first line names the columns
     * @param classes     the classes a model already knows (eval, predict): labels must be among them; null to
     *                    learn them from the file (train)
     */
    public record Options(String labelColumn, boolean header, List<String> classes) {
        /** A file with a header line whose label column is {@code labelColumn}, classes learnt from the file. */
        public static Options labelColumn(String labelColumn) {
            return new Options(labelColumn, true, null);
        }

        public Options withHeader(boolean header) {
            return new Options(labelColumn, header, classes);
        }

        public Options withClasses(List<String> classes) {
            return new Options(labelColumn, header, classes);
        }
    }

    /** Reads {@code file}: every row must have the header's column count, finite numbers and a label. */
    public static Table read(Path file, Options options) {
        CSVFormat format = CSVFormat.RFC4180.builder().setTrim(true).setIgnoreEmptyLines(true).get();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8);
             CSVParser parser = CSVParser.parse(reader, format)) {
            Iterator<CSVRecord> records = parser.iterator();
            long line = parser.getCurrentLineNumber() + 1;
            if (!records.hasNext()) {
                throw new KilnException(file + " is empty", "a CSV file of numeric columns and a label column");
            }
            CSVRecord first = records.next();
            int columns = first.size();
            List<String> names = new ArrayList<>();
            for (int c = 0; c < columns; c++) {
                names.add(options.header() ? first.get(c) : "column " + (c + 1));
            }
            int label = options.labelColumn() == null ? -1 : labelIndex(file, options, names);
            List<String> featureNames = new ArrayList<>(names);
            if (label >= 0) {
                featureNames.remove(label);
            }
            if (featureNames.isEmpty()) {
                throw new KilnException(file + " has no feature columns besides the label column " + names.get(label));
            }
            List<float[]> rows = new ArrayList<>();
            List<String> labels = new ArrayList<>();
            List<Long> labelLines = new ArrayList<>();
            CSVRecord record = options.header() ? null : first;
            long recordLine = line;
            while (true) {
                if (record == null) {
                    recordLine = parser.getCurrentLineNumber() + 1;
                    if (!records.hasNext()) {
                        break;
                    }
                    record = records.next();
                }
                if (record.size() != columns) {
                    throw new KilnException(where(file, recordLine) + ": " + record.size() + " column(s), but "
                            + (options.header() ? "the header has " : "the first line has ") + columns,
                            "every line needs the same columns; quote a value that contains a comma");
                }
                float[] x = new float[featureNames.size()];
                for (int c = 0, f = 0; c < columns; c++) {
                    if (c != label) {
                        x[f++] = number(file, recordLine, c, names.get(c), record.get(c));
                    }
                }
                rows.add(x);
                if (label >= 0) {
                    labels.add(record.get(label));
                    labelLines.add(recordLine);
                }
                record = null;
            }
            if (rows.isEmpty()) {
                throw new KilnException(file + " has a header but no rows");
            }
            float[][] features = rows.toArray(float[][]::new);
            if (label < 0) {
                return new Table(file.toString(), featureNames, features, null,
                        options.classes() == null ? List.of() : options.classes());
            }
            return labelled(file, options, label, names.get(label), featureNames, features, labels, labelLines);
        } catch (NoSuchFileException e) {
            throw new KilnException("no file " + file, "check the path given to --data");
        } catch (IOException | UncheckedIOException e) {
            throw new KilnException("cannot read " + file + ": " + e.getMessage());
        }
    }

    /** How many columns the file's first line has (0 for an empty file). */
    public static int columns(Path file) {
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8);
             CSVParser parser = CSVParser.parse(reader, CSVFormat.RFC4180.builder().setIgnoreEmptyLines(true).get())) {
            Iterator<CSVRecord> records = parser.iterator();
            return records.hasNext() ? records.next().size() : 0;
        } catch (NoSuchFileException e) {
            throw new KilnException("no file " + file, "check the path given to --data");
        } catch (IOException | UncheckedIOException e) {
            throw new KilnException("cannot read " + file + ": " + e.getMessage());
        }
    }

    private static int labelIndex(Path file, Options options, List<String> names) {
        String want = options.labelColumn();
        int at = names.indexOf(want);
        if (at >= 0 && options.header()) {
            return at;
        }
        try {
            int i = Integer.parseInt(want);
            int index = i < 0 ? names.size() + i : i;
            if (index >= 0 && index < names.size()) {
                return index;
            }
            throw new KilnException(file + " has " + names.size() + " columns; label column " + want + " is not one of them",
                    "columns count from 0; -1 is the last");
        } catch (NumberFormatException e) {
            throw new KilnException(file + " has no column named '" + want + "'"
                    + (options.header() ? "; its columns: " + String.join(", ", names) : " (it has no header line)"),
                    options.header() ? "pass --label-column with one of those names or an index (0 is the first column)"
                            : "pass --label-column with an index (0 is the first column, -1 the last)");
        }
    }

    private static float number(Path file, long line, int column, String name, String text) {
        float v;
        try {
            v = Float.parseFloat(text);
        } catch (NumberFormatException e) {
            throw new KilnException(where(file, line, column, name) + ": "
                    + (text.isEmpty() ? "the value is missing" : "'" + text + "' is not a number"),
                    "feature columns hold numbers; fill in or drop rows with missing values");
        }
        if (!Float.isFinite(v)) {
            throw new KilnException(where(file, line, column, name) + ": " + text + " is not a finite number",
                    "fill in or drop rows with missing values");
        }
        return v;
    }

    /** Integer labels when the first row's is an integer (kept as they are), else names (sorted). */
    private static Table labelled(Path file, Options options, int column, String name, List<String> featureNames,
                                  float[][] features, List<String> text, List<Long> lines) {
        int[] y = new int[text.size()];
        List<String> classes = options.classes();
        boolean integers = classes != null ? isIntegerNames(classes) : isInteger(text.getFirst());
        if (integers) {
            int max = -1;
            for (int i = 0; i < y.length; i++) {
                String t = text.get(i);
                if (!isInteger(t)) {
                    throw new KilnException(where(file, lines.get(i), column, name) + ": label '" + t + "' is not an integer "
                            + (classes != null ? "class of the model" : "like the first row's"),
                            "labels are integers 0, 1, ... or names, the same kind in every row");
                }
                int v = Integer.parseInt(t);
                if (v < 0 || (classes != null && v >= classes.size())) {
                    throw new KilnException(where(file, lines.get(i), column, name) + ": label " + v + " is out of range "
                            + (classes != null ? "0.." + (classes.size() - 1) + " (the model's classes)" : "(it is negative)"),
                            "integer labels count classes from 0");
                }
                y[i] = v;
                max = Math.max(max, v);
            }
            if (classes == null) {
                classes = new ArrayList<>();
                for (int c = 0; c <= max; c++) {
                    classes.add(Integer.toString(c));
                }
            }
        } else {
            if (classes == null) {
                classes = List.copyOf(new TreeSet<>(text));
            }
            for (int i = 0; i < y.length; i++) {
                y[i] = classes.indexOf(text.get(i));
                if (y[i] < 0) {
                    throw new KilnException(where(file, lines.get(i), column, name) + ": label '" + text.get(i)
                            + "' is not one of the model's classes (" + String.join(", ", classes) + ")");
                }
            }
        }
        if (classes.size() < 2) {
            throw new KilnException(file + ": every row has the label " + classes.getFirst() + "; a classifier needs at least 2 classes");
        }
        return new Table(file.toString(), featureNames, features, y, classes);
    }

    private static boolean isInteger(String s) {
        return s.matches("-?[0-9]{1,9}");
    }

    private static boolean isIntegerNames(List<String> classes) {
        for (int c = 0; c < classes.size(); c++) {
            if (!classes.get(c).equals(Integer.toString(c))) {
                return false;
            }
        }
        return true;
    }

    private static String where(Path file, long line) {
        return file + ", line " + line;
    }

    private static String where(Path file, long line, int column, String name) {
        return file + ", line " + line + ", column " + (column + 1) + " (" + name + ")";
    }
}
