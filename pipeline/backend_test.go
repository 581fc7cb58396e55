package pipeline

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/cpu"
	"github.com/scbench/scbench/backend/cuda"
	"github.com/scbench/scbench/backend/opencl"
)

// testBackend returns the backend the reference tests run on:
// SCBENCH_TEST_BACKEND=cpu (the default), cuda or opencl (device from
// SCBENCH_OPENCL_PLATFORM and SCBENCH_OPENCL_DEVICE, or 0:0), so that the
// same accuracy tests check every backend (CUDA and NVIDIA's OpenCL on the
// GPU machine). A GPU backend that is asked for and missing fails the test.
func testBackend(t testing.TB) backend.Backend {
	t.Helper()
	name := os.Getenv("SCBENCH_TEST_BACKEND")
	var b backend.Backend
	var err error
	switch strings.ToLower(name) {
	case "", "cpu":
		return cpu.New(0)
	case "cuda":
		b, err = cuda.New(envInt("SCBENCH_CUDA_DEVICE"))
	case "opencl":
		b, err = opencl.New(envInt("SCBENCH_OPENCL_PLATFORM"), envInt("SCBENCH_OPENCL_DEVICE"))
	default:
		t.Fatalf("SCBENCH_TEST_BACKEND=%q: want cpu, cuda or opencl", name)
	}
	if err != nil {
		t.Fatalf("SCBENCH_TEST_BACKEND=%s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("closing the %s backend: %v", name, err)
		}
	})
	return b
}

// openCLBackend returns the first OpenCL device's backend (PoCL in CI),
// skipping when there is none unless SCBENCH_REQUIRE_OPENCL=1.
func openCLBackend(t testing.TB) backend.Backend {
	t.Helper()
	b, err := opencl.New(envInt("SCBENCH_OPENCL_PLATFORM"), envInt("SCBENCH_OPENCL_DEVICE"))
	if err != nil {
		if os.Getenv("SCBENCH_REQUIRE_OPENCL") == "1" {
			t.Fatalf("no OpenCL device, and SCBENCH_REQUIRE_OPENCL=1: %v", err)
		}
		t.Skipf("SKIP: no OpenCL device: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func envInt(name string) int {
	n, _ := strconv.Atoi(os.Getenv(name))
	return n
}
