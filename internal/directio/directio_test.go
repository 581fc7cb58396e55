package directio

import (
	"bytes"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"
)

// place is where and how a test makes its file.
type place struct {
	name   string
	dir    string
	open   func(string) *os.File // createTemp's opener
	direct string                // "yes", "no" or "either": whether direct I/O must result
}

// refuse is an opener refusing O_DIRECT when the file is opened, as tmpfs
// does before Linux 6.6.
func refuse(string) *os.File { return nil }

// readOnly is an opener whose file refuses the probe's write, as some file
// systems refuse a first direct write.
func readOnly(path string) *os.File {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	return f
}

// places returns a folder on the disk (direct I/O on Linux's usual file
// systems), the same with the fallbacks (no direct I/O tried, refused at
// open, refused at the probe), and tmpfs's /dev/shm, which refuses
// O_DIRECT before Linux 6.6 and takes it since.
func places(t *testing.T) []place {
	dir := t.TempDir()
	return []place{
		{"disk", dir, openDirect, map[bool]string{true: "yes", false: "no"}[runtime.GOOS == "linux"]},
		{"buffered", dir, nil, "no"},
		{"refused-at-open", dir, refuse, "no"},
		{"refused-at-write", dir, readOnly, "no"},
		{"dev-shm", "/dev/shm", openDirect, "either"},
	}
}

// run runs fn on a new file in each place, as a subtest.
func run(t *testing.T, pattern string, fn func(t *testing.T, f *File)) {
	for _, pl := range places(t) {
		t.Run(pl.name, func(t *testing.T) {
			if pl.dir == "/dev/shm" {
				if st, err := os.Stat(pl.dir); err != nil || !st.IsDir() {
					t.Skip("no /dev/shm on this system")
				}
			}
			f, err := createTemp(pl.dir, pattern, pl.open, slowProbe, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			t.Logf("%s: direct I/O %v", f.Name(), f.Direct())
			if pl.direct == "yes" && !f.Direct() || pl.direct == "no" && f.Direct() {
				t.Fatalf("direct I/O %v, want %s", f.Direct(), pl.direct)
			}
			fn(t, f)
		})
	}
}

// TestRoundTrip writes pieces of awkward lengths and reads them back,
// twice (the second time further ahead), then checks that Close removes
// the file.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, 4095, 4096, 4097, 0, 3 << 20, bufSize, bufSize - 1, bufSize + 1, 17, 3*bufSize + 4095}
	for range 40 {
		sizes = append(sizes, rng.IntN(300000))
	}
	run(t, "rt-*.bin", func(t *testing.T, f *File) {
		var want bytes.Buffer
		for _, n := range sizes {
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(rng.Uint32())
			}
			if k, err := f.Write(p); err != nil || k != n {
				t.Fatalf("Write(%d bytes) = %d, %v", n, k, err)
			}
			want.Write(p)
		}
		if f.Size() != int64(want.Len()) {
			t.Fatalf("Size() = %d, want %d", f.Size(), want.Len())
		}
		for pass, ahead := range []int64{0, 5*bufSize + 1} {
			r, err := f.Reader(ahead)
			if err != nil {
				t.Fatal(err)
			}
			// Reads of awkward lengths too.
			var got bytes.Buffer
			for {
				p := make([]byte, 1+rng.IntN(2*bufSize))
				n, err := r.Read(p)
				got.Write(p[:n])
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("pass %d: %v", pass, err)
				}
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("pass %d: read %d bytes back, differing from the %d written", pass, got.Len(), want.Len())
			}
		}
		if _, err := f.Write([]byte{1}); err == nil {
			t.Error("Write after Reader succeeded")
		}
		name := f.Name()
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after Close, %s: %v (want it removed)", name, err)
		}
	})
}

// TestEmpty reads back a file nothing was written to.
func TestEmpty(t *testing.T) {
	run(t, "empty-*.bin", func(t *testing.T, f *File) {
		for range 2 {
			r, err := f.Reader(0)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := io.ReadAll(r); err != nil || len(got) != 0 {
				t.Errorf("read %d bytes, %v; want none", len(got), err)
			}
		}
	})
}

// TestCloseUnread closes a file written but never read, and one written
// to no end: Close removes it and ends the write-behind goroutine.
func TestCloseUnread(t *testing.T) {
	for _, n := range []int{0, 5*bufSize + 123} {
		before := runtime.NumGoroutine()
		f, err := CreateTemp(t.TempDir(), "unread-*.bin")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(f.Name()); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after Close, %s: %v (want it removed)", f.Name(), err)
		}
		settle(t, before)
	}
}

// TestReadAheadEnds checks that the read-ahead goroutine ends when the
// reader reaches the end, when the file is closed in the middle of reading
// (the reader failing from then on), and at the next Reader call.
func TestReadAheadEnds(t *testing.T) {
	for _, how := range []string{"end", "close", "reader"} {
		t.Run(how, func(t *testing.T) {
			before := runtime.NumGoroutine()
			f, err := CreateTemp(t.TempDir(), "ends-*.bin")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			t.Logf("direct I/O %v", f.Direct())
			if _, err := f.Write(bytes.Repeat([]byte{7}, 5*bufSize+123)); err != nil {
				t.Fatal(err)
			}
			r, err := f.Reader(0)
			if err != nil {
				t.Fatal(err)
			}
			if how == "end" {
				if _, err := io.Copy(io.Discard, r); err != nil {
					t.Fatal(err)
				}
				settle(t, before)
				return
			}
			if _, err := io.ReadFull(r, make([]byte, 1000)); err != nil {
				t.Fatal(err)
			}
			if how == "close" {
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
			} else if _, err := f.Reader(0); err != nil {
				t.Fatal(err)
			}
			if f.Direct() {
				if _, err := io.Copy(io.Discard, r); !errors.Is(err, errStopped) {
					t.Errorf("reading on after the stop: %v, want %v", err, errStopped)
				}
			}
			if how == "reader" {
				f.Close()
			}
			settle(t, before)
		})
	}
}

// TestReadError checks that a read failing in the read-ahead goroutine
// (here the file cut short behind the File's back) reaches Read.
func TestReadError(t *testing.T) {
	f, err := CreateTemp(t.TempDir(), "short-*.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !f.Direct() {
		t.Skip("no direct I/O here: the buffered reader is the standard library's")
	}
	if _, err := f.Write(make([]byte, 3*bufSize)); err != nil {
		t.Fatal(err)
	}
	// Written to the end (seal), then cut, then read.
	if err := f.seal(); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(f.Name(), bufSize+align); err != nil {
		t.Fatal(err)
	}
	r, err := f.Reader(0)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, r)
	if err == nil || errors.Is(err, errStopped) {
		t.Fatalf("read %d bytes of a file cut short, error %v", n, err)
	}
	t.Logf("after %d bytes: %v", n, err)
}

// settle waits for the number of goroutines to come back to before.
func settle(t *testing.T, before int) {
	t.Helper()
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 100 {
			t.Fatalf("%d goroutines, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAligned checks alignedBuf's alignment and length.
func TestAligned(t *testing.T) {
	for _, n := range []int{1, align, 3*align + 5} {
		b := alignedBuf(n)
		if len(b) != n || cap(b) != n {
			t.Errorf("alignedBuf(%d): len %d cap %d", n, len(b), cap(b))
		}
		if a := uintptrOf(b) % align; a != 0 {
			t.Errorf("alignedBuf(%d) starts %d bytes past a %d-byte boundary", n, a, align)
		}
	}
}

// TestSlowDisk: when the first direct writes run below the rate (here any
// rate is too slow), the File turns O_DIRECT off and goes on through the
// page cache; the bytes come back the same.
func TestSlowDisk(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("direct I/O is used on Linux only")
	}
	f, err := createTemp(t.TempDir(), "slow-*.bin", openDirect, 2*bufSize, math.Inf(1))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !f.Direct() {
		t.Skip("the test folder's file system refuses direct I/O")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	want := make([]byte, 5*bufSize+777)
	for i := range want {
		want[i] = byte(rng.Uint32())
	}
	for p := want; len(p) > 0; {
		n := min(len(p), 1+rng.IntN(3*bufSize))
		if _, err := f.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	r, err := f.Reader(bufSize)
	if err != nil {
		t.Fatal(err)
	}
	if f.Direct() {
		t.Error("direct I/O still on after a slow probe")
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes back, differing from the %d written", len(got), len(want))
	}
}

// TestFastDisk: at a rate any disk beats, direct I/O stays on.
func TestFastDisk(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("direct I/O is used on Linux only")
	}
	f, err := createTemp(t.TempDir(), "fast-*.bin", openDirect, 2*bufSize, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !f.Direct() {
		t.Skip("the test folder's file system refuses direct I/O")
	}
	if _, err := f.Write(make([]byte, 3*bufSize+5)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Reader(bufSize); err != nil {
		t.Fatal(err)
	}
	if !f.Direct() {
		t.Error("direct I/O turned off at a rate of 1 byte a second")
	}
}
