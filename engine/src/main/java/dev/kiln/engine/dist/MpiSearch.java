package dev.kiln.engine.dist;

import dev.kiln.data.KilnException;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Finds and loads Open MPI's {@code libmpi.so.40}, the way the CUDA backend finds cuBLAS. In order:
 * {@code KILN_MPI} (a file, or a folder holding one; when set, nothing else is tried), the dynamic loader by soname,
 * the {@code lib} folder beside the {@code mpirun} on the PATH, {@code $MPI_HOME/lib} and {@code $OPAL_PREFIX/lib},
 * and the usual install folders (Debian and Ubuntu, Fedora and RHEL, {@code /usr/local}, {@code /opt/openmpi}).
 *
 * <p>When nothing loads, the error names every place looked. The places are injectable for tests.
 */
final class MpiSearch {
    static final String SONAME = "libmpi.so.40";

    /** A loaded MPI: where it came from (a path or a soname) and its symbols. */
    record Found(String location, SymbolLookup symbols) {
    }

    private final String kilnMpi;     // KILN_MPI, or null
    private final boolean useLoader;  // try dlopen by soname
    private final List<Path> folders; // folders that may hold libmpi.so.40

    MpiSearch(String kilnMpi, boolean useLoader, List<Path> folders) {
        this.kilnMpi = kilnMpi == null || kilnMpi.isBlank() ? null : kilnMpi;
        this.useLoader = useLoader;
        this.folders = List.copyOf(folders);
    }

    /** The search for this process's environment. */
    static MpiSearch fromEnvironment() {
        Map<String, String> env = System.getenv();
        List<Path> folders = new ArrayList<>();
        String path = env.getOrDefault("PATH", "");
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "mpirun"))) {
                Path real = Path.of(dir, "mpirun");
                try {
                    real = real.toRealPath();
                } catch (Exception e) {
                    // keep the PATH entry as it is
                }
                folders.add(real.getParent().resolveSibling("lib"));
                folders.add(real.getParent().resolveSibling("lib64"));
            }
        }
        for (String var : List.of("MPI_HOME", "OPAL_PREFIX")) {
            String home = env.get(var);
            if (home != null && !home.isBlank()) {
                folders.add(Path.of(home, "lib"));
            }
        }
        for (String dir : List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64/openmpi/lib",
                "/usr/lib/x86_64-linux-gnu/openmpi/lib", "/usr/local/lib", "/opt/openmpi/lib")) {
            folders.add(Path.of(dir));
        }
        return new MpiSearch(env.get("KILN_MPI"), true, folders.stream().distinct().toList());
    }

    /** Loads the first MPI found, or throws a {@link KilnException} naming every place looked. */
    Found find() {
        List<String> looked = new ArrayList<>();
        if (kilnMpi != null) {
            Path p = Path.of(kilnMpi);
            Path file = Files.isDirectory(p) ? p.resolve(SONAME) : p;
            Found found = tryFile(file, looked);
            if (found != null) {
                return found;
            }
            throw new KilnException("KILN_MPI=" + kilnMpi + " does not name a loadable MPI: " + String.join("; ", looked),
                    "point KILN_MPI at Open MPI's " + SONAME + ", or unset it");
        }
        if (useLoader) {
            try {
                return new Found(SONAME + " (dynamic loader)", load(SONAME, null));
            } catch (IllegalArgumentException e) {
                looked.add("the dynamic loader (" + SONAME + ")");
            }
        }
        for (Path folder : folders) {
            Path f = folder.resolve(SONAME);
            if (!Files.isRegularFile(f)) {
                looked.add(folder.toString());
                continue;
            }
            Found found = tryFile(f, looked);
            if (found != null) {
                return found;
            }
        }
        throw new KilnException("a launcher started this process as one of several ranks, but Open MPI's " + SONAME
                + " was not found: looked in " + String.join(", ", looked),
                "install Open MPI (apt-get install libopenmpi-dev, dnf install openmpi), or set KILN_MPI to its " + SONAME);
    }

    private static Found tryFile(Path file, List<String> looked) {
        if (!Files.isRegularFile(file)) {
            looked.add(file + " (no such file)");
            return null;
        }
        try {
            return new Found(file.toAbsolutePath().toString(), load(file.toAbsolutePath().toString(), file));
        } catch (IllegalArgumentException e) {
            looked.add(file + " (did not load: " + e.getMessage() + ")");
            return null;
        }
    }

    /**
     * Loads the library globally first (dlopen with RTLD_GLOBAL), as MPI's plugins expect its symbols to be visible to
     * what it loads later, then looks it up.
     */
    private static SymbolLookup load(String name, Path file) {
        Dl.openGlobal(name);
        return file == null ? SymbolLookup.libraryLookup(name, Arena.global())
                : SymbolLookup.libraryLookup(file, Arena.global());
    }
}
