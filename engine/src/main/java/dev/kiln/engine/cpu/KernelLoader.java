package dev.kiln.engine.cpu;

import java.io.IOException;
import java.lang.invoke.MethodHandles;

/**
 * Defines {@link VectorKernels} once per vector width as a hidden class whose class data is the width, so that
 * each copy sees its species as a compile-time constant (see {@link VectorKernels} for why). It is a separate class
 * because touching a static member of VectorKernels itself would initialise the ordinary, width-less class.
 */
final class KernelLoader {
    private KernelLoader() {
    }

    private static final Kernels[] LOADED = new Kernels[4]; // by bits / 128 (0, 128, 256, -, 512 -> 0, 1, 2, 3)

    /** The kernels for {@code bits} (0, 128, 256 or 512), defined once per width and shared by every device. */
    static Kernels load(int bits) {
        int slot = switch (bits) {
            case 0 -> 0;
            case 128 -> 1;
            case 256 -> 2;
            case 512 -> 3;
            default -> throw new IllegalArgumentException("vector width must be 0, 128, 256 or 512 bits, got " + bits);
        };
        synchronized (LOADED) {
            if (LOADED[slot] == null) {
                try (var in = VectorKernels.class.getResourceAsStream("VectorKernels.class")) {
                    byte[] bytes = in.readAllBytes();
                    MethodHandles.Lookup hidden = MethodHandles.lookup().defineHiddenClassWithClassData(bytes, bits, true);
                    LOADED[slot] = (Kernels) hidden.lookupClass().getDeclaredConstructor().newInstance();
                } catch (IOException | ReflectiveOperationException e) {
                    throw new IllegalStateException("cannot load the " + bits + "-bit CPU kernels", e);
                }
            }
            return LOADED[slot];
        }
    }
}
