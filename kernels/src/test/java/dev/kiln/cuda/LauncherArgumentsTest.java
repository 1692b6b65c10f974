package dev.kiln.cuda;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each Java launcher passes exactly the parameters its PTX entry declares, in order and of the right width, with a
 * legal geometry: the mistakes that would otherwise only show on a GPU (as garbage or a fault). Launches are
 * recorded instead of run, and compared with the {@code .entry} signatures parsed from the tracked PTX.
 */
class LauncherArgumentsTest {

    record Launch(String kernel, String kinds, int gridX, int gridY, int blockX, int blockY) {
    }

    static final class Recorder extends Launcher {
        final List<Launch> launches = new java.util.ArrayList<>();

        Recorder() {
            super(null, MemorySegment.NULL, false, () -> false, Arena.ofAuto());
        }

        @Override
        protected void dispatch(PtxModule.Kernel kernel, int gridX, int gridY, int blockX, int blockY) {
            launches.add(new Launch(kernel.name(), argumentKinds(), gridX, gridY, blockX, blockY));
        }
    }

    @Test
    void everyLaunchMatchesItsPtxSignature() {
        Map<String, List<String>> signatures = new HashMap<>();
        for (String family : PtxModule.FAMILIES) {
            PtxTest.entries(family).forEach(e -> signatures.put(e.name(), e.paramTypes()));
        }
        Recorder r = new Recorder();
        java.util.function.Function<String, PtxModule.Kernel> kernels = name -> {
            assertTrue(signatures.containsKey(name), "no PTX entry " + name + " in " + signatures.keySet());
            return new PtxModule.Kernel(name, MemorySegment.NULL);
        };
        ActivationKernels act = new ActivationKernels(kernels, r);
        LossKernels loss = new LossKernels(kernels, r);
        GatherKernels gather = new GatherKernels(kernels, r);
        OptimizerKernels opt = new OptimizerKernels(kernels, r);

        act.biasActivation(1, 2, 1000, 25, true);
        act.reluBackward(1, 2, 3, 1000, 25);
        act.columnSums(1, 2, 1000, 10);
        loss.softmaxCrossEntropy(1, 2, 3, 4, 1000, 10);
        loss.countCorrect(1, 2, 3, 1000, 10);
        loss.argmax(1, 2, 1000, 10);
        gather.gatherBatch(1, 2, 3, 4, 5, 6, 60000, 784, 64);
        gather.addInt(1, 64);
        opt.sgd(1, 2, 3, 4, 0.9f, 0f, 19_885);
        opt.adam(1, 2, 3, 4, 5, 6, 0.9f, 0.999f, 1e-8f, 0f, true, 19_885);

        assertEquals(signatures.size(), r.launches.size(), "every PTX entry is launched once here: " + r.launches);
        for (Launch l : r.launches) {
            List<String> types = signatures.get(l.kernel());
            assertNotNull(types, l.kernel());
            assertEquals(types.size(), l.kinds().length(), l.kernel() + ": PTX params " + types + ", Java passes " + l.kinds());
            for (int i = 0; i < types.size(); i++) {
                String ptx = types.get(i);
                char java = l.kinds().charAt(i);
                boolean ok = switch (java) {
                    case 'p', 'l' -> ptx.equals("u64") || ptx.equals("s64");
                    case 'i' -> ptx.equals("u32") || ptx.equals("s32");
                    case 'f' -> ptx.equals("f32");
                    default -> false;
                };
                assertTrue(ok, l.kernel() + " parameter " + i + ": PTX ." + ptx + ", Java passes '" + java + "'");
            }
            assertTrue(l.gridX() >= 1 && l.gridY() >= 1, l.toString());
            assertTrue(l.blockX() * l.blockY() <= 1024 && l.blockX() >= 1, l.toString());
        }
    }

    @Test
    void geometryCoversTheWork() {
        Recorder r = new Recorder();
        java.util.function.Function<String, PtxModule.Kernel> kernels = name -> new PtxModule.Kernel(name, MemorySegment.NULL);
        new ActivationKernels(kernels, r).columnSums(1, 2, 7, 65);         // 65 columns: 3 blocks of 32
        new LossKernels(kernels, r).softmaxCrossEntropy(1, 2, 3, 4, 17, 10); // 17 rows, 8 per block: 3 blocks
        new LossKernels(kernels, r).argmax(1, 2, 257, 10);                 // 257 rows, 256 per block: 2 blocks
        new GatherKernels(kernels, r).gatherBatch(1, 2, 3, 4, 5, 6, 100, 784, 63); // one block per row
        new OptimizerKernels(kernels, r).sgd(1, 2, 3, 4, 0f, 0f, 0);       // nothing to do: no launch
        assertEquals(List.of(3, 3, 2, 63), r.launches.stream().map(Launch::gridX).toList());
        assertEquals(32, r.launches.getFirst().blockY(), "32 row threads per column block");
        assertEquals(1, Launcher.gridFor(1, 256));
        assertEquals(65536, Launcher.gridFor(1L << 40, 256), "grid-stride kernels cap the grid");
    }
}
