package mtx

import (
	"bytes"
	stdgzip "compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/scbench/scbench/sparse"
)

// benchText is a 10x-like matrix: 27,998 genes, cells of about 700 genes
// each, sorted by cell and gene, small counts; 2.1M entries, ~27 MB.
func benchText(cells int, shuffled bool) []byte {
	rng := rand.New(rand.NewPCG(51, 52))
	const genes = 27998
	type e struct{ g, c, v int }
	var es []e
	for c := range cells {
		n := 200 + rng.IntN(1000)
		g := 0
		for range n {
			g += 1 + rng.IntN(2*genes/n)
			if g > genes {
				break
			}
			v := 1
			if rng.IntN(3) == 0 {
				v = 1 + rng.IntN(40)
			}
			es = append(es, e{g, c + 1, v})
		}
	}
	if shuffled {
		rng.Shuffle(len(es), func(i, j int) { es[i], es[j] = es[j], es[i] })
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%%%%MatrixMarket matrix coordinate integer general\n%%metadata_json: {}\n%d %d %d\n", genes, cells, len(es))
	for _, x := range es {
		fmt.Fprintf(&b, "%d %d %d\n", x.g, x.c, x.v)
	}
	return b.Bytes()
}

// BenchmarkParseBlock is the parser alone, one goroutine: MB/s of text.
func BenchmarkParseBlock(b *testing.B) {
	text := benchText(100, false)
	var m matrixFile
	h, err := m.reset(bytes.NewReader(text), "bench")
	if err != nil {
		b.Fatal(err)
	}
	rest, _ := m.br.Peek(m.br.Buffered())
	blk := &block{text: rest[:bytes.LastIndexByte(rest, '\n')+1]}
	spec := &parseSpec{h: h, lo: 0, hi: int32(h.Cols), values: true}
	b.SetBytes(int64(len(blk.text)))
	b.ReportAllocs()
	for b.Loop() {
		spec.parse(blk)
		if blk.err != nil {
			b.Fatal(blk.err.msg)
		}
	}
}

// benchCells is the number of cells of BenchmarkRows's matrix: 3000 (2.1M
// entries, 27 MB of text), or $MTX_BENCH_CELLS.
func benchCells() int {
	if n, err := strconv.Atoi(os.Getenv("MTX_BENCH_CELLS")); err == nil && n > 0 {
		return n
	}
	return 3000
}

// BenchmarkConvert is Convert into a zarr store (Blosc-lz4) from a sorted
// plain or gzip matrix: MB/s of matrix text.
func BenchmarkConvert(b *testing.B) {
	for _, gz := range []bool{false, true} {
		b.Run(fmt.Sprintf("gzip=%v", gz), func(b *testing.B) {
			cells := benchCells()
			text := benchText(cells, false)
			dir := b.TempDir()
			path := filepath.Join(dir, "matrix.mtx")
			if gz {
				path += ".gz"
			}
			writeFile(b, path, text, gz)
			var ft, bc bytes.Buffer
			for i := range 27998 {
				fmt.Fprintf(&ft, "ENSG%d\tG%d\tGene Expression\n", i, i%20000)
			}
			for i := range cells {
				fmt.Fprintf(&bc, "CELL%d-1\n", i)
			}
			os.WriteFile(filepath.Join(dir, "features.tsv"), ft.Bytes(), 0o644)
			os.WriteFile(filepath.Join(dir, "barcodes.tsv"), bc.Bytes(), 0o644)
			out := filepath.Join(b.TempDir(), "out.zarr")
			b.SetBytes(int64(len(text)))
			var st Stats
			for b.Loop() {
				os.RemoveAll(out)
				var err error
				st, err = Convert(context.Background(), dir, out, ConvertOptions{})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(st.Entries)/st.Elapsed.Seconds()/1e6, "Mentries/s")
		})
	}
}

type discard struct{ nnz int64 }

func (d *discard) Rows(_ int, m *sparse.CSR) error { d.nnz += m.NNZ(); return nil }
func (d *discard) Restart() error                  { d.nnz = 0; return nil }

// BenchmarkRows is the whole conversion to row chunks (no writer) from a
// file: plain or gzip text, sorted (one pass) or shuffled (count pass plus
// block passes). MB/s is of the matrix text per conversion; textMB/s
// counts the text of every pass.
func BenchmarkRows(b *testing.B) {
	for _, c := range []struct {
		name         string
		gz, shuffled bool
		blocks       int // block passes when shuffled; 0: what the budget gives
	}{
		{"plain", false, false, 0},
		{"gzip", true, false, 0},
		{"shuffled", false, true, 0},
		{"shuffled-4passes", false, true, 2},
	} {
		b.Run(c.name, func(b *testing.B) {
			text := benchText(benchCells(), c.shuffled)
			dir := b.TempDir()
			path := filepath.Join(dir, "matrix.mtx")
			if c.gz {
				path += ".gz"
			}
			writeFile(b, path, text, c.gz)
			os.WriteFile(filepath.Join(dir, "features.tsv"), nil, 0o644)
			os.WriteFile(filepath.Join(dir, "barcodes.tsv"), nil, 0o644)
			d, err := Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			opt := RowsOptions{}
			if c.blocks > 0 {
				opt.chunkEntries = int(d.Header.Entries)/c.blocks + 1
			}
			b.SetBytes(int64(len(text)))
			var st Stats
			for b.Loop() {
				st, err = d.Rows(context.Background(), opt, &discard{})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(st.Passes), "passes")
			b.ReportMetric(st.TextMBps(), "textMB/s")
			b.ReportMetric(float64(st.Entries)/st.Elapsed.Seconds()/1e6, "Mentries/s")
		})
	}
}

// BenchmarkGunzip is klauspost's gzip alone on the benchmark matrix: the
// ceiling of a single-stream gzip conversion (MB/s of text out).
func BenchmarkGunzip(b *testing.B) {
	text := benchText(benchCells(), false)
	var z bytes.Buffer
	w := stdgzip.NewWriter(&z)
	w.Write(text)
	w.Close()
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		r, err := gzip.NewReader(bytes.NewReader(z.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			k, err := r.Read(buf)
			n += k
			if err != nil {
				break
			}
		}
		if n != len(text) {
			b.Fatalf("%d bytes, want %d", n, len(text))
		}
	}
}
