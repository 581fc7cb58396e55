// Package opencltest opens the OpenCL device that tests of several
// packages run GPU code on: on a machine without a GPU, PoCL's CPU
// device, which CI installs so that every kernel is tested there.
package opencltest

import (
	"os"
	"strconv"
	"testing"

	"github.com/scbench/scbench/backend/gpu"
	"github.com/scbench/scbench/backend/opencl"
)

// Try returns a GPU backend on the OpenCL device that
// $SCBENCH_OPENCL_PLATFORM and $SCBENCH_OPENCL_DEVICE name, or else on
// the first of the first four platforms' first four devices that compiles
// the kernels, its runtime wrapped by wrap where wrap is not nil. The
// caller closes it. The error is the first device's where none does.
func Try(wrap func(gpu.Runtime) gpu.Runtime) (*gpu.Backend, error) {
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

// Open is Try for a test: without a device the test is skipped, or fails
// where SCBENCH_REQUIRE_OPENCL=1 (CI). The caller closes the backend.
func Open(tb testing.TB, wrap func(gpu.Runtime) gpu.Runtime) *gpu.Backend {
	tb.Helper()
	be, err := Try(wrap)
	if err == nil {
		return be
	}
	if os.Getenv("SCBENCH_REQUIRE_OPENCL") == "1" {
		tb.Fatalf("SCBENCH_REQUIRE_OPENCL=1 but no OpenCL device runs the kernels: %v", err)
	}
	tb.Skipf("no OpenCL device runs the kernels: %v", err)
	return nil
}
