package dev.kiln.cuda;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The row-major to column-major GEMM mapping, checked against a plain column-major GEMM with cuBLAS's argument
 * conventions: what cublasSgemm would compute from these arguments must be Kiln's row-major product.
 */
class GemmMappingTest {

    /** Column-major C (m, n) = op(A) op(B) exactly as cublasSgemm reads its arguments (alpha 1, beta 0). */
    static void columnMajorGemm(GemmMapping.Call c, float[] a, float[] b, float[] out) {
        for (int i = 0; i < c.m(); i++) {
            for (int j = 0; j < c.n(); j++) {
                double sum = 0;
                for (int p = 0; p < c.k(); p++) {
                    float x = c.opA() == Cublas.CUBLAS_OP_N ? a[i + p * c.lda()] : a[p + i * c.lda()];
                    float y = c.opB() == Cublas.CUBLAS_OP_N ? b[p + j * c.ldb()] : b[j + p * c.ldb()];
                    sum += (double) x * y;
                }
                out[i + j * c.ldc()] = (float) sum;
            }
        }
    }

    /** Row-major C (M, N) = op(A) op(B), the definition in Device.gemm. */
    static float[] rowMajorGemm(boolean ta, boolean tb, float[] a, int aRows, int aCols, float[] b, int bRows, int bCols) {
        int m = ta ? aCols : aRows, k = ta ? aRows : aCols, n = tb ? bRows : bCols;
        float[] c = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    float x = ta ? a[p * aCols + i] : a[i * aCols + p];
                    float y = tb ? b[j * bCols + p] : b[p * bCols + j];
                    sum += (double) x * y;
                }
                c[i * n + j] = (float) sum;
            }
        }
        return c;
    }

    @Test
    void everyTransposeComboComputesTheRowMajorProduct() {
        SplittableRandom rng = new SplittableRandom(3);
        int[][] shapes = {{1, 1, 1}, {7, 10, 25}, {3, 5, 2}, {10, 1, 4}, {1, 6, 9}};
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            for (int variant = 0; variant < 4; variant++) {
                boolean ta = (variant & 1) != 0, tb = (variant & 2) != 0;
                int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
                float[] a = random(rng, aRows * aCols), b = random(rng, bRows * bCols);
                GemmMapping.Call call = GemmMapping.rowMajor(ta, tb, aRows, aCols, bRows, bCols);
                assertEquals(n, call.m(), "cuBLAS's m is Kiln's N");
                assertEquals(m, call.n(), "cuBLAS's n is Kiln's M");
                float[] got = new float[m * n];
                columnMajorGemm(call, b, a, got); // Kiln's B is cuBLAS's first operand
                float[] want = rowMajorGemm(ta, tb, a, aRows, aCols, b, bRows, bCols);
                assertArrayEquals(want, got, 0f, "trans " + ta + "/" + tb + " " + m + "x" + n + "x" + k);
            }
        }
    }

    @Test
    void leadingDimensionsAreAtLeastOneAndInnerSizesMustAgree() {
        GemmMapping.Call empty = GemmMapping.rowMajor(false, false, 0, 0, 0, 0);
        assertEquals(1, empty.lda());
        assertEquals(1, empty.ldb());
        assertEquals(1, empty.ldc());
        assertThrows(IllegalArgumentException.class, () -> GemmMapping.rowMajor(false, false, 2, 3, 4, 5));
    }

    private static float[] random(SplittableRandom rng, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rng.nextDouble(-1, 1);
        }
        return v;
    }
}
