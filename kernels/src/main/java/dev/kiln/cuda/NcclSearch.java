package dev.kiln.cuda;

import dev.kiln.data.KilnException;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Finds and loads {@code libnccl.so.2}, as {@link CublasSearch} finds cuBLAS. In order: {@code KILN_NCCL} (a file,
 * or a folder holding one; when set, nothing else is tried), the dynamic loader by soname (LD_LIBRARY_PATH, the
 * system's folders: NVIDIA's libnccl2 package installs there), {@code /usr/local/cuda/lib64}, and the folders pip's
 * NVIDIA wheels use ({@code nvidia/nccl/lib} of nvidia-nccl-cu12, which PyTorch installs, and any other
 * {@code nvidia/NAME/lib}) in the Python package folders {@link CublasSearch#sitePackages} lists.
 *
 * <p>When nothing loads, the error names every place looked. The places are injectable for tests.
 */
final class NcclSearch {
    static final String SONAME = "libnccl.so.2";

    record Found(String location, SymbolLookup symbols) {
    }

    private final String kilnNccl;
    private final boolean useLoader;
    private final List<Path> folders;

    NcclSearch(String kilnNccl, boolean useLoader, List<Path> folders) {
        this.kilnNccl = kilnNccl == null || kilnNccl.isBlank() ? null : kilnNccl;
        this.useLoader = useLoader;
        this.folders = List.copyOf(folders);
    }

    static NcclSearch fromEnvironment() {
        Map<String, String> env = System.getenv();
        List<Path> folders = new ArrayList<>();
        folders.add(Path.of("/usr/local/cuda/lib64"));
        String cudaHome = env.get("CUDA_HOME");
        if (cudaHome != null && !cudaHome.isBlank()) {
            folders.add(Path.of(cudaHome, "lib64"));
        }
        // pip's wheels: nvidia/nccl/lib (nvidia-nccl-cu12) and every other nvidia/NAME/lib, in the Python package
        // folders cuBLAS is looked for in
        folders.addAll(CublasSearch.wheelFolders(CublasSearch.sitePackages(env, System.getProperty("user.home"),
                CublasSearch.pythonSitePackages())));
        return new NcclSearch(env.get("KILN_NCCL"), true, folders.stream().distinct().toList());
    }

    Found find() {
        List<String> looked = new ArrayList<>();
        if (kilnNccl != null) {
            Path p = Path.of(kilnNccl);
            Path file = Files.isDirectory(p) ? p.resolve(SONAME) : p;
            Found found = tryFile(file, looked);
            if (found != null) {
                return found;
            }
            throw new KilnException("KILN_NCCL=" + kilnNccl + " does not name a loadable NCCL: " + String.join("; ", looked),
                    "point KILN_NCCL at " + SONAME + ", or unset it");
        }
        if (useLoader) {
            try {
                return new Found(SONAME + " (dynamic loader)", SymbolLookup.libraryLookup(SONAME, Arena.global()));
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
        throw new KilnException("NCCL not found: looked in " + String.join(", ", looked),
                "install it (pip install nvidia-nccl-cu12, or NVIDIA's libnccl2 package), or set KILN_NCCL to " + SONAME);
    }

    private static Found tryFile(Path file, List<String> looked) {
        if (!Files.isRegularFile(file)) {
            looked.add(file + " (no such file)");
            return null;
        }
        try {
            return new Found(file.toAbsolutePath().toString(), SymbolLookup.libraryLookup(file.toAbsolutePath(), Arena.global()));
        } catch (IllegalArgumentException e) {
            looked.add(file + " (did not load: " + e.getMessage() + ")");
            return null;
        }
    }
}
