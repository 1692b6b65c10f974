package dev.kiln.cli;

import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.Devices;
import dev.kiln.engine.device.ValidatingDevice;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** The device flags every computing command shares: which device, how many threads, GPU debugging, validation. */
final class DeviceMixin {
    @Option(names = "--device", defaultValue = "auto", paramLabel = "NAME",
            description = "auto (a GPU when one is usable, else the CPU), cpu, cuda or reference. Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N",
            description = "CPU threads; 0 uses every core. Default: ${DEFAULT-VALUE}.")
    int threads;

    @Option(names = "--tf32", description = "Let cuBLAS use TF32 tensor cores (faster, about 10 mantissa bits).")
    boolean tf32;

    @Option(names = "--cuda-sync", description = "Synchronise after every GPU launch (debugging asynchronous faults).")
    boolean cudaSync;

    @Option(names = "--validate",
            description = "Check every operation against the reference CPU device as it runs (slow; for debugging a device).")
    boolean validate;

    /** Refuses a device name no provider has (e.g. gpu), listing the valid ones: a usage error. */
    static void checkName(String name) {
        List<String> kinds = new ArrayList<>(List.of("auto"));
        Devices.providers().forEach(p -> kinds.add(p.kind()));
        if (!kinds.contains(name)) {
            String guess = name.toLowerCase(java.util.Locale.ROOT).matches("gpu.*|nvidia.*|cuda.*") && kinds.contains("cuda")
                    ? "did you mean cuda? " : "";
            throw new UsageException("unknown --device '" + name + "'", guess + "choose one of " + String.join(", ", kinds));
        }
    }

    /** The GPU to open: 0, or a rank's local rank under mpirun. */
    int gpuIndex;

    /** Opens the device and says on {@code err} which one it took and why. */
    Devices.Selection open(PrintWriter err) {
        if (threads < 0) {
            throw new UsageException("--threads must be 0 (every core) or positive, got " + threads);
        }
        checkName(device);
        Devices.Selection s = Devices.open(device, new DeviceOptions(threads, tf32, cudaSync, gpuIndex));
        if (validate) {
            s = new Devices.Selection(new ValidatingDevice(s.device()), s.why());
        }
        err.println("device: " + s.device().description() + " (" + s.why() + ")");
        err.flush();
        return s;
    }
}
