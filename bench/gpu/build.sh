#!/usr/bin/env bash
# Cross-builds what bench/gpu/run.sh runs on the GPU machine, which has no Go:
# scbench and the test binaries of the GPU backends and the pipeline, into
# the git-ignored folder .devrun/, with the small shared datasets and scanpy
# references the pipeline tests read.
#
# Usage, from anywhere in the checkout, on the development machine:
#
#   bench/gpu/build.sh
#
# Environment:
#   PKGS         packages whose tests to build (default: backend/cuda
#                backend/opencl backend/gpu pipeline)
#   SHARED_SETS  datasets of ../shared to copy (default: brain10k synth5k;
#                "" copies none)
#   SHARED       the shared folder (default: $SCBENCH_SHARED, else ../shared)
#
# .devrun/tests.tsv lists each test binary and its package folder: run.sh
# runs a test binary in its package's folder, as 'go test' would. A package
# that does not build is reported and left out (its old binary is removed);
# the exit status is then 1.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
root=$PWD
if ! command -v go >/dev/null 2>&1; then
	export PATH=/usr/local/go/bin:$PATH
fi
export CGO_ENABLED=0 GOOS=linux GOARCH=amd64
out=.devrun
pkgs=${PKGS:-backend/cuda backend/opencl backend/gpu pipeline}
sets=${SHARED_SETS-brain10k synth5k}
shared=${SHARED:-${SCBENCH_SHARED:-$root/../shared}}
ldflags="-s -w" # no symbol table: smaller binaries, stack traces still work

mkdir -p "$out"
failed=()

echo "== scbench ($(go version))"
# -buildvcs=true stamps the git revision that bench's results record (this
# machine's GOFLAGS may turn it off); without git, build without it.
if ! go build -buildvcs=true -ldflags="$ldflags" -o "$out/scbench" ./cmd/scbench 2>/dev/null &&
	! go build -buildvcs=false -ldflags="$ldflags" -o "$out/scbench" ./cmd/scbench; then
	echo "build.sh: cmd/scbench does not build" >&2
	exit 1
fi
go version -m "$out/scbench" | grep -E 'vcs\.(revision|modified)' || echo "build.sh: no git revision in scbench" >&2

: >"$out/tests.tsv"
for pkg in $pkgs; do
	name=$(basename "$pkg")
	echo "== $pkg -> $out/$name.test"
	rm -f "$out/$name.test"
	if ! go test -c -ldflags="$ldflags" -o "$out/$name.test" "./$pkg"; then
		echo "build.sh: the tests of $pkg do not build: left out" >&2
		failed+=("$pkg")
		continue
	fi
	if [ ! -f "$out/$name.test" ]; then
		echo "build.sh: $pkg has no tests: left out" >&2
		continue
	fi
	printf '%s.test\t%s\n' "$name" "$pkg" >>"$out/tests.tsv"
done

# The shared data, copied (tests read it through SCBENCH_SHARED).
rm -rf "$out/shared"
if [ -n "$sets" ]; then
	if [ ! -d "$shared" ]; then
		echo "build.sh: no shared folder at $shared: the GPU machine's tests that need it will skip" >&2
	else
		for s in $sets; do
			for kind in data reference; do
				if [ -d "$shared/$kind/$s" ]; then
					mkdir -p "$out/shared/$kind"
					cp -rL "$shared/$kind/$s" "$out/shared/$kind/"
				else
					echo "build.sh: $shared/$kind/$s not found: not copied" >&2
				fi
			done
		done
		chmod -R u+w "$out/shared" # the originals are read-only; later builds replace the copy
	fi
fi

echo "== $out"
ls -l "$out"
cat "$out/tests.tsv"
du -sh "$out" "$out/shared" 2>/dev/null
if [ ${#failed[@]} -gt 0 ]; then
	echo "build.sh: not built: ${failed[*]}" >&2
	exit 1
fi
