package dev.kiln.engine.device;

/**
 * The sizes of {@code C (m, n) = op(A) (m, k) op(B) (k, n)} for A and B as stored, checked once for every device:
 * the inner dimensions must agree (and, given C, C must be m x n).
 */
public record GemmShape(int m, int n, int k) {

    /** The shape of op(A) op(B) for A (aRows, aCols) and B (bRows, bCols) as stored. */
    public static GemmShape of(boolean transA, boolean transB, int aRows, int aCols, int bRows, int bCols) {
        int m = transA ? aCols : aRows;
        int k = transA ? aRows : aCols;
        int kb = transB ? bCols : bRows;
        int n = transB ? bRows : bCols;
        if (k != kb) {
            throw new IllegalArgumentException("gemm: inner dimensions differ: op(A) is " + m + "x" + k + ", op(B) is " + kb + "x" + n);
        }
        return new GemmShape(m, n, k);
    }

    /** As {@link #of(boolean, boolean, int, int, int, int)}, and C must be m x n. */
    public static GemmShape of(boolean transA, boolean transB, Tensor a, Tensor b, Tensor c) {
        GemmShape s = of(transA, transB, a.rows(), a.cols(), b.rows(), b.cols());
        if (c.rows() != s.m || c.cols() != s.n) {
            throw new IllegalArgumentException("gemm: C is " + c.rows() + "x" + c.cols() + ", expected " + s.m + "x" + s.n);
        }
        return s;
    }
}
