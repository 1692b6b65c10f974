package dev.kiln.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuBLAS through java.lang.foreign: the handful of entry points Kiln uses, each status checked by {@link #check},
 * which throws a {@link CudaException} naming the call and {@code cublasGetStatusName}'s name for the status. Like
 * {@link CudaDriver} it is a literal binding that owns nothing; {@link CudaDevice} owns the handle.
 */
final class Cublas {
    static final int CUBLAS_OP_N = 0;
    static final int CUBLAS_OP_T = 1;
    static final int CUBLAS_DEFAULT_MATH = 0;
    static final int CUBLAS_TF32_TENSOR_OP_MATH = 3;
    static final int CUBLAS_POINTER_MODE_HOST = 0;
    static final int MAJOR_VERSION = 0, MINOR_VERSION = 1, PATCH_LEVEL = 2; // libraryPropertyType

    /** Every exported name this binding needs. */
    static final List<String> SYMBOLS = List.of("cublasCreate_v2", "cublasDestroy_v2", "cublasSetStream_v2",
            "cublasSetWorkspace_v2", "cublasSetMathMode", "cublasSetPointerMode_v2", "cublasSgemm_v2",
            "cublasGetStatusName", "cublasGetVersion_v2", "cublasGetProperty");

    final String location;
    private final MethodHandle create, destroy, setStream, setWorkspace, setMathMode, setPointerMode, sgemm,
            getStatusName, getVersion, getProperty;

    Cublas(CublasSearch.Found found) {
        this.location = found.location();
        SymbolLookup lib = found.symbols();
        create = bind(lib, "cublasCreate_v2", Native.returnsInt(ADDRESS));
        destroy = bind(lib, "cublasDestroy_v2", Native.returnsInt(ADDRESS));
        setStream = bind(lib, "cublasSetStream_v2", Native.returnsInt(ADDRESS, ADDRESS));
        setWorkspace = bind(lib, "cublasSetWorkspace_v2", Native.returnsInt(ADDRESS, JAVA_LONG, JAVA_LONG));
        setMathMode = bind(lib, "cublasSetMathMode", Native.returnsInt(ADDRESS, JAVA_INT));
        setPointerMode = bind(lib, "cublasSetPointerMode_v2", Native.returnsInt(ADDRESS, JAVA_INT));
        sgemm = bind(lib, "cublasSgemm_v2", Native.returnsInt(ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        getStatusName = bind(lib, "cublasGetStatusName", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        getVersion = bind(lib, "cublasGetVersion_v2", Native.returnsInt(ADDRESS, ADDRESS));
        getProperty = bind(lib, "cublasGetProperty", Native.returnsInt(JAVA_INT, ADDRESS));
    }

    private static MethodHandle bind(SymbolLookup lib, String name, FunctionDescriptor signature) {
        return Native.function(lib, "cuBLAS", name, signature);
    }

    /** Throws a {@link CudaException} naming {@code call} unless {@code status} is CUBLAS_STATUS_SUCCESS. */
    void check(String call, int status) {
        if (status != 0) {
            String hint = switch (status) {
                case 1 -> "cuBLAS could not start: is the GPU visible and the driver new enough for this cuBLAS?";
                case 3 -> "GPU memory is exhausted: free some (nvidia-smi) or use a smaller --batch-size";
                case 8 -> "this GPU is too old for this cuBLAS";
                default -> "rerun with --verbose and report it";
            };
            throw new CudaException(call, status, statusName(status), null, hint);
        }
    }

    String statusName(int status) {
        try {
            return Native.cString((MemorySegment) getStatusName.invokeExact(status), "CUBLAS_STATUS_" + status);
        } catch (Throwable t) {
            return "CUBLAS_STATUS_" + status;
        }
    }

    /** "13.1.0", without needing a handle (so {@code kiln devices} need not create a context). */
    String version() {
        return property(MAJOR_VERSION) + "." + property(MINOR_VERSION) + "." + property(PATCH_LEVEL);
    }

    private int property(int which) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("cublasGetProperty", (int) getProperty.invokeExact(which, out));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The version a handle reports, e.g. 130100 for 13.1.0. */
    int version(MemorySegment handle) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("cublasGetVersion_v2", (int) getVersion.invokeExact(handle, out));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment create() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check("cublasCreate_v2", (int) create.invokeExact(out));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void destroy(MemorySegment handle) {
        try {
            check("cublasDestroy_v2", (int) destroy.invokeExact(handle));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void setStream(MemorySegment handle, MemorySegment stream) {
        try {
            check("cublasSetStream_v2", (int) setStream.invokeExact(handle, stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A caller-owned workspace, so cuBLAS allocates nothing while a graph is being captured. */
    void setWorkspace(MemorySegment handle, long devicePointer, long bytes) {
        try {
            check("cublasSetWorkspace_v2", (int) setWorkspace.invokeExact(handle, devicePointer, bytes));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void setMathMode(MemorySegment handle, int mode) {
        try {
            check("cublasSetMathMode", (int) setMathMode.invokeExact(handle, mode));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void setPointerMode(MemorySegment handle, int mode) {
        try {
            check("cublasSetPointerMode_v2", (int) setPointerMode.invokeExact(handle, mode));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Column-major {@code C = alpha op(A) op(B) + beta C}; alpha and beta are host pointers (pointer mode host). */
    void sgemm(MemorySegment handle, GemmMapping.Call c, MemorySegment alpha, long a, long b, MemorySegment beta, long out) {
        int rc;
        try {
            rc = (int) sgemm.invokeExact(handle, c.opA(), c.opB(), c.m(), c.n(), c.k(), alpha, a, c.lda(), b, c.ldb(),
                    beta, out, c.ldc());
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check("cublasSgemm_v2", rc);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }
}
