//go:build !unix

package cputime

import (
	"time"
)

// Process reports false: without getrusage (Windows, Plan 9, wasm) the
// process's CPU time is not measured.
func Process() (time.Duration, bool) { return 0, false }
