#!/usr/bin/env bash
# Runs the GPU checks and benchmarks on the GPU machine, which has no Go:
# what bench/gpu/build.sh cross-built into .devrun/ on the development
# machine (carry .devrun to the GPU machine with the working tree).
#
# Usage, from the repository root on the GPU machine:
#
#   bench/gpu/run.sh OUTDIR
#   PHASES="tests" bench/gpu/run.sh OUTDIR        # only some phases
#
# Phases, in order (PHASES, default all of them):
#   env       nvidia-smi, the CPU, memory, disks, the environment's GPU
#             variables and the GPU libraries the dynamic linker finds
#   tests     every .devrun/*.test with -test.v, logs in OUTDIR/tests/
#             (SCBENCH_REQUIRE_CUDA=1 for cuda.test,
#             SCBENCH_REQUIRE_OPENCL=1 for opencl.test; pipeline.test once
#             per backend of PIPELINE_BACKENDS, with SCBENCH_TEST_BACKEND)
#   generate  the 1.3M-cell store on local disk, unless it is there
#   floor     the store read cold from disk by 16 readers (GB/s), and the
#             host-device copy bandwidths from the CUDA tests' log
#   compare   QC through PCA on the store with the CPU backend and with each
#             of COMPARE_BACKENDS (default cuda), results checked against
#             each other (pipeline's TestCompareBackendsOnStore)
#   bench     scbench bench --backend $BACKENDS on it, results in OUTDIR
#   cold      the same with --cold (the store dropped from the page cache)
#   summary   a table of the phases and tests run into OUTDIR so far and of
#             the benchmark runs (always printed, last)
#
# Environment:
#   BACKENDS      bench's --backend list (default cuda,opencl)
#   BENCH_ARGS    more flags for scbench bench (e.g. "--repeat 3 --until pca")
#   STORE         the store (default $DATA/synth-1300000-seed0.zarr)
#   DATA          folder of the store and bench's temporary outputs
#                 (default /tmp/scbench-data)
#   TESTS         test binaries to run (default: all of .devrun/tests.tsv),
#                 e.g. "cuda opencl"
#   TEST_RUN      -test.run pattern for the test binaries
#   TEST_TIMEOUT  -test.timeout (default 8m)
#   PIPELINE_BACKENDS  backends of pipeline.test's reference tests
#                 (default "cuda opencl"; add cpu for the CPU's)
#   OCL_KEEP_SYSTEM=1  keep /etc/OpenCL/vendors' ICDs beside NVIDIA's
#
# OpenCL: NVIDIA's ICD is registered by writing a vendors folder holding
# nvidia.icd ("libnvidia-opencl.so.1") and pointing OCL_ICD_VENDORS at it,
# since the machine may have no /etc/OpenCL/vendors entry for it.
set -uo pipefail

if [ $# -ne 1 ]; then
	sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 2
fi
OUT=$1
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)
ROOT=$PWD
DEVRUN=$ROOT/.devrun
PHASES=${PHASES:-env tests generate floor compare bench cold summary}
BACKENDS=${BACKENDS:-cuda,opencl}
DATA=${DATA:-/tmp/scbench-data}
STORE=${STORE:-$DATA/synth-1300000-seed0.zarr}
TEST_TIMEOUT=${TEST_TIMEOUT:-8m}
PIPELINE_BACKENDS=${PIPELINE_BACKENDS:-cuda opencl}
SCBENCH=$DEVRUN/scbench
STATUS=$OUT/status.tsv # phase or test, result, seconds: for the summary

if [ ! -x "$SCBENCH" ]; then
	echo "run.sh: $SCBENCH not found: run bench/gpu/build.sh on the development machine and carry .devrun" >&2
	exit 1
fi

has_phase() { case " $PHASES " in *" $1 "*) return 0 ;; esac; return 1; }
section() { printf '\n===== %s (%s)\n' "$*" "$(date -u +%T)"; }
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$STATUS"; }

# OpenCL: register NVIDIA's ICD in a vendors folder of our own.
VENDORS=$DATA/opencl-vendors
mkdir -p "$VENDORS" "$DATA"
rm -f "$VENDORS"/*.icd
echo "libnvidia-opencl.so.1" >"$VENDORS/nvidia.icd"
if [ "${OCL_KEEP_SYSTEM:-0}" = 1 ] && [ -d /etc/OpenCL/vendors ]; then
	cp /etc/OpenCL/vendors/*.icd "$VENDORS/" 2>/dev/null
fi
export OCL_ICD_VENDORS=$VENDORS
# The GPU machine's image sets OCL_ICD_FILENAMES=libpocl.so.2:libnvidia-opencl.so.1,
# which the ICD loader reads before any vendors folder (and the vendors
# folder alone was seen to give no platform there): PoCL would be platform 0,
# and its LLVM there asserts on our kernels. Name only NVIDIA's, unless asked.
if [ "${OCL_KEEP_SYSTEM:-0}" != 1 ]; then
	export OCL_ICD_FILENAMES=libnvidia-opencl.so.1
fi
if [ -d "$DEVRUN/shared" ]; then
	export SCBENCH_SHARED=$DEVRUN/shared
fi

failures=0

if has_phase env; then
	section "env"
	start=$SECONDS
	nvidia-smi || echo "run.sh: nvidia-smi failed or is missing"
	nvidia-smi --query-gpu=index,name,memory.total,driver_version,compute_cap,pci.bus_id --format=csv 2>/dev/null
	echo
	uname -a
	grep -m1 'model name' /proc/cpuinfo
	echo "cores: $(nproc)"
	free -g
	df -h "$ROOT" "$DATA" /tmp 2>/dev/null
	echo "store folder file system: $(stat -f -c %T "$DATA" 2>/dev/null)"
	echo
	echo "environment (GPU, library and scbench variables only):"
	env | grep -E '^(CUDA|NVIDIA|OCL|OPENCL|LD_|PATH=|SCBENCH|GO|TMPDIR|HOME=)' | sort
	echo
	echo "GPU libraries the dynamic linker knows:"
	ldconfig -p 2>/dev/null | grep -E 'libcuda\.so|libnvrtc|libcublas\.so|libOpenCL|libnvidia-opencl' || echo "  (none listed by ldconfig -p)"
	echo "/etc/OpenCL/vendors: $(ls /etc/OpenCL/vendors 2>/dev/null | tr '\n' ' ')"
	echo "OCL_ICD_VENDORS=$OCL_ICD_VENDORS: $(cat "$VENDORS"/*.icd | tr '\n' ' ')"
	echo
	"$SCBENCH" devices
	"$SCBENCH" devices --json >"$OUT/devices.json"
	record env ok $((SECONDS - start))
fi

# run_test LABEL BINARY PACKAGE-DIR [VAR=VALUE...]: one test binary, in its
# package's folder as 'go test' runs it, logged to OUTDIR/tests/LABEL.log.
run_test() {
	local label=$1 bin=$2 dir=$3
	shift 3
	local args=(-test.v -test.timeout="$TEST_TIMEOUT")
	if [ -n "${TEST_RUN:-}" ]; then
		args+=(-test.run="$TEST_RUN")
	fi
	local log=$OUT/tests/$label.log
	echo "--- $label: $bin in $dir $*"
	local start=$SECONDS
	(cd "$ROOT/$dir" && env "$@" "$DEVRUN/$bin" "${args[@]}") </dev/null >"$log" 2>&1
	local rc=$?
	local secs=$((SECONDS - start))
	local pass fail skip result=ok
	pass=$(grep -c -- '--- PASS' "$log")
	fail=$(grep -c -- '--- FAIL' "$log")
	skip=$(grep -c -- '--- SKIP' "$log")
	if [ $rc -ne 0 ]; then
		result="FAIL(rc=$rc)"
		failures=$((failures + 1))
		grep -E -- '(--- FAIL|^panic:|^FAIL)' "$log" | head -20
		tail -5 "$log"
	fi
	echo "$label: $result, $pass passed, $fail failed, $skip skipped, ${secs}s (log $log)"
	record "test $label" "$result: $pass pass, $fail fail, $skip skip" "$secs"
}

if has_phase tests; then
	section "tests"
	mkdir -p "$OUT/tests"
	manifest=$DEVRUN/tests.tsv
	if [ ! -f "$manifest" ]; then # an older build: every binary, from the root
		for b in "$DEVRUN"/*.test; do printf '%s\t.\n' "$(basename "$b")"; done >"$OUT/tests/manifest.tsv"
		manifest=$OUT/tests/manifest.tsv
	fi
	while IFS=$'\t' read -r bin dir; do
		name=${bin%.test}
		if [ -n "${TESTS:-}" ] && ! case " $TESTS " in *" $name "*) true ;; *) false ;; esac; then
			continue
		fi
		case $name in
		cuda) run_test cuda "$bin" "$dir" SCBENCH_REQUIRE_CUDA=1 ;;
		opencl) run_test opencl "$bin" "$dir" SCBENCH_REQUIRE_OPENCL=1 ;;
		pipeline) # the reference tests once per backend
			for b in $PIPELINE_BACKENDS; do
				case $b in
				cuda) run_test pipeline-cuda "$bin" "$dir" SCBENCH_TEST_BACKEND=cuda SCBENCH_REQUIRE_CUDA=1 ;;
				opencl) run_test pipeline-opencl "$bin" "$dir" SCBENCH_TEST_BACKEND=opencl SCBENCH_REQUIRE_OPENCL=1 ;;
				*) run_test "pipeline-$b" "$bin" "$dir" SCBENCH_TEST_BACKEND="$b" ;;
				esac
			done
			;;
		*) run_test "$name" "$bin" "$dir" ;;
		esac
	done <"$manifest"
fi

if has_phase generate; then
	section "generate"
	if [ -f "$STORE/.zgroup" ] || [ -f "$STORE/zarr.json" ]; then
		echo "$STORE exists (stores appear only when complete): reused"
		record generate reused 0
	else
		start=$SECONDS
		"$SCBENCH" generate --out "$STORE"
		rc=$?
		secs=$((SECONDS - start))
		echo "generate: ${secs}s (rc $rc)"
		if [ $rc -ne 0 ]; then failures=$((failures + 1)); fi
		record generate "rc=$rc" "$secs"
	fi
	du -sh "$STORE" 2>/dev/null
fi

# floor: what bounds pass 1 from below. The store's bytes read cold from
# disk in parallel (16 readers, like the pipeline's reader), and the copy
# bandwidths the CUDA runtime test measured (in the tests phase's log).
if has_phase floor; then
	section "floor"
	if [ -d "$STORE" ]; then
		sync
		if echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then
			bytes=$(du -sb "$STORE" | cut -f1)
			t0=$(date +%s.%N)
			find "$STORE" -type f -print0 | xargs -0 -P 16 -n 64 cat >/dev/null
			t1=$(date +%s.%N)
			awk -v b="$bytes" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "disk, cold, 16 readers: %.2f GB in %.2f s = %.2f GB/s\n", b/1e9, t1-t0, b/1e9/(t1-t0) }' | tee "$OUT/floor.txt"
			t0=$(date +%s.%N)
			find "$STORE" -type f -print0 | xargs -0 -P 16 -n 64 cat >/dev/null
			t1=$(date +%s.%N)
			awk -v b="$bytes" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "page cache, warm, 16 readers: %.2f GB in %.2f s = %.2f GB/s\n", b/1e9, t1-t0, b/1e9/(t1-t0) }' | tee -a "$OUT/floor.txt"
		else
			echo "floor: cannot drop the page cache (not root?)" | tee "$OUT/floor.txt"
		fi
	fi
	grep -h "GB/s" "$OUT"/tests/cuda.log 2>/dev/null | tee -a "$OUT/floor.txt"
	record floor ok 0
fi

# compare: QC through PCA on the 1.3M store with the CPU backend and with
# each GPU backend of COMPARE_BACKENDS, checked against each other
# (pipeline's TestCompareBackendsOnStore).
if has_phase compare; then
	section "compare"
	for be in ${COMPARE_BACKENDS:-cuda}; do
		start=$SECONDS
		(cd "$ROOT/pipeline" && SCBENCH_COMPARE_STORE=$STORE SCBENCH_TEST_BACKEND=$be \
			"$DEVRUN/pipeline.test" -test.v -test.run '^TestCompareBackendsOnStore$' -test.timeout 8m) 2>&1 |
			tee "$OUT/compare-$be.log" | grep -E '^(---|ok|FAIL|PASS)|compare_test'
		rc=${PIPESTATUS[0]}
		if [ "$rc" -ne 0 ]; then failures=$((failures + 1)); fi
		record "compare $be" "rc=$rc" $((SECONDS - start))
	done
fi

run_bench() { # phase, extra flags...
	local phase=$1
	shift
	section "$phase"
	if [ ! -d "$STORE" ]; then
		echo "run.sh: no store at $STORE: run the generate phase first" >&2
		failures=$((failures + 1))
		record "$phase" "no store" 0
		return
	fi
	local start=$SECONDS
	# shellcheck disable=SC2086 # BENCH_ARGS is split on purpose
	"$SCBENCH" bench --backend "$BACKENDS" --store "$STORE" --out "$OUT" --tmp "$DATA" "$@" ${BENCH_ARGS:-} 2>&1 |
		tee "$OUT/$phase.log"
	local rc=${PIPESTATUS[0]}
	if [ $rc -ne 0 ]; then failures=$((failures + 1)); fi
	record "$phase" "rc=$rc" $((SECONDS - start))
}

if has_phase bench; then run_bench bench; fi
if has_phase cold; then run_bench cold --cold; fi

if true; then # the summary comes last, whatever the phases
	section "summary"
	if [ -f "$STATUS" ]; then
		printf "%-24s %-36s %s\n" "what" "result" "seconds"
		while IFS=$'\t' read -r what result secs; do
			printf "%-24s %-36s %s\n" "$what" "$result" "$secs"
		done <"$STATUS"
	fi
	echo
	for f in "$OUT"/bench.log "$OUT"/cold.log; do
		[ -f "$f" ] || continue
		echo "$(basename "$f"):"
		grep -E '(cells, run [0-9]+ of|^QC through PCA |^whole run |^wrote .*\.json|^--cold: |^scbench bench: )' "$f"
	done
	echo
	ls -1 "$OUT"/*.json 2>/dev/null
	echo "failures: $failures"
fi
exit $((failures > 0))
