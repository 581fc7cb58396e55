package opencl

import (
	"testing"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/backendtest"
)

// TestConformance runs backendtest's suites on the test device (the first
// usable one, or $SCBENCH_OPENCL_PLATFORM/$SCBENCH_OPENCL_DEVICE): the
// backend operations, the spectral start and Leiden. The other graph
// steps' suites run in backend/gpu's tests, on the same device.
func TestConformance(t *testing.T) {
	p, d := testDevice(t)
	open := func(t *testing.T) backend.Backend {
		be, err := New(p, d)
		if err != nil {
			noDevice(t, err.Error())
		}
		return be
	}
	for _, s := range []struct {
		name string
		run  func(*testing.T, func(*testing.T) backend.Backend)
	}{{"Ops", backendtest.Run}, {"Spectral", backendtest.RunSpectral}, {"Leiden", backendtest.RunLeiden}} {
		t.Run(s.name, func(t *testing.T) { s.run(t, open) })
	}
}
