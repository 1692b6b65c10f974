package dev.kiln.cuda;

import java.util.function.Function;

/** Launches activation.cu: bias + ReLU forward, ReLU backward with the bias gradient, column sums. */
final class ActivationKernels {
    private static final int BLOCK = 256;
    private static final int COLS_PER_BLOCK = 32, ROW_THREADS = 32; // as in activation.cu

    private final Launcher launcher;
    private final PtxModule.Kernel biasActivation, reluBackward, columnSums;

    ActivationKernels(Function<String, PtxModule.Kernel> module, Launcher launcher) {
        this.launcher = launcher;
        biasActivation = module.apply("bias_activation_forward");
        reluBackward = module.apply("relu_backward");
        columnSums = module.apply("column_sums");
    }

    /** z (rows, cols) += bias (1, cols), then ReLU. */
    void biasActivation(long z, long bias, int rows, int cols, boolean relu) {
        long n = (long) rows * cols;
        if (n == 0) {
            return;
        }
        launcher.args().ptr(z).ptr(bias).i64(n).i32(cols).i32(relu ? 1 : 0)
                .launch(biasActivation, Launcher.gridFor(n, BLOCK), 1, BLOCK, 1);
    }

    /** dh (rows, cols) masked by h > 0, dbias (1, cols) = its column sums. */
    void reluBackward(long dh, long h, long dbias, int rows, int cols) {
        if (cols == 0) {
            return;
        }
        launcher.args().ptr(dh).ptr(h).ptr(dbias).i32(rows).i32(cols)
                .launch(reluBackward, ceilDiv(cols, COLS_PER_BLOCK), 1, COLS_PER_BLOCK, ROW_THREADS);
    }

    /** out (1, cols) = column sums of x (rows, cols). */
    void columnSums(long x, long out, int rows, int cols) {
        if (cols == 0) {
            return;
        }
        launcher.args().ptr(x).ptr(out).i32(rows).i32(cols)
                .launch(columnSums, ceilDiv(cols, COLS_PER_BLOCK), 1, COLS_PER_BLOCK, ROW_THREADS);
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
