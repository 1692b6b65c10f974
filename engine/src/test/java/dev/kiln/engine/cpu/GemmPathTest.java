package dev.kiln.engine.cpu;

import dev.kiln.engine.device.DeviceCheck;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.EnumSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@link DeviceCheck}'s GEMM shapes reach every form {@link CpuDevice#gemm} computes in, at every vector width, so the
 * conformance suite tests each against the reference. A new form, or a change of the shapes that picks the forms,
 * fails here until a shape reaches it.
 */
class GemmPathTest {

    @ParameterizedTest(name = "{0}-bit vectors")
    @ValueSource(ints = {0, 128, 256, 512})
    void theConformanceShapesReachEveryGemmPath(int bits) {
        assumeTrue(bits <= CpuDevice.widestVectorBits(), "this CPU's widest vectors are " + CpuDevice.widestVectorBits() + " bits");
        try (CpuDevice cpu = new CpuDevice(bits, 1)) {
            EnumSet<CpuDevice.GemmPath> reached = EnumSet.noneOf(CpuDevice.GemmPath.class);
            for (int[] s : DeviceCheck.gemmShapes()) {
                for (int variant = 0; variant < 4; variant++) {
                    reached.add(cpu.gemmPath((variant & 1) != 0, (variant & 2) != 0, s[0], s[1], s[2]));
                }
            }
            assertEquals(EnumSet.allOf(CpuDevice.GemmPath.class), reached);
        }
    }
}
