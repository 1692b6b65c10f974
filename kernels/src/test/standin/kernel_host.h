// kernel_host.h: compiles Kiln's CUDA kernels (kernels/src/main/cuda/*.cu) as host C++ for the CPU stand-in of
// the CUDA driver (cuda_standin.cpp). Forced into each .cu with `g++ -include kernel_host.h -x c++`, so the
// stand-in runs the very source the GPU runs.
//
// What it provides: __global__/__device__/__shared__ and __launch_bounds__, threadIdx/blockIdx/blockDim/gridDim,
// __syncthreads, __syncthreads_count, __shfl_xor_sync and float atomicAdd, and the CUDA math names the kernels
// use (expf, logf, powf, sqrtf, fmaxf, NAN, INFINITY from <cmath>).
//
// How a block runs: every GPU thread of a block is its own execution context (a ucontext with its own stack), and
// the barriers are real: a thread that reaches __syncthreads stops there until every thread of its block has
// reached it; a warp shuffle waits for the 32 lanes of its warp. Blocks of a grid run one after another, so
// __shared__ (a function-local static here) belongs to the running block. A barrier that some threads never reach
// (they returned first) is reported as a launch failure, as a GPU would hang or misbehave.
#pragma once
#include <math.h>
#include <stdint.h>

struct uint3 {
    unsigned int x, y, z;
};
using dim3 = uint3;

extern "C" {
// Defined by the stand-in driver (cuda_standin.cpp), which sets them for the thread that runs.
const uint3* kiln_standin_thread_idx(void);
const uint3* kiln_standin_block_idx(void);
const uint3* kiln_standin_block_dim(void);
const uint3* kiln_standin_grid_dim(void);
void kiln_standin_syncthreads(void);
int kiln_standin_syncthreads_count(int predicate);
float kiln_standin_shfl_xor_f32(unsigned mask, float value, int lane_mask);
float kiln_standin_atomic_add_f32(float* address, float value);
}

#ifndef KILN_STANDIN_DRIVER // the driver itself only needs the declarations above
#define threadIdx (*kiln_standin_thread_idx())
#define blockIdx (*kiln_standin_block_idx())
#define blockDim (*kiln_standin_block_dim())
#define gridDim (*kiln_standin_grid_dim())

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)

static inline void __syncthreads() { kiln_standin_syncthreads(); }
static inline int __syncthreads_count(int predicate) { return kiln_standin_syncthreads_count(predicate); }
static inline float __shfl_xor_sync(unsigned mask, float value, int lane_mask) {
    return kiln_standin_shfl_xor_f32(mask, value, lane_mask);
}
static inline float atomicAdd(float* address, float value) { return kiln_standin_atomic_add_f32(address, value); }

#endif
