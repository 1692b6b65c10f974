package dev.kiln.cli;

import dev.kiln.engine.device.DeviceProvider;
import dev.kiln.engine.device.Devices;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** {@code kiln devices}: what Kiln can run on here, and for each kind whether it is usable and why. */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List the devices Kiln can use on this machine.")
final class DevicesCommand implements Callable<Integer> {
    @Mixin
    Kiln.Verbosity verbosity;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        for (DeviceProvider p : Devices.providers()) {
            DeviceProvider.Availability a = p.availability();
            out.println(p.kind() + (a.usable() ? "" : " (not usable)") + ": " + a.reason());
            for (String line : p.describe()) {
                out.println("  " + line);
            }
        }
        return 0;
    }
}
