package cputime

import (
	"math"
	"testing"
)

// TestProcess: where the system reports CPU time, it grows with work and
// Seconds agrees with it; elsewhere Seconds is NaN.
func TestProcess(t *testing.T) {
	d0, ok := Process()
	if !ok {
		if s := Seconds(); !math.IsNaN(s) {
			t.Fatalf("Seconds = %v where CPU time is not reported, want NaN", s)
		}
		t.Skip("SKIP: this system does not report the process's CPU time")
	}
	x := 0.0
	for i := range 20_000_000 {
		x += math.Sqrt(float64(i))
	}
	d1, _ := Process()
	if d1 <= d0 {
		t.Fatalf("CPU time %v, then %v after work (%g)", d0, d1, x)
	}
	if s := Seconds(); s < d1.Seconds() {
		t.Fatalf("Seconds = %v, below the %v reported before it", s, d1)
	}
}
