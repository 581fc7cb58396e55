package synth

import (
	"context"
	"errors"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/sparse"
)

// statCells is the sample size of the statistical tests: enough for
// tolerances of a few percent, small enough to draw in a fraction of a
// second.
const statCells = 5000

// fullModel caches the default model with statCells cells and its counts,
// which several tests share.
var fullModel = sync.OnceValues(func() (*Model, *sparse.CSR) {
	p := DefaultParams()
	p.Cells = statCells
	m, err := NewModel(p)
	if err != nil {
		panic(err)
	}
	return m, m.Chunk(0, statCells)
})

// checkRows verifies the CSR structure and that every row has strictly
// increasing columns and positive integer values.
func checkRows(t *testing.T, x *sparse.CSR) {
	t.Helper()
	if err := x.Validate(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < x.Rows; i++ {
		idx, val := x.Row(i)
		for k := range idx {
			if k > 0 && idx[k] <= idx[k-1] {
				t.Fatalf("row %d: column %d after %d (not strictly increasing)", i, idx[k], idx[k-1])
			}
			if v := val[k]; v < 1 || v != float32(math.Trunc(float64(v))) {
				t.Fatalf("row %d column %d: value %v is not a positive integer", i, idx[k], v)
			}
		}
	}
}

func equalCSR(a, b *sparse.CSR) bool {
	return a.Rows == b.Rows && a.Cols == b.Cols && slices.Equal(a.Indptr, b.Indptr) &&
		slices.Equal(a.Indices, b.Indices) && slices.Equal(a.Data, b.Data)
}

// vstack stacks row chunks into one matrix.
func vstack(chunks []*sparse.CSR) *sparse.CSR {
	out := &sparse.CSR{Cols: chunks[0].Cols, Indptr: []int64{0}}
	for _, c := range chunks {
		base := out.Indptr[len(out.Indptr)-1]
		for _, p := range c.Indptr[1:] {
			out.Indptr = append(out.Indptr, base+p)
		}
		out.Indices = append(out.Indices, c.Indices...)
		out.Data = append(out.Data, c.Data...)
		out.Rows += c.Rows
	}
	return out
}

func TestDeterminism(t *testing.T) {
	p := DefaultParams()
	p.Cells, p.Genes, p.Seed = 1234, 3001, 99
	m, err := NewModel(p)
	if err != nil {
		t.Fatal(err)
	}
	whole := m.Chunk(0, p.Cells)
	checkRows(t, whole)

	// Any chunking and any number of workers give the same rows.
	for _, c := range []struct{ rows, workers int }{{1234, 1}, {97, 1}, {97, 3}, {500, 4}, {1, 2}} {
		mq := *m // ChunkRows and Workers only change how the data is made
		mq.p.ChunkRows, mq.p.Workers = c.rows, c.workers
		var chunks []*sparse.CSR
		err = mq.Stream(context.Background(), func(start int, x *sparse.CSR) error {
			if want := len(chunks) * c.rows; start != want {
				t.Fatalf("chunk starts at %d, want %d", start, want)
			}
			chunks = append(chunks, x.Clone())
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := vstack(chunks); !equalCSR(got, whole) {
			t.Errorf("ChunkRows=%d Workers=%d: streamed matrix differs from one chunk", c.rows, c.workers)
		}
	}

	// A chunk in the middle equals the same rows of the whole.
	mid, err := GenerateChunk(p, 400, 333)
	if err != nil {
		t.Fatal(err)
	}
	if !equalCSR(mid, whole.RowView(400, 733)) {
		t.Error("GenerateChunk(p, 400, 333) differs from rows 400-733 of the whole")
	}

	// Another seed gives other data, other barcodes and another model.
	q := p
	q.Seed++
	other, err := GenerateChunk(q, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	if equalCSR(other, whole.RowView(0, 50)) {
		t.Error("seeds 99 and 100 gave the same counts")
	}
	mq, _ := NewModel(q)
	if slices.Equal(mq.Barcodes(0, 50), m.Barcodes(0, 50)) {
		t.Error("seeds 99 and 100 gave the same barcodes")
	}
	if slices.Equal(mq.Markers(0), m.Markers(0)) {
		t.Error("seeds 99 and 100 gave the same markers")
	}
}

func TestParamsValidate(t *testing.T) {
	if err := DefaultParams().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, breakIt := range map[string]func(p *Params){
		"genes":      func(p *Params) { p.Genes = 10 },
		"cells":      func(p *Params) { p.Cells = -1 },
		"types":      func(p *Params) { p.CellTypes = 0 },
		"lineages":   func(p *Params) { p.Lineages = p.CellTypes + 1 },
		"nnz":        func(p *Params) { p.NNZPerCell = 0 },
		"nnz nan":    func(p *Params) { p.NNZPerCell = math.NaN() },
		"lib sd":     func(p *Params) { p.LogLibSD = -1 },
		"low q":      func(p *Params) { p.LowQuality = 1.5 },
		"mito":       func(p *Params) { p.MitoFraction = 0.7 },
		"dispersion": func(p *Params) { p.Dispersion = 0 },
		"fold":       func(p *Params) { p.MinFoldChange, p.MaxFoldChange = 5, 2 },
		"chunk":      func(p *Params) { p.ChunkRows = -3 },
	} {
		p := DefaultParams()
		breakIt(&p)
		if _, err := NewModel(p); !errors.Is(err, ErrParams) {
			t.Errorf("%s: NewModel error %v, want ErrParams", name, err)
		}
	}
}

// TestSmallShapes draws awkward, small shapes: few genes (NNZPerCell out of
// reach), one type, no low-quality cells, all low-quality cells.
func TestSmallShapes(t *testing.T) {
	for _, c := range []struct {
		genes, types, lineages int
		lowQ                   float64
	}{{40, 1, 1, 0}, {41, 3, 2, 1}, {257, 7, 3, 0.5}, {1999, 13, 5, 0.03}} {
		p := DefaultParams()
		p.Cells, p.Genes, p.CellTypes, p.Lineages, p.LowQuality = 301, c.genes, c.types, c.lineages, c.lowQ
		m, err := NewModel(p)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		x := m.Chunk(0, p.Cells)
		checkRows(t, x)
		if x.Cols != c.genes || x.Rows != p.Cells {
			t.Fatalf("%+v: shape %d x %d", c, x.Rows, x.Cols)
		}
		if x.NNZ() == 0 {
			t.Errorf("%+v: no counts", c)
		}
		if got := len(m.Categories()); got != c.types+1 {
			t.Errorf("%+v: %d categories, want %d", c, got, c.types+1)
		}
		if names := m.GeneNames(); len(names) != c.genes || !strings.HasPrefix(names[c.genes-1], "mt-") {
			t.Errorf("%+v: %d gene names ending with %q", c, len(names), names[len(names)-1])
		}
	}
}

func TestStatistics(t *testing.T) {
	m, x := fullModel()
	p := m.p
	checkRows(t, x)
	truth := m.Truth(0, x.Rows)
	lqCode := int32(len(m.types))
	mt := m.MitoGenes()
	isMT := make([]bool, p.Genes)
	for _, g := range mt {
		isMT[g] = true
	}

	libs := m.LibrarySizes(0, x.Rows)
	var nnz, logLib, logLib2, nHealthy, nLQ, lowGenes, lqLowGenes float64
	var mtHealthy, mtLQ float64
	for i := 0; i < x.Rows; i++ {
		idx, val := x.Row(i)
		var tot, mtc float64
		for k, g := range idx {
			tot += float64(val[k])
			if isMT[g] {
				mtc += float64(val[k])
			}
		}
		if int(tot) != libs[i] {
			t.Fatalf("cell %d: total count %.0f, LibrarySizes says %d", i, tot, libs[i])
		}
		nnz += float64(len(idx))
		if len(idx) < 200 {
			lowGenes++
		}
		if truth[i] == lqCode {
			nLQ++
			mtLQ += mtc / tot
			if len(idx) < 200 {
				lqLowGenes++
			}
			continue
		}
		nHealthy++
		mtHealthy += mtc / tot
		l := math.Log(tot)
		logLib += l
		logLib2 += l * l
	}
	n := float64(x.Rows)
	meanNNZ := nnz / n
	t.Logf("mean nnz/cell %.1f (target %.0f, model %.1f, spread %.3f)", meanNNZ, p.NNZPerCell, m.expNNZ, m.geneLogSD)
	if math.Abs(meanNNZ/p.NNZPerCell-1) > 0.05 {
		t.Errorf("mean non-zeros per cell %.1f, want %.0f within 5%%", meanNNZ, p.NNZPerCell)
	}

	// Healthy library sizes: log-normal with the type offsets on top.
	mean := logLib / nHealthy
	sd := math.Sqrt(logLib2/nHealthy - mean*mean)
	var offVar float64
	for _, ct := range m.types {
		offVar += ct.prop * ct.libOffset * ct.libOffset
	}
	wantSD := math.Sqrt(p.LogLibSD*p.LogLibSD + offVar)
	t.Logf("log library: mean %.3f sd %.3f (want %.3f, %.3f)", mean, sd, p.LogLibMean, wantSD)
	if math.Abs(mean-p.LogLibMean) > 0.04 || math.Abs(sd-wantSD) > 0.03 {
		t.Errorf("log library size mean %.3f sd %.3f, want %.3f and %.3f", mean, sd, p.LogLibMean, wantSD)
	}

	// Low-quality cells: the right fraction, few genes, mt-heavy.
	frac := nLQ / n
	se := math.Sqrt(p.LowQuality * (1 - p.LowQuality) / n)
	t.Logf("low quality %.4f (want %.2f); mt fraction %.3f healthy, %.3f low quality; %.1f%% of cells under 200 genes",
		frac, p.LowQuality, mtHealthy/nHealthy, mtLQ/nLQ, 100*lowGenes/n)
	if math.Abs(frac-p.LowQuality) > 4*se {
		t.Errorf("low-quality fraction %.4f, want %.2f ± %.4f", frac, p.LowQuality, 4*se)
	}
	if got := mtHealthy / nHealthy; math.Abs(got-p.MitoFraction) > 0.01 {
		t.Errorf("healthy mt fraction %.3f, want %.3f", got, p.MitoFraction)
	}
	if got := mtLQ / nLQ; got < lqMitoLo || got > lqMitoHi {
		t.Errorf("low-quality mt fraction %.3f, want within [%.1f, %.1f]", got, lqMitoLo, lqMitoHi)
	}
	if lqLowGenes < 0.7*nLQ {
		t.Errorf("%.0f of %.0f low-quality cells under 200 genes, want most", lqLowGenes, nLQ)
	}
	if f := lowGenes / n; f < 0.01 || f > 0.1 {
		t.Errorf("%.1f%% of cells under 200 genes, want some (1-10%%) for the QC filter", 100*f)
	}
}

// cellTotals returns the total count of each row.
func cellTotals(x *sparse.CSR) []float64 {
	tot := make([]float64, x.Rows)
	for i := range tot {
		_, val := x.Row(i)
		for _, v := range val {
			tot[i] += float64(v)
		}
	}
	return tot
}

func TestMarkers(t *testing.T) {
	m, x := fullModel()
	truth := m.Truth(0, x.Rows)
	tot := cellTotals(x)
	// Per type, the mean library-normalised expression of every gene.
	nt := len(m.types)
	sums := make([][]float64, nt+1)
	cells := make([]float64, nt+1)
	for i := range sums {
		sums[i] = make([]float64, m.p.Genes)
	}
	for i := 0; i < x.Rows; i++ {
		idx, val := x.Row(i)
		t := truth[i]
		cells[t]++
		for k, g := range idx {
			sums[t][g] += float64(val[k]) / tot[i]
		}
	}
	checked := 0
	for ty := 0; ty < nt; ty++ {
		if cells[ty] < 30 {
			continue
		}
		checked++
		// Compare with cells outside the lineage: lineage markers are
		// shared by its types.
		var in, out, outCells float64
		var logRatio float64
		mk := m.Markers(ty)
		for _, g := range mk {
			in = sums[ty][g] / cells[ty]
			out, outCells = 0, 0
			for u := 0; u < nt; u++ {
				if m.types[u].lineage != m.types[ty].lineage {
					out += sums[u][g]
					outCells += cells[u]
				}
			}
			out /= outCells
			logRatio += math.Log((in + 1e-7) / (out + 1e-7))
		}
		if ratio := math.Exp(logRatio / float64(len(mk))); ratio < math.Sqrt(m.p.MinFoldChange*m.p.MaxFoldChange)/3 {
			t.Errorf("type %s: markers %.1fx higher than outside the lineage, want about %.0fx", m.types[ty].name, ratio, math.Sqrt(m.p.MinFoldChange*m.p.MaxFoldChange))
		}
	}
	if checked < 10 {
		t.Fatalf("only %d types with 30 cells", checked)
	}
}

// TestOverdispersion checks the negative binomial noise: within one type,
// highly expressed genes vary more than Poisson would, also after taking
// out the library size.
func TestOverdispersion(t *testing.T) {
	m, x := fullModel()
	truth := m.Truth(0, x.Rows)
	tot := cellTotals(x)
	// The most common type.
	counts := make([]int, len(m.types))
	for _, c := range truth {
		if int(c) < len(m.types) {
			counts[c]++
		}
	}
	ty := int32(0)
	for i, c := range counts {
		if c > counts[ty] {
			ty = int32(i)
		}
	}
	var rows []int
	var libSum float64
	for i, c := range truth {
		if c == ty {
			rows = append(rows, i)
			libSum += tot[i]
		}
	}
	// Top genes by base expression (all perturbed).
	top := m.regRanks()[:20]
	var excess float64
	for _, g := range top {
		vals := make([]float64, len(rows))
		var sum float64
		for k, i := range rows {
			vals[k] = float64(x.At(i, int(g)))
			sum += vals[k]
		}
		mean := sum / float64(len(rows))
		var v float64
		for _, c := range vals {
			v += (c - mean) * (c - mean)
		}
		v /= float64(len(rows) - 1)
		if v <= mean {
			t.Errorf("gene %d in %s: variance %.2f <= mean %.2f", g, m.types[ty].name, v, mean)
		}
		// Pearson residuals given each cell's library: variance 1 for
		// Poisson, 1 + phi*mu for negative binomial.
		pg := sum / libSum
		var r2 float64
		for k, i := range rows {
			mu := tot[i] * pg
			r2 += (vals[k] - mu) * (vals[k] - mu) / mu
		}
		excess += r2/float64(len(rows)) - 1
	}
	excess /= float64(len(top))
	t.Logf("%s (%d cells): mean Pearson residual variance of the top genes 1 + %.2f", m.types[ty].name, len(rows), excess)
	if excess < 1 {
		t.Errorf("Pearson residual variance 1 + %.2f: no overdispersion beyond the library size", excess)
	}
}

// TestSeparable checks that the types are recoverable from expression:
// nearest-centroid classification of held-out healthy cells in
// log1p(normalised) space, a weak stand-in for PCA + kNN + Leiden.
func TestSeparable(t *testing.T) {
	m, x := fullModel()
	truth := m.Truth(0, x.Rows)
	tot := cellTotals(x)
	nt := len(m.types)
	g := m.p.Genes
	const train = 4000
	cent := make([][]float64, nt)
	n := make([]float64, nt)
	for i := range cent {
		cent[i] = make([]float64, g)
	}
	val := func(v float32, i int) float64 { return math.Log1p(float64(v) * 1e4 / tot[i]) }
	for i := 0; i < train; i++ {
		c := truth[i]
		if int(c) == nt {
			continue
		}
		n[c]++
		idx, vs := x.Row(i)
		for k, j := range idx {
			cent[c][j] += val(vs[k], i)
		}
	}
	norm2 := make([]float64, nt)
	for c := range cent {
		for j := range cent[c] {
			cent[c][j] /= max(n[c], 1)
			norm2[c] += cent[c][j] * cent[c][j]
		}
	}
	var right, total float64
	var v []float64
	for i := train; i < x.Rows; i++ {
		if int(truth[i]) == nt {
			continue
		}
		idx, vs := x.Row(i)
		v = v[:0]
		var vv float64
		for k := range idx {
			v = append(v, val(vs[k], i))
			vv += v[k] * v[k]
		}
		best, bestD := -1, math.Inf(1)
		for c := range cent {
			if n[c] == 0 {
				continue
			}
			d := norm2[c] + vv
			cc := cent[c]
			for k, j := range idx {
				d -= 2 * v[k] * cc[j]
			}
			if d < bestD {
				best, bestD = c, d
			}
		}
		total++
		if best == int(truth[i]) {
			right++
		}
	}
	t.Logf("nearest-centroid accuracy %.3f on %.0f held-out cells", right/total, total)
	if right/total < 0.9 {
		t.Errorf("nearest-centroid accuracy %.3f, want >= 0.9", right/total)
	}
}

func TestBarcodesAndFrames(t *testing.T) {
	p := DefaultParams()
	p.Cells, p.Genes = 100_003, 2000
	m, err := NewModel(p)
	if err != nil {
		t.Fatal(err)
	}
	bc := m.Barcodes(0, p.Cells)
	re := regexp.MustCompile(`^[ACGT]{16}-1$`)
	for _, b := range bc[:100] {
		if !re.MatchString(b) {
			t.Fatalf("barcode %q is not 10x-like", b)
		}
	}
	sorted := slices.Clone(bc)
	sort.Strings(sorted)
	if len(slices.Compact(sorted)) != len(bc) {
		t.Error("barcodes are not unique")
	}
	if got := m.Barcodes(777, 3); !slices.Equal(got, bc[777:780]) {
		t.Errorf("Barcodes(777, 3) = %v, want %v", got, bc[777:780])
	}

	obs := m.Obs()
	if len(obs.Index) != p.Cells || len(obs.Columns) != 2 || obs.Columns[0].Name != "truth" {
		t.Fatalf("obs: %d rows, columns %v", len(obs.Index), obs.Columns)
	}
	cat, ok := obs.Columns[0].Values.(*anndata.Categorical)
	if !ok {
		t.Fatalf("truth is %T, want *anndata.Categorical", obs.Columns[0].Values)
	}
	if !slices.Equal(cat.Codes, m.Truth(0, p.Cells)) || !slices.Equal(cat.Categories, m.Categories()) {
		t.Error("obs truth differs from Truth and Categories")
	}
	lin := obs.Columns[1].Values.(*anndata.Categorical)
	for i, c := range cat.Codes {
		want := int32(p.Lineages) // low quality
		if int(c) < len(m.types) {
			want = int32(m.Lineage(int(c)))
		}
		if lin.Codes[i] != want {
			t.Fatalf("cell %d: lineage code %d, want %d", i, lin.Codes[i], want)
		}
	}
	if cat.Categories[len(cat.Categories)-1] != LowQualityLabel || lin.Categories[len(lin.Categories)-1] != LowQualityLabel {
		t.Error("low-quality label missing from the categories")
	}

	vr := m.Var()
	ids := vr.Columns[0].Values.([]string)
	if len(vr.Index) != p.Genes || len(ids) != p.Genes {
		t.Fatalf("var: %d names, %d ids", len(vr.Index), len(ids))
	}
	var nMT int
	for _, name := range vr.Index {
		if strings.HasPrefix(name, "mt-") {
			nMT++
		}
	}
	if nMT != 13 || vr.Index[0] != "Gene0001" {
		t.Errorf("var: %d mt- genes (want 13), first gene %q", nMT, vr.Index[0])
	}
}
