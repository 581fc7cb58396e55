//go:build unix

package knn

import "syscall"

// cpuSeconds returns the process's user plus system CPU time, which the
// benchmarks report beside wall time: on a shared machine it is the
// steadier measure of work.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
