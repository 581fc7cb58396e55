package pipeline

// Highly variable genes, flavor "cell_ranger" (Zheng et al. 2017, Nat.
// Commun. 8:14049, "Massively parallel digital transcriptional profiling of
// single cells", Methods: "we computed the normalized dispersion ... by
// binning genes by mean expression and computing the median absolute
// deviation within each bin"), as scanpy 1.9.6's
// _highly_variable_genes_single_batch computes it from per-gene means and
// variances.

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// HVG is the cell_ranger table over all genes: scanpy's var columns means,
// dispersions, dispersions_norm and highly_variable.
type HVG struct {
	Means           []float64 // mean, with 0 replaced by 1e-12
	Dispersions     []float64 // variance / mean (no logarithm for cell_ranger)
	DispersionsNorm []float64 // (dispersion - bin median) / bin MAD; NaN where undefined
	HighlyVariable  []bool

	// BinEdges are the edges of the mean bins after duplicates were dropped,
	// -Inf and +Inf included; bins are (edge[i], edge[i+1]].
	BinEdges []float64
	// CutOff is the normalized dispersion of the NTop-th gene: genes with
	// nan_to_num(dispersions_norm) >= CutOff are selected.
	CutOff float64
	// NTop is the number of genes asked for after clipping to the genes
	// with a normalized dispersion. More may be selected when they tie.
	NTop     int
	Warnings []string
}

// Selected returns the indices of the highly variable genes, ascending.
func (h *HVG) Selected() []int {
	var idx []int
	for j, hv := range h.HighlyVariable {
		if hv {
			idx = append(idx, j)
		}
	}
	return idx
}

// madNormal is scipy.stats.norm.ppf(3/4), statsmodels' default divisor
// that makes the MAD a consistent estimate of a normal standard deviation.
const madNormal = 0.6744897501960817

// hvgPercentiles are the mean percentiles that bound cell_ranger's bins:
// np.arange(10, 105, 5).
var hvgPercentiles = []float64{10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95, 100}

// ErrNoDispersions is returned when no gene has a defined normalized
// dispersion, so that no cut-off exists.
var ErrNoDispersions = errors.New("pipeline: no gene has a normalized dispersion (every mean bin holds genes of equal dispersion)")

// HighlyVariableCellRanger selects the nTopGenes most variable genes from
// their means and unbiased variances, as
// scanpy.pp.highly_variable_genes(flavor="cell_ranger", n_top_genes) does:
//
//   - mean[mean == 0] = 1e-12; dispersion = variance / mean;
//   - bins: pandas.cut(means, [-inf, percentiles 10, 15, ..., 100 of the
//     means, +inf]), intervals closed on the right; edges that coincide
//     are dropped (pandas' duplicates="drop"), where scanpy would raise;
//   - dispersions_norm = (dispersion - median of the bin) / MAD of the bin,
//     the MAD as statsmodels.robust.mad: median(|d - median(d)| / 0.6745).
//     A bin of one gene, or of genes of equal dispersion, has MAD 0: its
//     genes get NaN (0/0) or ±Inf;
//   - the cut-off is the nTopGenes-th largest of the non-NaN normalized
//     dispersions, and the genes with nan_to_num(dispersions_norm) >=
//     cut-off are selected (ties can select more than nTopGenes).
//
// nTopGenes above the number of genes, or of genes with a normalized
// dispersion, selects all of those, with a warning.
func HighlyVariableCellRanger(mean, variance []float64, nTopGenes int) (*HVG, error) {
	n := len(mean)
	if len(variance) != n {
		return nil, fmt.Errorf("pipeline: %d means but %d variances", n, len(variance))
	}
	if n == 0 {
		return nil, errors.New("pipeline: highly_variable_genes on zero genes")
	}
	if nTopGenes < 1 {
		return nil, fmt.Errorf("pipeline: n_top_genes %d is not positive", nTopGenes)
	}
	h := &HVG{
		Means:           make([]float64, n),
		Dispersions:     make([]float64, n),
		DispersionsNorm: make([]float64, n),
		HighlyVariable:  make([]bool, n),
	}
	for j, m := range mean {
		if m == 0 {
			m = 1e-12
		}
		h.Means[j] = m
		h.Dispersions[j] = variance[j] / m
	}

	// Bin edges from the percentiles of the means.
	sorted := slices.Clone(h.Means)
	slices.Sort(sorted)
	edges := make([]float64, 0, len(hvgPercentiles)+2)
	edges = append(edges, math.Inf(-1))
	for _, q := range hvgPercentiles {
		edges = append(edges, percentileLinear(sorted, q))
	}
	edges = append(edges, math.Inf(1))
	edges = slices.Compact(edges) // duplicates="drop"
	h.BinEdges = edges

	// Group the genes by bin; NaN means fall in no bin (pandas.cut gives NaN).
	nb := len(edges) - 1
	bin := make([]int, n)
	members := make([][]float64, nb)
	for j, m := range h.Means {
		b := -1
		if !math.IsNaN(m) {
			// First edge >= m closes the bin (edge[b], edge[b+1]].
			b = sort.SearchFloat64s(edges, m) - 1
			if b < 0 || b >= nb {
				b = -1
			}
		}
		bin[j] = b
		if b >= 0 {
			members[b] = append(members[b], h.Dispersions[j])
		}
	}
	med := make([]float64, nb)
	mad := make([]float64, nb)
	for b, d := range members {
		med[b] = nanMedian(d) // pandas' groupby median skips NaN
		mad[b] = madStatsmodels(d)
	}
	for j, b := range bin {
		if b < 0 {
			h.DispersionsNorm[j] = math.NaN()
			continue
		}
		h.DispersionsNorm[j] = (h.Dispersions[j] - med[b]) / mad[b]
	}

	// The cut-off.
	var finite []float64
	for _, d := range h.DispersionsNorm {
		if !math.IsNaN(d) {
			finite = append(finite, d)
		}
	}
	if len(finite) == 0 {
		return nil, ErrNoDispersions
	}
	slices.Sort(finite)
	slices.Reverse(finite)
	top := nTopGenes
	if top > n {
		h.Warnings = append(h.Warnings, fmt.Sprintf("n_top_genes %d > %d genes: returning all genes", top, n))
		top = n
	}
	if top > len(finite) {
		h.Warnings = append(h.Warnings, fmt.Sprintf("n_top_genes %d > %d genes with a normalized dispersion: returning all genes with a normalized dispersion", top, len(finite)))
		top = len(finite)
	}
	h.NTop = top
	h.CutOff = finite[top-1]
	for j, d := range h.DispersionsNorm {
		h.HighlyVariable[j] = nanToNum(d) >= h.CutOff
	}
	return h, nil
}

// nanToNum is numpy.nan_to_num for one value: NaN becomes 0 and ±Inf the
// largest finite float64 of that sign.
func nanToNum(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return 0
	case math.IsInf(x, 1):
		return math.MaxFloat64
	case math.IsInf(x, -1):
		return -math.MaxFloat64
	}
	return x
}

// percentileLinear is numpy.percentile(a, q) with the default "linear"
// method on sorted, NaN-free a, including numpy's way of interpolating
// (from the nearer end), so that edges that coincide with a mean do so
// exactly as in numpy.
func percentileLinear(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	idx := q / 100 * float64(n-1)
	lo := math.Floor(idx)
	i := int(lo)
	if i >= n-1 {
		return sorted[n-1]
	}
	t := idx - lo
	a, b := sorted[i], sorted[i+1]
	d := b - a
	if t >= 0.5 {
		return b - d*(1-t)
	}
	return a + d*t
}

// median is numpy.median: NaN when any value is NaN or there are none; the
// mean of the two middle values for an even count. It sorts x.
func median(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	for _, v := range x {
		if math.IsNaN(v) {
			return math.NaN()
		}
	}
	slices.Sort(x)
	n := len(x)
	if n%2 == 1 {
		return x[n/2]
	}
	return (x[n/2-1] + x[n/2]) / 2
}

// nanMedian is the median of the values that are not NaN (pandas' median).
func nanMedian(x []float64) float64 {
	y := make([]float64, 0, len(x))
	for _, v := range x {
		if !math.IsNaN(v) {
			y = append(y, v)
		}
	}
	return median(y)
}

// madStatsmodels is statsmodels.robust.mad(x) with its defaults:
// median(|x - median(x)| / 0.6745), NaN for no values.
func madStatsmodels(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	c := median(slices.Clone(x))
	dev := make([]float64, len(x))
	for i, v := range x {
		dev[i] = math.Abs(v-c) / madNormal
	}
	return median(dev)
}
