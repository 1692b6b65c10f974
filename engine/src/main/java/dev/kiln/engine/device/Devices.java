package dev.kiln.engine.device;

import dev.kiln.data.KilnException;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;

/** Finds devices by name: {@code auto}, or a provider's {@link DeviceProvider#kind()}. */
public final class Devices {
    private Devices() {
    }

    /** A device that was opened, and one line on why it was the one chosen. */
    public record Selection(Device device, String why) {
    }

    /** Every provider on the class path, most preferred first. */
    public static List<DeviceProvider> providers() {
        List<DeviceProvider> all = new ArrayList<>();
        ServiceLoader.load(DeviceProvider.class).forEach(all::add);
        all.sort(Comparator.comparingInt(DeviceProvider::autoPreference).reversed());
        return all;
    }

    /**
     * Opens the device named {@code request}: {@code auto} takes the most preferred usable one and says why;
     * a named kind that is not usable here is an error, never a quiet fallback.
     */
    public static Selection open(String request, DeviceOptions options) {
        List<DeviceProvider> all = providers();
        if ("auto".equals(request)) {
            List<String> skipped = new ArrayList<>();
            for (DeviceProvider p : all) {
                DeviceProvider.Availability a = p.availability();
                if (a.usable()) {
                    String why = "auto" + (skipped.isEmpty() ? ": the most capable device here" : "; " + String.join("; ", skipped));
                    return new Selection(p.open(options), why);
                }
                skipped.add(p.kind() + " not usable: " + withoutHint(a.reason()));
            }
            throw new KilnException("no usable device: " + String.join("; ", skipped));
        }
        for (DeviceProvider p : all) {
            if (p.kind().equals(request)) {
                DeviceProvider.Availability a = p.availability();
                if (!a.usable()) {
                    throw new KilnException("--device " + request + " is not usable here: " + withoutHint(a.reason()),
                            a.reason().contains("hint: ") ? a.reason().substring(a.reason().indexOf("hint: ") + 6).replaceAll("\\)$", "")
                                    : "run `kiln devices` to see what this machine has, or use --device cpu");
                }
                return new Selection(p.open(options), "asked for with --device " + request);
            }
        }
        List<String> kinds = new ArrayList<>();
        all.forEach(p -> kinds.add(p.kind()));
        String hint = (request.startsWith("cuda") || request.startsWith("gpu")) && !kinds.contains("cuda")
                ? "this build has no CUDA backend (the kernels module is missing from the class path)"
                : "choose one of auto, " + String.join(", ", kinds);
        throw new KilnException("unknown device '" + request + "'", hint);
    }

    /** A reason without its trailing "(hint: ...)", for lists of reasons and for messages that carry the hint apart. */
    private static String withoutHint(String reason) {
        int at = reason.indexOf(" (hint: ");
        return at < 0 ? reason : reason.substring(0, at);
    }
}
