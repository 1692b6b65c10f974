package dev.kiln.engine.device;

import dev.kiln.data.KilnException;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Finds devices by name: {@code auto}, or a provider's {@link DeviceProvider#kind()}.
 *
 * <p>Never silently slow: when {@code auto} settles for the plain-Java reference device because the JVM lacks the
 * Vector API module, it says so once through {@link System.Logger} (logger {@code dev.kiln}, level WARNING), naming
 * the flag to add; a provider on the class path that is not usable here (CUDA without a driver, say) is reported
 * once at INFO with its reason. The engine never prints; the CLI shows these lines its own way.
 */
public final class Devices {
    /** The logger Kiln's engine reports through. */
    public static final String LOGGER = "dev.kiln";
    /** The JVM flag that gives the vectorised CPU device. */
    public static final String VECTOR_FLAG = "--add-modules jdk.incubator.vector";
    private static final Set<String> said = ConcurrentHashMap.newKeySet();

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
        return open(request, options, providers(), System.getLogger(LOGGER));
    }

    /** As {@link #open(String, DeviceOptions)} over the given providers, reporting to {@code log}. */
    static Selection open(String request, DeviceOptions options, List<DeviceProvider> all, System.Logger log) {
        if ("auto".equals(request)) {
            List<String> skipped = new ArrayList<>();
            for (DeviceProvider p : all) {
                DeviceProvider.Availability a = p.availability();
                if (a.usable()) {
                    String why = "auto" + (skipped.isEmpty() ? ": the most capable device here" : "; " + String.join("; ", skipped));
                    Device device = p.open(options);
                    if (p.kind().equals("reference") && skipped.stream().anyMatch(s -> s.startsWith("cpu not usable"))) {
                        sayOnce(log, System.Logger.Level.WARNING, "Kiln is running on " + device.description()
                                + ", about 2.5x slower than its vectorised CPU device, because the JVM was started without"
                                + " the Vector API module; add " + VECTOR_FLAG + " to the java command line");
                    }
                    return new Selection(device, why);
                }
                String reason = p.kind() + " not usable: " + withoutHint(a.reason());
                skipped.add(reason);
                if (!p.kind().equals("cpu")) {
                    sayOnce(log, System.Logger.Level.INFO, "Kiln: " + reason);
                }
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

    /** Logs {@code message} the first time this JVM sees it. */
    private static void sayOnce(System.Logger log, System.Logger.Level level, String message) {
        if (said.add(message)) {
            log.log(level, message);
        }
    }

    /** Forgets what was said, for tests. */
    static void forgetSaid() {
        said.clear();
    }

    /** A reason without its trailing "(hint: ...)", for lists of reasons and for messages that carry the hint apart. */
    private static String withoutHint(String reason) {
        int at = reason.indexOf(" (hint: ");
        return at < 0 ? reason : reason.substring(0, at);
    }
}
