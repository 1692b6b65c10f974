package dev.kiln.engine.device;

/**
 * How to open a device.
 *
 * @param threads   CPU worker threads; 0 means every core
 * @param tf32      allow TF32 tensor-core GEMMs on the GPU (faster, about 10 bits of mantissa); off by default
 * @param cudaSync  synchronise after every GPU launch, so an asynchronous fault is reported at its call
 * @param gpuIndex  which GPU, for machines with several
 */
public record DeviceOptions(int threads, boolean tf32, boolean cudaSync, int gpuIndex) {
    public static final DeviceOptions DEFAULTS = new DeviceOptions(0, false, false, 0);

    public DeviceOptions {
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be 0 (every core) or positive, got " + threads);
        }
    }

    /** Worker threads to use: {@link #threads} or, when 0, every available core. */
    public int effectiveThreads() {
        return threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
    }
}
