#!/usr/bin/env bash
# build.sh OUT: builds the CPU stand-in of the CUDA driver and cuBLAS into OUT (see cuda_standin.cpp):
#   OUT/libcuda.so.1             the driver API Kiln binds, against the real CUDA 13 cuda.h
#   OUT/libcublas.so.13          the cuBLAS entry points Kiln binds
#   OUT/libkiln_kernels_host.so  Kiln's kernels (kernels/src/main/cuda/*.cu) compiled for the host
#   OUT/libnccl.so.2             one-rank NCCL on the stand-in's streams
# Needs g++ (C++20), libffi and the CUDA headers (CUDA_HOME, default /usr/local/cuda). Rebuilds only what changed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:?usage: build.sh OUT}"
cuda="${CUDA_HOME:-/usr/local/cuda}"
mkdir -p "$out"
[[ -f $cuda/include/cuda.h ]] || { echo "standin: no $cuda/include/cuda.h (set CUDA_HOME)" >&2; exit 1; }
command -v g++ >/dev/null || { echo "standin: g++ is missing (apt-get install g++)" >&2; exit 1; }
ffi_cflags="$(pkg-config --cflags libffi 2>/dev/null || true)"
ffi_libs="$(pkg-config --libs libffi 2>/dev/null || echo -lffi)"
# No _FORTIFY_SOURCE: its longjmp check rejects the jumps between a block's thread stacks.
flags=(-std=c++20 -O2 -g -fPIC -shared -U_FORTIFY_SOURCE -ffp-contract=off -Wall -Wno-unused-function)
kernels=("$here"/../../main/cuda/*.cu)
newer() { # newer TARGET SOURCES...: true when TARGET is missing or older than a source
  local t="$1"; shift
  [[ ! -f $t ]] && return 0
  for s in "$@"; do [[ $s -nt $t ]] && return 0; done
  return 1
}
if newer "$out/libcuda.so.1" "$here/cuda_standin.cpp" "$here/kernel_host.h" "$0"; then
  g++ "${flags[@]}" -I"$cuda/include" $ffi_cflags -Wl,-soname,libcuda.so.1 -o "$out/libcuda.so.1" \
    "$here/cuda_standin.cpp" $ffi_libs -ldl
fi
if newer "$out/libcublas.so.13" "$here/cublas_standin.cpp" "$out/libcuda.so.1"; then
  g++ "${flags[@]}" -I"$cuda/include" -Wl,-soname,libcublas.so.13 -Wl,-rpath,'$ORIGIN' -o "$out/libcublas.so.13" \
    "$here/cublas_standin.cpp" "$out/libcuda.so.1"
fi
if newer "$out/libkiln_kernels_host.so" "${kernels[@]}" "$here/kernel_host.h" "$out/libcuda.so.1"; then
  # Each .cu as host C++, with kernel_host.h forced in first; the same -ffp-contract=off as nvcc's -fmad=false.
  g++ "${flags[@]}" -Wno-unknown-pragmas -include "$here/kernel_host.h" -x c++ "${kernels[@]}" -x none \
    -Wl,-rpath,'$ORIGIN' -o "$out/libkiln_kernels_host.so" "$out/libcuda.so.1"
fi
if newer "$out/libnccl.so.2" "$here/nccl_standin.cpp" "$here/../resources/nccl/nccl_prototypes.h" "$out/libcuda.so.1"; then
  # One-rank NCCL on the driver stand-in's streams (nccl_standin.cpp), against nccl.h's declarations.
  g++ "${flags[@]}" -I"$cuda/include" -I"$here/../resources/nccl" -Wl,-soname,libnccl.so.2 -Wl,-rpath,'$ORIGIN' \
    -o "$out/libnccl.so.2" "$here/nccl_standin.cpp" "$out/libcuda.so.1"
fi
