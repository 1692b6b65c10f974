package dev.kiln.engine.cpu;

/**
 * The width-specific inner loops of {@link CpuDevice}: each works on a range that the device's jobs chose, so a
 * result never depends on how the work was split. Every implementation is {@link VectorKernels}, loaded once per
 * vector width (see there why).
 *
 * <p>Layout of the GEMM tile: {@code MR} rows of op(A) times a packed panel of op(B) that is {@link #panelWidth()}
 * columns wide, k-major and zero-padded: {@code packed[p * panelWidth + j] = op(B)(p, j0 + j)}.
 */
interface Kernels {

    /** Rows of C per GEMM tile. Five: the seed net's 25 outputs are five tiles, with no padding. */
    int MR = 5;

    /** Rows of A per dot-product tile ({@link #dotTile}). */
    int DOT_A_ROWS = 4;

    /** Rows of B per dot-product tile: five, so the seed net's 25 and 10 outputs need no padding. */
    int DOT_B_ROWS = 5;

    /** 0 for the scalar loops, else the vector width in bits. */
    int bits();

    /** Columns of C per GEMM tile: three vectors. */
    int panelWidth();

    /**
     * One tile of {@code C = alpha op(A) op(B) + beta C} over one block of k, both operands packed: op(A)'s tile
     * k-major, {@code a[aOff + p * MR + r]} for row r (rows past {@code rows} are computed and never stored), and
     * op(B)'s panel {@code b[bOff + p * panelWidth + j]}, k rows of it. C's {@code rows x cols} corner starts at
     * {@code c[cOff]}. The first k block writes {@code alpha * acc + beta * C} (C unread when beta is 0); later
     * blocks add {@code alpha * acc}. {@code tmp} holds MR * panelWidth floats.
     */
    void gemmTile(float[] a, int aOff, int rows, float[] b, int bOff, int k,
                  float[] c, int cOff, int ldc, int cols, float alpha, float beta, boolean first, float[] tmp);

    /**
     * {@link #gemmTile} with op(B) read in place, {@code b[bOff + p * ldb + j]} for all {@link #panelWidth()}
     * columns j (a non-transposed B whose panel is whole); C's corner is {@code rows x panelWidth}.
     */
    void gemmTileInPlace(float[] a, int aOff, int rows, float[] b, int bOff, int ldb, int k,
                         float[] c, int cOff, int ldc, float alpha, float beta, boolean first, float[] tmp);

    /**
     * One tile of a small GEMM (one k block, at most {@link #narrowWidth()} columns): {@code C = alpha op(A) op(B) +
     * beta C} with op(A) read in place, row r's element p at {@code a[aOff + r * rowStride + p * kStride]} (up to MR
     * rows), and op(B) packed {@link #narrowWidth()} wide: {@code b[bOff + p * narrowWidth() + j]}. C is unread when
     * beta is 0. {@code tmp} holds MR x narrowWidth floats.
     */
    void narrowTile(float[] a, int aOff, int rowStride, int kStride, int rows, float[] b, int bOff, int k,
                    float[] c, int cOff, int ldc, int cols, float alpha, float beta, float[] tmp);

    /** Columns of {@link #narrowTile}'s panel: two vectors. */
    int narrowWidth();

    /**
     * One tile of {@code C = alpha A B^T + beta C} as dot products over all of k: rows {@code [0, aRows)} of A start
     * at {@code a[aOff + r * lda]}, rows {@code [0, bRows)} of B at {@code b[bOff + r * ldb]}, both contiguous along
     * k; {@code C[r][s]} is at {@code c[cOff + r * ldc + s]}. At most {@link #DOT_A_ROWS} x {@link #DOT_B_ROWS}.
     * C is unread when beta is 0. {@code tmp} holds {@link #DOT_A_ROWS} x {@link #DOT_B_ROWS} vectors.
     */
    void dotTile(float[] a, int aOff, int lda, int aRows, float[] b, int bOff, int ldb, int bRows, int k,
                 float[] c, int cOff, int ldc, float alpha, float beta, float[] tmp);

    /**
     * Columns {@code [j0, j1)} of a one-row product {@code c = alpha a B + beta c}: {@code a} holds k values at
     * {@code a[aOff + p]}, row p of B starts at {@code b[bOff + p * ldb]}; the sum runs over p in order. c is unread
     * when beta is 0.
     */
    void rowTimesMatrix(float[] a, int aOff, float[] b, int bOff, int ldb, int k, float[] c, int cOff, int j0, int j1,
                        float alpha, float beta);

    /**
     * Rows {@code [r0, r1)} of z (rows of {@code cols}): {@code z += bias}, then ReLU if asked. {@code pattern} is
     * scratch (up to {@link #BIAS_PATTERN} floats).
     */
    void biasActivation(float[] z, int zOff, float[] bias, int bOff, int cols, int r0, int r1, boolean relu,
                        float[] pattern);

    /** Floats of {@link #biasActivation}'s scratch: the bias repeated over a whole number of vectors and rows. */
    int BIAS_PATTERN = 1024;

    /**
     * Columns {@code [j0, j1)} of x (rows x cols), all rows in order: when {@code h != null}, first
     * {@code x = h > 0 ? x : 0} in place (ReLU backward); then {@code out[j] = sum over rows of x[., j]}.
     * {@code tmp} holds two vectors.
     */
    void columnSums(float[] x, int xOff, float[] h, int hOff, int rows, int cols, int j0, int j1, float[] out, int outOff,
                    float[] tmp);

    /** Elements {@code [i0, i1)} of one Adam update; see {@link dev.kiln.engine.device.Device#adam}. */
    void adam(float[] p, int po, float[] g, int go, float[] m, int mo, float[] v, int vo, int i0, int i1,
              float rate, float beta1, float beta2, float eps, float weightDecay, boolean decoupled, float bc1, float bc2);

    /** Elements {@code [i0, i1)} of one SGD update; see {@link dev.kiln.engine.device.Device#sgd}. */
    void sgd(float[] p, int po, float[] g, int go, float[] v, int vo, int i0, int i1,
             float rate, float momentum, float weightDecay);

    /**
     * In place {@code v[off + i] = exp(v[off + i])} for i in {@code [0, n)}, for arguments {@code <= 0} (logits minus
     * their row max): within 2 ulps of {@link Math#exp}, 0 below -87 (where exp is under 1.7e-38), NaN for NaN.
     * Made of multiplies, adds, fused multiply-adds and exponent-bit arithmetic only, so the result is the same on
     * every JVM and CPU, compiled or interpreted. A scalar loop at every width (see the implementation for why).
     */
    void expNonPositive(float[] v, int off, int n);

    /**
     * A transposed copy for GEMM packing of a transposed op(B): {@code dst[dOff + p * nr + j] = src[sOff + j * ld + p]}
     * for j in {@code [0, width)} and p in {@code [0, k)}. {@code idx} is scratch of at least nr ints.
     */
    void packTransposed(float[] src, int sOff, int ld, int width, int k, float[] dst, int dOff, int nr, int[] idx);

    /** Fills {@code idx} (at least MR x 16 ints) for {@link #packTile} with these strides. */
    void tileIndex(int rowStride, int kStride, int[] idx);

    /**
     * Packs a whole tile of MR rows of op(A), k-major: {@code dst[dOff + p * MR + r] = a[aOff + r * rowStride +
     * p * kStride]} for r in {@code [0, MR)} and p in {@code [0, k)}. {@code idx} is from {@link #tileIndex}.
     */
    void packTile(float[] a, int aOff, int rowStride, int kStride, int k, float[] dst, int dOff, int[] idx);

    /** {@code dst[dOff + i] = src[sOff + i]} for i in {@code [0, n)} (short runs: GEMM packing). */
    void copy(float[] src, int sOff, float[] dst, int dOff, int n);

    /** {@code dst[dOff + i] = (src[sOff + i] & 0xff) / 255f} for i in {@code [0, n)}. */
    void scaleBytes(byte[] src, int sOff, float[] dst, int dOff, int n);
}
