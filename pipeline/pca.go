package pipeline

// PCA of the scaled data from its Gram matrix.
//
// Let Z be the n x p scaled matrix: the filtered, normalized, log1p'd HVG
// matrix with each column divided by its standard deviation (ddof=1, 0
// replaced by 1), as scale(zero_center=False) leaves it. Pass 2 forms Z
// chunk by chunk on the device and accumulates Z^T Z and Z's column sums;
// pca(zero_center=True) takes the SVD of the centred Z - 1 mu^T, whose
// right singular vectors are the eigenvectors of the covariance
//
//	C = (Z - 1 mu^T)^T (Z - 1 mu^T) / (n-1) = Z^T Z / (n-1) - n/(n-1) mu mu^T,
//
// a rank-one update of the Gram matrix (one Gemm with beta = 1/(n-1)). Its
// eigenvalues are scanpy's "variance" (s_i^2 / (n-1)), and the scores are
// X_pca = (Z - 1 mu^T) V = Z V - 1 (mu^T V): the centred matrix, dense
// where Z is sparse, is never formed.

import (
	"fmt"
	"math"
)

// covarianceUpdate returns alpha and beta of C = alpha*mu*mu^T + beta*G,
// which turns the Gram matrix G of n cells into their covariance.
func covarianceUpdate(n int) (alpha, beta float64) {
	fn := float64(n)
	return -fn / (fn - 1), 1 / (fn - 1)
}

// totalVariance is the denominator of scanpy's variance_ratio: the sum of
// the variances of all scaled genes (not only of the leading components),
// which is the trace of C.
func totalVariance(variance []float64) float64 {
	var t float64
	for _, v := range variance {
		t += v
	}
	return t
}

// scoreOffset returns mu^T V (k values) for the p x k row-major V, so that
// a cell's scores are z^T V - mu^T V.
func scoreOffset(mean, v []float64, p, k int) []float64 {
	off := make([]float64, k)
	for j := 0; j < p; j++ {
		m := mean[j]
		row := v[j*k : (j+1)*k]
		for c, x := range row {
			off[c] += m * x
		}
	}
	return off
}

// flipSigns makes the signs of the components deterministic as scanpy's
// arpack path does (sklearn's svd_flip(u, v), deciding on u): for each
// component the score of largest magnitude (the first such cell) is made
// positive, and the loadings follow. scores is n x k, loadings p x k, both
// row-major.
func flipSigns(scores []float32, n int, loadings []float64, p, k int) {
	if n == 0 {
		return
	}
	// Row by row, so that the scores are read in memory order (column by
	// column took seconds at a million cells); the first cell of largest
	// magnitude wins, as before.
	best := make([]float32, k)
	arg := make([]int, k)
	for c := range best {
		best[c] = -1
	}
	for i := 0; i < n; i++ {
		for c, v := range scores[i*k : (i+1)*k] {
			if a := abs32(v); a > best[c] {
				best[c], arg[c] = a, i
			}
		}
	}
	flip := make([]bool, k)
	anyFlip := false
	for c := range flip {
		flip[c] = scores[arg[c]*k+c] < 0
		anyFlip = anyFlip || flip[c]
	}
	if !anyFlip {
		return
	}
	for i := 0; i < n; i++ {
		row := scores[i*k : (i+1)*k]
		for c, f := range flip {
			if f {
				row[c] = -row[c]
			}
		}
	}
	for j := 0; j < p; j++ {
		row := loadings[j*k : (j+1)*k]
		for c, f := range flip {
			if f {
				row[c] = -row[c]
			}
		}
	}
}

func abs32(x float32) float32 { return float32(math.Abs(float64(x))) }

// clampComps limits n_comps as scanpy's arpack path must: fewer components
// than min(cells, genes).
func clampComps(nComps, nCells, nGenes int) (int, string) {
	limit := min(nCells, nGenes) - 1
	if nComps <= limit {
		return nComps, ""
	}
	if limit < 1 {
		limit = 0
	}
	return limit, fmt.Sprintf("n_comps %d reduced to %d: PCA of %d cells x %d genes has fewer than min(cells, genes) components", nComps, limit, nCells, nGenes)
}
