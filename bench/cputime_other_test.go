//go:build !unix

package bench

import "time"

func processCPUTime() (time.Duration, bool) { return 0, false }
