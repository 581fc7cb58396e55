// Package cputime reads the CPU time the process has used, user and
// system together. Run reports and benchmarks give it beside wall time:
// on a shared machine it is the steadier measure of the work done.
package cputime

import "math"

// Seconds is Process in seconds, NaN where the system does not report
// it, so that rates computed from it show as not measured.
func Seconds() float64 {
	d, ok := Process()
	if !ok {
		return math.NaN()
	}
	return d.Seconds()
}
