//go:build !unix

package graph

// cpuSeconds is 0 where getrusage does not exist.
func cpuSeconds() float64 { return 0 }
