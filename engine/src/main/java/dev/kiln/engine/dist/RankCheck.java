package dev.kiln.engine.dist;

import dev.kiln.data.Dataset;
import dev.kiln.data.KilnException;

import java.util.zip.CRC32;

/**
 * Checks that every rank is about to run the same training: ranks started with different flags or data would call
 * their collectives out of step and wait for each other forever, or mix gradients of different batches.
 */
public final class RankCheck {
    private RankCheck() {
    }

    /**
     * Fails on every rank unless all agree on {@code what} (a description of the run: sizes, settings, state) and on
     * the data's contents. Two sums decide it: of a fingerprint f and of f squared, which satisfy
     * (sum f)^2 = N * sum f^2 only when every rank's f is the same.
     */
    public static void sameRun(Ranks ranks, String what, Dataset train, Dataset test) {
        if (ranks.size() == 1) {
            return;
        }
        CRC32 crc = new CRC32();
        crc.update(what.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        for (Dataset d : new Dataset[] {train, test}) {
            if (d != null) {
                crc.update(d.pixels());
                for (int label : d.labels()) {
                    crc.update(label);
                }
            }
        }
        double f = crc.getValue() & 0xfffff; // 20 bits: the sums of f^2 stay exact in a double for a million ranks
        double[] sums = {f, f * f};
        ranks.sum(sums);
        if (sums[0] * sums[0] != ranks.size() * sums[1]) {
            throw new KilnException("the ranks are not running the same training (" + ranks.describe() + ": " + what
                    + "): their flags, data or checkpoint differ",
                    "start every rank with the same arguments, on the same data");
        }
    }
}
