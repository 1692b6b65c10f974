package dev.kiln.cuda;

import dev.kiln.data.KilnException;
import dev.kiln.engine.device.DeviceOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The probe against stand-in driver libraries: each missing piece gives its own reason, and nothing crashes. */
class CudaRuntimeTest {

    @Test
    void aMissingDriverLibraryIsNamedWithAHint() {
        CudaRuntime.Probe p = CudaRuntime.probe("/nonexistent/libcuda.so.1", v -> null);
        assertFalse(p.usable());
        assertEquals("no NVIDIA driver: /nonexistent/libcuda.so.1 not found (hint: install the NVIDIA driver, or use --device cpu)",
                p.reason());
    }

    @Test
    void aDriverWithoutGpusSaysSoWithCudasOwnName(@TempDir Path tmp) throws Exception {
        Path driver = FakeLibraries.driver(tmp.resolve("nodev"), true);
        CudaRuntime.Probe p = CudaRuntime.probe(driver.toString(), v -> null);
        assertFalse(p.usable());
        assertTrue(p.reason().startsWith("no NVIDIA GPU: cuInit returned CUDA_ERROR_NO_DEVICE (100)"), p.reason());
    }

    @Test
    void aGpuWithoutCublasNamesWhereCublasWasLookedFor(@TempDir Path tmp) throws Exception {
        Path driver = FakeLibraries.driver(tmp.resolve("gpu"), false);
        CudaRuntime.Probe p = CudaRuntime.probe(driver.toString(),
                v -> new CublasSearch(null, CublasSearch.majorsFor(v), false, List.of(tmp.resolve("no-cublas"))));
        assertFalse(p.usable());
        assertTrue(p.reason().startsWith("cuBLAS not found: looked in " + tmp.resolve("no-cublas")), p.reason());
    }

    @Test
    void aGpuWithCublasIsUsableAndDescribed(@TempDir Path tmp) throws Exception {
        Path driver = FakeLibraries.driver(tmp.resolve("gpu2"), false);
        Path cublas = FakeLibraries.cublas(tmp.resolve("cublas"), 13, false);
        CudaRuntime.Probe p = CudaRuntime.probe(driver.toString(),
                v -> new CublasSearch(null, CublasSearch.majorsFor(v), false, List.of(cublas.getParent())));
        assertTrue(p.usable(), p.reason());
        assertNull(p.reason());
        CudaRuntime rt = p.runtime();
        assertEquals("Kiln Fake GPU (compute 9.0), driver CUDA 13.0, cuBLAS 13.1.0", rt.summary());
        assertEquals("cuda:0  Kiln Fake GPU: compute capability 9.0, 132 SMs, 141.0 GiB", rt.describe().getFirst());
        assertTrue(rt.describe().get(1).contains(cublas.toString()), rt.describe().toString());

        // opening fails at the first call the stand-in refuses, naming it, and cleans up what it made
        CudaException e = assertThrows(CudaException.class, () -> new CudaDevice(rt, DeviceOptions.DEFAULTS));
        assertEquals("cuDevicePrimaryCtxRetain", e.call());
        assertEquals("cuDevicePrimaryCtxRetain failed: CUDA_ERROR_UNKNOWN (999): unknown error", e.getMessage());
        KilnException noGpu = assertThrows(KilnException.class, () -> new CudaDevice(rt, new DeviceOptions(0, false, false, 3)));
        assertEquals("there is no GPU 3: this machine has 1", noGpu.getMessage());
    }
}
