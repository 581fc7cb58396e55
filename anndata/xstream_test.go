package anndata

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"unsafe"

	"github.com/scbench/scbench/sparse"
)

// rCollectReleasing streams X like rCollect but copies each chunk and
// hands it back with Release; it returns the matrix and how many chunks
// were decoded into the memory of an earlier, released chunk.
func rCollectReleasing(t *testing.T, f *File, opt StreamOptions) (*sparse.CSR, int) {
	t.Helper()
	released := map[*float32]bool{}
	reused := 0
	out := rStack(t, f, opt, func(r *ChunkReader, c Chunk) {
		if len(c.Data) > 0 {
			p := unsafe.SliceData(c.Data)
			if released[p] {
				reused++
			}
			released[p] = true
		}
		// Scribble over the chunk first: the reader must overwrite all of
		// the memory it reuses.
		for i := range c.Indices {
			c.Indices[i], c.Data[i] = -1, -1
		}
		for i := range c.Indptr {
			c.Indptr[i] = -1
		}
		m := c.CSR
		r.Release(c)
		if m.Indptr != nil || m.Indices != nil || m.Data != nil || m.Rows != 0 {
			t.Fatalf("chunk at %d: Release left the CSR %d x %d with %d values", c.Start, m.Rows, m.Cols, len(m.Data))
		}
		r.Release(c) // a second Release does nothing
	})
	return out, reused
}

func TestStreamRelease(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, tc := range []struct {
		rows, cols, chunk int
		data              string
		gz                bool
	}{
		{1013, 211, 37, "<f4", true},
		{611, 97, 1001, "<f4", false},
		{389, 53, 64, "<f8", true}, // converted: decoded through a temporary
	} {
		m := rRandomCSR(rng, tc.rows, tc.cols, 0.08)
		root := filepath.Join(t.TempDir(), "s.zarr")
		rWriteStore(t, root, rCSRStore{m: m, chunk: tc.chunk, dataType: tc.data, gz: tc.gz})
		f, err := Open(root)
		if err != nil {
			t.Fatal(err)
		}
		for _, opt := range []StreamOptions{
			{Rows: 7, Workers: 1, Prefetch: 1}, {Rows: 13, Workers: 4, Prefetch: 1},
			{Rows: 29, Workers: 3, Prefetch: 3}, {Rows: 1},
		} {
			got, reused := rCollectReleasing(t, f, opt)
			rSameCSR(t, "stream with Release", got, m)
			if chunks := (tc.rows + opt.Rows - 1) / opt.Rows; chunks >= 20 && reused == 0 {
				t.Errorf("%d x %d, %+v: none of %d chunks reused a released chunk's memory", tc.rows, tc.cols, opt, chunks)
			}
		}
	}
}

// TestReleaseAfterClose releases chunks kept past Close: the reader
// empties them and keeps nothing.
func TestReleaseAfterClose(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	m := rRandomCSR(rng, 300, 40, 0.1)
	root := filepath.Join(t.TempDir(), "s.zarr")
	rWriteStore(t, root, rCSRStore{m: m, chunk: 50})
	f, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	r := f.RowChunks(context.Background(), StreamOptions{Rows: 10})
	var kept []Chunk
	for len(kept) < 3 && r.Next() {
		kept = append(kept, r.Chunk())
	}
	if len(kept) != 3 {
		t.Fatalf("got %d chunks: %v", len(kept), r.Err())
	}
	want := slices.Clone(kept[2].Data)
	r.Close()
	r.Release(kept[0])
	r.Release(kept[1])
	if kept[0].Data != nil || kept[1].Data != nil {
		t.Fatal("Release did not empty the chunks")
	}
	if len(r.free) != 0 {
		t.Fatalf("a closed reader keeps %d released chunks", len(r.free))
	}
	if !slices.Equal(kept[2].Data, want) {
		t.Fatal("a chunk kept and not released changed")
	}
	rSameCSR(t, "after Release of a closed reader's chunks", rCollect(t, f, StreamOptions{Rows: 10}), m)
}

func TestStreamReleaseDense(t *testing.T) {
	m, f := rDenseStore(t, rand.New(rand.NewPCG(35, 36)), 131, 11)
	got, _ := rCollectReleasing(t, f, StreamOptions{Rows: 9, Workers: 2})
	rSameCSR(t, "dense stream with Release", got, m)
}

// TestMaxUint32 checks the column index check's reduction (the SIMD one
// where the CPU has it, and the Go one) against a plain loop on awkward
// lengths, with negative indices (huge as uint32).
func TestMaxUint32(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	for _, n := range []int{0, 1, 3, 4, 5, 7, 8, 9, 31, 32, 33, 64, 95, 1001, 4099} {
		for trial := range 20 {
			v := make([]int32, n)
			for i := range v {
				v[i] = int32(rng.IntN(28000))
			}
			if n > 0 && trial%2 == 1 {
				v[rng.IntN(n)] = int32(rng.Int32()) | -1<<31 // negative
			}
			if n > 0 && trial%4 == 2 {
				v[rng.IntN(n)] = 28000 + int32(rng.IntN(5))
			}
			want := uint32(0)
			for _, c := range v {
				want = max(want, uint32(c))
			}
			if got := maxUint32(v); got != want {
				t.Fatalf("n=%d trial %d: maxUint32 = %d, want %d", n, trial, got, want)
			}
			if got := maxUint32Go(v); got != want {
				t.Fatalf("n=%d trial %d: maxUint32Go = %d, want %d", n, trial, got, want)
			}
		}
	}
}

// BenchmarkMaxUint32 times the column index check on 1 MiB of indices (a
// decoded zarr unit's worth, in L2), SIMD and Go.
func BenchmarkMaxUint32(b *testing.B) {
	rng := rand.New(rand.NewPCG(39, 40))
	v := make([]int32, 1<<18)
	for i := range v {
		v[i] = int32(rng.IntN(28000))
	}
	for _, k := range []struct {
		name string
		f    func([]int32) uint32
	}{{"best", maxUint32}, {"go", maxUint32Go}} {
		b.Run(k.name, func(b *testing.B) {
			b.SetBytes(int64(4 * len(v)))
			for b.Loop() {
				k.f(v)
			}
		})
	}
}
