// cublas_standin.cpp: a CPU stand-in for cuBLAS (libcublas.so.13), for tests; it is not cuBLAS and not fast.
// It implements the entry points Kiln binds (kernels/src/main/java/dev/kiln/cuda/Cublas.java) on top of the driver
// stand-in (cuda_standin.cpp): work goes onto the handle's stream and runs at the stream's next synchronisation,
// or into the graph being captured there.
//
// cuBLAS's headers are not part of the CUDA toolkit image here, so the prototypes are declared below, each as in
// cublas_api.h of cuBLAS 12 and 13 (the _v2 entry points; cublasStatus_t, cublasOperation_t, cublasMath_t and
// cublasPointerMode_t are C enums, passed as int) and library_types.h (libraryPropertyType).
//
// SGEMM is a plain column-major loop, C = alpha op(A) op(B) + beta C, summing over k in order in float, that
// checks what cuBLAS documents: transposes are N, T or C; m, n, k >= 0; lda >= max(1, rows of A as stored), and
// the same for B and C; alpha and beta are read in the handle's pointer mode (host: at the call, so a captured
// graph keeps the values it had; device: when the GEMM runs). It also checks what a GPU would fault on: every
// element of A, B and C lies in one live device allocation. With beta = 0, C is not read (NaN in C does not leak).
#include <cuda.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

extern "C" {
// From the driver stand-in.
int kiln_standin_enqueue(CUstream stream, const char* what, int (*run)(void*), void* arg, void (*release)(void*));
int kiln_standin_device_range(const void* p, size_t bytes);
int kiln_standin_has_context(void);
void kiln_standin_count(const char* name);
}

namespace {

enum Status {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_ARCH_MISMATCH = 8,
    CUBLAS_STATUS_MAPPING_ERROR = 11,
    CUBLAS_STATUS_EXECUTION_FAILED = 13,
    CUBLAS_STATUS_INTERNAL_ERROR = 14,
    CUBLAS_STATUS_NOT_SUPPORTED = 15,
    CUBLAS_STATUS_LICENSE_ERROR = 16,
};

struct Handle {
    CUstream stream = nullptr;
    void* workspace = nullptr;
    size_t workspaceBytes = 0;
    int mathMode = 0;
    int pointerMode = 0; // CUBLAS_POINTER_MODE_HOST
};
std::set<Handle*> handles;

Handle* handleOf(void* h) {
    Handle* p = static_cast<Handle*>(h);
    return handles.count(p) ? p : nullptr;
}

void note(const char* call, const char* what) {
    std::fprintf(stderr, "cublas stand-in: %s: %s\n", call, what);
}

struct Gemm {
    int opA, opB, m, n, k, lda, ldb, ldc;
    float alpha, beta;
    const float *alphaDevice, *betaDevice; // pointer mode device: read when the GEMM runs
    const float *a, *b;
    float* c;
};

int runGemm(void* arg) {
    const Gemm& g = *static_cast<const Gemm*>(arg);
    float alpha = g.alphaDevice != nullptr ? *g.alphaDevice : g.alpha;
    float beta = g.betaDevice != nullptr ? *g.betaDevice : g.beta;
    for (int j = 0; j < g.n; j++) {
        for (int i = 0; i < g.m; i++) {
            float sum = 0.0f;
            for (int p = 0; p < g.k; p++) {
                float a = g.opA == 0 ? g.a[i + (long) p * g.lda] : g.a[p + (long) i * g.lda];
                float b = g.opB == 0 ? g.b[p + (long) j * g.ldb] : g.b[j + (long) p * g.ldb];
                sum += a * b;
            }
            float* c = g.c + i + (long) j * g.ldc;
            *c = beta == 0.0f ? alpha * sum : alpha * sum + beta * *c;
        }
    }
    kiln_standin_count("gemms run");
    return 0;
}

// Bytes from the first to one past the last element of a column-major (rows, cols) matrix with leading dimension ld.
size_t extent(int rows, int cols, int ld) {
    return rows == 0 || cols == 0 ? 0 : ((size_t) (cols - 1) * ld + rows) * sizeof(float);
}

} // namespace

extern "C" {

int cublasCreate_v2(void** handle) {
    if (handle == nullptr) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (!kiln_standin_has_context()) {
        note("cublasCreate_v2", "no current CUDA context");
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    Handle* h = new Handle();
    handles.insert(h);
    *handle = h;
    return CUBLAS_STATUS_SUCCESS;
}

int cublasDestroy_v2(void* handle) {
    Handle* h = handleOf(handle);
    if (h == nullptr) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    handles.erase(h);
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}

int cublasSetStream_v2(void* handle, CUstream stream) {
    Handle* h = handleOf(handle);
    if (h == nullptr) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    h->stream = stream;
    h->workspace = nullptr; // as cuBLAS: setting the stream resets the workspace to the default pool
    h->workspaceBytes = 0;
    return CUBLAS_STATUS_SUCCESS;
}

int cublasSetWorkspace_v2(void* handle, void* workspace, size_t bytes) {
    Handle* h = handleOf(handle);
    if (h == nullptr) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    if (bytes > 0 && (workspace == nullptr || reinterpret_cast<uintptr_t>(workspace) % 256 != 0
                      || !kiln_standin_device_range(workspace, bytes))) {
        note("cublasSetWorkspace_v2", "the workspace is not a 256-byte aligned range of one live device allocation");
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    h->workspace = workspace;
    h->workspaceBytes = bytes;
    return CUBLAS_STATUS_SUCCESS;
}

int cublasSetMathMode(void* handle, int mode) {
    Handle* h = handleOf(handle);
    if (h == nullptr) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    int base = mode & ~16; // CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION may be or-ed in
    if (base != 0 && base != 1 && base != 2 && base != 3) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    h->mathMode = mode; // TF32 or not, the stand-in computes in FP32
    return CUBLAS_STATUS_SUCCESS;
}

int cublasSetPointerMode_v2(void* handle, int mode) {
    Handle* h = handleOf(handle);
    if (h == nullptr) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    if (mode != 0 && mode != 1) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    h->pointerMode = mode;
    return CUBLAS_STATUS_SUCCESS;
}

int cublasSgemm_v2(void* handle, int transa, int transb, int m, int n, int k, const float* alpha, const float* A,
                   int lda, const float* B, int ldb, const float* beta, float* C, int ldc) {
    const char* call = "cublasSgemm_v2";
    Handle* h = handleOf(handle);
    if (h == nullptr) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    if (transa < 0 || transa > 2 || transb < 0 || transb > 2 || m < 0 || n < 0 || k < 0 || alpha == nullptr
        || beta == nullptr) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    int opA = transa == 0 ? 0 : 1, opB = transb == 0 ? 0 : 1; // real matrices: C (conjugate transpose) is T
    int aRows = opA == 0 ? m : k, aCols = opA == 0 ? k : m;
    int bRows = opB == 0 ? k : n, bCols = opB == 0 ? n : k;
    if (lda < (aRows > 1 ? aRows : 1) || ldb < (bRows > 1 ? bRows : 1) || ldc < (m > 1 ? m : 1)) {
        note(call, "a leading dimension is smaller than the rows of its matrix");
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (m == 0 || n == 0) {
        return CUBLAS_STATUS_SUCCESS;
    }
    if (!kiln_standin_device_range(A, extent(aRows, aCols, lda)) && k > 0) {
        note(call, "A is not inside one live device allocation");
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (!kiln_standin_device_range(B, extent(bRows, bCols, ldb)) && k > 0) {
        note(call, "B is not inside one live device allocation");
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (!kiln_standin_device_range(C, extent(m, n, ldc))) {
        note(call, "C is not inside one live device allocation");
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    Gemm* g = new Gemm{opA, opB, m, n, k, lda, ldb, ldc, 0.0f, 0.0f, nullptr, nullptr, A, B, C};
    if (h->pointerMode == 0) {
        g->alpha = *alpha;
        g->beta = *beta;
    } else {
        if (!kiln_standin_device_range(alpha, sizeof(float)) || !kiln_standin_device_range(beta, sizeof(float))) {
            delete g;
            note(call, "pointer mode device, but alpha or beta is not in device memory");
            return CUBLAS_STATUS_INVALID_VALUE;
        }
        g->alphaDevice = alpha;
        g->betaDevice = beta;
    }
    int rc = kiln_standin_enqueue(h->stream, "cublasSgemm_v2", runGemm, g, [](void* p) { delete static_cast<Gemm*>(p); });
    if (rc != 0) {
        note(call, "the stream refused the work (see the driver stand-in's message)");
        return rc == CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED ? CUBLAS_STATUS_NOT_SUPPORTED : CUBLAS_STATUS_EXECUTION_FAILED;
    }
    kiln_standin_count("gemms");
    return CUBLAS_STATUS_SUCCESS;
}

const char* cublasGetStatusName(int status) {
    switch (status) {
        case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
        case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
        case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
        case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
        case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
        case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
        case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
        case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
        case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
        case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
        default: return "CUBLAS_STATUS_UNKNOWN";
    }
}

// The version of the stand-in's interface: cuBLAS 13.0.0 (what it declares to be), as 130000.
int cublasGetVersion_v2(void* handle, int* version) {
    if (handleOf(handle) == nullptr) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    if (version == nullptr) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    *version = 130000;
    return CUBLAS_STATUS_SUCCESS;
}

int cublasGetProperty(int type, int* value) {
    if (value == nullptr || type < 0 || type > 2) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    *value = type == 0 ? 13 : 0; // MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL
    return CUBLAS_STATUS_SUCCESS;
}

} // extern "C"
