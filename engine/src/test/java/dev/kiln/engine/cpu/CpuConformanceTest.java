package dev.kiln.engine.cpu;

import dev.kiln.engine.device.DeviceCheck;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Every op of the CPU device against the reference, at every vector width (0 = scalar) and 1, 2, 3 threads. */
class CpuConformanceTest {

    static Stream<Arguments> widthsAndThreads() {
        return Stream.of(0, 128, 256, 512).flatMap(bits -> Stream.of(1, 2, 3).map(threads -> Arguments.of(bits, threads)));
    }

    @ParameterizedTest(name = "{0}-bit vectors, {1} threads")
    @MethodSource("widthsAndThreads")
    void everyOpMatchesTheReference(int bits, int threads) {
        assumeTrue(bits <= CpuDevice.widestVectorBits(), "this CPU's widest vectors are " + CpuDevice.widestVectorBits() + " bits");
        long seed = 20_250_000L + bits + threads;
        try (CpuDevice cpu = new CpuDevice(bits, threads)) {
            List<DeviceCheck.Result> results = DeviceCheck.run(cpu, seed);
            String failures = results.stream().filter(r -> !r.passed()).map(DeviceCheck.Result::toString)
                    .collect(Collectors.joining("\n"));
            assertTrue(DeviceCheck.allPassed(results), cpu.description() + ", seed " + seed + ":\n" + failures);
        }
    }
}
