package dev.kiln.cli;

import dev.kiln.engine.device.Device;
import dev.kiln.engine.device.DeviceCheck;
import dev.kiln.engine.device.DeviceOptions;
import dev.kiln.engine.device.DeviceProvider;
import dev.kiln.engine.device.Devices;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code kiln devices}: what Kiln can run on here, and for each kind whether it is usable and why. With
 * {@code --check}, runs every operation of each usable device (except the reference itself) against the reference
 * device on seeded random inputs and prints the worst error per operation; exits 1 if any is outside its tolerance.
 */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List the devices Kiln can use on this machine.")
final class DevicesCommand implements Callable<Integer> {
    @Mixin
    Kiln.Verbosity verbosity;

    @Spec
    CommandSpec spec;

    @Option(names = "--check", description = "Run every operation of each usable device against the reference device "
            + "and report the worst error per operation; exit 1 if any is outside its tolerance.")
    boolean check;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the random inputs of --check (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        boolean allPassed = true;
        int checked = 0;
        for (DeviceProvider p : Devices.providers()) {
            DeviceProvider.Availability a = p.availability();
            out.println(p.kind() + (a.usable() ? "" : " (not usable)") + ": " + a.reason());
            for (String line : p.describe()) {
                out.println("  " + line);
            }
            if (check && a.usable() && !p.kind().equals("reference")) {
                allPassed &= check(p, out);
                checked++;
            }
        }
        if (check) {
            out.println(checked == 0 ? "check: no device besides the reference to check"
                    : allPassed ? "check: every operation within tolerance" : "check: FAILED (see the lines marked FAIL)");
        }
        out.flush();
        return allPassed ? 0 : 1;
    }

    /** Runs DeviceCheck on one device; prints the worst result of each operation, and every failure. */
    private boolean check(DeviceProvider p, PrintWriter out) {
        try (Device d = p.open(DeviceOptions.DEFAULTS)) {
            out.println("  check " + d.name() + " against the reference (seed " + seed + "): " + d.description());
            List<DeviceCheck.Result> results = DeviceCheck.run(d, seed);
            Map<String, DeviceCheck.Result> worst = new LinkedHashMap<>();
            for (DeviceCheck.Result r : results) {
                worst.merge(r.op(), r, (x, y) -> x.passed() != y.passed() ? (x.passed() ? y : x) : y.maxAbsError() > x.maxAbsError() ? y : x);
            }
            worst.values().forEach(r -> out.println("    " + r));
            results.stream().filter(r -> !r.passed() && !worst.containsValue(r)).forEach(r -> out.println("    " + r));
            return DeviceCheck.allPassed(results);
        }
    }
}
