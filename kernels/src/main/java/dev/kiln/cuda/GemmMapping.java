package dev.kiln.cuda;

import dev.kiln.engine.device.GemmShape;

/**
 * Maps Kiln's row-major GEMM onto cuBLAS's column-major one. A row-major (r, c) matrix read column-major is its
 * transpose (c, r) with leading dimension c. So the row-major {@code C (M, N) = op(A) (M, K) op(B) (K, N)} is the
 * column-major {@code C^T (N, M) = op(B)^T op(A)^T}: cuBLAS gets Kiln's B as its first operand and Kiln's A as
 * its second, each transposed exactly when Kiln's is, with m = N and n = M. A pure function, so it is tested
 * without a GPU against a column-major reference GEMM.
 */
final class GemmMapping {
    private GemmMapping() {
    }

    /**
     * The arguments of one {@code cublasSgemm} call. Its first operand (cuBLAS's "A") is Kiln's B; its second
     * (cuBLAS's "B") is Kiln's A. Leading dimensions are at least 1, as cuBLAS requires even for empty matrices.
     */
    record Call(int opA, int opB, int m, int n, int k, int lda, int ldb, int ldc) {
    }

    /** The call for row-major {@code C = op(A) op(B)} with A (aRows, aCols) and B (bRows, bCols) as stored. */
    static Call rowMajor(boolean transA, boolean transB, int aRows, int aCols, int bRows, int bCols) {
        GemmShape shape = GemmShape.of(transA, transB, aRows, aCols, bRows, bCols);
        int m = shape.m(), n = shape.n(), k = shape.k();
        return new Call(transB ? Cublas.CUBLAS_OP_T : Cublas.CUBLAS_OP_N, transA ? Cublas.CUBLAS_OP_T : Cublas.CUBLAS_OP_N,
                n, m, k, Math.max(1, bCols), Math.max(1, aCols), Math.max(1, n));
    }
}
