package dev.kiln.bench;

/** Benchmarks validate before they time: the fast result against the reference, or an exception. */
final class Check {
    private Check() {
    }

    /** Throws unless {@code |got - want| <= atol + rtol |want|} everywhere. */
    static void close(String what, float[] got, float[] want, double atol, double rtol) {
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs((double) got[i] - want[i]);
            if (!(err <= atol + rtol * Math.abs(want[i]))) {
                throw new IllegalStateException(what + ": element " + i + " is " + got[i] + ", the reference says "
                        + want[i] + " (tolerance " + atol + " + " + rtol + " relative)");
            }
        }
    }
}
