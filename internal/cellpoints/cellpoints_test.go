package cellpoints

import (
	"math"
	"slices"
	"testing"
)

// TestGenerate: the shape, finite values, every point labelled with a
// subtype, many subtypes used, decaying scales, and the same points for
// the same seed.
func TestGenerate(t *testing.T) {
	const n = 5003
	x, label := Generate(n, 3)
	if x.Rows != n || x.Cols != Dim || len(x.Data) != n*Dim || len(label) != n {
		t.Fatalf("got %d x %d (%d values), %d labels", x.Rows, x.Cols, len(x.Data), len(label))
	}
	var sq [Dim]float64
	for i, v := range x.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("value %d is %v", i, v)
		}
		sq[i%Dim] += float64(v) * float64(v)
	}
	if sq[0] <= sq[Dim-1] {
		t.Errorf("first component's energy %.3g not above the last's %.3g", sq[0], sq[Dim-1])
	}
	used := map[int32]bool{}
	for _, l := range label {
		if l < 0 {
			t.Fatalf("label %d", l)
		}
		used[l] = true
	}
	if len(used) < Types {
		t.Errorf("%d subtypes used, want at least one per type (%d)", len(used), Types)
	}
	y, l2 := Generate(n, 3)
	if !slices.Equal(x.Data, y.Data) || !slices.Equal(label, l2) {
		t.Error("the same seed gave other points")
	}
	if z, _ := Generate(n, 4); slices.Equal(x.Data, z.Data) {
		t.Error("another seed gave the same points")
	}
}
