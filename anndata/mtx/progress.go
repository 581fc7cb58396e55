package mtx

import (
	"fmt"
	"io"
	"time"
)

// ProgressLines returns a Progress function that prints a line to w at
// most every interval (and at the end of each pass), such as
//
//	matrix.mtx.gz: pass 1/1 (stream): 1.20 of 36.00 GB (3%), 210 MB/s
func ProgressLines(w io.Writer, name string, interval time.Duration) func(Progress) {
	var (
		pass        int
		start, last time.Time
	)
	return func(p Progress) {
		now := time.Now()
		if p.Pass != pass {
			pass, start, last = p.Pass, now, now
		}
		end := p.Done >= p.Total
		if !end && now.Sub(last) < interval {
			return
		}
		last = now
		of := "?"
		if p.Passes > 0 {
			of = fmt.Sprint(p.Passes)
		}
		pct := 0.0
		if p.Total > 0 {
			pct = 100 * float64(p.Done) / float64(p.Total)
		}
		rate := 0.0
		if s := now.Sub(start).Seconds(); s > 0 {
			rate = float64(p.Done) / 1e6 / s
		}
		fmt.Fprintf(w, "%s: pass %d/%s (%s): %.2f of %.2f GB (%.0f%%), %.0f MB/s\n",
			name, p.Pass, of, p.Kind, float64(p.Done)/1e9, float64(p.Total)/1e9, pct, rate)
	}
}
