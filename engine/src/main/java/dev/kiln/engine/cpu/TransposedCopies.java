package dev.kiln.engine.cpu;

/**
 * Transposed copies of the small weights that replicas multiply by, for the duration of one
 * {@link CpuDevice#forEachReplica} call, in which the shared parameters do not change. A replica's {@code x W^T}
 * for a narrow W (O, I) and a long I runs fastest as {@code x B} against an (I, O) copy (the rows GEMM: no lane sums,
 * B's rows copied rather than gathered), and one copy per call costs less than every replica packing W^T itself.
 * A copy is made the first time a replica asks for it (the others wait), and remade by the caller at the start of
 * every later call over the same parameters, before the replicas start. Copies are exact.
 */
final class TransposedCopies {
    private static final class Copy {
        final float[] source;      // the parameters' array
        final int offset, rows, cols;
        final float[] transposed;  // (cols, rows)
        volatile int pass;         // the call it is current for

        Copy(float[] source, int offset, int rows, int cols) {
            this.source = source;
            this.offset = offset;
            this.rows = rows;
            this.cols = cols;
            this.transposed = new float[rows * cols];
        }

        void refresh(int now) {
            for (int j = 0; j < cols; j++) {
                for (int i = 0; i < rows; i++) {
                    transposed[j * rows + i] = source[offset + i * cols + j];
                }
            }
            pass = now;
        }
    }

    private volatile Copy[] copies = new Copy[0];
    private volatile int pass;
    private float[] shared;            // the array of the call's shared tensor, or null outside a call
    private int sharedFrom, sharedTo;  // its elements [from, to)

    /** Before the replicas of a call start: {@code shared} is elements [from, to) of {@code array}. */
    void begin(float[] array, int from, int to) {
        int now = pass + 1;
        for (Copy c : copies) {
            if (c.source == array && c.offset >= from && c.offset + c.rows * c.cols <= to) {
                c.refresh(now);
            }
        }
        shared = array;
        sharedFrom = from;
        sharedTo = to;
        pass = now; // volatile: publishes the above to the replicas' threads
    }

    /** After the call's replicas have finished. */
    void end() {
        shared = null;
    }

    /**
     * The current (cols, rows) transposed copy of the (rows, cols) matrix at {@code offset} of {@code array}, or null
     * when it is not part of the call's shared tensor (or there is no call).
     */
    float[] of(float[] array, int offset, int rows, int cols) {
        int now = pass;
        if (array != shared || offset < sharedFrom || offset + rows * cols > sharedTo) {
            return null;
        }
        for (Copy c : copies) {
            if (c.source == array && c.offset == offset && c.rows == rows && c.cols == cols && c.pass == now) {
                return c.transposed;
            }
        }
        synchronized (this) {
            for (Copy c : copies) {
                if (c.source == array && c.offset == offset && c.rows == rows && c.cols == cols) {
                    if (c.pass != now) {
                        c.refresh(now);
                    }
                    return c.transposed;
                }
            }
            Copy c = new Copy(array, offset, rows, cols);
            c.refresh(now);
            Copy[] more = java.util.Arrays.copyOf(copies, copies.length + 1);
            more[copies.length] = c;
            copies = more;
            return c.transposed;
        }
    }
}
