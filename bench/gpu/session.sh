#!/usr/bin/env bash
# One device call's worth of checks and benchmarks (what a session's call
# to the GPU machine runs), results into OUTDIR, tarred by the caller:
#
#   bench/gpu/session.sh OUTDIR
#
# 1. the embedded PTX regenerated from the kernels (OUTDIR/ptx: copy it to
#    backend/cuda/ptx when the kernels changed);
# 2. the CUDA and OpenCL conformance suites (gpu.test runs the graph
#    steps' suites on the first OpenCL device, NVIDIA's there) and the
#    pipeline's reference tests on both backends;
# 3. the 1.3M-cell store generated, then scbench bench --quality on CUDA
#    and OpenCL (recall, trustworthiness, modularity, and the ARI of the
#    device's Leiden against the host's on the same graph);
# 4. comparisons on CUDA: the kNN without refinement and with one round
#    (--knn-refine 0 and 1; the default is 2).
# About four minutes of device time.
set -uo pipefail
OUT=${1:?usage: bench/gpu/session.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cd "$(dirname "$0")/../.." || exit 1
OUT_DIR=$OUT/ptx bench/gpu/genptx.sh .devrun/cuda.test >"$OUT/genptx.log" 2>&1
TESTS="cuda opencl gpu pipeline" TEST_TIMEOUT=5m TEST_RUN='Conformance|Spectral|Leiden|KNN|UMAP|Fuzzy|EmbeddedPTX|Reference|GraphSteps|Sharded' \
	PHASES="env tests" bench/gpu/run.sh "$OUT/tests" >"$OUT/tests.log" 2>&1
PHASES="generate bench summary" BENCH_ARGS="--quality" \
	bench/gpu/run.sh "$OUT/main" >"$OUT/main.log" 2>&1
for rf in 0 1; do
	BACKENDS=cuda PHASES="bench" BENCH_ARGS="--quality --knn-refine $rf" \
		bench/gpu/run.sh "$OUT/refine$rf" >"$OUT/refine$rf.log" 2>&1
done
tail -30 "$OUT/main.log"
