package dev.kiln.cuda;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Builds stand-ins for {@code libcuda.so.1} and {@code libcublas.so.N} with the C compiler, so the loading, binding
 * and status-checking code runs in CI without NVIDIA's libraries. Each stand-in exports every symbol the binding
 * needs; the few that a probe calls answer like a machine with one GPU, the rest return an error code. Tests that
 * use it are skipped, saying why, where there is no {@code cc}.
 */
final class FakeLibraries {
    private FakeLibraries() {
    }

    /** A fake driver; with {@code noDevice}, cuInit returns CUDA_ERROR_NO_DEVICE. */
    static Path driver(Path dir, boolean noDevice) throws Exception {
        String known = """
                #include <string.h>
                #include <stddef.h>
                int cuInit(unsigned f) { return %s; }
                int cuDriverGetVersion(int* v) { *v = 13000; return 0; }
                int cuDeviceGetCount(int* c) { *c = 1; return 0; }
                int cuDeviceGet(int* d, int o) { *d = o; return 0; }
                int cuDeviceGetName(char* n, int len, int d) { strncpy(n, "Kiln Fake GPU", len); return 0; }
                int cuDeviceGetAttribute(int* v, int a, int d) { *v = a == 75 ? 9 : a == 76 ? 0 : a == 16 ? 132 : 0; return 0; }
                int cuDeviceTotalMem_v2(size_t* b, int d) { *b = (size_t) 141 << 30; return 0; }
                int cuGetErrorName(int e, const char** s) { *s = e == 100 ? "CUDA_ERROR_NO_DEVICE" : "CUDA_ERROR_UNKNOWN"; return 0; }
                int cuGetErrorString(int e, const char** s) { *s = e == 100 ? "no CUDA-capable device is detected" : "unknown error"; return 0; }
                int cuModuleLoadDataEx(void** m, const void* image, unsigned n, int* opts, void** vals) {
                    char* log = NULL; size_t cap = 0;
                    for (unsigned i = 0; i < n; i++) {
                        if (opts[i] == 5) log = (char*) vals[i];
                        if (opts[i] == 6) cap = (size_t) vals[i];
                    }
                    if (log != NULL && cap > 0) strncpy(log, "ptxas fatal : fake JIT failure\\nin line 7\\n", cap);
                    return 218; /* CUDA_ERROR_INVALID_PTX */
                }
                """.formatted(noDevice ? "100" : "0");
        return build(dir, "libcuda.so.1", null, known, CudaDriver.SYMBOLS, "999", "");
    }

    /**
     * A fake cuBLAS of a major version and, unless {@code withoutLt}, the libcublasLt.so.N it needs beside it. A
     * process keeps a loaded Lt, which then satisfies every later fake of that major, so tests use distinct majors.
     */
    static Path cublas(Path dir, int major, boolean withoutLt) throws Exception {
        String ltName = "libcublasLt.so." + major;
        Path lt = build(dir, ltName, ltName, "int cublasLtCreate(void** h) { return 0; }", List.of(), "0", "");
        String known = """
                #include <stddef.h>
                int cublasLtCreate(void** h);
                int cublasGetProperty(int type, int* value) { *value = type == 0 ? %d : type == 1 ? 1 : 0; return 0; }
                const char* cublasGetStatusName(int s) { return s == 1 ? "CUBLAS_STATUS_NOT_INITIALIZED" : "CUBLAS_STATUS_INTERNAL_ERROR"; }
                int cublasCreate_v2(void** h) { return cublasLtCreate(h) + 1; }
                """.formatted(major);
        Path lib = build(dir, "libcublas.so." + major, null, known, Cublas.SYMBOLS, "14", lt.toString());
        if (withoutLt) {
            Files.delete(lt);
        }
        return lib;
    }

    /** Compiles a shared library exporting {@code known} plus a stub returning {@code status} for each other symbol. */
    private static Path build(Path dir, String name, String soname, String known, List<String> symbols, String status,
                              String linkWith) throws Exception {
        Path cc = PtxTest.onPath("cc");
        assumeTrue(cc != null, "no C compiler (cc) on PATH to build a stand-in " + name);
        Files.createDirectories(dir);
        Set<String> defined = new java.util.HashSet<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\w+)\\(").matcher(known);
        while (m.find()) {
            defined.add(m.group(1));
        }
        StringBuilder c = new StringBuilder(known).append('\n');
        for (String s : symbols) {
            if (!defined.contains(s)) {
                c.append("int ").append(s).append("() { return ").append(status).append("; }\n");
            }
        }
        Path source = dir.resolve(name + ".c");
        Files.writeString(source, c.toString(), StandardCharsets.UTF_8);
        Path out = dir.resolve(name);
        List<String> cmd = new java.util.ArrayList<>(List.of(cc.toString(), "-shared", "-fPIC", "-o", out.toString(), source.toString()));
        if (soname != null) {
            cmd.add("-Wl,-soname," + soname);
        }
        if (!linkWith.isEmpty()) {
            cmd.add(linkWith); // records the dependency by its soname, without a search path
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("building " + name + " failed: " + log);
        }
        return out;
    }
}
