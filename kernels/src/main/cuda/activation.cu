// activation.cu: a dense layer's bias and ReLU, forward and backward, and the bias gradient.
//
// Layouts: row-major F32; z, dh, h, x are (B, O) with O contiguous; bias, dbias, out are (1, O).
//
// bias_activation_forward  z[r][j] = z[r][j] + bias[j], then max(z, 0) when relu != 0 exactly as Java's Math.max:
//                          a NaN stays NaN and -0 becomes +0 (hence v <= 0, not v < 0; fmaxf would turn NaN into 0).
//                          Geometry: 1-D grid-stride over B*O, block 256; the column is tracked, not divided for.
//                          Reference: ReferenceDevice.biasActivation (exact: one IEEE add).
// relu_backward            dh[r][j] = h[r][j] > 0 ? dh[r][j] : 0, then dbias[j] = sum over r of dh[r][j].
//                          Reference: ReferenceDevice.reluBackward.
// column_sums              out[j] = sum over r of x[r][j]. Reference: ReferenceDevice.columnSums.
//
// Column sums geometry: block (32, 32), grid ceil(O / 32); thread (tx, ty) owns column blockIdx.x * 32 + tx and
// rows ty, ty + 32, ...; the 32 partial sums of a column are added in a fixed order, so results are
// deterministic (no atomics). Consecutive tx read consecutive columns of one row: coalesced.

#define COLS_PER_BLOCK 32
#define ROW_THREADS 32

extern "C" __global__ void bias_activation_forward(float* z, const float* bias, long long n, int cols, int relu) {
    long long start = blockIdx.x * (long long) blockDim.x + threadIdx.x, stride = (long long) gridDim.x * blockDim.x;
    // The column of element i is i % cols; it advances by stride % cols a step, so a thread does one 64-bit
    // modulo in all instead of one per element.
    int col = (int) (start % cols), step = (int) (stride % cols);
    for (long long i = start; i < n; i += stride) {
        float v = z[i] + bias[col];
        z[i] = relu && v <= 0.0f ? 0.0f : v;
        col += step;
        col -= col >= cols ? cols : 0;
    }
}

template <bool MASK>
__device__ void column_sums_impl(float* x, const float* h, float* out, int rows, int cols) {
    __shared__ float partial[ROW_THREADS][COLS_PER_BLOCK + 1];
    int col = blockIdx.x * COLS_PER_BLOCK + threadIdx.x;
    float sum = 0.0f;
    if (col < cols) {
        for (int r = threadIdx.y; r < rows; r += ROW_THREADS) {
            long long i = (long long) r * cols + col;
            float d = x[i];
            if (MASK) {
                d = h[i] > 0.0f ? d : 0.0f; // NaN in h masks, as the reference's !(h > 0)
                x[i] = d;
            }
            sum += d;
        }
    }
    partial[threadIdx.y][threadIdx.x] = sum;
    __syncthreads();
    if (threadIdx.y == 0 && col < cols) {
        float total = 0.0f;
        for (int k = 0; k < ROW_THREADS; k++) {
            total += partial[k][threadIdx.x];
        }
        out[col] = total;
    }
}

// __launch_bounds__: a 1024-thread block needs at most 64 registers a thread; the bound makes ptxas guarantee it
// (else a later compiler could exceed it and every launch would fail with CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES).
extern "C" __global__ void __launch_bounds__(COLS_PER_BLOCK * ROW_THREADS) relu_backward(float* dh, const float* h, float* dbias, int rows, int cols) {
    column_sums_impl<true>(dh, h, dbias, rows, cols);
}

extern "C" __global__ void __launch_bounds__(COLS_PER_BLOCK * ROW_THREADS) column_sums(float* x, float* out, int rows, int cols) {
    column_sums_impl<false>(x, nullptr, out, rows, cols);
}
