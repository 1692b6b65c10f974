// loss.cu: softmax cross-entropy (loss and gradient in one pass), correct-prediction counting and argmax.
//
// Layouts: logits and dlogits (B, C) row-major F32; labels (B, 1) I32; stats (1, 2) F32: [loss sum, correct count];
// predictions (B, 1) I32.
//
// softmax_cross_entropy_backward  per row: m = max_j z[j]; s = sum_j exp(z[j] - m);
//     dlogits[j] = (exp(z[j] - m) / s - (j == label)) * invRows;  stats[0] += sum over rows of log(s) - (z[label] - m).
//     A label outside 0..C-1 adds NaN to the loss (the kernel cannot throw; NaN makes it visible).
//     Geometry: one warp per row, 8 rows per block of 256; lanes stride the classes; the block's row losses are
//     added in a fixed order and then added to stats[0] with one atomicAdd per block.
//     Reference: ReferenceDevice.softmaxCrossEntropy (differs by the ulps of expf/logf and the summation order).
// count_correct   stats[1] += number of rows whose first largest logit is at the label. One thread per row,
//     block 256, __syncthreads_count then one atomicAdd per block. Reference: ReferenceDevice.countCorrect.
// argmax_forward  predictions[r] = index of the first largest logit of row r. One thread per row, block 256.
//     Reference: ReferenceDevice.argmax.

#define WARPS_PER_BLOCK 8

extern "C" __global__ void softmax_cross_entropy_backward(const float* logits, const int* labels, float* dlogits,
                                                          float* stats, int rows, int classes, float invRows) {
    __shared__ float rowLoss[WARPS_PER_BLOCK];
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int r = blockIdx.x * WARPS_PER_BLOCK + warp;
    float loss = 0.0f;
    if (r < rows) {
        const float* z = logits + (long long) r * classes;
        float* dz = dlogits + (long long) r * classes;
        int label = labels[r];
        float m = -INFINITY;
        for (int j = lane; j < classes; j += 32) {
            m = fmaxf(m, z[j]);
        }
        for (int o = 16; o > 0; o /= 2) {
            m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
        }
        float s = 0.0f;
        for (int j = lane; j < classes; j += 32) {
            s += expf(z[j] - m);
        }
        for (int o = 16; o > 0; o /= 2) {
            s += __shfl_xor_sync(0xffffffffu, s, o);
        }
        for (int j = lane; j < classes; j += 32) {
            float p = expf(z[j] - m) / s;
            dz[j] = (p - (j == label ? 1.0f : 0.0f)) * invRows;
        }
        bool valid = label >= 0 && label < classes;
        loss = valid ? logf(s) - (z[label] - m) : NAN;
    }
    if (lane == 0) {
        rowLoss[warp] = loss;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        float total = 0.0f;
        for (int w = 0; w < WARPS_PER_BLOCK; w++) {
            total += rowLoss[w];
        }
        atomicAdd(stats, total);
    }
}

__device__ int argmax_row(const float* z, int classes) {
    int best = 0;
    for (int j = 1; j < classes; j++) {
        if (z[j] > z[best]) {
            best = j;
        }
    }
    return best;
}

extern "C" __global__ void count_correct(const float* logits, const int* labels, float* stats, int rows, int classes) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    int correct = r < rows && argmax_row(logits + (long long) r * classes, classes) == labels[r];
    int blockCorrect = __syncthreads_count(correct);
    if (threadIdx.x == 0 && blockCorrect > 0) {
        atomicAdd(stats + 1, (float) blockCorrect);
    }
}

extern "C" __global__ void argmax_forward(const float* logits, int* predictions, int rows, int classes) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r < rows) {
        predictions[r] = argmax_row(logits + (long long) r * classes, classes);
    }
}
