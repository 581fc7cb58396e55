package synth

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/scbench/scbench/sparse"
	"gonum.org/v1/gonum/stat/distuv"
)

// sampler draws cells of one model. It holds per-goroutine scratch space
// (a dense count vector, a bitmap of touched genes, the per-cell alias
// table), so it is not safe for concurrent use: give each goroutine its own.
type sampler struct {
	m       *Model
	rng     splitMix
	norm    *rand.Rand // normal draws from rng
	counts  []uint32   // per gene, zero between cells
	touched []uint64   // bit g set when counts[g] > 0
	ab      aliasBuilder
	w       []float64    // per-cell weights of the perturbed entries
	tab     []aliasEntry // per-cell alias table over entry indices
	ecount  []uint32     // per-entry counts, zero between cells
	iota    []int32      // 0, 1, 2, ...: entry indices for the alias builder
}

func newSampler(m *Model) *sampler {
	s := &sampler{
		m:       m,
		counts:  make([]uint32, m.p.Genes),
		touched: make([]uint64, (m.p.Genes+63)/64),
	}
	s.norm = rand.New(&s.rng)
	return s
}

// header draws the first values of a cell's stream: whether it is a
// low-quality cell, and its type. Truth uses it alone, so it must stay the
// first thing cell draws.
func (m *Model) header(r *splitMix) (lowQuality bool, t int) {
	lowQuality = r.float64() < m.p.LowQuality
	u := r.float64()
	t = sort.Search(len(m.typeCum), func(k int) bool { return m.typeCum[k] > u })
	return lowQuality, min(t, len(m.types)-1)
}

// library draws a cell's total count; it comes right after header in the
// cell's stream.
func (m *Model) library(lowQuality bool, t int, norm *rand.Rand) int {
	p := &m.p
	logLib := p.LogLibMean + m.types[t].libOffset + p.LogLibSD*norm.NormFloat64()
	if lowQuality {
		logLib = p.LogLibMean + lqLibShift + lqLibSD*norm.NormFloat64()
	}
	return int(min(max(math.Round(math.Exp(logLib)), 1), maxLibrary))
}

// LibrarySizes returns the total counts of cells [start, start+rows) (the
// row sums of their counts) without drawing the counts.
func (m *Model) LibrarySizes(start, rows int) []int {
	out := make([]int, rows)
	var r splitMix
	norm := rand.New(&r)
	for i := range out {
		r.s = cellSeed(m.p.Seed, start+i)
		lq, t := m.header(&r)
		out[i] = m.library(lq, t, norm)
	}
	return out
}

// Truth returns the truth codes of cells [start, start+rows): the cell type
// index, or len(types) (the last of Categories) for low-quality cells.
func (m *Model) Truth(start, rows int) []int32 {
	out := make([]int32, rows)
	var r splitMix
	for i := range out {
		r.s = cellSeed(m.p.Seed, start+i)
		lq, t := m.header(&r)
		if lq {
			t = len(m.types)
		}
		out[i] = int32(t)
	}
	return out
}

// Chunk returns the counts of cells [start, start+rows) as a rows x Genes
// CSR matrix with strictly increasing column indices per row and positive
// integer float32 values. Cells past Params.Cells are defined too (the
// model has no end). Every call builds its own scratch space (about 150 KB);
// Stream reuses it across chunks.
func (m *Model) Chunk(start, rows int) *sparse.CSR {
	return newSampler(m).chunk(start, rows)
}

func (s *sampler) chunk(start, rows int) *sparse.CSR {
	// Allocate a little over the expected size so that appends rarely
	// reallocate; the slack is a few percent of the chunk.
	est := int(float64(rows)*s.m.expNNZ*1.05) + 4096
	out := &sparse.CSR{
		Indices: make([]int32, 0, est),
		Data:    make([]float32, 0, est),
	}
	s.chunkInto(out, start, rows)
	return out
}

// chunkInto overwrites dst with cells [start, start+rows), reusing its
// slices' capacity.
func (s *sampler) chunkInto(dst *sparse.CSR, start, rows int) {
	dst.Rows, dst.Cols = rows, s.m.p.Genes
	if cap(dst.Indptr) < rows+1 {
		dst.Indptr = make([]int64, rows+1)
	}
	dst.Indptr = dst.Indptr[:rows+1]
	dst.Indptr[0] = 0
	ind, data := dst.Indices[:0], dst.Data[:0]
	for r := 0; r < rows; r++ {
		ind, data = s.cell(start+r, ind, data)
		dst.Indptr[r+1] = int64(len(ind))
	}
	dst.Indices, dst.Data = ind, data
}

// cell appends the non-zeros of cell i, in increasing gene order.
func (s *sampler) cell(i int, indices []int32, data []float32) ([]int32, []float32) {
	m := s.m
	p := &m.p
	s.rng.s = cellSeed(p.Seed, i)
	lq, t := m.header(&s.rng)
	ct := &m.types[t]
	lib := m.library(lq, t, s.norm)

	// Per-cell gamma factors on the perturbed entries: one byte of
	// randomness picks a quantile of the gene's gamma distribution.
	n := len(ct.genes)
	if cap(s.w) < n {
		s.w = make([]float64, n)
		s.tab = make([]aliasEntry, n)
		s.ecount = make([]uint32, n)
		s.iota = make([]int32, n)
		for k := range s.iota {
			s.iota[k] = int32(k)
		}
	}
	w, tab, ecount := s.w[:n], s.tab[:n], s.ecount[:n]
	var r uint64
	var wsum float64
	for k := range w {
		if k&7 == 0 {
			r = s.rng.Uint64()
		}
		w[k] = ct.weights[k] * float64(m.gamma[ct.class[k]][uint8(r)])
		wsum += w[k]
		r >>= 8
	}
	if lq {
		wsum = s.lowQuality(w)
	}
	// Split the library between the perturbed entries and the static rest
	// up front, so the per-UMI loops need no branch between the two tables.
	nRest := int(distuv.Binomial{N: float64(lib), P: m.restMass / (wsum + m.restMass), Src: &s.rng}.Rand())

	// The perturbed entries take half the UMIs but are few: count them per
	// entry in a small array that stays in L1, then fold into the genes.
	s.ab.buildSum(tab, s.iota[:n], w, wsum)
	s.rng.s = drawEntries(tab, lib-nRest, s.rng.s, ecount)
	counts, touched := s.counts, s.touched
	for k, c := range ecount {
		g := ct.genes[k]
		counts[g] += c
		touched[g>>6] |= uint64(b2i(c > 0)) << (uint(g) & 63)
		ecount[k] = 0
	}
	s.rng.s = draw(m.rest, nRest, s.rng.s, counts, touched)

	return s.emit(indices, data)
}

// lowQuality turns a healthy profile into a damaged cell's: the marker
// excess is damped and the mt genes raised to a fraction drawn uniformly in
// [lqMitoLo, lqMitoHi] of the expected UMIs. It returns the new sum of w.
func (s *sampler) lowQuality(w []float64) float64 {
	m := s.m
	for k := m.nMT + m.nTop; k < len(w); k++ {
		w[k] *= lqMarkerDamp
	}
	f := lqMitoLo + (lqMitoHi-lqMitoLo)*s.rng.float64()
	var mt, other float64
	for k, x := range w {
		if k < m.nMT {
			mt += x
		} else {
			other += x
		}
	}
	boost := f * (other + m.restMass) / ((1 - f) * mt)
	for k := 0; k < m.nMT; k++ {
		w[k] *= boost
	}
	return mt*boost + other
}

// draw adds n UMIs drawn from tab to counts and marks their genes in
// touched. It takes and returns the generator state so that it stays in a
// register; each 64-bit value yields two UMIs.
func draw(tab []aliasEntry, n int, st uint64, counts []uint32, touched []uint64) uint64 {
	for ; n >= 2; n -= 2 {
		st += golden
		r := mix64(st)
		g := pick(tab, uint32(r))
		h := pick(tab, uint32(r>>32))
		counts[g]++
		touched[g>>6] |= 1 << (uint(g) & 63)
		counts[h]++
		touched[h>>6] |= 1 << (uint(h) & 63)
	}
	if n == 1 {
		st += golden
		g := pick(tab, uint32(mix64(st)))
		counts[g]++
		touched[g>>6] |= 1 << (uint(g) & 63)
	}
	return st
}

// drawEntries adds n UMIs drawn from tab, a table over entry indices, to
// ecount.
func drawEntries(tab []aliasEntry, n int, st uint64, ecount []uint32) uint64 {
	for ; n >= 2; n -= 2 {
		st += golden
		r := mix64(st)
		ecount[pick(tab, uint32(r))]++
		ecount[pick(tab, uint32(r>>32))]++
	}
	if n == 1 {
		st += golden
		ecount[pick(tab, uint32(mix64(st)))]++
	}
	return st
}

// emit appends the touched genes and their counts in gene order, and
// leaves counts and touched zero for the next cell. It first flattens the
// bitmap into gene indices, then gathers the counts. Flattening writes
// eight positions per word whether or not the word has that many bits
// (the extra ones are overwritten by the next word), so the inner loop runs
// once for almost every word and its branches are predictable; a
// bit-by-bit loop mispredicts once per word.
func (s *sampler) emit(indices []int32, data []float32) ([]int32, []float32) {
	counts, touched := s.counts, s.touched
	nnz := 0
	for _, word := range touched {
		nnz += bits.OnesCount64(word)
	}
	pos := len(indices)
	indices = slices.Grow(indices, nnz+8)[:pos+nnz+8]
	oi := indices[pos:]
	j := 0
	for wi, word := range touched {
		base := int32(wi << 6)
		cnt := bits.OnesCount64(word)
		for k := j; word != 0 && k+8 <= len(oi); k += 8 {
			o := oi[k : k+8 : k+8]
			o[0] = base + int32(bits.TrailingZeros64(word))
			word &= word - 1
			o[1] = base + int32(bits.TrailingZeros64(word))
			word &= word - 1
			o[2] = base + int32(bits.TrailingZeros64(word))
			word &= word - 1
			o[3] = base + int32(bits.TrailingZeros64(word))
			word &= word - 1
			o[4] = base + int32(bits.TrailingZeros64(word))
			word &= word - 1
			o[5] = base + int32(bits.TrailingZeros64(word))
			word &= word - 1
			o[6] = base + int32(bits.TrailingZeros64(word))
			word &= word - 1
			o[7] = base + int32(bits.TrailingZeros64(word))
			word &= word - 1
		}
		j += cnt
	}
	clear(touched)
	indices = indices[:pos+nnz]
	oi = indices[pos:]
	data = slices.Grow(data, nnz)[:pos+nnz]
	od := data[pos : pos+len(oi)]
	for k, g := range oi {
		od[k] = float32(counts[g])
		counts[g] = 0
	}
	return indices, data
}
