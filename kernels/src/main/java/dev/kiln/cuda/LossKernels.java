package dev.kiln.cuda;

import java.util.function.Function;

/** Launches loss.cu: softmax cross-entropy loss and gradient, correct counting, argmax. */
final class LossKernels {
    private static final int BLOCK = 256;
    private static final int ROWS_PER_BLOCK = BLOCK / 32; // one warp per row, as in loss.cu

    private final Launcher launcher;
    private final PtxModule.Kernel softmaxCrossEntropy, countCorrect, argmax;

    LossKernels(Function<String, PtxModule.Kernel> module, Launcher launcher) {
        this.launcher = launcher;
        softmaxCrossEntropy = module.apply("softmax_cross_entropy_backward");
        countCorrect = module.apply("count_correct");
        argmax = module.apply("argmax_forward");
    }

    /** dlogits (rows, classes) and stats[0] += the rows' loss sum. */
    void softmaxCrossEntropy(long logits, long labels, long dlogits, long stats, int rows, int classes) {
        if (rows == 0) {
            return;
        }
        launcher.args().ptr(logits).ptr(labels).ptr(dlogits).ptr(stats).i32(rows).i32(classes).f32(1f / rows)
                .launch(softmaxCrossEntropy, ActivationKernels.ceilDiv(rows, ROWS_PER_BLOCK), 1, BLOCK, 1);
    }

    /** stats[1] += rows whose argmax is the label. */
    void countCorrect(long logits, long labels, long stats, int rows, int classes) {
        if (rows == 0) {
            return;
        }
        launcher.args().ptr(logits).ptr(labels).ptr(stats).i32(rows).i32(classes)
                .launch(countCorrect, ActivationKernels.ceilDiv(rows, BLOCK), 1, BLOCK, 1);
    }

    /** predictions (rows, 1) = argmax of each row. */
    void argmax(long logits, long predictions, int rows, int classes) {
        if (rows == 0) {
            return;
        }
        launcher.args().ptr(logits).ptr(predictions).i32(rows).i32(classes)
                .launch(argmax, ActivationKernels.ceilDiv(rows, BLOCK), 1, BLOCK, 1);
    }
}
