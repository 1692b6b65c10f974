package dev.kiln.engine.optim;

import dev.kiln.data.KilnException;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.Tensor;

import java.util.List;

/**
 * Which update rule training uses, and its hyperparameters: a value, not a stateful object. The state the rule
 * keeps between steps (moments, velocity) lives on the device in {@link OptimizerState}.
 */
public sealed interface Optimizer permits Optimizer.Sgd, Optimizer.Adam {

    /** Base learning rate (a {@link Schedule} scales it per epoch). */
    double lr();

    /** Names of the per-parameter state vectors, in the order {@link OptimizerState} exports them. */
    List<String> stateNames();

    /** This rule with another base learning rate. */
    Optimizer withLr(double lr);

    /**
     * Issues one update of {@code params} from {@code grads}, both flat {@code (1, Q)}. {@code state} holds one
     * tensor per {@link #stateNames()} entry (same shape as params); {@code step} I32 (1, 1) has already been
     * incremented for this update; {@code lr} F32 (1, 1) is the current learning rate.
     */
    void update(Device device, Tensor params, Tensor grads, Tensor[] state, Tensor step, Tensor lr);

    /**
     * Stochastic gradient descent with heavy-ball momentum (Polyak, 1964) in the form PyTorch's
     * {@code torch.optim.SGD} uses (as in Sutskever et al., 2013, without Nesterov, dampening 0):
     * {@code g = grad + weightDecay * p; v = momentum * v + g; p -= lr * v} (or {@code p -= lr * g} without
     * momentum). Weight decay here is an L2 penalty added to the gradient.
     */
    record Sgd(double lr, double momentum, double weightDecay) implements Optimizer {
        public Sgd {
            requireFinite("learning rate", lr, true);
            if (!(momentum >= 0 && momentum < 1)) {
                throw new KilnException("SGD momentum must be in [0, 1), got " + momentum, "0.9 is usual; 0 disables it");
            }
            requireFinite("weight decay", weightDecay, false);
        }

        /** Plain SGD. */
        public Sgd(double lr) {
            this(lr, 0, 0);
        }

        @Override
        public List<String> stateNames() {
            // kept (all zero) even without momentum: the device op takes a velocity tensor either way
            return List.of("velocity");
        }

        @Override
        public Sgd withLr(double lr) {
            return new Sgd(lr, momentum, weightDecay);
        }

        @Override
        public void update(Device device, Tensor params, Tensor grads, Tensor[] state, Tensor step, Tensor lr) {
            device.sgd(params, grads, state[0], lr, (float) momentum, (float) weightDecay);
        }

        @Override
        public String toString() {
            return "sgd(lr=" + lr + ", momentum=" + momentum + ", weightDecay=" + weightDecay + ")";
        }
    }

    /**
     * Adam (Kingma and Ba, 2015, "Adam: A Method for Stochastic Optimization", Algorithm 1, with the bias
     * corrections {@code mHat = m / (1 - beta1^t)}, {@code vHat = v / (1 - beta2^t)}), as {@code torch.optim.Adam}.
     * With {@code decoupled}, weight decay is AdamW's (Loshchilov and Hutter, 2019, "Decoupled Weight Decay
     * Regularization"): {@code p *= 1 - lr * weightDecay} before the Adam step, instead of an L2 term in the
     * gradient.
     */
    record Adam(double lr, double beta1, double beta2, double eps, double weightDecay, boolean decoupled)
            implements Optimizer {
        public static final double DEFAULT_LR = 1e-3;
        public static final double DEFAULT_BETA1 = 0.9;
        public static final double DEFAULT_BETA2 = 0.999;
        public static final double DEFAULT_EPS = 1e-8;
        /** torch.optim.AdamW's default weight decay. */
        public static final double DEFAULT_ADAMW_WEIGHT_DECAY = 1e-2;

        public Adam {
            requireFinite("learning rate", lr, true);
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
                throw new KilnException("Adam's beta1 and beta2 must be in [0, 1), got " + beta1 + " and " + beta2,
                        "the usual values are 0.9 and 0.999");
            }
            if (!(eps > 0) || Double.isInfinite(eps)) {
                throw new KilnException("Adam's eps must be positive, got " + eps, "the usual value is 1e-8");
            }
            requireFinite("weight decay", weightDecay, false);
        }

        /** Adam with the paper's defaults and learning rate {@code lr}. */
        public Adam(double lr) {
            this(lr, DEFAULT_BETA1, DEFAULT_BETA2, DEFAULT_EPS, 0, false);
        }

        /** Adam with the paper's defaults (lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-8). */
        public static Adam defaults() {
            return new Adam(DEFAULT_LR);
        }

        /** AdamW with default betas and eps. */
        public static Adam adamW(double lr, double weightDecay) {
            return new Adam(lr, DEFAULT_BETA1, DEFAULT_BETA2, DEFAULT_EPS, weightDecay, true);
        }

        @Override
        public List<String> stateNames() {
            return List.of("m", "v");
        }

        @Override
        public Adam withLr(double lr) {
            return new Adam(lr, beta1, beta2, eps, weightDecay, decoupled);
        }

        @Override
        public void update(Device device, Tensor params, Tensor grads, Tensor[] state, Tensor step, Tensor lr) {
            device.adam(params, grads, state[0], state[1], step, lr,
                    (float) beta1, (float) beta2, (float) eps, (float) weightDecay, decoupled);
        }

        @Override
        public String toString() {
            return (decoupled ? "adamw" : "adam") + "(lr=" + lr + ", beta1=" + beta1 + ", beta2=" + beta2
                    + ", eps=" + eps + ", weightDecay=" + weightDecay + ")";
        }
    }

    private static void requireFinite(String what, double value, boolean positive) {
        boolean ok = Double.isFinite(value) && (positive ? value > 0 : value >= 0);
        if (!ok) {
            throw new KilnException(what + " must be a " + (positive ? "positive" : "non-negative")
                    + " number, got " + value, what.equals("learning rate") ? "try 1e-3 for Adam or 0.1 for SGD" : null);
        }
    }
}
