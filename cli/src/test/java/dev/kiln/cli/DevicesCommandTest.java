package dev.kiln.cli;

import dev.kiln.engine.device.DeviceProvider;
import dev.kiln.engine.device.Devices;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** {@code kiln devices} through the command line: the cuda kind is listed, and --check runs and reports. */
class DevicesCommandTest {

    private static String[] run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Kiln.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new String[]{String.valueOf(code), out.toString(), err.toString()};
    }

    @Test
    void listsCudaAsNotUsableWithoutAGpu() {
        DeviceProvider cuda = Devices.providers().stream().filter(p -> p.kind().equals("cuda")).findFirst()
                .orElseThrow(() -> new AssertionError("the cuda provider is not on the cli's class path"));
        assumeFalse(cuda.availability().usable(), "a GPU is usable here");
        String[] r = run("devices");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("cuda (not usable): " + cuda.availability().reason()), r[1]);
        assertTrue(r[1].contains("reference: "), r[1]);
    }

    @Test
    void checkRunsEveryUsableDeviceAndSucceedsWhenAllAgree() {
        String[] r = run("devices", "--check", "--seed", "3");
        assertEquals("0", r[0], r[1] + r[2]);
        assertTrue(r[1].contains("check: every operation within tolerance") || r[1].contains("check: no device besides the reference"), r[1]);
        for (DeviceProvider p : Devices.providers()) {
            if (p.availability().usable() && !p.kind().equals("reference")) {
                assertTrue(r[1].contains("gemmNN") && r[1].contains("adam params"), r[1]);
            }
        }
    }
}
