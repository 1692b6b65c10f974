// optim.cu: optimizer updates over all Q parameters of a model in one launch.
//
// Layouts: params, grads, m, v, velocity are (Q) F32, contiguous; lr (1, 1) F32 and step (1, 1) I32 are read on
// the device, so a replayed graph sees the current learning rate and step without the host writing anything.
// Compiled without FMA contraction (regen-ptx.sh passes -fmad=false), so each line rounds as the Java reference.
//
// sgd_update   torch.optim.SGD (dampening 0, no Nesterov): g = grad + wd * p; v = momentum * v + g (when
//              momentum != 0); p -= lr * (momentum != 0 ? v : g). Reference: ReferenceDevice.sgd.
// adam_update  Adam (Kingma and Ba, 2015, Algorithm 1), and AdamW (Loshchilov and Hutter, 2019) when decoupled:
//              t = step[0]; bias corrections 1 - beta1^t and 1 - beta2^t with powf in every thread (cheaper than a
//              second launch, and t is only known on the device). Reference: ReferenceDevice.adam (differs by
//              powf's ulps).
// Geometry: 1-D grid-stride over Q, block 256.

extern "C" __global__ void sgd_update(float* params, const float* grads, float* velocity, const float* lr,
                                      float momentum, float weightDecay, long long q) {
    float rate = lr[0];
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < q; i += (long long) gridDim.x * blockDim.x) {
        float d = grads[i] + weightDecay * params[i];
        if (momentum != 0.0f) {
            d = momentum * velocity[i] + d;
            velocity[i] = d;
        }
        params[i] -= rate * d;
    }
}

extern "C" __global__ void adam_update(float* params, const float* grads, float* m, float* v, const int* step,
                                       const float* lr, float beta1, float beta2, float eps, float weightDecay,
                                       int decoupled, long long q) {
    float rate = lr[0];
    float t = (float) step[0];
    float bc1 = 1.0f - powf(beta1, t);
    float bc2 = 1.0f - powf(beta2, t);
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < q; i += (long long) gridDim.x * blockDim.x) {
        float w = params[i];
        float g = grads[i];
        if (decoupled) {
            w -= rate * weightDecay * w;
        } else {
            g += weightDecay * w;
        }
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        float mHat = mi / bc1;
        float vHat = vi / bc2;
        params[i] = w - rate * mHat / (sqrtf(vHat) + eps);
    }
}
