// gather.cu: batch assembly from the dataset resident on the GPU, and the device-side counter.
//
// gather_batch  with s = cursor[0]: x[r][p] = images[order[s + r]][p] / 255 and y[r] = labels[order[s + r]].
//     images (N, P) U8, labels (N, 1) I32, order (N, 1) I32, cursor (1, 1) I32, x (B, P) F32, y (B, 1) I32.
//     The cursor is read on the device so that a replayed graph gathers the next batch without the host.
//     A row whose position or sample lies outside 0..N-1 gets NaN pixels and label -1 (a kernel cannot throw;
//     the NaN makes the fault visible in the loss). Geometry: one block of 256 threads per batch row (grid B),
//     threads stride the P pixels. Reference: ReferenceDevice.gatherBatch (exact: one IEEE division).
// add_int       counter[0] += delta. Geometry: one thread. Reference: ReferenceDevice.addInt.

extern "C" __global__ void gather_batch(const unsigned char* images, const int* labels, const int* order,
                                        const int* cursor, float* x, int* y, int n, int pixels) {
    int r = blockIdx.x;
    long long position = (long long) cursor[0] + r;
    int sample = position >= 0 && position < n ? order[position] : -1;
    bool valid = sample >= 0 && sample < n;
    float* dst = x + (long long) r * pixels;
    const unsigned char* src = images + (long long) sample * pixels;
    for (int p = threadIdx.x; p < pixels; p += blockDim.x) {
        dst[p] = valid ? (float) src[p] / 255.0f : NAN;
    }
    if (threadIdx.x == 0) {
        y[r] = valid ? labels[sample] : -1;
    }
}

extern "C" __global__ void add_int(int* counter, int delta) {
    counter[0] += delta;
}
