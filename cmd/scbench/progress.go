package main

import (
	"fmt"
	"io"
	"time"
)

// progress prints "label: done/total (pct) rate ETA" lines on w, at most
// every interval, and always for the last update.
type progress struct {
	w        io.Writer
	label    string
	unit     string
	start    time.Time
	last     time.Time
	interval time.Duration
}

func newProgress(w io.Writer, label, unit string) *progress {
	now := time.Now()
	return &progress{w: w, label: label, unit: unit, start: now, last: now, interval: time.Second}
}

func (p *progress) update(done, total int64) {
	now := time.Now()
	if done < total && now.Sub(p.last) < p.interval {
		return
	}
	p.last = now
	el := now.Sub(p.start).Seconds()
	rate := float64(done) / max(el, 1e-9)
	eta := ""
	if done > 0 && done < total {
		eta = fmt.Sprintf(", %s left", time.Duration(float64(total-done)/rate*float64(time.Second)).Round(time.Second))
	}
	fmt.Fprintf(p.w, "%s: %d/%d %s (%.0f%%), %.0f %s/s%s\n", p.label, done, total, p.unit,
		100*float64(done)/float64(max(total, 1)), rate, p.unit, eta)
}
