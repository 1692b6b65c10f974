package dev.kiln.cuda;

import dev.kiln.data.KilnException;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * What this machine offers for CUDA, found once per process: the loaded driver and cuBLAS and the GPUs they see,
 * or one line saying what is missing. Probing loads {@code libcuda.so.1}, calls {@code cuInit}, counts GPUs, finds
 * cuBLAS and checks the kernel fatbins are on the class path; it creates no context, so it is cheap and safe on a
 * machine without a driver.
 */
final class CudaRuntime {

    /** One GPU as the driver describes it. */
    record Gpu(int ordinal, String name, int major, int minor, int multiprocessors, long memoryBytes) {
        String line() {
            return String.format("cuda:%d  %s: compute capability %d.%d, %d SMs, %.1f GiB", ordinal, name, major, minor,
                    multiprocessors, memoryBytes / (double) (1L << 30));
        }
    }

    /** The outcome of a probe: a runtime, or why there is none (exactly one is non-null). */
    record Probe(CudaRuntime runtime, String reason) {
        boolean usable() {
            return runtime != null;
        }
    }

    final CudaDriver driver;
    final Cublas cublas;
    final int driverVersion; // e.g. 13000
    final List<Gpu> gpus;

    private CudaRuntime(CudaDriver driver, Cublas cublas, int driverVersion, List<Gpu> gpus) {
        this.driver = driver;
        this.cublas = cublas;
        this.driverVersion = driverVersion;
        this.gpus = List.copyOf(gpus);
    }

    private static Probe cached;

    /**
     * The probe of this process's environment, done once. {@code KILN_CUDA_DRIVER} names the driver library to load
     * instead of the loader's {@code libcuda.so.1} (an absolute path): for a driver outside the loader's path, and
     * for the tests' CPU stand-in of the driver (kernels/src/test/standin).
     */
    static synchronized Probe get() {
        if (cached == null) {
            String driver = System.getenv("KILN_CUDA_DRIVER");
            cached = probe(driver == null || driver.isBlank() ? CudaDriver.LIBRARY : driver, CublasSearch::fromEnvironment);
        }
        return cached;
    }

    /**
     * Probes with a given driver library (a soname for the dynamic loader, or an absolute path) and cuBLAS search
     * (built from the driver version). Never throws for a missing or broken installation: that is the reason.
     */
    static Probe probe(String driverLibrary, IntFunction<CublasSearch> cublasSearch) {
        SymbolLookup lib;
        try {
            lib = driverLibrary.startsWith("/")
                    ? SymbolLookup.libraryLookup(Path.of(driverLibrary), Arena.global())
                    : SymbolLookup.libraryLookup(driverLibrary, Arena.global());
        } catch (IllegalArgumentException e) {
            return new Probe(null, "no NVIDIA driver: " + driverLibrary
                    + " not found (hint: install the NVIDIA driver, or use --device cpu)");
        }
        try {
            CudaDriver driver = new CudaDriver(lib);
            try {
                driver.init();
            } catch (CudaException e) {
                String what = e.code() == CudaDriver.CUDA_ERROR_NO_DEVICE ? "no NVIDIA GPU" : "the NVIDIA driver did not start";
                return new Probe(null, what + ": cuInit returned " + e.errorName() + " (" + e.code() + ") (hint: "
                        + e.hint() + ")");
            }
            int version = driver.driverVersion();
            int count = driver.deviceCount();
            if (count == 0) {
                return new Probe(null, "no NVIDIA GPU: the driver (CUDA " + versionString(version)
                        + ") sees none (hint: check nvidia-smi and CUDA_VISIBLE_DEVICES, or use --device cpu)");
            }
            List<Gpu> gpus = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                int d = driver.device(i);
                gpus.add(new Gpu(i, driver.deviceName(d),
                        driver.attribute(d, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                        driver.attribute(d, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
                        driver.attribute(d, CudaDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT),
                        driver.totalMemory(d)));
            }
            Cublas cublas = new Cublas(cublasSearch.apply(version).find());
            for (String family : PtxModule.FAMILIES) {
                PtxModule.fatbin(family);
            }
            return new Probe(new CudaRuntime(driver, cublas, version, gpus), null);
        } catch (KilnException e) {
            return new Probe(null, e.oneLine());
        }
    }

    /** 13000 -> "13.0". */
    static String versionString(int version) {
        return version / 1000 + "." + (version % 1000) / 10;
    }

    /** One line for auto's "why": the first GPU and the software driving it. */
    String summary() {
        Gpu g = gpus.getFirst();
        return g.name() + " (compute " + g.major() + "." + g.minor() + ")" + (gpus.size() > 1 ? " and " + (gpus.size() - 1) + " more" : "")
                + ", driver CUDA " + versionString(driverVersion) + ", cuBLAS " + cublasVersion();
    }

    String cublasVersion() {
        try {
            return cublas.version();
        } catch (CudaException e) {
            return "(version unknown: " + e.getMessage() + ")";
        }
    }

    List<String> describe() {
        List<String> lines = new ArrayList<>();
        gpus.forEach(g -> lines.add(g.line()));
        lines.add("driver CUDA " + versionString(driverVersion) + "; cuBLAS " + cublasVersion() + " from " + cublas.location);
        return lines;
    }
}
