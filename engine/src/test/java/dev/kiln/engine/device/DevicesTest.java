package dev.kiln.engine.device;

import dev.kiln.engine.cpu.CpuDeviceProvider;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.text.MessageFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.ResourceBundle;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code auto} is never silently slow: the reference fallback and unusable providers are reported, once. */
class DevicesTest {
    /** Records what was logged, as "LEVEL message". */
    static final class Recorder implements System.Logger {
        final List<String> lines = new ArrayList<>();

        @Override
        public String getName() {
            return Devices.LOGGER;
        }

        @Override
        public boolean isLoggable(Level level) {
            return true;
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
            lines.add(level + " " + msg);
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String format, Object... params) {
            lines.add(level + " " + MessageFormat.format(format, params));
        }

        @Override
        public void log(Level level, Supplier<String> msgSupplier) {
            lines.add(level + " " + msgSupplier.get());
        }
    }

    /** A provider that is never usable, for the reason given. */
    private static DeviceProvider unusable(String kind, int preference, String reason) {
        return new DeviceProvider() {
            @Override
            public String kind() {
                return kind;
            }

            @Override
            public int autoPreference() {
                return preference;
            }

            @Override
            public Availability availability() {
                return new Availability(false, reason);
            }

            @Override
            public Device open(DeviceOptions options) {
                throw new AssertionError("not usable");
            }

            @Override
            public List<String> describe() {
                return List.of();
            }
        };
    }

    @BeforeEach
    void fresh() {
        Devices.forgetSaid();
    }

    @Test
    void withoutTheVectorModuleAutoWarnsOnceNamingTheFlag() {
        List<DeviceProvider> providers = List.of(
                unusable("cpu", 10, "the JVM was started without --add-modules jdk.incubator.vector"),
                new ReferenceDeviceProvider());
        Recorder log = new Recorder();
        for (int i = 0; i < 2; i++) {
            try (Device d = Devices.open("auto", DeviceOptions.DEFAULTS, providers, log).device()) {
                assertEquals("reference", d.name());
            }
        }
        assertEquals(1, log.lines.size(), log.lines.toString());
        String line = log.lines.getFirst();
        assertTrue(line.startsWith("WARNING "), line);
        assertTrue(line.contains("add --add-modules jdk.incubator.vector to the java command line"), line);
        assertTrue(line.contains("reference CPU device"), line);
    }

    @Test
    void anUnusableGpuProviderSaysWhyOnceAtInfo() {
        List<DeviceProvider> providers = List.of(
                unusable("cuda", 100, "no NVIDIA driver: libcuda.so.1 not found (hint: install the NVIDIA driver)"),
                new ReferenceDeviceProvider());
        Recorder log = new Recorder();
        for (int i = 0; i < 2; i++) {
            try (Device d = Devices.open("auto", DeviceOptions.DEFAULTS, providers, log).device()) {
                assertEquals("reference", d.name());
            }
        }
        assertEquals(List.of("INFO Kiln: cuda not usable: no NVIDIA driver: libcuda.so.1 not found"), log.lines);
    }

    @Test
    void withTheVectorModuleAutoTakesTheCpuDeviceQuietly() {
        Recorder log = new Recorder();
        List<DeviceProvider> providers = List.of(new CpuDeviceProvider(), new ReferenceDeviceProvider());
        try (Device d = Devices.open("auto", DeviceOptions.DEFAULTS, providers, log).device()) {
            assertEquals("cpu", d.name());
        }
        assertEquals(List.of(), log.lines);
    }

    @Test
    void aDevicePrintsAsItsDescription() {
        try (Device ref = new ReferenceDevice();
             Device cpu = new CpuDeviceProvider().open(DeviceOptions.DEFAULTS)) {
            assertEquals(ref.description(), ref.toString());
            assertEquals(cpu.description(), cpu.toString());
            assertTrue(cpu.toString().startsWith("CPU, "), cpu.toString());
            ValidatingDevice v = new ValidatingDevice(new ReferenceDevice());
            assertEquals(v.description(), v.toString());
        }
    }
}
