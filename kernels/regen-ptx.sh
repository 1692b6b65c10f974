#!/usr/bin/env bash
# regen-ptx.sh: compiles every kernels/src/main/cuda/*.cu to the tracked PTX in
# kernels/src/main/resources/dev/kiln/cuda/, then assembles each result for sm_80 and sm_90 as a check.
#
# - compute_80: the oldest GPU we target (A100); the driver JIT-compiles the PTX for newer ones (H100/H200).
# - -fmad=false: no fused multiply-add contraction, so elementwise kernels round like the Java reference.
# - nvcc 13 writes ".version 9.0" (PTX ISA of CUDA 13). A driver loads PTX only up to its own ISA, so we
#   lower the header to 8.0 (CUDA 12.0 drivers). That is safe only while the kernels use nothing newer than
#   ISA 8.0; ptxas enforces it: it rejects an instruction the stated version does not have.
# - KILN_PTX_OUT=DIR writes the PTX there instead (PtxTest regenerates into a temporary folder and compares, so
#   a .cu edited without rerunning this script fails the build).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/src/main/cuda"
out="${KILN_PTX_OUT:-$here/src/main/resources/dev/kiln/cuda}"
ptx_version="8.0"
mkdir -p "$out"
for cu in "$src"/*.cu; do
  name="$(basename "$cu" .cu)"
  nvcc -ptx -arch=compute_80 -O3 -fmad=false -o "$out/$name.ptx" "$cu"
  sed -i -E "s/^\.version [0-9]+\.[0-9]+$/.version $ptx_version/" "$out/$name.ptx"
  for arch in sm_80 sm_90; do
    ptxas -arch="$arch" -o /dev/null "$out/$name.ptx"
  done
  echo "$name.ptx: $(grep -c '^\.visible \.entry' "$out/$name.ptx") kernels, assembled for sm_80 and sm_90"
done
