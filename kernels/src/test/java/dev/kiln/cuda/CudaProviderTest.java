package dev.kiln.cuda;

import dev.kiln.data.KilnException;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.DeviceProvider;
import dev.kiln.engine.device.Devices;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * The cuda kind as the engine sees it on a machine without a usable GPU (CI): registered, preferred over the CPU,
 * not usable with a reason, skipped by auto (which says why), and an error when asked for by name. Skipped where a
 * GPU is usable; the gpu-tagged tests cover that case.
 */
class CudaProviderTest {

    private static DeviceProvider cuda() {
        return Devices.providers().stream().filter(p -> p.kind().equals("cuda")).findFirst()
                .orElseThrow(() -> new AssertionError("cuda is not registered as a DeviceProvider"));
    }

    @Test
    void registeredAndPreferredOverTheCpu() {
        assertEquals("cuda", Devices.providers().getFirst().kind(), "cuda has the highest auto preference");
        assertEquals(100, cuda().autoPreference());
    }

    @Test
    void withoutAGpuItIsNotUsableAndSaysWhy() {
        DeviceProvider.Availability a = cuda().availability();
        assumeFalse(a.usable(), "a GPU is usable here: " + a.reason());
        assertFalse(a.reason().isBlank());
        assertTrue(a.reason().contains("hint:"), a.reason());
        assertTrue(cuda().describe().isEmpty());
    }

    @Test
    void autoPicksACpuDeviceAndSaysWhyNotCuda() {
        assumeFalse(cuda().availability().usable(), "a GPU is usable here");
        Devices.Selection s = Devices.open("auto", DeviceOptions.DEFAULTS);
        try {
            assertNotEquals("cuda", s.device().name().substring(0, Math.min(4, s.device().name().length())));
            String reason = cuda().availability().reason();
            String withoutHint = reason.contains(" (hint: ") ? reason.substring(0, reason.indexOf(" (hint: ")) : reason;
            assertTrue(s.why().contains("cuda not usable: " + withoutHint), s.why());
        } finally {
            s.device().close();
        }
    }

    @Test
    void askingForCudaByNameIsAnError() {
        assumeFalse(cuda().availability().usable(), "a GPU is usable here");
        KilnException e = assertThrows(KilnException.class, () -> Devices.open("cuda", DeviceOptions.DEFAULTS));
        assertTrue(e.getMessage().startsWith("--device cuda is not usable here: "), e.getMessage());
        assertThrows(KilnException.class, () -> cuda().open(DeviceOptions.DEFAULTS));
    }
}
