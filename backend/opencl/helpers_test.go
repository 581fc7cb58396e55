package opencl

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/scbench/scbench/backend/gpu"
)

// Environment variables of the tests.
const (
	envRequire  = "SCBENCH_REQUIRE_OPENCL" // "1": no device fails the tests instead of skipping them
	envPlatform = "SCBENCH_OPENCL_PLATFORM"
	envDevice   = "SCBENCH_OPENCL_DEVICE"
)

// noDevice skips the test, or fails it where OpenCL is required.
func noDevice(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv(envRequire) == "1" {
		t.Fatalf("%s=1 but %s", envRequire, reason)
	}
	t.Skip(reason)
}

// testDevice returns the platform and device the tests use: those of
// $SCBENCH_OPENCL_PLATFORM and $SCBENCH_OPENCL_DEVICE, or else the first
// device that can run the kernels.
func testDevice(t *testing.T) (platform, device int) {
	t.Helper()
	ps, ds := os.Getenv(envPlatform), os.Getenv(envDevice)
	if ps != "" || ds != "" {
		var err error
		if ps != "" {
			if platform, err = strconv.Atoi(ps); err != nil {
				t.Fatalf("$%s: %v", envPlatform, err)
			}
		}
		if ds != "" {
			if device, err = strconv.Atoi(ds); err != nil {
				t.Fatalf("$%s: %v", envDevice, err)
			}
		}
		return platform, device
	}
	p, d, err := firstUsable()
	if err != nil {
		noDevice(t, err.Error())
	}
	return p, d
}

// firstUsable finds the first device, in platform order, that NewRuntime
// accepts.
func firstUsable() (platform, device int, err error) {
	l := loadOnce()
	if l.err != nil {
		return 0, 0, fmt.Errorf("OpenCL not available: %v", l.err)
	}
	r := Probe()
	if !r.Available {
		return 0, 0, fmt.Errorf("no usable OpenCL device: %s", r.Reason)
	}
	plats, err := l.api.platforms()
	if err != nil {
		return 0, 0, err
	}
	for p, h := range plats {
		devs, err := l.api.devices(h)
		if err != nil {
			continue
		}
		for d, dh := range devs {
			if usable(l.api, dh) == nil {
				return p, d, nil
			}
		}
	}
	return 0, 0, fmt.Errorf("no usable OpenCL device: %s", r.Reason)
}

// newTestRuntime opens the test device, closed when the test ends.
func newTestRuntime(t *testing.T) gpu.Runtime {
	t.Helper()
	p, d := testDevice(t)
	rt, err := NewRuntime(p, d)
	if err != nil {
		noDevice(t, err.Error())
	}
	t.Cleanup(func() {
		if err := rt.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return rt
}
