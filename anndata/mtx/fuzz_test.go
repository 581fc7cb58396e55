package mtx

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// parseBytes parses a whole Matrix Market text (or gzip stream) held in
// memory through the pipeline, returning its entries in file order.
func parseBytes(data []byte, workers, blockSize int) (Header, []genEntry, error) {
	open := func(m *matrixFile) (Header, error) { return m.reset(bytes.NewReader(data), "test.mtx") }
	var m matrixFile
	h, err := open(&m)
	if err != nil {
		return h, nil, err
	}
	p := &passer{path: "test.mtx", open: open, want: h}
	spec := &parseSpec{h: h, lo: 0, hi: int32(h.Cols), values: true}
	var out []genEntry
	_, err = p.run(context.Background(), spec, passConfig{workers: workers, blockSize: blockSize}, func(b *block) error {
		for k := range b.cells {
			out = append(out, genEntry{gene: int(b.genes[k]), cell: int(b.cells[k]), val: b.vals[k]})
		}
		return nil
	})
	return h, out, err
}

// FuzzParseMatrixMarket feeds arbitrary bytes to the header and entry
// parsers (they must not panic, and what they accept must be in range),
// then parses a valid file generated from seed and checks that the entries
// come back as generated.
func FuzzParseMatrixMarket(f *testing.F) {
	f.Add([]byte("%%MatrixMarket matrix coordinate integer general\n%c\n3 4 2\n1 1 5\n3 4 7\n"), uint64(1))
	f.Add([]byte("%%MatrixMarket matrix coordinate real symmetric\r\n2 2 2\r\n1 1 -1.5e3\r\n2 1 .25\r\n"), uint64(2))
	f.Add([]byte("%%MatrixMarket matrix coordinate pattern general\n 3 3 2\n1\t2\n3 3 \n"), uint64(3))
	f.Add([]byte("%%MatrixMarket matrix coordinate integer general\n2 2 1\n1 1 99999999999999999999\n"), uint64(4))
	f.Add([]byte("%%MatrixMarket matrix coordinate real skew-symmetric\n3 3 1\n3 1 nan\n"), uint64(5))
	f.Add([]byte("%%MatrixMarket matrix coordinate integer general\n2 2 3\n1 1 1\n\n% x\n2 2 2"), uint64(6))
	f.Add([]byte("\x1f\x8b\x08garbage"), uint64(7))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		block := 1 + int(seed%97)
		if h, got, err := parseBytes(data, 1+int(seed%3), block); err == nil {
			if int64(len(got)) > 2*h.Entries {
				t.Fatalf("%d entries from a file declaring %d", len(got), h.Entries)
			}
			for _, e := range got {
				if e.gene < 0 || e.gene >= h.Rows || e.cell < 0 || e.cell >= h.Cols {
					t.Fatalf("entry (%d, %d) outside %d x %d", e.gene, e.cell, h.Rows, h.Cols)
				}
			}
		} else if err.Error() == "" {
			t.Fatal("empty error message")
		}

		rng := rand.New(rand.NewPCG(seed, seed>>7))
		cfg := genConfig{
			cells: rng.IntN(20), genes: 1 + rng.IntN(20),
			order: orders[rng.IntN(len(orders))], field: Field(rng.IntN(3)),
			fancy: rng.IntN(2) == 0, dupFrac: 0.2,
		}
		if cfg.cells > 0 {
			cfg.entries = rng.IntN(60)
		}
		g := generate(rng, cfg)
		_, got, err := parseBytes(g.text, 1+rng.IntN(3), block)
		if err != nil {
			t.Fatalf("generated file: %v\n%s", err, g.text)
		}
		if len(got) != len(g.entries) {
			t.Fatalf("%d entries, generated %d\n%s", len(got), len(g.entries), g.text)
		}
		for i, e := range g.entries {
			q := got[i]
			if q.gene != e.gene || q.cell != e.cell || math.Float32bits(q.val) != math.Float32bits(e.val) {
				t.Fatalf("entry %d: (%d, %d, %v), generated (%d, %d, %v %q)", i, q.gene, q.cell, q.val, e.gene, e.cell, e.val, e.text)
			}
		}
	})
}
