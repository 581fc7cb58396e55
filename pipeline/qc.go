package pipeline

import "math"

// ObsQC holds calculate_qc_metrics' per-cell columns for every input cell,
// and the cell filter's verdict.
type ObsQC struct {
	NGenesByCounts []int32   // non-zero values of the cell (scanpy: getnnz after eliminate_zeros)
	TotalCounts    []float64 // sum of the cell's counts
	Keep           []bool    // MinGenes <= n_genes_by_counts <= MaxGenes
	NKept          int       // cells kept
}

// Log1pNGenesByCounts returns log1p(n_genes_by_counts).
func (o *ObsQC) Log1pNGenesByCounts() []float64 {
	out := make([]float64, len(o.NGenesByCounts))
	for i, n := range o.NGenesByCounts {
		out[i] = math.Log1p(float64(n))
	}
	return out
}

// Log1pTotalCounts returns log1p(total_counts).
func (o *ObsQC) Log1pTotalCounts() []float64 {
	return log1pAll(o.TotalCounts)
}

// keep reports whether a cell with n non-zero genes passes the filter.
func (p Params) keep(n int32) bool {
	return int(n) >= p.MinGenes && int(n) <= p.MaxGenes
}

// VarQC holds calculate_qc_metrics' per-gene columns, over all input cells.
type VarQC struct {
	NCells         int       // cells the statistics are over
	NCellsByCounts []int64   // cells in which the gene is non-zero
	TotalCounts    []float64 // sum of the gene's counts
}

// MeanCounts returns total_counts / n_cells.
func (v *VarQC) MeanCounts() []float64 {
	out := make([]float64, len(v.TotalCounts))
	for j, t := range v.TotalCounts {
		out[j] = t / float64(v.NCells)
	}
	return out
}

// Log1pMeanCounts returns log1p(mean_counts).
func (v *VarQC) Log1pMeanCounts() []float64 { return log1pAll(v.MeanCounts()) }

// Log1pTotalCounts returns log1p(total_counts).
func (v *VarQC) Log1pTotalCounts() []float64 { return log1pAll(v.TotalCounts) }

// PctDropoutByCounts returns (1 - n_cells_by_counts/n_cells) * 100, the
// percentage of cells in which the gene is zero, computed as scanpy does.
func (v *VarQC) PctDropoutByCounts() []float64 {
	out := make([]float64, len(v.NCellsByCounts))
	for j, c := range v.NCellsByCounts {
		out[j] = (1 - float64(c)/float64(v.NCells)) * 100
	}
	return out
}

func log1pAll(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = math.Log1p(v)
	}
	return out
}

// normalizeFactor returns the factor normalize_total(target_sum) multiplies
// a cell's counts by. scanpy works in float32 here: it divides the float32
// total by target_sum, takes the float32 reciprocal (a total of zero counts
// as one) and multiplies the float32 values by it. Doing the same keeps the
// normalized values identical to scanpy's, so that genes at the HVG cut-off
// are ranked alike.
func normalizeFactor(total, targetSum float64) float64 {
	c := float32(total)
	if c == 0 {
		c = 1
	}
	c /= float32(targetSum)
	return float64(1 / c)
}

// GeneStats are the per-gene mean and variance (ddof=1) of the normalized,
// log1p-transformed expression of the kept cells: the input of
// highly_variable_genes and scale.
type GeneStats struct {
	N        int // cells
	Mean     []float64
	Variance []float64 // unbiased: divided by N-1, as scanpy's _get_mean_var
}

// NewGeneStats turns per-gene sums and sums of squares over n cells into
// means and unbiased variances. scanpy computes the biased variance and
// multiplies it by n/(n-1); the result is the same. Round-off can make a
// constant gene's variance a hair negative; it is clamped to zero.
func NewGeneStats(sum, sumSq []float64, n int) GeneStats {
	g := GeneStats{N: n, Mean: make([]float64, len(sum)), Variance: make([]float64, len(sum))}
	if n == 0 {
		for j := range g.Mean {
			g.Mean[j], g.Variance[j] = math.NaN(), math.NaN()
		}
		return g
	}
	fn := float64(n)
	for j, s := range sum {
		m := s / fn
		g.Mean[j] = m
		if n < 2 {
			g.Variance[j] = math.NaN() // scanpy divides by n-1 = 0
			continue
		}
		v := (sumSq[j] - s*m) / (fn - 1)
		if v < 0 {
			v = 0
		}
		g.Variance[j] = v
	}
	return g
}

// ScaleStd returns the standard deviations that scale(zero_center=False)
// divides each gene by: sqrt of the unbiased variance, with 0 replaced by
// 1 (a constant gene stays as it is).
func ScaleStd(variance []float64) []float64 {
	std := make([]float64, len(variance))
	for j, v := range variance {
		s := math.Sqrt(v)
		if s == 0 {
			s = 1
		}
		std[j] = s
	}
	return std
}
