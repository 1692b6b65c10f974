package dev.kiln.cuda;

import dev.kiln.data.KilnException;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One family's kernels loaded as a {@code CUmodule} from its fatbin (a tracked resource under {@code /dev/kiln/cuda/},
 * made by kernels/regen-ptx.sh): machine code for sm_80 and sm_90, which the driver loads as it is, and compute_80
 * PTX, which it JIT-compiles for any other GPU. The PTX is also a resource of its own, for review and tests.
 * Closing unloads the module.
 */
final class PtxModule implements AutoCloseable {
    /** Every family, one PTX file each (kernels/src/main/cuda/NAME.cu). */
    static final java.util.List<String> FAMILIES = java.util.List.of("activation", "loss", "gather", "optim");

    /** One kernel of a loaded module: its name (for errors) and its {@code CUfunction}. */
    record Kernel(String name, MemorySegment function) {
    }

    private final CudaDriver driver;
    private final String family;
    private MemorySegment module;

    private PtxModule(CudaDriver driver, String family, MemorySegment module) {
        this.driver = driver;
        this.family = family;
        this.module = module;
    }

    /** The resource path of a family's PTX ({@code kind} "ptx") or fatbin ("fatbin"). */
    static String resource(String family, String kind) {
        return "/dev/kiln/cuda/" + family + "." + kind;
    }

    /** The PTX text of a family, or a {@link KilnException} when the jar lacks it. */
    static byte[] ptx(String family) {
        return read(resource(family, "ptx"));
    }

    /** The fatbin of a family, or a {@link KilnException} when the jar lacks it. */
    static byte[] fatbin(String family) {
        return read(resource(family, "fatbin"));
    }

    private static byte[] read(String resource) {
        try (InputStream in = PtxModule.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new KilnException("kernel image " + resource + " is missing from the class path",
                        "rebuild Kiln (the kernels module ships it)");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new KilnException("cannot read kernel image " + resource + ": " + e.getMessage(), "rebuild Kiln", e);
        }
    }

    /** Loads a family's fatbin into the current context. */
    static PtxModule load(CudaDriver driver, String family) {
        byte[] image = fatbin(family);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment native_ = a.allocate(image.length + 1L, 16); // aligned, and NUL-ended should it be text
            MemorySegment.copy(image, 0, native_, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, image.length);
            return new PtxModule(driver, family, driver.moduleLoadData(family + ".fatbin", native_));
        }
    }

    Kernel kernel(String name) {
        if (module == null) {
            throw new IllegalStateException(family + ".ptx is unloaded");
        }
        return new Kernel(name, driver.moduleGetFunction(module, name));
    }

    @Override
    public void close() {
        if (module != null) {
            MemorySegment m = module;
            module = null;
            driver.moduleUnload(m);
        }
    }
}
