#!/bin/sh
# Regenerates the CUDA backend's embedded PTX, backend/cuda/ptx/kernels.ptx,
# and the kernel source hash it was generated from, kernels.sha256, after a
# change to backend/gpu/kernels (TestEmbeddedPTXCurrent fails until then).
# It needs NVRTC (libnvrtc, from the CUDA toolkit; SCBENCH_NVRTC_LIB names
# it when it is not on the loader's path), not a GPU: it runs the test
# TestWritePTX, which compiles gpu.Source(gpu.CUDA) to compute_70 PTX (or
# the oldest architecture above it that the NVRTC knows: compute_75 for
# CUDA 13), and checks that the driver loads it when there is a GPU.
#
#   bench/gpu/genptx.sh               on a machine with Go and NVRTC
#   bench/gpu/genptx.sh cuda.test     on one with NVRTC but no Go: cuda.test is
#                                     the test binary, built elsewhere with
#                                     CGO_ENABLED=0 go test -c -o cuda.test ./backend/cuda
#
# OUT_DIR=dir writes the two files there instead of backend/cuda/ptx.
set -eu
cd "$(dirname "$0")/../.."
out=${OUT_DIR:-backend/cuda/ptx}
case $out in /*) ;; *) out=$PWD/$out ;; esac
if [ $# -ge 1 ]; then
	"$1" -test.run '^TestWritePTX$' -test.v -writeptx="$out"
else
	CGO_ENABLED=0 go test -count=1 -run '^TestWritePTX$' -v ./backend/cuda -args -writeptx="$out"
fi
echo "wrote $out/kernels.ptx and $out/kernels.sha256"
