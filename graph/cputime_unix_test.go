//go:build unix

package graph

import "syscall"

// cpuSeconds is the process's user + system CPU seconds: benchmarks on a
// shared machine report it besides wall time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
