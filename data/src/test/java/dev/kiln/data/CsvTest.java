package dev.kiln.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CsvTest {
    @TempDir
    Path dir;

    private Path write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    /** The one line a bad file gives, with its hint. */
    private String failure(Path file, Csv.Options options) {
        return assertThrows(KilnException.class, () -> Csv.read(file, options)).oneLine();
    }

    @Test
    void readsNamedLabelsByHeaderNameInAnyColumn() throws IOException {
        Path f = write("flowers.csv", "length,species,width\n1.5,b,2\n\"2.5\",a,3\n3.5,b,-4e-1\n");
        Table t = Csv.read(f, Csv.Options.labelColumn("species"));
        assertEquals(List.of("length", "width"), t.featureNames());
        assertEquals(List.of("a", "b"), t.classNames());
        assertArrayEquals(new int[]{1, 0, 1}, t.labels());
        assertArrayEquals(new float[]{3.5f, -0.4f}, t.features()[2]);
    }

    @Test
    void readsIntegerLabelsByIndexWithoutHeader() throws IOException {
        Path f = write("plain.csv", "0.1,0.2,2\n0.3,0.4,0\n\n0.5,0.6,1\n");
        Table t = Csv.read(f, new Csv.Options("-1", false, null));
        assertEquals(List.of("column 1", "column 2"), t.featureNames());
        assertEquals(List.of("0", "1", "2"), t.classNames());
        assertArrayEquals(new int[]{2, 0, 1}, t.labels());
        Table first = Csv.read(f, new Csv.Options("0", false, null).withClasses(null));
        assertEquals(List.of("column 2", "column 3"), first.featureNames());
    }

    @Test
    void rowsToPredictNeedNoLabel() throws IOException {
        Path f = write("rows.csv", "a,b\n1,2\n3,4\n");
        Table t = Csv.read(f, new Csv.Options(null, true, List.of("x", "y")));
        assertNull(t.labels());
        assertEquals(2, t.featureCount());
    }

    @Test
    void eachBadRowIsOneLineNamingFileLineAndColumn() throws IOException {
        Csv.Options species = Csv.Options.labelColumn("species");
        assertEquals(dir.resolve("short.csv") + ", line 3: 2 column(s), but the header has 3; hint: every line needs the same columns; quote a value that contains a comma",
                failure(write("short.csv", "a,b,species\n1,2,x\n1,x\n"), species));
        assertEquals(dir.resolve("word.csv") + ", line 4, column 2 (b): 'seven' is not a number; hint: feature columns hold numbers; fill in or drop rows with missing values",
                failure(write("word.csv", "a,b,species\n1,2,x\n1,2,y\n1,seven,x\n"), species));
        assertEquals(dir.resolve("nan.csv") + ", line 2, column 1 (a): NaN is not a finite number; hint: fill in or drop rows with missing values",
                failure(write("nan.csv", "a,b,species\nNaN,2,x\n"), species));
        assertEquals(dir.resolve("empty.csv") + ", line 3, column 2 (b): the value is missing; hint: feature columns hold numbers; fill in or drop rows with missing values",
                failure(write("empty.csv", "a,b,species\n1,2,x\n3,,y\n"), species));
        assertEquals(dir.resolve("negative.csv") + ", line 3, column 3 (label): label -1 is out of range (it is negative); hint: integer labels count classes from 0",
                failure(write("negative.csv", "a,b,label\n1,2,0\n1,2,-1\n"), Csv.Options.labelColumn("label")));
        assertEquals(dir.resolve("big.csv") + ", line 2, column 3 (label): label 3 is out of range 0..2 (the model's classes); hint: integer labels count classes from 0",
                failure(write("big.csv", "a,b,label\n1,2,3\n"), Csv.Options.labelColumn("label").withClasses(List.of("0", "1", "2"))));
        assertEquals(dir.resolve("mixed.csv") + ", line 3, column 3 (label): label 'one' is not an integer like the first row's; hint: labels are integers 0, 1, ... or names, the same kind in every row",
                failure(write("mixed.csv", "a,b,label\n1,2,0\n1,2,one\n"), Csv.Options.labelColumn("label")));
        assertEquals(dir.resolve("unknown.csv") + ", line 2, column 3 (species): label 'rose' is not one of the model's classes (a, b)",
                failure(write("unknown.csv", "a,b,species\n1,2,rose\n"), species.withClasses(List.of("a", "b"))));
    }

    @Test
    void aMissingLabelColumnListsTheColumns() throws IOException {
        Path f = write("f.csv", "a,b,c\n1,2,0\n");
        assertEquals("" + f + " has no column named 'species'; its columns: a, b, c; hint: pass --label-column with one of those names or an index (0 is the first column)",
                failure(f, Csv.Options.labelColumn("species")));
        assertEquals(f + " has 3 columns; label column 3 is not one of them; hint: columns count from 0; -1 is the last",
                failure(f, Csv.Options.labelColumn("3")));
        assertEquals("no file " + dir.resolve("none.csv") + "; hint: check the path given to --data",
                failure(dir.resolve("none.csv"), Csv.Options.labelColumn("a")));
    }

    @Test
    void splitIsSeededAndKeepsEveryRowOnce() throws IOException {
        StringBuilder s = new StringBuilder("x,y\n");
        for (int i = 0; i < 10; i++) {
            s.append(i).append(',').append(i % 2).append('\n');
        }
        Table t = Csv.read(write("ten.csv", s.toString()), Csv.Options.labelColumn("y"));
        Table.Split a = t.split(0.2, 7), b = t.split(0.2, 7);
        assertEquals(8, a.train().size());
        assertEquals(2, a.test().size());
        assertArrayEquals(a.test().features(), b.test().features());
        float sum = 0;
        for (float[] r : a.train().features()) {
            sum += r[0];
        }
        for (float[] r : a.test().features()) {
            sum += r[0];
        }
        assertEquals(45f, sum);
    }
}
