package dev.kiln.cuda;

import java.util.function.Function;

/** Launches gather.cu: the batch gather from the resident dataset, and the device-side counter. */
final class GatherKernels {
    private static final int BLOCK = 256;

    private final Launcher launcher;
    private final PtxModule.Kernel gatherBatch, addInt;

    GatherKernels(Function<String, PtxModule.Kernel> module, Launcher launcher) {
        this.launcher = launcher;
        gatherBatch = module.apply("gather_batch");
        addInt = module.apply("add_int");
    }

    /** x (rows, pixels) and y (rows, 1) from sample order[cursor[0] + r] of images (n, pixels): one block per row. */
    void gatherBatch(long images, long labels, long order, long cursor, long x, long y, int n, int pixels, int rows) {
        if (rows == 0) {
            return;
        }
        launcher.args().ptr(images).ptr(labels).ptr(order).ptr(cursor).ptr(x).ptr(y).i32(n).i32(pixels)
                .launch(gatherBatch, rows, 1, BLOCK, 1);
    }

    /** counter[0] += delta, on the device. */
    void addInt(long counter, int delta) {
        launcher.args().ptr(counter).i32(delta).launch(addInt, 1, 1, 1, 1);
    }
}
