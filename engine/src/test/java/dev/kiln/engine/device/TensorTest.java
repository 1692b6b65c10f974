package dev.kiln.engine.device;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Row views: the replicas and partial batches of a training step are views of its (B, .) buffers. */
class TensorTest {

    @Test
    void rowsAreAViewOfConsecutiveRows() {
        ReferenceDevice d = new ReferenceDevice();
        Tensor t = d.allocate(DType.F32, 4, 3);
        d.upload(new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, t);
        Tensor middle = t.rows(1, 2);
        assertEquals(2, middle.rows());
        assertEquals(3, middle.cols());
        float[] got = new float[6];
        d.download(middle, got);
        assertArrayEquals(new float[] {3, 4, 5, 6, 7, 8}, got);
        d.fill(middle, -1);                      // shares storage
        float[] all = new float[12];
        d.download(t, all);
        assertArrayEquals(new float[] {0, 1, 2, -1, -1, -1, -1, -1, -1, 9, 10, 11}, all);
        assertEquals(t.rows(0, 3).offset(), t.firstRows(3).offset());
        assertEquals(0, t.rows(4, 0).rows(), "an empty view at the end");
    }

    @Test
    void rowsOutsideTheTensorAreRefused() {
        Tensor t = new ReferenceDevice().allocate(DType.F32, 4, 3);
        for (int[] bad : new int[][] {{-1, 1}, {3, 2}, {0, 5}, {2, -1}}) {
            var e = assertThrows(IllegalArgumentException.class, () -> t.rows(bad[0], bad[1]));
            assertTrue(e.getMessage().contains("4 rows"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> t.firstRows(5));
    }
}
