// Package freelist keeps buffers for reuse between the goroutines of a
// pipeline.
//
// It is sync.Pool without the garbage collector's say: a sync.Pool is
// emptied by every other collection, and under a soft memory limit the
// collector runs often, so the decoders of a store kept allocating fresh
// chunk-sized buffers, whose pages the kernel then zeroes on first touch
// (7% of a CPU run's time on 200,000 cells, in clear_page_erms). A List
// keeps what it is given, up to a bound, for as long as it lives.
package freelist

import (
	"runtime"
	"sync"
)

// A List holds up to Max items for reuse. The zero value is ready to use
// and holds up to GOMAXPROCS+1 items: one per worker that may hold one at
// a time, and one spare.
type List[T any] struct {
	Max int // most items kept; 0 means GOMAXPROCS+1

	mu   sync.Mutex
	free []T
}

// Get returns a kept item and true, or the zero T and false when none is
// kept.
func (l *List[T]) Get() (T, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var zero T
	n := len(l.free)
	if n == 0 {
		return zero, false
	}
	x := l.free[n-1]
	l.free[n-1] = zero
	l.free = l.free[:n-1]
	return x, true
}

// Put keeps x for a later Get, unless the List is full; then x is left to
// the garbage collector.
func (l *List[T]) Put(x T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	limit := l.Max
	if limit <= 0 {
		limit = runtime.GOMAXPROCS(0) + 1
	}
	if len(l.free) < limit {
		l.free = append(l.free, x)
	}
}
