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
 * nothing else is tried), the dynamic loader by soname, {@code /usr/local/cuda/lib64}, and the
 * {@code nvidia/cublas/lib} folder of Python installations (pip's {@code nvidia-cublas} wheel, which PyTorch
 * installs). Majors are tried newest first, but never newer than the driver supports. cuBLAS needs
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
        List<Path> pythonLibs = new ArrayList<>();
        pythonLibs.add(Path.of("/usr/lib"));
        pythonLibs.add(Path.of("/usr/local/lib"));
        pythonLibs.add(Path.of("/opt/conda/lib"));
        String home = System.getProperty("user.home");
        if (home != null) {
            pythonLibs.add(Path.of(home, ".local", "lib"));
        }
        String venv = env.get("VIRTUAL_ENV");
        if (venv != null && !venv.isBlank()) {
            pythonLibs.add(Path.of(venv, "lib"));
        }
        for (Path lib : pythonLibs) {
            for (Path python : children(lib, "python3*")) {
                folders.add(python.resolve("site-packages/nvidia/cublas/lib"));
                folders.add(python.resolve("dist-packages/nvidia/cublas/lib"));
            }
        }
        return new CublasSearch(env.get("KILN_CUBLAS"), majorsFor(driverVersion), true, folders);
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
        throw notFound("cuBLAS not found: looked in " + String.join(", ", looked),
                "install cuBLAS (pip install nvidia-cublas, or the CUDA toolkit), or set KILN_CUBLAS to libcublas.so.N");
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
