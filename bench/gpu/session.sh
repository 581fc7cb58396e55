#!/usr/bin/env bash
# One device call's worth of checks and benchmarks (what a session's call
# to the GPU machine runs), results into OUTDIR, tarred by the caller:
#
#   bench/gpu/session.sh OUTDIR
#
# 1. the embedded PTX regenerated from the kernels (OUTDIR/ptx: copy it to
#    backend/cuda/ptx when the kernels changed);
# 2. run.sh's tests, generate, bench (with --quality), cold and compare;
# 3. comparisons: uploads on one queue (SCBENCH_COPY_STREAM=0) against the
#    copy stream, QC..PCA, both backends; UMAP with the spectral start at
#    1.3M cells (CUDA); Leiden on the host (CUDA).
set -uo pipefail
OUT=${1:?usage: bench/gpu/session.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cd "$(dirname "$0")/../.." || exit 1
OUT_DIR=$OUT/ptx bench/gpu/genptx.sh .devrun/cuda.test >"$OUT/genptx.log" 2>&1
PHASES="env tests generate floor bench cold compare summary" BENCH_ARGS="--quality" \
	bench/gpu/run.sh "$OUT/main" >"$OUT/main.log" 2>&1
for v in 1 0; do
	SCBENCH_COPY_STREAM=$v PHASES="bench" BENCH_ARGS="--until pca --repeat 2" \
		bench/gpu/run.sh "$OUT/copystream$v" >"$OUT/copystream$v.log" 2>&1
done
BACKENDS=cuda PHASES="bench" BENCH_ARGS="--until umap --umap-init spectral" \
	bench/gpu/run.sh "$OUT/spectral" >"$OUT/spectral.log" 2>&1
BACKENDS=cuda PHASES="bench" BENCH_ARGS="--leiden host --quality" \
	bench/gpu/run.sh "$OUT/hostleiden" >"$OUT/hostleiden.log" 2>&1
tail -30 "$OUT/main.log"
