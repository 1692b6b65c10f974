package dev.kiln.engine.device;

import java.util.List;

/**
 * A kind of device Kiln can open, found at run time through {@link java.util.ServiceLoader}: the engine never
 * names CUDA, so a build without the kernels module, or a machine without a driver, simply has the CPU devices.
 * Register an implementation in {@code META-INF/services/dev.kiln.engine.device.DeviceProvider}.
 */
public interface DeviceProvider {

    /** The name on the command line: {@code cpu}, {@code reference}, {@code cuda}. */
    String kind();

    /** {@code --device auto} takes the usable provider with the highest preference. */
    int autoPreference();

    /**
     * Whether this kind can be opened here, and why (or why not), without allocating anything expensive. The
     * reason names what is missing and how to fix it, e.g. "no libcuda.so.1 (looked in ...)".
     */
    Availability availability();

    /** Opens the device; throws {@link dev.kiln.data.KilnException} with a clear line when it cannot. */
    Device open(DeviceOptions options);

    /** Lines for {@code kiln devices}: what this kind is here (cores and vector width, GPU name and memory...). */
    List<String> describe();

    /** @param usable whether {@link #open} should succeed; @param reason one line, for people */
    record Availability(boolean usable, String reason) {
    }
}
