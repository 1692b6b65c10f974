package dev.kiln.cuda;

import dev.kiln.data.KilnException;
import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.DeviceProvider;

import java.util.List;

/**
 * The {@code cuda} device kind: usable when the NVIDIA driver loads, sees a GPU, and cuBLAS and the kernel PTX are
 * found. Preferred by {@code --device auto} over every CPU device. The probe runs once per process.
 */
public final class CudaDeviceProvider implements DeviceProvider {
    @Override
    public String kind() {
        return "cuda";
    }

    @Override
    public int autoPreference() {
        return 100;
    }

    @Override
    public Availability availability() {
        CudaRuntime.Probe p = CudaRuntime.get();
        return p.usable() ? new Availability(true, p.runtime().summary()) : new Availability(false, p.reason());
    }

    @Override
    public Device open(DeviceOptions options) {
        CudaRuntime.Probe p = CudaRuntime.get();
        if (!p.usable()) {
            throw new KilnException("the CUDA device is not usable here: " + p.reason(),
                    "run `kiln devices` to see what this machine has, or use --device cpu");
        }
        return new CudaDevice(p.runtime(), options);
    }

    @Override
    public List<String> describe() {
        CudaRuntime.Probe p = CudaRuntime.get();
        return p.usable() ? p.runtime().describe() : List.of();
    }
}
