package dev.kiln.engine.report;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClassStatsTest {
    // rows true, columns predicted
    private static final int[][] M = {
            {5, 1, 0},
            {2, 3, 1},
            {0, 0, 0}, // class 2 never occurs, but is predicted once (row 1)
    };

    @Test
    void precisionRecallAndF1ComeFromTheMatrixColumnsAndRows() {
        ClassStats s = new ClassStats(M, List.of("a", "b", "c"));
        assertEquals(12, s.total());
        assertEquals(8, s.correct());
        assertEquals(8.0 / 12, s.accuracy(), 1e-15);
        assertEquals(5.0 / 7, s.precision(0), 1e-15); // column 0: 5 + 2
        assertEquals(5.0 / 6, s.recall(0), 1e-15);    // row 0: 5 + 1
        assertEquals(3.0 / 4, s.precision(1), 1e-15);
        assertEquals(3.0 / 6, s.recall(1), 1e-15);
        double p = 5.0 / 7, r = 5.0 / 6;
        assertEquals(2 * p * r / (p + r), s.f1(0), 1e-15);
        assertEquals(0.0, s.precision(2));            // predicted once, never right
        assertTrue(Double.isNaN(s.recall(2)));        // no samples of class 2
        assertTrue(Double.isNaN(s.f1(2)));
        assertEquals(6, s.support(1));
        assertEquals(1, s.predictedAs(2));
        assertEquals(5, s.maxCount());
    }

    @Test
    void ofCountsLabelPredictionPairs() {
        ClassStats s = ClassStats.of(3, new int[] {0, 0, 1, 2, 2, 2}, new int[] {0, 1, 1, 2, 0, 2});
        assertArrayEquals(new int[][] {{1, 1, 0}, {0, 1, 0}, {1, 0, 2}}, s.confusion());
        assertEquals(List.of("0", "1", "2"), s.classNames());
    }

    @Test
    void theMatrixIsCopiedInAndOut() {
        int[][] m = {{1, 0}, {0, 1}};
        ClassStats s = new ClassStats(m, List.of("x", "y"));
        m[0][0] = 99;
        s.confusion()[1][1] = 99;
        assertEquals(1, s.count(0, 0));
        assertEquals(1, s.count(1, 1));
    }

    @Test
    void rejectsMatricesThatDoNotFitTheNames() {
        assertThrows(IllegalArgumentException.class, () -> new ClassStats(new int[][] {{1, 2}}, List.of("a", "b")));
        assertThrows(IllegalArgumentException.class, () -> new ClassStats(new int[][] {{1}, {2, 3}}, List.of("a", "b")));
        assertThrows(IllegalArgumentException.class, () -> new ClassStats(new int[][] {{-1}}, List.of("a")));
    }

    @Test
    void anEmptyMatrixHasNoAccuracy() {
        assertTrue(Double.isNaN(new ClassStats(new int[2][2], List.of("a", "b")).accuracy()));
    }
}
