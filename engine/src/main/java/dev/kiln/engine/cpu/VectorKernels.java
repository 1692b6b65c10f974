package dev.kiln.engine.cpu;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.invoke.MethodHandles;

/**
 * The inner loops of {@link CpuDevice} in the Java Vector API, with the scalar loop beside each vector loop (the
 * scalar loop is the tail, and the whole loop when the width is 0).
 *
 * <p>Why this class is loaded once per width: the Vector API only compiles to vector instructions when the species
 * is a constant to the JIT (a {@code static final}); read from an instance field it falls back to boxed Java code,
 * about a hundred times slower and allocating. {@link KernelLoader} therefore defines this class's bytes as a hidden class
 * per width, handing it the width as class data, so each copy has its own constant {@link #S} and its own compiled
 * code. The ordinary class itself is never initialised; {@link KernelLoader} defines the copies.
 */
final class VectorKernels implements Kernels {
    private static final int BITS = widthFromClassData();
    /** The float species, or null for the scalar loops. */
    private static final VectorSpecies<Float> S = BITS == 0 ? null : FloatVector.SPECIES_512.withShape(VectorShape.forBitSize(BITS));
    private static final VectorSpecies<Byte> BYTES = S == null ? null : ByteVector.SPECIES_512.withShape(S.vectorShape());
    private static final VectorSpecies<Integer> INTS = S == null ? null : IntVector.SPECIES_512.withShape(S.vectorShape());
    /** Floats per vector; the scalar loops use 8-wide tiles. */
    private static final int L = S == null ? 8 : S.length();
    private static final int NR = 3 * L;
    private static final float INV255 = 1f / 255f;
    private static int widthFromClassData() {
        try {
            Integer bits = MethodHandles.classData(MethodHandles.lookup(), "_", Integer.class);
            if (bits == null) {
                throw new IllegalStateException("VectorKernels must be loaded through KernelLoader.load(bits)");
            }
            return bits;
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public int bits() {
        return BITS;
    }

    @Override
    public int panelWidth() {
        return NR;
    }

    @Override
    public int narrowWidth() {
        return 2 * L;
    }

    private static int bound(int n) {
        return S == null ? 0 : S.loopBound(n);
    }

    // ---- GEMM ----

    @Override
    public void gemmTile(float[] a, int aOff, int rows, float[] b, int bOff, int k,
                         float[] c, int cOff, int ldc, int cols, float alpha, float beta, boolean first, float[] tmp) {
        if (S == null) {
            scalarTile(a, aOff, b, bOff, NR, k, tmp);
        } else {
            // rows missing from a short tile hold whatever was packed before: computed, never stored
            FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
            FloatVector c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00, c40 = c00, c41 = c00, c42 = c00;
            // both strides are constants (MR and NR), so the JIT hoists every bounds check out of the loop
            for (int p = 0, pb = bOff, pa = aOff; p < k; p++, pb += NR, pa += MR) {
                FloatVector b0 = FloatVector.fromArray(S, b, pb);
                FloatVector b1 = FloatVector.fromArray(S, b, pb + L);
                FloatVector b2 = FloatVector.fromArray(S, b, pb + 2 * L);
                FloatVector x = FloatVector.broadcast(S, a[pa]);
                c00 = x.fma(b0, c00);
                c01 = x.fma(b1, c01);
                c02 = x.fma(b2, c02);
                x = FloatVector.broadcast(S, a[pa + 1]);
                c10 = x.fma(b0, c10);
                c11 = x.fma(b1, c11);
                c12 = x.fma(b2, c12);
                x = FloatVector.broadcast(S, a[pa + 2]);
                c20 = x.fma(b0, c20);
                c21 = x.fma(b1, c21);
                c22 = x.fma(b2, c22);
                x = FloatVector.broadcast(S, a[pa + 3]);
                c30 = x.fma(b0, c30);
                c31 = x.fma(b1, c31);
                c32 = x.fma(b2, c32);
                x = FloatVector.broadcast(S, a[pa + 4]);
                c40 = x.fma(b0, c40);
                c41 = x.fma(b1, c41);
                c42 = x.fma(b2, c42);
            }
            if (first && beta == 0f && rows == MR && cols == NR) { // a whole tile straight from the registers
                c00.mul(alpha).intoArray(c, cOff);
                c01.mul(alpha).intoArray(c, cOff + L);
                c02.mul(alpha).intoArray(c, cOff + 2 * L);
                c10.mul(alpha).intoArray(c, cOff + 1 * ldc);
                c11.mul(alpha).intoArray(c, cOff + 1 * ldc + L);
                c12.mul(alpha).intoArray(c, cOff + 1 * ldc + 2 * L);
                c20.mul(alpha).intoArray(c, cOff + 2 * ldc);
                c21.mul(alpha).intoArray(c, cOff + 2 * ldc + L);
                c22.mul(alpha).intoArray(c, cOff + 2 * ldc + 2 * L);
                c30.mul(alpha).intoArray(c, cOff + 3 * ldc);
                c31.mul(alpha).intoArray(c, cOff + 3 * ldc + L);
                c32.mul(alpha).intoArray(c, cOff + 3 * ldc + 2 * L);
                c40.mul(alpha).intoArray(c, cOff + 4 * ldc);
                c41.mul(alpha).intoArray(c, cOff + 4 * ldc + L);
                c42.mul(alpha).intoArray(c, cOff + 4 * ldc + 2 * L);
                return;
            }
            if (!first && rows == MR && cols == NR) { // a later k block: C += alpha * acc, as storeTile does
                FloatVector.fromArray(S, c, cOff).add(c00.mul(alpha)).intoArray(c, cOff);
                FloatVector.fromArray(S, c, cOff + L).add(c01.mul(alpha)).intoArray(c, cOff + L);
                FloatVector.fromArray(S, c, cOff + 2 * L).add(c02.mul(alpha)).intoArray(c, cOff + 2 * L);
                int r = cOff + ldc;
                FloatVector.fromArray(S, c, r).add(c10.mul(alpha)).intoArray(c, r);
                FloatVector.fromArray(S, c, r + L).add(c11.mul(alpha)).intoArray(c, r + L);
                FloatVector.fromArray(S, c, r + 2 * L).add(c12.mul(alpha)).intoArray(c, r + 2 * L);
                r += ldc;
                FloatVector.fromArray(S, c, r).add(c20.mul(alpha)).intoArray(c, r);
                FloatVector.fromArray(S, c, r + L).add(c21.mul(alpha)).intoArray(c, r + L);
                FloatVector.fromArray(S, c, r + 2 * L).add(c22.mul(alpha)).intoArray(c, r + 2 * L);
                r += ldc;
                FloatVector.fromArray(S, c, r).add(c30.mul(alpha)).intoArray(c, r);
                FloatVector.fromArray(S, c, r + L).add(c31.mul(alpha)).intoArray(c, r + L);
                FloatVector.fromArray(S, c, r + 2 * L).add(c32.mul(alpha)).intoArray(c, r + 2 * L);
                r += ldc;
                FloatVector.fromArray(S, c, r).add(c40.mul(alpha)).intoArray(c, r);
                FloatVector.fromArray(S, c, r + L).add(c41.mul(alpha)).intoArray(c, r + L);
                FloatVector.fromArray(S, c, r + 2 * L).add(c42.mul(alpha)).intoArray(c, r + 2 * L);
                return;
            }
            c00.intoArray(tmp, 0);
            c01.intoArray(tmp, L);
            c02.intoArray(tmp, 2 * L);
            c10.intoArray(tmp, NR);
            c11.intoArray(tmp, NR + L);
            c12.intoArray(tmp, NR + 2 * L);
            c20.intoArray(tmp, 2 * NR);
            c21.intoArray(tmp, 2 * NR + L);
            c22.intoArray(tmp, 2 * NR + 2 * L);
            c30.intoArray(tmp, 3 * NR);
            c31.intoArray(tmp, 3 * NR + L);
            c32.intoArray(tmp, 3 * NR + 2 * L);
            c40.intoArray(tmp, 4 * NR);
            c41.intoArray(tmp, 4 * NR + L);
            c42.intoArray(tmp, 4 * NR + 2 * L);
        }
        storeTile(tmp, NR, c, cOff, ldc, rows, cols, alpha, beta, first);
    }

    @Override
    public void gemmTileInPlace(float[] a, int aOff, int rows, float[] b, int bOff, int ldb, int k,
                                float[] c, int cOff, int ldc, float alpha, float beta, boolean first, float[] tmp) {
        if (S == null) {
            scalarTile(a, aOff, b, bOff, ldb, k, tmp);
        } else {
            // gemmTile's loop with B's stride a variable: a bounds check per load of B (cheaper than packing B for a
            // few tiles). A method of its own, so that gemmTile's loop stays compiled as it was (in one method with
            // this loop, the wide net's GEMMs ran 15% slower).
            FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
            FloatVector c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00, c40 = c00, c41 = c00, c42 = c00;
            for (int p = 0, pb = bOff, pa = aOff; p < k; p++, pb += ldb, pa += MR) {
                FloatVector b0 = FloatVector.fromArray(S, b, pb);
                FloatVector b1 = FloatVector.fromArray(S, b, pb + L);
                FloatVector b2 = FloatVector.fromArray(S, b, pb + 2 * L);
                FloatVector x = FloatVector.broadcast(S, a[pa]);
                c00 = x.fma(b0, c00);
                c01 = x.fma(b1, c01);
                c02 = x.fma(b2, c02);
                x = FloatVector.broadcast(S, a[pa + 1]);
                c10 = x.fma(b0, c10);
                c11 = x.fma(b1, c11);
                c12 = x.fma(b2, c12);
                x = FloatVector.broadcast(S, a[pa + 2]);
                c20 = x.fma(b0, c20);
                c21 = x.fma(b1, c21);
                c22 = x.fma(b2, c22);
                x = FloatVector.broadcast(S, a[pa + 3]);
                c30 = x.fma(b0, c30);
                c31 = x.fma(b1, c31);
                c32 = x.fma(b2, c32);
                x = FloatVector.broadcast(S, a[pa + 4]);
                c40 = x.fma(b0, c40);
                c41 = x.fma(b1, c41);
                c42 = x.fma(b2, c42);
            }
            c00.intoArray(tmp, 0);
            c01.intoArray(tmp, L);
            c02.intoArray(tmp, 2 * L);
            c10.intoArray(tmp, NR);
            c11.intoArray(tmp, NR + L);
            c12.intoArray(tmp, NR + 2 * L);
            c20.intoArray(tmp, 2 * NR);
            c21.intoArray(tmp, 2 * NR + L);
            c22.intoArray(tmp, 2 * NR + 2 * L);
            c30.intoArray(tmp, 3 * NR);
            c31.intoArray(tmp, 3 * NR + L);
            c32.intoArray(tmp, 3 * NR + 2 * L);
            c40.intoArray(tmp, 4 * NR);
            c41.intoArray(tmp, 4 * NR + L);
            c42.intoArray(tmp, 4 * NR + 2 * L);
        }
        storeTile(tmp, NR, c, cOff, ldc, rows, NR, alpha, beta, first);
    }

    @Override
    public void narrowTile(float[] a, int aOff, int rowStride, int kStride, int rows, float[] b, int bOff, int k,
                           float[] c, int cOff, int ldc, int cols, float alpha, float beta, float[] tmp) {
        // missing rows repeat the last one: computed, never stored. Math.min, not a branch: a branch that training
        // never took (a short last tile) would be compiled as a trap, and the partial batch would take it
        int last = rows - 1;
        int o0 = aOff, o1 = aOff + Math.min(1, last) * rowStride, o2 = aOff + Math.min(2, last) * rowStride;
        int o3 = aOff + Math.min(3, last) * rowStride, o4 = aOff + Math.min(4, last) * rowStride;
        if (S == null) {
            for (int r = 0; r < rows; r++) {
                int ar = aOff + r * rowStride, cr = cOff + r * ldc;
                for (int j = 0; j < cols; j++) {
                    float acc = 0f;
                    for (int p = 0, pb = bOff + j; p < k; p++, pb += 2 * L) {
                        acc = Math.fma(a[ar + p * kStride], b[pb], acc);
                    }
                    float t = alpha * acc;
                    c[cr + j] = beta == 0f ? t : t + beta * c[cr + j];
                }
            }
            return;
        }
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00;
        for (int p = 0, pb = bOff, pa = 0; p < k; p++, pb += 2 * L, pa += kStride) {
            FloatVector b0 = FloatVector.fromArray(S, b, pb);
            FloatVector b1 = FloatVector.fromArray(S, b, pb + L);
            FloatVector x = FloatVector.broadcast(S, a[o0 + pa]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[o1 + pa]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[o2 + pa]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[o3 + pa]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[o4 + pa]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
        }
        c00.intoArray(tmp, 0);
        c01.intoArray(tmp, L);
        c10.intoArray(tmp, 2 * L);
        c11.intoArray(tmp, 3 * L);
        c20.intoArray(tmp, 4 * L);
        c21.intoArray(tmp, 5 * L);
        c30.intoArray(tmp, 6 * L);
        c31.intoArray(tmp, 7 * L);
        c40.intoArray(tmp, 8 * L);
        c41.intoArray(tmp, 9 * L);
        storeTile(tmp, 2 * L, c, cOff, ldc, rows, cols, alpha, beta, true);
    }

    @Override
    public void dotTile(float[] a, int aOff, int lda, int aRows, float[] b, int bOff, int ldb, int bRows, int k,
                        float[] c, int cOff, int ldc, float alpha, float beta, float[] tmp) {
        if (S == null) {
            scalarDotTile(a, aOff, lda, aRows, b, bOff, ldb, bRows, k, c, cOff, ldc, alpha, beta);
            return;
        }
        int aLast = aRows - 1, bLast = bRows - 1; // missing rows repeat the last one (see narrowTile)
        int a0 = aOff, a1 = aOff + Math.min(1, aLast) * lda, a2 = aOff + Math.min(2, aLast) * lda;
        int a3 = aOff + Math.min(3, aLast) * lda;
        int b0 = bOff, b1 = bOff + Math.min(1, bLast) * ldb, b2 = bOff + Math.min(2, bLast) * ldb;
        int b3 = bOff + Math.min(3, bLast) * ldb, b4 = bOff + Math.min(4, bLast) * ldb;
        FloatVector s00 = FloatVector.zero(S), s01 = s00, s02 = s00, s03 = s00, s04 = s00;
        FloatVector s10 = s00, s11 = s00, s12 = s00, s13 = s00, s14 = s00;
        FloatVector s20 = s00, s21 = s00, s22 = s00, s23 = s00, s24 = s00;
        FloatVector s30 = s00, s31 = s00, s32 = s00, s33 = s00, s34 = s00;
        int p = 0;
        for (int end = S.loopBound(k); p < end; p += L) {
            FloatVector x0 = FloatVector.fromArray(S, a, a0 + p);
            FloatVector x1 = FloatVector.fromArray(S, a, a1 + p);
            FloatVector x2 = FloatVector.fromArray(S, a, a2 + p);
            FloatVector x3 = FloatVector.fromArray(S, a, a3 + p);
            FloatVector y = FloatVector.fromArray(S, b, b0 + p);
            s00 = x0.fma(y, s00);
            s10 = x1.fma(y, s10);
            s20 = x2.fma(y, s20);
            s30 = x3.fma(y, s30);
            y = FloatVector.fromArray(S, b, b1 + p);
            s01 = x0.fma(y, s01);
            s11 = x1.fma(y, s11);
            s21 = x2.fma(y, s21);
            s31 = x3.fma(y, s31);
            y = FloatVector.fromArray(S, b, b2 + p);
            s02 = x0.fma(y, s02);
            s12 = x1.fma(y, s12);
            s22 = x2.fma(y, s22);
            s32 = x3.fma(y, s32);
            y = FloatVector.fromArray(S, b, b3 + p);
            s03 = x0.fma(y, s03);
            s13 = x1.fma(y, s13);
            s23 = x2.fma(y, s23);
            s33 = x3.fma(y, s33);
            y = FloatVector.fromArray(S, b, b4 + p);
            s04 = x0.fma(y, s04);
            s14 = x1.fma(y, s14);
            s24 = x2.fma(y, s24);
            s34 = x3.fma(y, s34);
        }
        s00.intoArray(tmp, 0 * L);
        s01.intoArray(tmp, 1 * L);
        s02.intoArray(tmp, 2 * L);
        s03.intoArray(tmp, 3 * L);
        s04.intoArray(tmp, 4 * L);
        s10.intoArray(tmp, 5 * L);
        s11.intoArray(tmp, 6 * L);
        s12.intoArray(tmp, 7 * L);
        s13.intoArray(tmp, 8 * L);
        s14.intoArray(tmp, 9 * L);
        s20.intoArray(tmp, 10 * L);
        s21.intoArray(tmp, 11 * L);
        s22.intoArray(tmp, 12 * L);
        s23.intoArray(tmp, 13 * L);
        s24.intoArray(tmp, 14 * L);
        s30.intoArray(tmp, 15 * L);
        s31.intoArray(tmp, 16 * L);
        s32.intoArray(tmp, 17 * L);
        s33.intoArray(tmp, 18 * L);
        s34.intoArray(tmp, 19 * L);
        store(tmp, 0, a, a0, b, b0, p, k, c, cOff, bRows, 0, alpha, beta);
        store(tmp, 1, a, a0, b, b1, p, k, c, cOff, bRows, 1, alpha, beta);
        store(tmp, 2, a, a0, b, b2, p, k, c, cOff, bRows, 2, alpha, beta);
        store(tmp, 3, a, a0, b, b3, p, k, c, cOff, bRows, 3, alpha, beta);
        store(tmp, 4, a, a0, b, b4, p, k, c, cOff, bRows, 4, alpha, beta);
        if (aRows > 1) {
            int cr = cOff + ldc;
            store(tmp, 5, a, a1, b, b0, p, k, c, cr, bRows, 0, alpha, beta);
            store(tmp, 6, a, a1, b, b1, p, k, c, cr, bRows, 1, alpha, beta);
            store(tmp, 7, a, a1, b, b2, p, k, c, cr, bRows, 2, alpha, beta);
            store(tmp, 8, a, a1, b, b3, p, k, c, cr, bRows, 3, alpha, beta);
            store(tmp, 9, a, a1, b, b4, p, k, c, cr, bRows, 4, alpha, beta);
        }
        if (aRows > 2) {
            int cr = cOff + 2 * ldc;
            store(tmp, 10, a, a2, b, b0, p, k, c, cr, bRows, 0, alpha, beta);
            store(tmp, 11, a, a2, b, b1, p, k, c, cr, bRows, 1, alpha, beta);
            store(tmp, 12, a, a2, b, b2, p, k, c, cr, bRows, 2, alpha, beta);
            store(tmp, 13, a, a2, b, b3, p, k, c, cr, bRows, 3, alpha, beta);
            store(tmp, 14, a, a2, b, b4, p, k, c, cr, bRows, 4, alpha, beta);
        }
        if (aRows > 3) {
            int cr = cOff + 3 * ldc;
            store(tmp, 15, a, a3, b, b0, p, k, c, cr, bRows, 0, alpha, beta);
            store(tmp, 16, a, a3, b, b1, p, k, c, cr, bRows, 1, alpha, beta);
            store(tmp, 17, a, a3, b, b2, p, k, c, cr, bRows, 2, alpha, beta);
            store(tmp, 18, a, a3, b, b3, p, k, c, cr, bRows, 3, alpha, beta);
            store(tmp, 19, a, a3, b, b4, p, k, c, cr, bRows, 4, alpha, beta);
        }
    }

    /**
     * When the column exists (col < cols): the sum of accumulator {@code acc}'s lanes (stored in tmp), lane 0
     * first (not {@code reduceLanes(ADD)}: its order is unspecified, and the interpreted and the compiled code do
     * differ, which made results depend on which thread had run the kernel often enough to get it compiled), plus the scalar tail {@code [p, k)} of the dot product of
     * A's row at {@code ar} and B's row at {@code bs}, then {@code c[cr + col] = alpha * sum + beta * c[cr + col]}.
     */
    private static void store(float[] tmp, int acc, float[] a, int ar, float[] b, int bs, int p, int k,
                              float[] c, int cr, int cols, int col, float alpha, float beta) {
        if (col < cols) {
            float sum = tmp[acc * L];
            for (int l = 1; l < L; l++) {
                sum += tmp[acc * L + l];
            }
            for (int q = p; q < k; q++) {
                sum = Math.fma(a[ar + q], b[bs + q], sum);
            }
            float t = alpha * sum;
            c[cr + col] = beta == 0f ? t : t + beta * c[cr + col];
        }
    }

    /** The scalar dot tile: one fused multiply-add at a time along k. */
    private static void scalarDotTile(float[] a, int aOff, int lda, int aRows, float[] b, int bOff, int ldb, int bRows,
                                      int k, float[] c, int cOff, int ldc, float alpha, float beta) {
        for (int r = 0; r < aRows; r++) {
            for (int s = 0; s < bRows; s++) {
                int ar = aOff + r * lda, bs = bOff + s * ldb;
                float sum = 0f;
                for (int p = 0; p < k; p++) {
                    sum = Math.fma(a[ar + p], b[bs + p], sum);
                }
                float t = alpha * sum;
                int ci = cOff + r * ldc + s;
                c[ci] = beta == 0f ? t : t + beta * c[ci];
            }
        }
    }

    /** The scalar tile: the same sums, one fused multiply-add at a time in the same k order. */
    private static void scalarTile(float[] a, int aOff, float[] b, int bOff, int ldb, int k, float[] tmp) {
        java.util.Arrays.fill(tmp, 0, MR * NR, 0f);
        for (int p = 0, pb = bOff, pa = aOff; p < k; p++, pb += ldb, pa += MR) {
            float x0 = a[pa], x1 = a[pa + 1], x2 = a[pa + 2], x3 = a[pa + 3], x4 = a[pa + 4];
            for (int j = 0; j < NR; j++) {
                float y = b[pb + j];
                tmp[j] = Math.fma(x0, y, tmp[j]);
                tmp[NR + j] = Math.fma(x1, y, tmp[NR + j]);
                tmp[2 * NR + j] = Math.fma(x2, y, tmp[2 * NR + j]);
                tmp[3 * NR + j] = Math.fma(x3, y, tmp[3 * NR + j]);
                tmp[4 * NR + j] = Math.fma(x4, y, tmp[4 * NR + j]);
            }
        }
    }

    /** C corner (rows x cols) from the accumulated tile in tmp; same roundings in the vector and scalar loops. */
    private static void storeTile(float[] tmp, int tmpStride, float[] c, int cOff, int ldc, int rows, int cols,
                                  float alpha, float beta, boolean first) {
        int vectorCols = bound(cols);
        // a ragged end after at least one whole vector (25 columns): one more vector ending at the last column,
        // overlapping the one before; both computed from C as it was, so the overlapped columns get the same value
        // twice (and C is not added into twice)
        boolean overlap = vectorCols > 0 && vectorCols < cols;
        int end = cols - L;
        for (int r = 0; r < rows; r++) {
            int cr = cOff + r * ldc, tr = r * tmpStride;
            int j = 0;
            if (overlap) { // the two overlapping vectors first, both from C as it was; no vector lives across a loop
                int last = vectorCols - L;
                FloatVector v = combine(tmp, tr + last, c, cr + last, alpha, beta, first);
                combine(tmp, tr + end, c, cr + end, alpha, beta, first).intoArray(c, cr + end);
                v.intoArray(c, cr + last);
                for (; j < last; j += L) {
                    combine(tmp, tr + j, c, cr + j, alpha, beta, first).intoArray(c, cr + j);
                }
                continue;
            }
            for (; j < vectorCols; j += L) {
                combine(tmp, tr + j, c, cr + j, alpha, beta, first).intoArray(c, cr + j);
            }
            for (; j < cols; j++) {
                float t = alpha * tmp[tr + j];
                if (first) {
                    c[cr + j] = beta == 0f ? t : t + beta * c[cr + j];
                } else {
                    c[cr + j] = c[cr + j] + t;
                }
            }
        }
    }

    /** One vector of a tile's result: {@code alpha t} (plus {@code beta C} when first, else plus C). */
    private static FloatVector combine(float[] tmp, int t, float[] c, int cj, float alpha, float beta, boolean first) {
        FloatVector v = FloatVector.fromArray(S, tmp, t).mul(alpha);
        if (first) {
            return beta == 0f ? v : v.add(FloatVector.fromArray(S, c, cj).mul(beta));
        }
        return FloatVector.fromArray(S, c, cj).add(v);
    }

    // ---- elementwise ----

    /** {@code z[i ..] + pattern[q ..]}, through ReLU if {@code relu}: one vector. */
    private static FloatVector biasVector(float[] z, int i, float[] pattern, int q, boolean relu) {
        FloatVector v = FloatVector.fromArray(S, z, i).add(FloatVector.fromArray(S, pattern, q));
        return relu ? v.max(0f) : v;
    }

    @Override
    public void biasActivation(float[] z, int zOff, float[] bias, int bOff, int cols, int r0, int r1, boolean relu,
                               float[] pattern) {
        // a ragged row (25 or 10 columns): the rows as one flat run of vectors against the bias repeated over the
        // least common multiple of the row and the vector length, instead of a scalar end every row
        int period = S == null || cols % L == 0 ? 0 : cols / Math.min(L, Integer.lowestOneBit(cols)) * L;
        if (period > 0 && period + 2 * L <= pattern.length && (r1 - r0) * cols >= period) {
            System.arraycopy(bias, bOff, pattern, 0, cols);
            for (int n = cols; n < period; n *= 2) { // period / cols is a power of two
                System.arraycopy(pattern, 0, pattern, n, n);
            }
            System.arraycopy(pattern, 0, pattern, period, L); // a vector may start anywhere in the period
            // the run's last vector, ending at its last element, is computed first from z as it is and kept in the
            // pattern's spare room, then stored after the whole vectors: no scalar end, so no branch that batches of
            // whole vectors never take (the JIT would compile it as a trap, and an evaluation or a last, partial
            // batch would take it)
            int start = zOff + r0 * cols, end = zOff + r1 * cols, last = end - L, spare = period + L;
            biasVector(z, last, pattern, (last - start) % period, relu).intoArray(pattern, spare);
            for (int i = start, q = 0; i <= last; i += L) {
                biasVector(z, i, pattern, q, relu).intoArray(z, i);
                q = q + L == period ? 0 : q + L;
            }
            FloatVector.fromArray(S, pattern, spare).intoArray(z, last);
            return;
        }
        int vectorCols = bound(cols);
        for (int r = r0; r < r1; r++) {
            int row = zOff + r * cols;
            int j = 0;
            for (; j < vectorCols; j += L) {
                FloatVector v = FloatVector.fromArray(S, z, row + j).add(FloatVector.fromArray(S, bias, bOff + j));
                if (relu) {
                    v = v.max(0f);
                }
                v.intoArray(z, row + j);
            }
            for (; j < cols; j++) {
                float v = z[row + j] + bias[bOff + j];
                z[row + j] = relu ? Math.max(v, 0f) : v;
            }
        }
    }

    @Override
    public void columnSums(float[] x, int xOff, float[] h, int hOff, int rows, int cols, int j0, int j1,
                           float[] out, int outOff, float[] tmp) {
        if (S != null && j0 == 0 && j1 == cols && cols < 2 * L && cols % L != 0) {
            rowColumnSums(x, xOff, h, hOff, rows, cols, out, outOff, tmp);
            return;
        }
        int j = j0;
        for (int end = j0 + bound(j1 - j0); j < end; j += L) {
            FloatVector sum = FloatVector.zero(S);
            for (int r = 0; r < rows; r++) {
                int i = r * cols + j;
                FloatVector d = FloatVector.fromArray(S, x, xOff + i);
                if (h != null) {
                    FloatVector hv = FloatVector.fromArray(S, h, hOff + i);
                    d = FloatVector.zero(S).blend(d, hv.compare(VectorOperators.GT, 0f));
                    d.intoArray(x, xOff + i);
                }
                sum = sum.add(d);
            }
            sum.intoArray(out, outOff + j);
        }
        for (; j < j1; j++) {
            float sum = 0f;
            for (int r = 0; r < rows; r++) {
                int i = r * cols + j;
                float d = x[xOff + i];
                if (h != null) {
                    // a select, not a branch: the ReLU mask is as good as random, and C2 makes this a conditional move
                    d = h[hOff + i] > 0f ? d : 0f;
                    x[xOff + i] = d;
                }
                sum += d;
            }
            out[outOff + j] = sum;
        }
    }

    /**
     * {@link #columnSums} over all of a narrow x's columns (fewer than two vectors, not a whole number of them) row by
     * row, each row as whole vectors: no scalar loop down each ragged column. A row's last vector runs over into the
     * next row, masking its elements exactly as that row masks them again (the mask is idempotent) and summing them
     * into lanes that are never read; the last rows, where that would leave x, go element by element. Every
     * column is still summed top row first: the results are those of the column loops.
     */
    private static void rowColumnSums(float[] x, int xOff, float[] h, int hOff, int rows, int cols, float[] out,
                                      int outOff, float[] tmp) {
        boolean two = cols > L;
        int span = two ? 2 * L : L, end = rows * cols, r = 0;
        FloatVector zero = FloatVector.zero(S), s0 = zero, s1 = zero;
        for (; r * cols + span <= end; r++) {
            int i = r * cols;
            FloatVector d0 = FloatVector.fromArray(S, x, xOff + i);
            if (h != null) {
                d0 = zero.blend(d0, FloatVector.fromArray(S, h, hOff + i).compare(VectorOperators.GT, 0f));
                d0.intoArray(x, xOff + i);
            }
            s0 = s0.add(d0);
            if (two) {
                FloatVector d1 = FloatVector.fromArray(S, x, xOff + i + L);
                if (h != null) {
                    d1 = zero.blend(d1, FloatVector.fromArray(S, h, hOff + i + L).compare(VectorOperators.GT, 0f));
                    d1.intoArray(x, xOff + i + L);
                }
                s1 = s1.add(d1);
            }
        }
        s0.intoArray(tmp, 0);
        s1.intoArray(tmp, L);
        for (; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                int i = r * cols + j;
                float d = x[xOff + i];
                if (h != null) {
                    d = h[hOff + i] > 0f ? d : 0f;
                    x[xOff + i] = d;
                }
                tmp[j] += d;
            }
        }
        for (int j = 0; j < cols; j++) {
            out[outOff + j] = tmp[j];
        }
    }

    @Override
    public void packTransposed(float[] src, int sOff, int ld, int width, int k, float[] dst, int dOff, int nr, int[] idx) {
        int j = 0;
        if (S != null) { // a gather of L rows' elements p per vector: several times faster than a copy per element
            for (int i = 0; i < L; i++) {
                idx[i] = i * ld;
            }
            for (; j + L <= width; j += L) {
                int base = sOff + j * ld, out = dOff + j;
                for (int p = 0; p < k; p++, out += nr) {
                    FloatVector.fromArray(S, src, base + p, idx, 0).intoArray(dst, out);
                }
            }
        }
        for (; j < width; j++) {
            int in = sOff + j * ld;
            for (int p = 0, out = dOff + j; p < k; p++, out += nr) {
                dst[out] = src[in + p];
            }
        }
    }

    @Override
    public void tileIndex(int rowStride, int kStride, int[] idx) {
        for (int i = 0; i < MR * L; i++) {
            idx[i] = i / MR * kStride + i % MR * rowStride;
        }
    }

    @Override
    public void packTile(float[] a, int aOff, int rowStride, int kStride, int k, float[] dst, int dOff, int[] idx) {
        if (S != null && k >= L) {
            // L p-steps of a tile are MR * L packed floats, MR vectors; vector v's lane l is packed position
            // v * L + l, that is row (v * L + l) % MR at p (v * L + l) / MR: one gather each (idx from tileIndex).
            // Where L does not divide k the last L p-steps overlap the ones before and pack some values again, so
            // there is no scalar end: its branch, never taken by a training run's full batches, would be compiled
            // as a trap that its partial batch then takes
            for (int q = 0; q < k; q += L) {
                int p = Math.min(q, k - L), src = aOff + p * kStride, out = dOff + p * MR;
                for (int v = 0; v < MR; v++) {
                    FloatVector.fromArray(S, a, src, idx, v * L).intoArray(dst, out + v * L);
                }
            }
            return;
        }
        for (int p = 0; p < k; p++) {
            for (int r = 0; r < MR; r++) {
                dst[dOff + p * MR + r] = a[aOff + p * kStride + r * rowStride];
            }
        }
    }

    @Override
    public void copy(float[] src, int sOff, float[] dst, int dOff, int n) {
        int i = 0;
        for (int end = bound(n); i < end; i += L) {
            FloatVector.fromArray(S, src, sOff + i).intoArray(dst, dOff + i);
        }
        for (; i < n; i++) {
            dst[dOff + i] = src[sOff + i];
        }
    }

    @Override
    public void rowTimesMatrix(float[] a, int aOff, float[] b, int bOff, int ldb, int k, float[] c, int cOff,
                               int j0, int j1, float alpha, float beta) {
        int j = j0;
        for (int end = j0 + bound(j1 - j0); j < end; j += L) {
            FloatVector acc = FloatVector.zero(S);
            for (int p = 0; p < k; p++) {
                acc = FloatVector.broadcast(S, a[aOff + p]).fma(FloatVector.fromArray(S, b, bOff + p * ldb + j), acc);
            }
            acc = acc.mul(alpha);
            if (beta != 0f) {
                acc = FloatVector.fromArray(S, c, cOff + j).fma(FloatVector.broadcast(S, beta), acc);
            }
            acc.intoArray(c, cOff + j);
        }
        for (; j < j1; j++) {
            float acc = 0f;
            for (int p = 0; p < k; p++) {
                acc = Math.fma(a[aOff + p], b[bOff + p * ldb + j], acc);
            }
            c[cOff + j] = beta == 0f ? alpha * acc : Math.fma(beta, c[cOff + j], alpha * acc);
        }
    }

    @Override
    public void adam(float[] p, int po, float[] g, int go, float[] m, int mo, float[] v, int vo, int i0, int i1,
                     float rate, float beta1, float beta2, float eps, float weightDecay, boolean decoupled,
                     float bc1, float bc2) {
        // m and v round exactly as the reference (no FMA); the step folds the bias corrections into two constants,
        // lr / (1 - beta1^t) and 1 / sqrt(1 - beta2^t), leaving one division and one square root per element
        float decay = rate * weightDecay, ob1 = 1f - beta1, ob2 = 1f - beta2;
        float stepSize = rate / bc1, invRootBc2 = (float) (1 / Math.sqrt(bc2));
        int i = i0;
        for (int end = i0 + bound(i1 - i0); i < end; i += L) {
            FloatVector w = FloatVector.fromArray(S, p, po + i);
            FloatVector grad = FloatVector.fromArray(S, g, go + i);
            if (decoupled) {
                w = w.sub(w.mul(decay));
            } else {
                grad = grad.add(w.mul(weightDecay));
            }
            FloatVector mi = flush(FloatVector.fromArray(S, m, mo + i).mul(beta1).add(grad.mul(ob1)));
            FloatVector g2 = tiny(grad);
            FloatVector vi = flush(FloatVector.fromArray(S, v, vo + i).mul(beta2).add(g2.mul(ob2).mul(g2)));
            mi.intoArray(m, mo + i);
            vi.intoArray(v, vo + i);
            FloatVector step = mi.mul(stepSize).div(vi.sqrt().mul(invRootBc2).add(eps));
            w.sub(step).intoArray(p, po + i);
        }
        for (; i < i1; i++) {
            float w = p[po + i];
            float grad = g[go + i];
            if (decoupled) {
                w -= decay * w;
            } else {
                grad += weightDecay * w;
            }
            float mi = flush(beta1 * m[mo + i] + ob1 * grad);
            float g2 = tiny(grad);
            float vi = flush(beta2 * v[vo + i] + ob2 * g2 * g2);
            m[mo + i] = mi;
            v[vo + i] = vi;
            p[po + i] = w - mi * stepSize / ((float) Math.sqrt(vi) * invRootBc2 + eps);
        }
    }

    /**
     * Subnormal moments become zero. A moment whose gradient has stopped (a dead unit, a pixel that is always
     * blank) decays by beta each step and becomes subnormal after a few hundred steps; from then on every
     * multiply on it takes a microcode assist (about a hundred cycles on x86 without flush-to-zero, which Java
     * cannot switch on), which made Adam 10x slower late in an epoch. The change is below 1.2e-38 in m or v.
     */
    private static FloatVector flush(FloatVector x) {
        return x.blend(0f, x.abs().compare(VectorOperators.LT, Float.MIN_NORMAL));
    }

    private static float flush(float x) {
        return Math.abs(x) < Float.MIN_NORMAL ? 0f : x;
    }

    /**
     * Below this a gradient's square adds nothing to v that a float keeps ((1 - beta2) g^2 would be under 1e-37,
     * against the v of 1e-10 and up that a step is divided by, or eps = 1e-8 when v is 0), but computing it would
     * make a subnormal product, and each takes a microcode assist. A confident network on real MNIST has many such
     * gradients (1e-20 and less): Adam over the seed net took 60 µs a step instead of 10.
     */
    static final float TINY_GRADIENT = 0x1p-56f;

    /** The gradient for v's update: 0 below {@link #TINY_GRADIENT}. */
    private static FloatVector tiny(FloatVector g) {
        return g.blend(0f, g.abs().compare(VectorOperators.LT, TINY_GRADIENT));
    }

    private static float tiny(float g) {
        return Math.abs(g) < TINY_GRADIENT ? 0f : g;
    }

    @Override
    public void sgd(float[] p, int po, float[] g, int go, float[] v, int vo, int i0, int i1,
                    float rate, float momentum, float weightDecay) {
        int i = i0;
        for (int end = i0 + bound(i1 - i0); i < end; i += L) {
            FloatVector w = FloatVector.fromArray(S, p, po + i);
            FloatVector d = FloatVector.fromArray(S, g, go + i).add(w.mul(weightDecay));
            if (momentum != 0f) {
                d = FloatVector.fromArray(S, v, vo + i).mul(momentum).add(d);
                d.intoArray(v, vo + i);
            }
            w.sub(d.mul(rate)).intoArray(p, po + i);
        }
        for (; i < i1; i++) {
            float d = g[go + i] + weightDecay * p[po + i];
            if (momentum != 0f) {
                d = momentum * v[vo + i] + d;
                v[vo + i] = d;
            }
            p[po + i] -= rate * d;
        }
    }

    // exp(x) = 2^n e^r with n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2] (ln 2 in two parts, Cody-Waite),
    // e^r = 1 + r + r^2 P(r) (Cephes expf's polynomial), 2^n built in the exponent bits
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds to an integer, which then sits in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;
    /** Below this exp(x) < 1.7e-38 is returned as 0 (and 2^n stays a normal number above it). */
    private static final float EXP_MIN = -87f;
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;
    /** Float bits of ROUNDER, less the exponent bias: (bits(ROUNDER + n) - EXP_BIAS_FIX) << 23 = bits(2^n). */
    private static final int EXP_BIAS_FIX = Float.floatToRawIntBits(ROUNDER) - 127;

    @Override
    public void expNonPositive(float[] v, int off, int n) {
        // scalar on purpose: a vector version of these same operations (bit-identical results) is 10x faster once C2
        // has compiled it, but Vector API code runs 100-1000x slower before that, and a kernel called once a step
        // took thousands of steps to get there: the first epoch of a training run was 0.4 s slower at batch 64,
        // and the first three epochs at batch 1024 (58 steps each) were slower still
        int i = 0;
        for (; i < n; i++) {
            float x = v[off + i];
            float c = Math.max(x, EXP_MIN);
            float t = Math.fma(c, LOG2E, ROUNDER);
            float k = t - ROUNDER;
            float r = Math.fma(k, -LN2_HI, c);
            r = Math.fma(k, -LN2_LO, r);
            float p = Math.fma(r, P0, P1);
            p = Math.fma(p, r, P2);
            p = Math.fma(p, r, P3);
            p = Math.fma(p, r, P4);
            p = Math.fma(p, r, P5);
            float y = Math.fma(p, r * r, r) + 1f;
            y *= Float.intBitsToFloat((Float.floatToRawIntBits(t) - EXP_BIAS_FIX) << 23);
            v[off + i] = x < EXP_MIN ? 0f : y;
        }
    }

    @Override
    public void scaleBytes(byte[] src, int sOff, float[] dst, int dOff, int n) {
        // x / 255 exactly: q = x * (1/255) is within an ulp; one FMA residual step rounds it to the quotient
        int i = 0;
        if (S != null) {
            int step = BYTES.length(); // four float vectors per byte vector
            for (int end = BYTES.loopBound(n); i < end; i += step) {
                ByteVector b = ByteVector.fromArray(BYTES, src, sOff + i);
                for (int part = 0; part < 4; part++) {
                    FloatVector x = (FloatVector) ((IntVector) b.convertShape(VectorOperators.ZERO_EXTEND_B2I, INTS, part))
                            .convert(VectorOperators.I2F, 0);
                    FloatVector q = x.mul(INV255);
                    q = q.fma(FloatVector.broadcast(S, -255f), x).fma(FloatVector.broadcast(S, INV255), q); // (x - 255 q) exactly, then q + residual / 255
                    q.intoArray(dst, dOff + i + part * L);
                }
            }
        }
        for (; i < n; i++) {
            float x = src[sOff + i] & 0xff;
            float q = x * INV255;
            dst[dOff + i] = Math.fma(Math.fma(q, -255f, x), INV255, q);
        }
    }
}
