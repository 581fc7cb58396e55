package gpu_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/gpu"
	"github.com/scbench/scbench/backend/opencl"
)

// The OpenCL devices the tests run on. $SCBENCH_OPENCL_PLATFORM and
// $SCBENCH_OPENCL_DEVICE name one; without them the first device of the
// first four platforms that takes the kernels serves (on a machine without
// a GPU, PoCL's). Where none does the test is skipped with the reason, or
// fails where SCBENCH_REQUIRE_OPENCL=1 (CI, where PoCL is installed).

// openCLTry returns a backend on the device the environment names, or
// else on the first one that takes the kernels, its runtime wrapped by
// wrap where wrap is not nil; the caller closes it. The error is the
// first device's where none does.
func openCLTry(wrap func(gpu.Runtime) gpu.Runtime) (*gpu.Backend, error) {
	var try [][2]int
	if ps, ds := os.Getenv("SCBENCH_OPENCL_PLATFORM"), os.Getenv("SCBENCH_OPENCL_DEVICE"); ps != "" || ds != "" {
		p, _ := strconv.Atoi(ps)
		d, _ := strconv.Atoi(ds)
		try = append(try, [2]int{p, d})
	} else {
		for p := range 4 {
			for d := range 4 {
				try = append(try, [2]int{p, d})
			}
		}
	}
	var first error
	for _, pd := range try {
		rt, err := opencl.NewRuntime(pd[0], pd[1])
		if err == nil {
			if wrap != nil {
				rt = wrap(rt)
			}
			var be *gpu.Backend
			if be, err = gpu.New(rt); err == nil {
				return be, nil
			}
			rt.Close()
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// openCLWith is openCLTry for a test: without a device the test is
// skipped, or fails where SCBENCH_REQUIRE_OPENCL=1. The caller closes the
// backend.
func openCLWith(tb testing.TB, wrap func(gpu.Runtime) gpu.Runtime) *gpu.Backend {
	tb.Helper()
	be, err := openCLTry(wrap)
	if err == nil {
		return be
	}
	if os.Getenv("SCBENCH_REQUIRE_OPENCL") == "1" {
		tb.Fatalf("SCBENCH_REQUIRE_OPENCL=1 but no OpenCL device runs the kernels: %v", err)
	}
	tb.Skipf("no OpenCL device runs the kernels: %v", err)
	return nil
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
