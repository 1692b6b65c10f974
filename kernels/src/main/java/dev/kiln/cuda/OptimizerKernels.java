package dev.kiln.cuda;

import java.util.function.Function;

/** Launches optim.cu: SGD and Adam over all parameters in one launch each. */
final class OptimizerKernels {
    private static final int BLOCK = 256;

    private final Launcher launcher;
    private final PtxModule.Kernel sgd, adam;

    OptimizerKernels(Function<String, PtxModule.Kernel> module, Launcher launcher) {
        this.launcher = launcher;
        sgd = module.apply("sgd_update");
        adam = module.apply("adam_update");
    }

    void sgd(long params, long grads, long velocity, long lr, float momentum, float weightDecay, long q) {
        if (q == 0) {
            return;
        }
        launcher.args().ptr(params).ptr(grads).ptr(velocity).ptr(lr).f32(momentum).f32(weightDecay).i64(q)
                .launch(sgd, Launcher.gridFor(q, BLOCK), 1, BLOCK, 1);
    }

    void adam(long params, long grads, long m, long v, long step, long lr, float beta1, float beta2, float eps,
              float weightDecay, boolean decoupled, long q) {
        if (q == 0) {
            return;
        }
        launcher.args().ptr(params).ptr(grads).ptr(m).ptr(v).ptr(step).ptr(lr).f32(beta1).f32(beta2).f32(eps)
                .f32(weightDecay).i32(decoupled ? 1 : 0).i64(q)
                .launch(adam, Launcher.gridFor(q, BLOCK), 1, BLOCK, 1);
    }
}
