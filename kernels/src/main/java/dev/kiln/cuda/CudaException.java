package dev.kiln.cuda;

import dev.kiln.data.KilnException;

/**
 * A CUDA driver or cuBLAS call that returned an error: names the call, the numeric code and CUDA's own name for
 * it ({@code cuGetErrorName} / {@code cublasGetStatusName}), e.g.
 * {@code cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory}.
 */
public final class CudaException extends KilnException {
    private final String call;
    private final int code;
    private final String errorName;

    public CudaException(String call, int code, String errorName, String description, String hint) {
        super(call + " failed: " + errorName + " (" + code + ")"
                + (description == null || description.isEmpty() ? "" : ": " + description), hint);
        this.call = call;
        this.code = code;
        this.errorName = errorName;
    }

    /** The native function that failed, as exported: {@code cuMemAlloc_v2}, {@code cublasSgemm_v2}. */
    public String call() {
        return call;
    }

    /** The status it returned (a {@code CUresult} or {@code cublasStatus_t}). */
    public int code() {
        return code;
    }

    /** CUDA's name for the code, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}. */
    public String errorName() {
        return errorName;
    }
}
