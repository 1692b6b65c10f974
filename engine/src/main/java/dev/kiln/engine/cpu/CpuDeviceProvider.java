package dev.kiln.engine.cpu;

import dev.kiln.data.KilnException;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.DeviceProvider;

import java.util.List;

/**
 * The vectorised CPU device: preferred by {@code auto} over the reference whenever the JVM has the Vector API
 * module ({@code --add-modules jdk.incubator.vector}, which {@code ./kiln} passes).
 */
public final class CpuDeviceProvider implements DeviceProvider {
    @Override
    public String kind() {
        return "cpu";
    }

    @Override
    public int autoPreference() {
        return 10;
    }

    private static boolean hasVectorModule() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    }

    @Override
    public Availability availability() {
        if (!hasVectorModule()) {
            return new Availability(false, "the JVM was started without --add-modules jdk.incubator.vector");
        }
        int cores = Runtime.getRuntime().availableProcessors();
        return new Availability(true, "the vectorised CPU device (" + cores + " cores, "
                + CpuDevice.isaName(CpuDevice.widestVectorBits()) + ")");
    }

    @Override
    public Device open(DeviceOptions options) {
        if (!hasVectorModule()) {
            throw new KilnException("--device cpu needs the Vector API module",
                    "start Java with --add-modules jdk.incubator.vector (./kiln does), or use --device reference");
        }
        try {
            return new CpuDevice(options);
        } catch (IllegalArgumentException e) {
            throw new KilnException(e.getMessage(), "set -D" + CpuDevice.VECTOR_BITS_PROPERTY
                    + " to 0, 128, 256 or 512, at most " + CpuDevice.widestVectorBits());
        }
    }

    @Override
    public List<String> describe() {
        if (!hasVectorModule()) {
            return List.of("cpu        unavailable: the JVM was started without --add-modules jdk.incubator.vector");
        }
        int cores = Runtime.getRuntime().availableProcessors();
        return List.of("cpu        " + cores + " cores, widest vectors " + CpuDevice.isaName(CpuDevice.widestVectorBits())
                + "; threads = --threads or every core; -D" + CpuDevice.VECTOR_BITS_PROPERTY + "=0|128|256|512 forces a width");
    }
}
