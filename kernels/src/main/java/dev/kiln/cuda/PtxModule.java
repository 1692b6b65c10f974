package dev.kiln.cuda;

import dev.kiln.data.KilnException;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One family's PTX (a tracked resource under {@code /dev/kiln/cuda/}) loaded as a {@code CUmodule}: the driver
 * JIT-compiles it for the GPU it finds. Closing unloads it.
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

    /** The resource path of a family's PTX. */
    static String resource(String family) {
        return "/dev/kiln/cuda/" + family + ".ptx";
    }

    /** The PTX text of a family, or a {@link KilnException} when the jar lacks it. */
    static byte[] ptx(String family) {
        try (InputStream in = PtxModule.class.getResourceAsStream(resource(family))) {
            if (in == null) {
                throw new KilnException("kernel PTX " + resource(family) + " is missing from the class path",
                        "rebuild Kiln (the kernels module ships it)");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new KilnException("cannot read kernel PTX " + resource(family) + ": " + e.getMessage(), "rebuild Kiln", e);
        }
    }

    /** Loads a family's PTX into the current context. */
    static PtxModule load(CudaDriver driver, String family) {
        byte[] text = ptx(family);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment image = a.allocate(text.length + 1L); // zero-filled: the NUL terminator is there
            MemorySegment.copy(text, 0, image, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, text.length);
            return new PtxModule(driver, family, driver.moduleLoadData(family + ".ptx", image));
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
