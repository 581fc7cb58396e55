package freelist

import (
	"runtime"
	"sync"
	"testing"
)

func TestList(t *testing.T) {
	var l List[*[]byte]
	if x, ok := l.Get(); ok || x != nil {
		t.Fatalf("empty list gave %v, %v", x, ok)
	}
	a, b := new([]byte), new([]byte)
	l.Put(a)
	l.Put(b)
	runtime.GC()
	runtime.GC() // a sync.Pool would be empty now
	if x, ok := l.Get(); !ok || x != b {
		t.Fatalf("first Get: %p, %v; want the last Put, %p", x, ok, b)
	}
	if x, ok := l.Get(); !ok || x != a {
		t.Fatalf("second Get: %p, %v; want %p", x, ok, a)
	}
	if _, ok := l.Get(); ok {
		t.Fatal("third Get found an item")
	}
}

func TestListMax(t *testing.T) {
	l := List[int]{Max: 3}
	for i := range 10 {
		l.Put(i)
	}
	var got []int
	for {
		x, ok := l.Get()
		if !ok {
			break
		}
		got = append(got, x)
	}
	if len(got) != 3 || got[0] != 2 || got[2] != 0 {
		t.Fatalf("kept %v, want [2 1 0]", got)
	}
	var d List[int] // the default bound
	for i := range runtime.GOMAXPROCS(0) + 5 {
		d.Put(i)
	}
	if n := len(d.free); n != runtime.GOMAXPROCS(0)+1 {
		t.Fatalf("zero List kept %d items, want GOMAXPROCS+1 = %d", n, runtime.GOMAXPROCS(0)+1)
	}
}

// TestListConcurrent: items put by many goroutines come back once each.
func TestListConcurrent(t *testing.T) {
	l := List[int]{Max: 1000}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				l.Put(g*100 + i)
				if i%3 == 0 {
					if x, ok := l.Get(); ok {
						l.Put(x)
					}
				}
			}
		}()
	}
	wg.Wait()
	seen := map[int]bool{}
	for {
		x, ok := l.Get()
		if !ok {
			break
		}
		if seen[x] {
			t.Fatalf("item %d came back twice", x)
		}
		seen[x] = true
	}
	if len(seen) != 800 {
		t.Fatalf("%d items came back, want 800", len(seen))
	}
}
