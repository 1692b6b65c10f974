package dev.kiln.engine.device;

import java.util.List;

/** The reference device: always usable, never chosen by {@code auto} while a faster CPU device exists. */
public final class ReferenceDeviceProvider implements DeviceProvider {
    @Override
    public String kind() {
        return "reference";
    }

    @Override
    public int autoPreference() {
        return 0;
    }

    @Override
    public Availability availability() {
        return new Availability(true, "the reference CPU device (plain Java, one thread)");
    }

    @Override
    public Device open(DeviceOptions options) {
        return new ReferenceDevice();
    }

    @Override
    public List<String> describe() {
        return List.of("reference  plain Java loops on one thread: the spec every other device is tested against");
    }
}
