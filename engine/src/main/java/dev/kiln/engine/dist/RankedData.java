package dev.kiln.engine.dist;

import dev.kiln.data.Dataset;
import dev.kiln.engine.Replicas;

import java.util.Arrays;

/** How a data-parallel run splits a data set that is not cut batch by batch (the test set) over its ranks. */
public final class RankedData {
    private RankedData() {
    }

    /** Rank {@code rank}'s contiguous slice of {@code data} out of {@code ranks} near-equal ones (possibly empty). */
    public static Dataset slice(Dataset data, int rank, int ranks) {
        int[] s = Replicas.starts(data.size(), ranks);
        int from = s[rank], to = s[rank + 1], p = data.pixelsPerSample();
        return new Dataset(data.name() + " [rank " + rank + " of " + ranks + "]", data.rows(), data.cols(), data.classes(),
                Arrays.copyOfRange(data.pixels(), from * p, to * p), Arrays.copyOfRange(data.labels(), from, to));
    }
}
