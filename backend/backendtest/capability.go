package backendtest

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/scbench/scbench/backend"
)

// capCase is one named check of an optional interface C of a backend
// (backend.NeighborSearcher, backend.FuzzyGraphBuilder, ...).
type capCase[C any] struct {
	name string
	fn   func(*testing.T, C, *rand.Rand)
}

// runCapability is the frame of the suites of optional interfaces: one
// backend from newBackend, closed when t ends, serves every case
// (compiling a device's kernels takes seconds); the test is skipped when
// the backend lacks C; each case runs as a subtest with a random source
// seeded from the subtest's name.
func runCapability[C any](t *testing.T, newBackend func(t *testing.T) backend.Backend, cases []capCase[C]) {
	be := newBackend(t)
	t.Cleanup(func() {
		if err := be.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	c, ok := be.(C)
	if !ok {
		t.Skipf("the %s backend has no %s", be.Device().Backend, reflect.TypeFor[C]().Name())
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, c, newRand(t.Name())) })
	}
}
