package opencl

import (
	"testing"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/backendtest"
)

// TestConformance runs the backend conformance suite on the test device
// (the first usable one, or $SCBENCH_OPENCL_PLATFORM/$SCBENCH_OPENCL_DEVICE).
func TestConformance(t *testing.T) {
	p, d := testDevice(t)
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		be, err := New(p, d)
		if err != nil {
			noDevice(t, err.Error())
		}
		return be
	})
}

// TestSpectral runs the SpectralEmbedder conformance suite on the test
// device.
func TestSpectral(t *testing.T) {
	p, d := testDevice(t)
	backendtest.RunSpectral(t, func(t *testing.T) backend.Backend {
		be, err := New(p, d)
		if err != nil {
			noDevice(t, err.Error())
		}
		return be
	})
}

// TestLeiden runs the CommunityDetector conformance suite on the test
// device.
func TestLeiden(t *testing.T) {
	p, d := testDevice(t)
	backendtest.RunLeiden(t, func(t *testing.T) backend.Backend {
		be, err := New(p, d)
		if err != nil {
			noDevice(t, err.Error())
		}
		return be
	})
}
