#!/usr/bin/env bash
# regen-ptx.sh: compiles every kernels/src/main/cuda/*.cu to the tracked PTX and fatbin in
# kernels/src/main/resources/dev/kiln/cuda/:
# - NAME.ptx: the kernels' PTX, for review and as the fatbin's JIT fallback;
# - NAME.fatbin: machine code for sm_80 (A100; also runs on the other 8.x GPUs) and sm_90 (H100, H200), plus the
#   compute_80 PTX, which the driver JIT-compiles only for a GPU without matching machine code (e.g. Blackwell).
#   Uncompressed (--compress=false), so the tests' CPU stand-in of the driver can read the PTX's parameter lists.
#   cuModuleLoadDataEx loads it as it loads PTX; Kiln loads the fatbin.
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
  tmp="$(mktemp -d)"
  for arch in 80 90; do
    ptxas -arch="sm_$arch" -O3 -o "$tmp/$name.sm_$arch.cubin" "$out/$name.ptx"
  done
  fatbinary --create="$out/$name.fatbin" --compress=false \
    --image3=kind=elf,sm=80,file="$tmp/$name.sm_80.cubin" --image3=kind=elf,sm=90,file="$tmp/$name.sm_90.cubin" \
    --image3=kind=ptx,sm=80,file="$out/$name.ptx"
  rm -rf "$tmp"
  echo "$name: $(grep -c '^\.visible \.entry' "$out/$name.ptx") kernels; fatbin with sm_80 and sm_90 code and compute_80 PTX"
done
