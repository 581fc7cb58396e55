package pipeline

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/scbench/scbench/sparse"
)

// randChunk returns a rows x cols CSR chunk with about nnz values a row at
// random sorted columns (the last column among them, to test the widest
// index), some rows empty.
func randChunk(rng *rand.Rand, rows, cols, nnz int) *sparse.CSR {
	m := &sparse.CSR{Rows: rows, Cols: cols, Indptr: make([]int64, rows+1)}
	for i := range rows {
		if rng.IntN(6) > 0 {
			row := rng.Perm(cols)[:min(cols, 1+rng.IntN(2*nnz))]
			if i == 0 {
				row[0] = int(cols - 1)
			}
			slices.Sort(row)
			for _, j := range row {
				m.Indices = append(m.Indices, int32(j))
				m.Data = append(m.Data, rng.Float32()*10-2)
			}
		}
		m.Indptr[i+1] = int64(len(m.Data))
	}
	return m
}

// TestMatrixCache appends chunks and reads them back, in memory, moved to
// the file past the budget, and on the file from the start (expect), with
// column indices narrowed to 16 bits (up to 65,536 columns) and not,
// twice. (The file is in the test's temporary folder: on Linux's usual
// file systems with direct I/O; package directio tests its fallback.)
func TestMatrixCache(t *testing.T) {
	for _, cols := range []int{1, 5000, 1 << 16, 1<<16 + 1, 100003} {
		for _, mode := range []string{"memory", "spill", "direct"} {
			t.Run(fmt.Sprintf("cols=%d/%s", cols, mode), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(cols), 3))
				var chunks []*sparse.CSR
				var total int64
				for range 7 {
					m := randChunk(rng, 1+rng.IntN(300), cols, 17)
					chunks = append(chunks, m)
					total += csrBytes(m)
				}
				budget := 2 * total
				if mode == "spill" {
					budget = total / 3
				}
				c := newMatrixCache(budget, t.TempDir())
				defer c.Close()
				if mode == "direct" {
					c.expect(budget + 1)
				}
				for _, m := range chunks {
					// The cache may keep m itself: give it a copy.
					if err := c.Append(&sparse.CSR{Rows: m.Rows, Cols: m.Cols, Indptr: slices.Clone(m.Indptr), Indices: slices.Clone(m.Indices), Data: slices.Clone(m.Data)}); err != nil {
						t.Fatal(err)
					}
				}
				if got, want := c.OnDisk(), mode != "memory"; got != want {
					t.Fatalf("OnDisk() = %v, want %v", got, want)
				}
				if c.OnDisk() {
					t.Logf("%s: direct I/O %v", c.f.Name(), c.f.Direct())
				}
				for pass := range 2 { // Each may be called again
					k := 0
					err := c.Each(func(m *sparse.CSR) error {
						w := chunks[k]
						if m.Rows != w.Rows || m.Cols != w.Cols || !slices.Equal(m.Indptr, w.Indptr) || !slices.Equal(m.Indices, w.Indices) || !slices.Equal(m.Data, w.Data) {
							return fmt.Errorf("pass %d: chunk %d differs from the one appended", pass, k)
						}
						k++
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
					if k != len(chunks) {
						t.Fatalf("pass %d: Each gave %d chunks, want %d", pass, k, len(chunks))
					}
				}
			})
		}
	}
}

// TestMatrixCacheBadIndex checks that a column index outside the chunk
// is an error when the indices are narrowed, not a silent wrap.
func TestMatrixCacheBadIndex(t *testing.T) {
	c := newMatrixCache(0, t.TempDir())
	defer c.Close()
	m := &sparse.CSR{Rows: 1, Cols: 300, Indptr: []int64{0, 2}, Indices: []int32{3, 70000}, Data: []float32{1, 2}}
	if err := c.Append(m); err == nil {
		t.Fatal("Append took a column index past the last column")
	}
}

// TestMatrixCacheLarge moves to the file more than the buffers of direct
// I/O hold (package directio writes and reads 4 MiB at a time, three
// buffers in flight), and reads it back after an Each that stopped early.
func TestMatrixCacheLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const cols = 5000
	var chunks []*sparse.CSR
	for range 6 {
		chunks = append(chunks, randChunk(rng, 1000+rng.IntN(1000), cols, 400))
	}
	c := newMatrixCache(0, t.TempDir())
	defer c.Close()
	for _, m := range chunks {
		if err := c.Append(&sparse.CSR{Rows: m.Rows, Cols: m.Cols, Indptr: slices.Clone(m.Indptr), Indices: slices.Clone(m.Indices), Data: slices.Clone(m.Data)}); err != nil {
			t.Fatal(err)
		}
	}
	if !c.OnDisk() {
		t.Fatal("the cache stayed in memory with a budget of 0")
	}
	t.Logf("%s: %s, direct I/O %v", c.f.Name(), FormatBytes(c.f.Size()), c.f.Direct())
	stop := errors.New("stop")
	for _, last := range []int{1, len(chunks), len(chunks)} {
		k := 0
		err := c.Each(func(m *sparse.CSR) error {
			w := chunks[k]
			if m.Rows != w.Rows || m.Cols != w.Cols || !slices.Equal(m.Indptr, w.Indptr) || !slices.Equal(m.Indices, w.Indices) || !slices.Equal(m.Data, w.Data) {
				return fmt.Errorf("chunk %d differs from the one appended", k)
			}
			k++
			if k == last && last < len(chunks) {
				return stop
			}
			return nil
		})
		if last < len(chunks) && errors.Is(err, stop) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if k != len(chunks) {
			t.Fatalf("Each gave %d chunks, want %d", k, len(chunks))
		}
	}
}
