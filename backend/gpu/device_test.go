package gpu_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/gpu"
	"github.com/scbench/scbench/internal/opencltest"
)

// The OpenCL devices the tests run on. $SCBENCH_OPENCL_PLATFORM and
// $SCBENCH_OPENCL_DEVICE name one; without them the first device of the
// first four platforms that takes the kernels serves (on a machine without
// a GPU, PoCL's). Where none does the test is skipped with the reason, or
// fails where SCBENCH_REQUIRE_OPENCL=1 (CI, where PoCL is installed).

// openCLTry is opencltest.Try.
func openCLTry(wrap func(gpu.Runtime) gpu.Runtime) (*gpu.Backend, error) { return opencltest.Try(wrap) }

// openCLWith is opencltest.Open: without a device the test is skipped, or
// fails where SCBENCH_REQUIRE_OPENCL=1. The caller closes the backend.
func openCLWith(tb testing.TB, wrap func(gpu.Runtime) gpu.Runtime) *gpu.Backend {
	tb.Helper()
	return opencltest.Open(tb, wrap)
}

// openCLSuite is openCLWith without a wrapper, as the conformance suites
// of backendtest take it: they close the backend themselves.
func openCLSuite(t *testing.T) backend.Backend {
	t.Helper()
	return openCLWith(t, nil)
}

// openCL is openCLWith without a wrapper, closed when the test ends.
func openCL(tb testing.TB) *gpu.Backend {
	tb.Helper()
	return closeAtEnd(tb, openCLWith(tb, nil))
}

// openCLGroups is openCL with work-groups of at most maxLocal work-items
// where an operation lets the device choose.
func openCLGroups(tb testing.TB, maxLocal int) *gpu.Backend {
	tb.Helper()
	return closeAtEnd(tb, openCLWith(tb, func(rt gpu.Runtime) gpu.Runtime { return smallGroups{rt, maxLocal} }))
}

// closeAtEnd closes be when the test ends.
func closeAtEnd(tb testing.TB, be *gpu.Backend) *gpu.Backend {
	tb.Cleanup(func() {
		if err := be.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return be
}

// benchRows returns $SCBENCH_BENCH_ROWS, or def.
func benchRows(b *testing.B, def int) int {
	s := os.Getenv("SCBENCH_BENCH_ROWS")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("$SCBENCH_BENCH_ROWS = %q: want a positive row count", s)
	}
	return n
}

// smallGroups is a Runtime whose work-groups are at most max work-items.
type smallGroups struct {
	gpu.Runtime
	max int
}

func (s smallGroups) MaxLocal() int { return min(s.max, s.Runtime.MaxLocal()) }
