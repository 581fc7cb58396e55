package mtx

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/scbench/scbench/sparse"
)

// This file generates random 10x directories and the matrix they stand for,
// computed the plain way (a map per cell, summed in file order), as the
// reference the converter is checked against.

// Entry orders a generated file can have.
const (
	orderSorted      = "sorted"       // by cell, genes increasing (Cell Ranger)
	orderCellsOnly   = "cells-only"   // by cell, genes shuffled within a cell
	orderShuffled    = "shuffled"     // random
	orderGeneMajor   = "gene-major"   // by gene, then cell
	orderLateDisturb = "late-disturb" // sorted but for one entry near the end
)

var orders = []string{orderSorted, orderCellsOnly, orderShuffled, orderGeneMajor, orderLateDisturb}

type genConfig struct {
	cells, genes int
	entries      int
	dupFrac      float64 // share of entries repeating an earlier (gene, cell)
	order        string
	field        Field
	sym          Symmetry
	gz           [3]bool // matrix, features, barcodes compressed
	legacy       bool    // genes.tsv with two columns
	antibody     bool    // some features are "Antibody Capture"
	fancy        bool    // CRLF, tabs, odd spacing, comments, odd header case
	prefix       string  // file name prefix, as GEO uses
}

type genEntry struct {
	gene, cell int // 0-based
	text       string
	val        float32
}

// gen10x is a generated 10x directory and its reference matrix.
type gen10x struct {
	cfg      genConfig
	dir      string
	entries  []genEntry // file order
	barcodes []string
	ids      []string
	names    []string
	types    []string
	text     []byte // the matrix file, uncompressed
}

func randomConfig(rng *rand.Rand) genConfig {
	c := genConfig{
		cells: rng.IntN(90),
		genes: 1 + rng.IntN(70),
		order: orders[rng.IntN(len(orders))],
		field: Field(rng.IntN(3)),
		gz:    [3]bool{rng.IntN(2) == 0, rng.IntN(2) == 0, rng.IntN(2) == 0},
		fancy: rng.IntN(3) == 0,
	}
	c.legacy = rng.IntN(4) == 0
	c.antibody = !c.legacy && rng.IntN(3) == 0
	if rng.IntN(6) == 0 {
		c.prefix = "GSM12_"
	}
	if c.cells > 0 {
		c.entries = rng.IntN(c.cells*c.genes/3 + 2)
	}
	if rng.IntN(3) == 0 {
		c.dupFrac = rng.Float64() * 0.3
	}
	return c
}

// randValue returns a value's text and what scanpy would store for it.
func randValue(rng *rand.Rand, f Field) (string, float32) {
	switch f {
	case Pattern:
		return "", 1
	case Integer:
		var v int64
		switch rng.IntN(6) {
		case 0:
			v = 0 // explicit zero: kept, as scipy keeps it
		case 1:
			v = -rng.Int64N(100)
		case 2:
			v = rng.Int64N(1 << 40)
		case 3:
			v = 1<<24 + 1 + rng.Int64N(9) // rounds in float32
		default:
			v = 1 + rng.Int64N(30)
		}
		s := strconv.FormatInt(v, 10)
		if rng.IntN(10) == 0 && v >= 0 {
			s = "+" + s
		}
		return s, float32(v)
	}
	var s string
	switch rng.IntN(9) {
	case 0:
		s = strconv.FormatFloat(rng.NormFloat64()*math.Pow(10, float64(rng.IntN(30)-15)), 'g', -1, 64)
	case 1:
		s = strconv.FormatFloat(rng.NormFloat64()*1000, 'e', rng.IntN(18), 64)
	case 2:
		s = strconv.FormatFloat(rng.ExpFloat64()*100, 'f', rng.IntN(8), 64)
	case 3:
		s = strconv.Itoa(rng.IntN(1000) - 100)
	case 4:
		s = []string{"0", "-0.0", "1e5", "1E-3", ".5", "3.", "-2.5e+2", "123456789012345678", "1e-40", "1e39", "0.1", "16777217"}[rng.IntN(12)]
	case 5:
		s = strconv.FormatFloat(float64(rng.Float32()), 'g', -1, 32)
	default:
		s = strconv.Itoa(1 + rng.IntN(20))
	}
	f64, err := strconv.ParseFloat(s, 64)
	if err != nil && !strings.Contains(err.Error(), "out of range") {
		panic(err)
	}
	return s, float32(f64)
}

// generate makes the entries and names of cfg (no files).
func generate(rng *rand.Rand, cfg genConfig) *gen10x {
	g := &gen10x{cfg: cfg}
	if cfg.sym != General {
		g.cfg.cells = cfg.genes
		cfg.cells = cfg.genes
	}
	type key struct{ gene, cell int }
	var keys []key
	for range cfg.entries {
		if len(keys) > 0 && rng.Float64() < cfg.dupFrac {
			keys = append(keys, keys[rng.IntN(len(keys))])
			continue
		}
		if cfg.cells == 0 {
			break
		}
		k := key{rng.IntN(cfg.genes), rng.IntN(cfg.cells)}
		if cfg.sym != General && k.gene < k.cell {
			k.gene, k.cell = k.cell, k.gene // lower triangle, as the format stores
		}
		keys = append(keys, k)
	}
	switch cfg.order {
	case orderSorted, orderLateDisturb:
		slices.SortStableFunc(keys, func(a, b key) int {
			if a.cell != b.cell {
				return a.cell - b.cell
			}
			return a.gene - b.gene
		})
		if cfg.order == orderLateDisturb && len(keys) > 3 {
			// Move an early entry to near the end.
			i := rng.IntN(len(keys) / 3)
			k := keys[i]
			keys = slices.Delete(keys, i, i+1)
			keys = slices.Insert(keys, len(keys)-1, k)
		}
	case orderCellsOnly:
		rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		slices.SortStableFunc(keys, func(a, b key) int { return a.cell - b.cell })
	case orderGeneMajor:
		slices.SortStableFunc(keys, func(a, b key) int {
			if a.gene != b.gene {
				return a.gene - b.gene
			}
			return a.cell - b.cell
		})
	case orderShuffled:
		rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	}
	for _, k := range keys {
		s, v := randValue(rng, cfg.field)
		g.entries = append(g.entries, genEntry{gene: k.gene, cell: k.cell, text: s, val: v})
	}
	for c := range cfg.cells {
		g.barcodes = append(g.barcodes, fmt.Sprintf("%s-%d", barcode(rng), 1+c%3))
	}
	// Symbols repeat often, and some collide with a "-1" suffix already
	// present, to exercise make-unique.
	pool := []string{"Xkr4", "Gm1992", "Sox17", "Mrpl15", "Xkr4-1", "Actb", "Gapdh"}
	for i := range cfg.genes {
		g.ids = append(g.ids, fmt.Sprintf("ENSMUSG%011d", 10000+i))
		name := fmt.Sprintf("Gene%d", i)
		if rng.IntN(3) == 0 {
			name = pool[rng.IntN(len(pool))]
		}
		g.names = append(g.names, name)
		t := geneExpression
		if cfg.antibody && rng.IntN(3) == 0 {
			t = "Antibody Capture"
		}
		g.types = append(g.types, t)
	}
	if cfg.legacy {
		g.types = nil
	}
	g.text = g.matrixText(rng)
	return g
}

func barcode(rng *rand.Rand) string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = "ACGT"[rng.IntN(4)]
	}
	return string(b)
}

func (g *gen10x) matrixText(rng *rand.Rand) []byte {
	cfg := g.cfg
	var b bytes.Buffer
	eol := "\n"
	if cfg.fancy && rng.IntN(2) == 0 {
		eol = "\r\n"
	}
	banner := fmt.Sprintf("%%%%MatrixMarket matrix coordinate %s %s", cfg.field, cfg.sym)
	if cfg.fancy {
		banner = "%%matrixmarket Matrix COORDINATE " + strings.ToUpper(cfg.field.String()) + "   " + cfg.sym.String()
	}
	b.WriteString(banner + eol)
	b.WriteString("%metadata_json: {\"software_version\": \"test\"}" + eol)
	if cfg.fancy {
		b.WriteString(eol + "% another comment" + eol + "   " + eol)
	}
	fmt.Fprintf(&b, "%d %d %d%s", cfg.genes, cfg.cells, len(g.entries), eol)
	seps := []string{" "}
	if cfg.fancy {
		seps = []string{" ", "\t", "  ", " \t"}
	}
	sep := func() string { return seps[rng.IntN(len(seps))] }
	for i, e := range g.entries {
		if cfg.fancy && rng.IntN(4) == 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%d%s%d", e.gene+1, sep(), e.cell+1)
		if cfg.field != Pattern {
			b.WriteString(sep() + e.text)
		}
		if cfg.fancy && rng.IntN(4) == 0 {
			b.WriteString(" ")
		}
		if cfg.fancy && i == len(g.entries)-1 && rng.IntN(2) == 0 {
			break // no line end after the last entry
		}
		b.WriteString(eol)
	}
	return b.Bytes()
}

// write writes the files of g into dir.
func (g *gen10x) write(t testing.TB, dir string) {
	t.Helper()
	g.dir = dir
	cfg := g.cfg
	name := func(base string, gz bool) string {
		if gz {
			base += ".gz"
		}
		return filepath.Join(dir, cfg.prefix+base)
	}
	writeFile(t, name("matrix.mtx", cfg.gz[0]), g.text, cfg.gz[0])
	var ft bytes.Buffer
	for i := range g.ids {
		if cfg.legacy {
			fmt.Fprintf(&ft, "%s\t%s\n", g.ids[i], g.names[i])
		} else {
			fmt.Fprintf(&ft, "%s\t%s\t%s\n", g.ids[i], g.names[i], g.types[i])
		}
	}
	if cfg.legacy {
		writeFile(t, name("genes.tsv", cfg.gz[1]), ft.Bytes(), cfg.gz[1])
	} else {
		writeFile(t, name("features.tsv", cfg.gz[1]), ft.Bytes(), cfg.gz[1])
	}
	var bc bytes.Buffer
	for _, s := range g.barcodes {
		bc.WriteString(s + "\n")
	}
	writeFile(t, name("barcodes.tsv", cfg.gz[2]), bc.Bytes(), cfg.gz[2])
}

func writeFile(t testing.TB, path string, data []byte, gz bool) {
	t.Helper()
	if gz {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		data = b.Bytes()
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// keptGenes is the gene map scanpy's gex_only filter gives, or nil.
func (g *gen10x) keptGenes(all bool) []int32 {
	if g.types == nil || all || !slices.ContainsFunc(g.types, func(s string) bool { return s != geneExpression }) {
		return nil
	}
	m := make([]int32, len(g.types))
	n := int32(0)
	for i, s := range g.types {
		m[i] = -1
		if s == geneExpression {
			m[i] = n
			n++
		}
	}
	return m
}

// refRows is the cells x genes matrix, as sorted (gene, value) rows.
func (g *gen10x) refRows(genes []int32) [][]refEntry {
	sums := make([]map[int32]float32, g.cfg.cells)
	order := make([][]int32, g.cfg.cells)
	add := func(cell, gene int, v float32) {
		gg := int32(gene)
		if genes != nil {
			if gg = genes[gene]; gg < 0 {
				return
			}
		}
		if sums[cell] == nil {
			sums[cell] = map[int32]float32{}
		}
		if _, ok := sums[cell][gg]; !ok {
			order[cell] = append(order[cell], gg)
			sums[cell][gg] = v // not 0 + v, which would turn -0 into +0
			return
		}
		sums[cell][gg] += v
	}
	for _, e := range g.entries {
		add(e.cell, e.gene, e.val)
		if g.cfg.sym != General && e.gene != e.cell {
			v := e.val
			if g.cfg.sym == SkewSymmetric {
				v = -v
			}
			add(e.gene, e.cell, v)
		}
	}
	rows := make([][]refEntry, g.cfg.cells)
	for c := range rows {
		slices.Sort(order[c])
		for _, gg := range order[c] {
			rows[c] = append(rows[c], refEntry{gg, sums[c][gg]})
		}
	}
	return rows
}

type refEntry struct {
	gene int32
	val  float32
}

// collector is a RowSink that keeps copies of the rows and checks the
// chunk protocol.
type collector struct {
	cols     int
	next     int
	rows     [][]refEntry
	restarts int
	chunks   int
}

func (c *collector) Rows(start int, m *sparse.CSR) error {
	if start != c.next {
		return fmt.Errorf("chunk starts at row %d, want %d", start, c.next)
	}
	if m.Cols != c.cols {
		return fmt.Errorf("chunk has %d columns, want %d", m.Cols, c.cols)
	}
	if err := m.Validate(); err != nil {
		return fmt.Errorf("chunk at row %d: %w", start, err)
	}
	for r := range m.Rows {
		idx, val := m.Row(r)
		row := make([]refEntry, len(idx))
		for k := range idx {
			if k > 0 && idx[k] <= idx[k-1] {
				return fmt.Errorf("row %d: indices not strictly increasing: %v", start+r, idx)
			}
			row[k] = refEntry{idx[k], val[k]}
		}
		c.rows = append(c.rows, row)
	}
	// Scribble over the chunk: the producer must not use it after Rows.
	for i := range m.Data {
		m.Data[i] = float32(math.NaN())
	}
	c.next += m.Rows
	c.chunks++
	return nil
}

func (c *collector) Restart() error {
	c.restarts++
	c.next, c.rows = 0, nil
	return nil
}

// compareRows reports the first difference between got and want.
func compareRows(got, want [][]refEntry) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d rows, want %d", len(got), len(want))
	}
	for r := range want {
		if len(got[r]) != len(want[r]) {
			return fmt.Errorf("row %d: %d values %v, want %d %v", r, len(got[r]), got[r], len(want[r]), want[r])
		}
		for k := range want[r] {
			g, w := got[r][k], want[r][k]
			if g.gene != w.gene || math.Float32bits(g.val) != math.Float32bits(w.val) {
				return fmt.Errorf("row %d entry %d: (gene %d, %v), want (gene %d, %v)", r, k, g.gene, g.val, w.gene, w.val)
			}
		}
	}
	return nil
}

// runRows opens the generated directory and collects its rows.
func runRows(t testing.TB, g *gen10x, opt RowsOptions) (*collector, Stats, error) {
	t.Helper()
	d, err := Open(g.dir)
	if err != nil {
		return nil, Stats{}, err
	}
	nGenes := g.cfg.genes
	if opt.Genes != nil {
		nGenes = 0
		for _, x := range opt.Genes {
			if x >= 0 {
				nGenes++
			}
		}
	}
	c := &collector{cols: nGenes}
	st, err := d.Rows(context.Background(), opt, c)
	return c, st, err
}
