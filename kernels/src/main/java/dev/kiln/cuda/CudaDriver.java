package dev.kiln.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The CUDA driver API ({@code libcuda.so.1}) through java.lang.foreign: one Java method per entry point Kiln uses,
 * each checking its status through {@link #check}, which throws a {@link CudaException} naming the call. Entry
 * points are bound by their exported names, which are the {@code _v2} names that {@code cuda.h} maps the plain
 * names to ({@code cuMemAlloc} is {@code cuMemAlloc_v2}).
 *
 * <p>Handles ({@code CUcontext}, {@code CUstream}, {@code CUmodule}...) are {@link MemorySegment} addresses; device
 * pointers ({@code CUdeviceptr}) are {@code long}. This class owns no resources; it is deliberately a thin,
 * literal binding: the wrappers that own memory and streams are {@link CudaDevice}'s.
 */
final class CudaDriver {
    static final String LIBRARY = "libcuda.so.1";

    static final int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    static final int CU_STREAM_NON_BLOCKING = 1;
    static final int CU_STREAM_CAPTURE_MODE_GLOBAL = 0, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;
    static final int CUDA_ERROR_NO_DEVICE = 100;
    static final int CU_JIT_ERROR_LOG_BUFFER = 5, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6; // CUjit_option
    private static final int JIT_LOG_BYTES = 8192;

    private final MethodHandle cuInit, cuDriverGetVersion, cuDeviceGetCount, cuDeviceGet, cuDeviceGetName,
            cuDeviceGetAttribute, cuDeviceTotalMem, cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRelease,
            cuCtxSetCurrent, cuMemAlloc, cuMemFree, cuMemAllocHost, cuMemFreeHost, cuMemcpyHtoDAsync,
            cuMemcpyDtoHAsync, cuMemcpyDtoDAsync, cuMemsetD32Async, cuStreamCreate, cuStreamDestroy,
            cuStreamSynchronize, cuEventCreate, cuEventRecord, cuEventSynchronize, cuEventElapsedTime,
            cuEventDestroy, cuModuleLoadDataEx, cuModuleUnload, cuModuleGetFunction, cuLaunchKernel,
            cuStreamBeginCapture, cuStreamEndCapture, cuGraphInstantiateWithFlags, cuGraphLaunch,
            cuGraphExecDestroy, cuGraphDestroy, cuGetErrorName, cuGetErrorString;

    /** Binds every entry point of an already loaded driver library. */
    CudaDriver(SymbolLookup lib) {
        FunctionDescriptor i = Native.returnsInt(JAVA_INT);
        cuInit = bind(lib, "cuInit", i);
        cuDriverGetVersion = bind(lib, "cuDriverGetVersion", Native.returnsInt(ADDRESS));
        cuDeviceGetCount = bind(lib, "cuDeviceGetCount", Native.returnsInt(ADDRESS));
        cuDeviceGet = bind(lib, "cuDeviceGet", Native.returnsInt(ADDRESS, JAVA_INT));
        cuDeviceGetName = bind(lib, "cuDeviceGetName", Native.returnsInt(ADDRESS, JAVA_INT, JAVA_INT));
        cuDeviceGetAttribute = bind(lib, "cuDeviceGetAttribute", Native.returnsInt(ADDRESS, JAVA_INT, JAVA_INT));
        cuDeviceTotalMem = bind(lib, "cuDeviceTotalMem_v2", Native.returnsInt(ADDRESS, JAVA_INT));
        cuDevicePrimaryCtxRetain = bind(lib, "cuDevicePrimaryCtxRetain", Native.returnsInt(ADDRESS, JAVA_INT));
        cuDevicePrimaryCtxRelease = bind(lib, "cuDevicePrimaryCtxRelease_v2", i);
        cuCtxSetCurrent = bind(lib, "cuCtxSetCurrent", Native.returnsInt(ADDRESS));
        cuMemAlloc = bind(lib, "cuMemAlloc_v2", Native.returnsInt(ADDRESS, JAVA_LONG));
        cuMemFree = bind(lib, "cuMemFree_v2", Native.returnsInt(JAVA_LONG));
        cuMemAllocHost = bind(lib, "cuMemAllocHost_v2", Native.returnsInt(ADDRESS, JAVA_LONG));
        cuMemFreeHost = bind(lib, "cuMemFreeHost", Native.returnsInt(ADDRESS));
        cuMemcpyHtoDAsync = bind(lib, "cuMemcpyHtoDAsync_v2", Native.returnsInt(JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS));
        cuMemcpyDtoHAsync = bind(lib, "cuMemcpyDtoHAsync_v2", Native.returnsInt(ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS));
        cuMemcpyDtoDAsync = bind(lib, "cuMemcpyDtoDAsync_v2", Native.returnsInt(JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS));
        cuMemsetD32Async = bind(lib, "cuMemsetD32Async", Native.returnsInt(JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS));
        cuStreamCreate = bind(lib, "cuStreamCreate", Native.returnsInt(ADDRESS, JAVA_INT));
        cuStreamDestroy = bind(lib, "cuStreamDestroy_v2", Native.returnsInt(ADDRESS));
        cuStreamSynchronize = bind(lib, "cuStreamSynchronize", Native.returnsInt(ADDRESS));
        cuEventCreate = bind(lib, "cuEventCreate", Native.returnsInt(ADDRESS, JAVA_INT));
        cuEventRecord = bind(lib, "cuEventRecord", Native.returnsInt(ADDRESS, ADDRESS));
        cuEventSynchronize = bind(lib, "cuEventSynchronize", Native.returnsInt(ADDRESS));
        // CUDA 12.8 added cuEventElapsedTime_v2 (cuda.h maps the plain name to it); older drivers have only the plain one.
        cuEventElapsedTime = Native.firstFunction(lib, Native.returnsInt(ADDRESS, ADDRESS, ADDRESS),
                "cuEventElapsedTime_v2", "cuEventElapsedTime").orElseThrow(() -> missing("cuEventElapsedTime"));
        cuEventDestroy = bind(lib, "cuEventDestroy_v2", Native.returnsInt(ADDRESS));
        cuModuleLoadDataEx = bind(lib, "cuModuleLoadDataEx", Native.returnsInt(ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        cuModuleUnload = bind(lib, "cuModuleUnload", Native.returnsInt(ADDRESS));
        cuModuleGetFunction = bind(lib, "cuModuleGetFunction", Native.returnsInt(ADDRESS, ADDRESS, ADDRESS));
        cuLaunchKernel = bind(lib, "cuLaunchKernel", Native.returnsInt(ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        cuStreamBeginCapture = bind(lib, "cuStreamBeginCapture_v2", Native.returnsInt(ADDRESS, JAVA_INT));
        cuStreamEndCapture = bind(lib, "cuStreamEndCapture", Native.returnsInt(ADDRESS, ADDRESS));
        cuGraphInstantiateWithFlags = bind(lib, "cuGraphInstantiateWithFlags", Native.returnsInt(ADDRESS, ADDRESS, JAVA_LONG));
        cuGraphLaunch = bind(lib, "cuGraphLaunch", Native.returnsInt(ADDRESS, ADDRESS));
        cuGraphExecDestroy = bind(lib, "cuGraphExecDestroy", Native.returnsInt(ADDRESS));
        cuGraphDestroy = bind(lib, "cuGraphDestroy", Native.returnsInt(ADDRESS));
        cuGetErrorName = bind(lib, "cuGetErrorName", Native.returnsInt(JAVA_INT, ADDRESS));
        cuGetErrorString = bind(lib, "cuGetErrorString", Native.returnsInt(JAVA_INT, ADDRESS));
    }

    /** Every exported name this binding needs (for tests that check a library exports them all). */
    static final java.util.List<String> SYMBOLS = java.util.List.of("cuInit", "cuDriverGetVersion", "cuDeviceGetCount",
            "cuDeviceGet", "cuDeviceGetName", "cuDeviceGetAttribute", "cuDeviceTotalMem_v2", "cuDevicePrimaryCtxRetain",
            "cuDevicePrimaryCtxRelease_v2", "cuCtxSetCurrent", "cuMemAlloc_v2", "cuMemFree_v2", "cuMemAllocHost_v2",
            "cuMemFreeHost", "cuMemcpyHtoDAsync_v2", "cuMemcpyDtoHAsync_v2", "cuMemcpyDtoDAsync_v2", "cuMemsetD32Async",
            "cuStreamCreate", "cuStreamDestroy_v2", "cuStreamSynchronize", "cuEventCreate", "cuEventRecord",
            "cuEventSynchronize", "cuEventElapsedTime", "cuEventDestroy_v2", "cuModuleLoadDataEx", "cuModuleUnload",
            "cuModuleGetFunction", "cuLaunchKernel", "cuStreamBeginCapture_v2", "cuStreamEndCapture",
            "cuGraphInstantiateWithFlags", "cuGraphLaunch", "cuGraphExecDestroy", "cuGraphDestroy", "cuGetErrorName",
            "cuGetErrorString");

    private static MethodHandle bind(SymbolLookup lib, String name, FunctionDescriptor signature) {
        return Native.function(lib, LIBRARY, name, signature);
    }

    private static dev.kiln.data.KilnException missing(String name) {
        return new dev.kiln.data.KilnException(LIBRARY + " has no function " + name,
                "the NVIDIA driver is too old for Kiln (CUDA 12.0 or newer is needed)");
    }

    // ---- the one status check ----

    /** Throws a {@link CudaException} naming {@code call} unless {@code status} is CUDA_SUCCESS. */
    void check(String call, int status) {
        if (status != 0) {
            throw new CudaException(call, status, errorName(status), errorString(status), hint(status));
        }
    }

    /** CUDA's name for a status, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}; never throws. */
    String errorName(int status) {
        return describeStatus(cuGetErrorName, status, "CUDA_ERROR_UNKNOWN_CODE");
    }

    private String errorString(int status) {
        return describeStatus(cuGetErrorString, status, "");
    }

    private static String describeStatus(MethodHandle h, int status, String fallback) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            int rc = (int) h.invokeExact(status, out);
            return rc == 0 ? Native.cString(out.get(ADDRESS, 0), fallback) : fallback;
        } catch (Throwable t) {
            return fallback;
        }
    }

    static String hint(int status) {
        return switch (status) {
            case 2 -> "free GPU memory (nvidia-smi lists the processes holding it) or use a smaller --batch-size";
            case 35 -> "update the NVIDIA driver: Kiln's kernels need a CUDA 12.0 or newer driver";
            case 222 -> "the driver is older than the PTX in Kiln's kernels (PTX ISA 8.0, CUDA 12.0): update the NVIDIA "
                    + "driver, or use --device cpu";
            case 221 -> "this GPU has no machine code in Kiln's kernels (they carry sm_80 and sm_90 code), so the driver "
                    + "must compile their PTX, and its JIT compiler (libnvidia-ptxjitcompiler.so) is missing: install "
                    + "the full NVIDIA driver, or use --device cpu";
            case 209, 218 -> "the driver could not compile Kiln's kernels for this GPU: report it with the JIT log and `kiln devices`";
            case 100 -> "no GPU is visible to this process: check nvidia-smi and CUDA_VISIBLE_DEVICES, or use --device cpu";
            case 700, 716, 719 -> "a kernel faulted; rerun with --cuda-sync to find the launch, and report it";
            default -> "rerun with --verbose and report it";
        };
    }

    // ---- the calls ----
    // Each wraps invokeExact; Throwable from invokeExact can only be an error of the binding itself.

    private static RuntimeException binding(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    void init() {
        try {
            check("cuInit", (int) cuInit.invokeExact(0));
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    /** E.g. 13000 for CUDA 13.0. */
    int driverVersion() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("cuDriverGetVersion", (int) cuDriverGetVersion.invokeExact(out));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    int deviceCount() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("cuDeviceGetCount", (int) cuDeviceGetCount.invokeExact(out));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    /** The {@code CUdevice} handle of GPU {@code ordinal}. */
    int device(int ordinal) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("cuDeviceGet", (int) cuDeviceGet.invokeExact(out, ordinal));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    String deviceName(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(256);
            check("cuDeviceGetName", (int) cuDeviceGetName.invokeExact(out, 256, device));
            return out.getString(0);
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    int attribute(int device, int attribute) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("cuDeviceGetAttribute", (int) cuDeviceGetAttribute.invokeExact(out, attribute, device));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    long totalMemory(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuDeviceTotalMem_v2", (int) cuDeviceTotalMem.invokeExact(out, device));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    MemorySegment primaryContextRetain(int device) {
        return handleOut("cuDevicePrimaryCtxRetain", out -> (int) cuDevicePrimaryCtxRetain.invokeExact(out, device));
    }

    void primaryContextRelease(int device) {
        try {
            check("cuDevicePrimaryCtxRelease_v2", (int) cuDevicePrimaryCtxRelease.invokeExact(device));
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    void setCurrent(MemorySegment context) {
        try {
            check("cuCtxSetCurrent", (int) cuCtxSetCurrent.invokeExact(context));
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    long memAlloc(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuMemAlloc_v2", (int) cuMemAlloc.invokeExact(out, bytes));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    void memFree(long pointer) {
        try {
            check("cuMemFree_v2", (int) cuMemFree.invokeExact(pointer));
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    /** Page-locked host memory, so copies can run asynchronously and at full speed. */
    MemorySegment memAllocHost(long bytes) {
        return handleOut("cuMemAllocHost_v2", out -> (int) cuMemAllocHost.invokeExact(out, bytes)).reinterpret(bytes);
    }

    void memFreeHost(MemorySegment host) {
        try {
            check("cuMemFreeHost", (int) cuMemFreeHost.invokeExact(host));
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    void memcpyHtoDAsync(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        try {
            check("cuMemcpyHtoDAsync_v2", (int) cuMemcpyHtoDAsync.invokeExact(dst, src, bytes, stream));
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    void memcpyDtoHAsync(MemorySegment dst, long src, long bytes, MemorySegment stream) {
        try {
            check("cuMemcpyDtoHAsync_v2", (int) cuMemcpyDtoHAsync.invokeExact(dst, src, bytes, stream));
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    void memcpyDtoDAsync(long dst, long src, long bytes, MemorySegment stream) {
        try {
            check("cuMemcpyDtoDAsync_v2", (int) cuMemcpyDtoDAsync.invokeExact(dst, src, bytes, stream));
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    /** Sets {@code count} 32-bit words at {@code dst} to {@code bits}. */
    void memsetD32Async(long dst, int bits, long count, MemorySegment stream) {
        try {
            check("cuMemsetD32Async", (int) cuMemsetD32Async.invokeExact(dst, bits, count, stream));
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    MemorySegment streamCreate(int flags) {
        return handleOut("cuStreamCreate", out -> (int) cuStreamCreate.invokeExact(out, flags));
    }

    void streamDestroy(MemorySegment stream) {
        try {
            check("cuStreamDestroy_v2", (int) cuStreamDestroy.invokeExact(stream));
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    void streamSynchronize(MemorySegment stream) {
        try {
            check("cuStreamSynchronize", (int) cuStreamSynchronize.invokeExact(stream));
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    MemorySegment eventCreate() {
        return handleOut("cuEventCreate", out -> (int) cuEventCreate.invokeExact(out, 0));
    }

    void eventRecord(MemorySegment event, MemorySegment stream) {
        try {
            check("cuEventRecord", (int) cuEventRecord.invokeExact(event, stream));
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    void eventSynchronize(MemorySegment event) {
        try {
            check("cuEventSynchronize", (int) cuEventSynchronize.invokeExact(event));
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    float eventElapsedMillis(MemorySegment start, MemorySegment end) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_FLOAT);
            check("cuEventElapsedTime", (int) cuEventElapsedTime.invokeExact(out, start, end));
            return out.get(JAVA_FLOAT, 0);
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    void eventDestroy(MemorySegment event) {
        try {
            check("cuEventDestroy_v2", (int) cuEventDestroy.invokeExact(event));
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    /**
     * Loads a module from a fatbin (or NUL-terminated PTX text); the driver picks the machine code for this GPU, or
     * JIT-compiles the PTX. A failure carries the JIT's own error log (ptxas's message), which the status alone
     * (CUDA_ERROR_INVALID_PTX) would not say.
     */
    MemorySegment moduleLoadData(String what, MemorySegment image) {
        int rc;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment log = a.allocate(JIT_LOG_BYTES); // zero-filled, so always NUL-terminated
            MemorySegment options = a.allocateFrom(JAVA_INT, CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES);
            MemorySegment values = a.allocate(ADDRESS, 2); // void*[]: the buffer, then its size as a pointer-sized integer
            values.setAtIndex(ADDRESS, 0, log);
            values.set(JAVA_LONG, ADDRESS.byteSize(), JIT_LOG_BYTES - 1);
            MemorySegment out = a.allocate(ADDRESS);
            try {
                rc = (int) cuModuleLoadDataEx.invokeExact(out, image, 2, options, values);
            } catch (Throwable t) {
                throw binding(t);
            }
            if (rc == 0) {
                return out.get(ADDRESS, 0);
            }
            String jit = log.getString(0).strip().replaceAll("\\s*\\R\\s*", " | ");
            String description = errorString(rc) + (jit.isEmpty() ? "" : "; JIT log: " + jit);
            throw new CudaException("cuModuleLoadDataEx(" + what + ")", rc, errorName(rc), description, hint(rc));
        }
    }

    void moduleUnload(MemorySegment module) {
        try {
            check("cuModuleUnload", (int) cuModuleUnload.invokeExact(module));
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    MemorySegment moduleGetFunction(MemorySegment module, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cName = a.allocateFrom(name);
            return handleOut("cuModuleGetFunction(" + name + ")", out -> (int) cuModuleGetFunction.invokeExact(out, module, cName));
        }
    }

    void launchKernel(String name, MemorySegment function, int gridX, int gridY, int blockX, int blockY,
                      int sharedBytes, MemorySegment stream, MemorySegment params) {
        int rc;
        try {
            rc = (int) cuLaunchKernel.invokeExact(function, gridX, gridY, 1, blockX, blockY, 1, sharedBytes, stream,
                    params, MemorySegment.NULL);
        } catch (Throwable t) {
            throw binding(t);
        }
        check("cuLaunchKernel(" + name + ")", rc);
    }

    void streamBeginCapture(MemorySegment stream, int mode) {
        try {
            check("cuStreamBeginCapture_v2", (int) cuStreamBeginCapture.invokeExact(stream, mode));
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    /** Ends a capture; returns the status rather than throwing, so a failed body's own error can be reported. */
    int streamEndCapture(MemorySegment stream, MemorySegment graphOut) {
        try {
            return (int) cuStreamEndCapture.invokeExact(stream, graphOut);
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    MemorySegment graphInstantiate(MemorySegment graph) {
        return handleOut("cuGraphInstantiateWithFlags", out -> (int) cuGraphInstantiateWithFlags.invokeExact(out, graph, 0L));
    }

    void graphLaunch(MemorySegment exec, MemorySegment stream) {
        try {
            check("cuGraphLaunch", (int) cuGraphLaunch.invokeExact(exec, stream));
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    void graphExecDestroy(MemorySegment exec) {
        try {
            check("cuGraphExecDestroy", (int) cuGraphExecDestroy.invokeExact(exec));
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    void graphDestroy(MemorySegment graph) {
        try {
            check("cuGraphDestroy", (int) cuGraphDestroy.invokeExact(graph));
        } catch (Throwable t) {
            throw binding(t);
        }
    }

    /** A call that writes one handle through its first argument. */
    @FunctionalInterface
    private interface HandleCall {
        int call(MemorySegment out) throws Throwable;
    }

    private MemorySegment handleOut(String name, HandleCall c) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check(name, c.call(out));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw binding(t);
        }
    }
}
