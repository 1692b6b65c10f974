package dev.kiln.engine.optim;

import dev.kiln.data.KilnException;

/**
 * The learning rate as a function of the epoch. It is evaluated once per epoch, on the host, and uploaded to the
 * device's learning-rate tensor before the epoch's first step; steps within an epoch share one rate.
 */
public sealed interface Schedule permits Schedule.Constant, Schedule.StepDecay, Schedule.Cosine {

    /** The learning rate for {@code epoch} (0-based) of a run of {@code totalEpochs}, from base rate {@code lr}. */
    double lr(double lr, int epoch, int totalEpochs);

    /** The base rate throughout. */
    record Constant() implements Schedule {
        @Override
        public double lr(double lr, int epoch, int totalEpochs) {
            return lr;
        }

        @Override
        public String toString() {
            return "constant";
        }
    }

    /** {@code lr * gamma^floor(epoch / everyEpochs)}, as PyTorch's {@code StepLR}. */
    record StepDecay(int everyEpochs, double gamma) implements Schedule {
        public StepDecay {
            if (everyEpochs <= 0) {
                throw new KilnException("step schedule: the period must be a positive number of epochs, got " + everyEpochs,
                        "e.g. step:10:0.5 halves the rate every 10 epochs");
            }
            if (!(gamma > 0) || Double.isInfinite(gamma)) {
                throw new KilnException("step schedule: gamma must be positive, got " + gamma,
                        "e.g. step:10:0.5 halves the rate every 10 epochs");
            }
        }

        @Override
        public double lr(double lr, int epoch, int totalEpochs) {
            return lr * Math.pow(gamma, epoch / everyEpochs);
        }

        @Override
        public String toString() {
            return "step:" + everyEpochs + ":" + gamma;
        }
    }

    /**
     * Cosine annealing (Loshchilov and Hutter, 2017, SGDR, without restarts), as PyTorch's
     * {@code CosineAnnealingLR} with {@code T_max} = total epochs, stepped per epoch:
     * {@code floor + (lr - floor) * (1 + cos(pi * epoch / totalEpochs)) / 2}. The first epoch uses the base rate.
     */
    record Cosine(double floor) implements Schedule {
        public Cosine {
            if (!(floor >= 0) || Double.isInfinite(floor)) {
                throw new KilnException("cosine schedule: the floor must be a non-negative rate, got " + floor,
                        "e.g. cosine or cosine:1e-5");
            }
        }

        @Override
        public double lr(double lr, int epoch, int totalEpochs) {
            return floor + (lr - floor) * (1 + Math.cos(Math.PI * epoch / totalEpochs)) / 2;
        }

        @Override
        public String toString() {
            return floor == 0 ? "cosine" : "cosine:" + floor;
        }
    }

    /** Parses {@code constant}, {@code step:EVERY:GAMMA}, {@code cosine} or {@code cosine:FLOOR}; the inverse of toString. */
    public static Schedule parse(String text) {
        String hint = "write constant, step:EVERY_EPOCHS:GAMMA (e.g. step:10:0.5), cosine or cosine:FLOOR (e.g. cosine:1e-5)";
        String[] parts = text.strip().split(":", -1);
        try {
            return switch (parts[0]) {
                case "constant" -> {
                    if (parts.length != 1) {
                        throw new KilnException("schedule 'constant' takes no arguments, got '" + text + "'", hint);
                    }
                    yield new Constant();
                }
                case "step" -> {
                    if (parts.length != 3) {
                        throw new KilnException("schedule '" + text + "' needs a period and a factor", hint);
                    }
                    yield new StepDecay(Integer.parseInt(parts[1]), Double.parseDouble(parts[2]));
                }
                case "cosine" -> {
                    if (parts.length > 2) {
                        throw new KilnException("schedule '" + text + "' has too many parts", hint);
                    }
                    yield new Cosine(parts.length == 2 ? Double.parseDouble(parts[1]) : 0);
                }
                default -> throw new KilnException("unknown learning-rate schedule '" + text + "'", hint);
            };
        } catch (NumberFormatException e) {
            throw new KilnException("schedule '" + text + "' has a part that is not a number", hint);
        }
    }
}
