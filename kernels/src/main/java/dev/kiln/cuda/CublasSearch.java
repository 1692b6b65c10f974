package dev.kiln.cuda;

import dev.kiln.data.KilnException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds and loads {@code libcublas.so.N}. In order: {@code KILN_CUBLAS} (a file, or a folder holding one; when set,
 * nothing else is tried), the dynamic loader by soname, {@code /usr/local/cuda/lib64}, and the folders where
 * NVIDIA's pip wheels (which PyTorch installs) put it in every Python package folder found
 * ({@link #sitePackages}, {@link #wheelFolders}). Majors are tried newest first, but never newer than the driver supports. cuBLAS needs
 * {@code libcublasLt.so.N} from the same folder, so that is loaded first by absolute path.
 *
 * <p>When nothing loads, the error names every place looked. The places are injectable for tests.
 */
final class CublasSearch {

    /** A loaded cuBLAS: where it came from (a path or a soname) and its symbols. */
    record Found(String location, SymbolLookup symbols) {
    }

    private final String kilnCublas;      // KILN_CUBLAS, or null
    private final List<Integer> majors;   // cuBLAS majors to try, newest first
    private final boolean useLoader;      // try dlopen by soname
    private final List<Path> folders;     // folders that may hold libcublas.so.N

    CublasSearch(String kilnCublas, List<Integer> majors, boolean useLoader, List<Path> folders) {
        this.kilnCublas = kilnCublas == null || kilnCublas.isBlank() ? null : kilnCublas;
        this.majors = List.copyOf(majors);
        this.useLoader = useLoader;
        this.folders = List.copyOf(folders);
    }

    /** The search for this process: its environment, and majors the driver ({@code driverVersion}, e.g. 13000) can run. */
    static CublasSearch fromEnvironment(int driverVersion) {
        Map<String, String> env = System.getenv();
        List<Path> folders = new ArrayList<>();
        folders.add(Path.of("/usr/local/cuda/lib64"));
        folders.addAll(wheelFolders(sitePackages(env, System.getProperty("user.home"), pythonSitePackages())));
        return new CublasSearch(env.get("KILN_CUBLAS"), majorsFor(driverVersion), true, folders);
    }

    /**
     * Python package folders that may hold NVIDIA's pip wheels, most specific first: the active virtual or conda
     * environment, the folders the machine's {@code python3} reports, then the usual places of virtual environments
     * ({@code ./.venv}, {@code ~/.venv}, {@code /opt/NAME/.venv}, {@code /opt/conda}) and of system and user Pythons.
     */
    static List<Path> sitePackages(Map<String, String> env, String home, List<Path> pythonReported) {
        Set<Path> out = new LinkedHashSet<>();
        for (String var : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) {
            String prefix = env.get(var);
            if (prefix != null && !prefix.isBlank()) {
                out.addAll(pythonLibs(Path.of(prefix, "lib")));
            }
        }
        out.addAll(pythonReported);
        List<Path> prefixes = new ArrayList<>();
        prefixes.add(Path.of(".venv"));
        if (home != null) {
            prefixes.add(Path.of(home, ".venv"));
        }
        prefixes.addAll(children(Path.of("/opt"), "*").stream().map(p -> p.resolve(".venv")).toList());
        prefixes.add(Path.of("/opt/conda"));
        for (Path prefix : prefixes) {
            out.addAll(pythonLibs(prefix.resolve("lib")));
        }
        for (Path lib : List.of(Path.of("/usr/lib"), Path.of("/usr/local/lib"))) {
            out.addAll(pythonLibs(lib));
        }
        if (home != null) {
            out.addAll(pythonLibs(Path.of(home, ".local", "lib")));
        }
        return List.copyOf(out);
    }

    /** LIB/python3.N/site-packages and dist-packages. */
    private static List<Path> pythonLibs(Path lib) {
        List<Path> out = new ArrayList<>();
        for (Path python : children(lib, "python3*")) {
            out.add(python.resolve("site-packages"));
            out.add(python.resolve("dist-packages"));
        }
        return out;
    }

    /**
     * Where NVIDIA's wheels put cuBLAS in each package folder: {@code nvidia/cublas/lib} (the CUDA 12 wheels) and
     * every other {@code nvidia/NAME/lib} ({@code nvidia/cu13/lib} of the CUDA 13 wheels that PyTorch cu130 installs).
     */
    static List<Path> wheelFolders(List<Path> sitePackages) {
        List<Path> out = new ArrayList<>();
        for (Path sp : sitePackages) {
            Path nvidia = sp.resolve("nvidia");
            out.add(nvidia.resolve("cublas/lib"));
            for (Path d : children(nvidia, "*")) {
                if (!d.getFileName().toString().equals("cublas")) {
                    out.add(d.resolve("lib"));
                }
            }
        }
        return out;
    }

    /** What {@code python3} on the PATH reports as its package folders; none when there is no python3 (5 s at most). */
    static List<Path> pythonSitePackages() {
        try {
            Process p = new ProcessBuilder("python3", "-c",
                    "import site\nfor p in site.getsitepackages() + [site.getusersitepackages()]: print(p)")
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (!p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                return List.of();
            }
            return out.lines().filter(l -> !l.isBlank()).map(Path::of).toList();
        } catch (IOException e) {
            return List.of();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return List.of();
        }
    }

    /** cuBLAS 13 needs a CUDA 13 driver; 12 runs on any CUDA 12 or 13 driver. */
    static List<Integer> majorsFor(int driverVersion) {
        return driverVersion >= 13000 ? List.of(13, 12) : List.of(12);
    }

    /** Loads the first cuBLAS found, or throws a {@link KilnException} naming every place looked. */
    Found find() {
        List<String> looked = new ArrayList<>();
        if (kilnCublas != null) {
            Path p = Path.of(kilnCublas);
            List<Path> files = Files.isDirectory(p) ? filesIn(p) : List.of(p);
            for (Path f : files) {
                Found found = tryFile(f, looked);
                if (found != null) {
                    return found;
                }
            }
            if (files.isEmpty()) {
                looked.add(p + " (no libcublas.so." + majors.getFirst() + " there)");
            }
            throw notFound("KILN_CUBLAS=" + kilnCublas + " does not name a loadable cuBLAS: " + String.join("; ", looked),
                    "point KILN_CUBLAS at libcublas.so.N (with libcublasLt.so.N beside it), or unset it");
        }
        if (useLoader) {
            for (int major : majors) {
                String soname = "libcublas.so." + major;
                try {
                    return new Found(soname + " (dynamic loader)", SymbolLookup.libraryLookup(soname, Arena.global()));
                } catch (IllegalArgumentException e) {
                    looked.add("the dynamic loader (" + soname + ")");
                }
            }
        }
        for (Path folder : folders) {
            List<Path> files = filesIn(folder);
            if (files.isEmpty()) {
                looked.add(folder.toString());
            }
            for (Path f : files) {
                Found found = tryFile(f, looked);
                if (found != null) {
                    return found;
                }
            }
        }
        throw notFound("cuBLAS not found: looked in " + summarize(looked),
                "install cuBLAS (pip install nvidia-cublas, or the CUDA toolkit), or set KILN_CUBLAS to libcublas.so.N");
    }

    /** The places looked, the first dozen by name (a machine with many Pythons has dozens). */
    private static String summarize(List<String> looked) {
        int shown = Math.min(12, looked.size());
        return String.join(", ", looked.subList(0, shown)) + (looked.size() > shown ? " and " + (looked.size() - shown) + " more" : "");
    }

    private static KilnException notFound(String message, String hint) {
        return new KilnException(message, hint);
    }

    /** The libcublas.so.N files in {@code folder}, newest allowed major first. */
    private List<Path> filesIn(Path folder) {
        List<Path> files = new ArrayList<>();
        for (int major : majors) {
            Path f = folder.resolve("libcublas.so." + major);
            if (Files.isRegularFile(f)) {
                files.add(f);
            }
        }
        return files;
    }

    /** Loads libcublasLt beside {@code file} (when there), then {@code file}; null and a note in {@code looked} on failure. */
    private static Found tryFile(Path file, List<String> looked) {
        if (!Files.isRegularFile(file)) {
            looked.add(file + " (no such file)");
            return null;
        }
        String name = file.getFileName().toString();
        Path lt = file.resolveSibling(name.replace("libcublas.so", "libcublasLt.so"));
        try {
            if (Files.isRegularFile(lt)) {
                SymbolLookup.libraryLookup(lt.toAbsolutePath(), Arena.global());
            }
            return new Found(file.toAbsolutePath().toString(), SymbolLookup.libraryLookup(file.toAbsolutePath(), Arena.global()));
        } catch (IllegalArgumentException e) {
            looked.add(file + " (did not load: " + e.getMessage() + ")");
            return null;
        }
    }

    private static List<Path> children(Path dir, String glob) {
        Set<Path> out = new LinkedHashSet<>();
        if (Files.isDirectory(dir)) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, glob)) {
                ds.forEach(out::add);
            } catch (IOException | SecurityException e) {
                return List.of(); // an unreadable folder is a place without cuBLAS
            }
        }
        return out.stream().sorted().toList();
    }
}
