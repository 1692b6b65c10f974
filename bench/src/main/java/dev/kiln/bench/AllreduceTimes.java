package dev.kiln.bench;

import dev.kiln.engine.dist.Ranks;

import java.util.Arrays;
import java.util.Locale;

/**
 * Time of one gradient sum over the ranks as a CPU step does it ({@code RankReduction}): the gradient copied out of
 * the device, {@code MPI_Allreduce} (with its copies to and from native memory), copied back. Median of many, for
 * the seed net's 20,535 parameters and the wide net's 1,863,690. Run under mpirun; rank 0 prints.
 *
 * <pre>mpirun -np 2 java --enable-native-access=ALL-UNNAMED -cp bench/target/benchmarks.jar dev.kiln.bench.AllreduceTimes [reps]</pre>
 */
public final class AllreduceTimes {
    private AllreduceTimes() {
    }

    public static void main(String[] args) {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        try (Ranks ranks = Ranks.join()) {
            for (int q : new int[] {20_535, 1_863_690}) {
                int n = q > 100_000 ? Math.max(20, reps / 50) : reps;
                float[] device = new float[q], host = new float[q];
                Arrays.fill(device, 1e-3f);
                long[] t = new long[n];
                for (int round = 0; round < 2; round++) { // the first round warms up
                    for (int i = 0; i < n; i++) {
                        long t0 = System.nanoTime();
                        System.arraycopy(device, 0, host, 0, q);  // download
                        ranks.sum(host);
                        System.arraycopy(host, 0, device, 0, q);  // upload
                        t[i] = System.nanoTime() - t0;
                    }
                }
                double[] max = {0};
                Arrays.sort(t);
                max[0] = t[n / 2];
                if (ranks.isRoot()) {
                    System.out.printf(Locale.ROOT, "%d ranks, %,d floats (%,d bytes): median %.1f us, p10 %.1f us, p90 %.1f us%n",
                            ranks.size(), q, 4L * q, t[n / 2] / 1e3, t[n / 10] / 1e3, t[n * 9 / 10] / 1e3);
                }
            }
        }
    }
}
