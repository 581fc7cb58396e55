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
	"runtime"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/internal/parallel"
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

// Pass 3 multiplies by the loadings in float32. Z V is bound by reading
// V's rows, one per stored value of Z (800 bytes in float64 at k = 100;
// all of V, 4 MB at p = 5,000, outgrows a core's L2 cache), and float32
// halves them: the CPU backend's float32 kernels ran 3.2 times as fast
// (BenchmarkSpMM: 12.6e9 multiply-adds a second on a core, against 3.9e9).
// A score sums about 400 products, accurate in float32 to about 1e-6 of
// their magnitudes; X_pca is float32 anyway, in scanpy too.

// scoreLoadings puts the loadings v (p x k, row-major) on b rounded to
// float32, for pass 3's product, and returns them with mu^T V of the
// rounded values (scoreOffset), so that both terms of a score use the
// same V. The caller frees the buffer.
func scoreLoadings(b backend.Backend, mean, v []float64, p, k int) (backend.Dense, []float64, error) {
	v32 := make([]float32, p*k)
	rounded := make([]float64, p*k)
	for i, x := range v {
		v32[i] = float32(x)
		rounded[i] = float64(v32[i])
	}
	buf, err := b.Alloc(backend.Float32, p*k)
	if err != nil {
		return backend.Dense{}, nil, fmt.Errorf("pipeline: the loadings for pass 3: %w", err)
	}
	if err := b.Write(buf, v32); err != nil {
		buf.Free()
		return backend.Dense{}, nil, fmt.Errorf("pipeline: the loadings for pass 3: %w", err)
	}
	return backend.Dense{Rows: p, Cols: k, Data: buf}, scoreOffset(mean, rounded, p, k), nil
}

// centreScores sets dst = zv - 1 off^T for rows x k row-major scores, the
// difference taken in float64, on all cores.
func centreScores(dst, zv []float32, off []float64, rows, k int) {
	parallel.Blocks(rowBlocks(rows, k), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			for c := range k {
				dst[i*k+c] = float32(float64(zv[i*k+c]) - off[c])
			}
		}
	})
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
	// column took seconds at a million cells), in row blocks on all cores;
	// the first cell of largest magnitude wins, as before: blocks are
	// combined in order with a strict comparison.
	type argMax struct {
		best []float32
		arg  []int
	}
	blocks := rowBlocks(n, k)
	parts := make([]argMax, len(blocks))
	parallel.Blocks(blocks, func(b int, lo, hi int) {
		am := argMax{best: make([]float32, k), arg: make([]int, k)}
		for c := range am.best {
			am.best[c] = -1
		}
		for i := lo; i < hi; i++ {
			for c, v := range scores[i*k : (i+1)*k] {
				if a := abs32(v); a > am.best[c] {
					am.best[c], am.arg[c] = a, i
				}
			}
		}
		parts[b] = am
	})
	best, arg := parts[0].best, parts[0].arg
	for _, am := range parts[1:] {
		for c := range best {
			if am.best[c] > best[c] {
				best[c], arg[c] = am.best[c], am.arg[c]
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
	parallel.Blocks(blocks, func(_ int, lo, hi int) {
		for i := lo; i < hi; i++ {
			row := scores[i*k : (i+1)*k]
			for c, f := range flip {
				if f {
					row[c] = -row[c]
				}
			}
		}
	})
	for j := 0; j < p; j++ {
		row := loadings[j*k : (j+1)*k]
		for c, f := range flip {
			if f {
				row[c] = -row[c]
			}
		}
	}
}

// rowBlocks cuts n rows of width values into at most GOMAXPROCS blocks of
// at least 1<<16 values each: the host's loops over the scores run on all
// cores at atlas scale, and in one block when small.
func rowBlocks(n, width int) [][2]int {
	per := max(1, (1<<16)/max(width, 1))
	nb := max(1, min(runtime.GOMAXPROCS(0), n/per))
	step := (n + nb - 1) / nb
	var out [][2]int
	for lo := 0; lo < n; lo += step {
		out = append(out, [2]int{lo, min(lo+step, n)})
	}
	return out
}

func abs32(x float32) float32 { return float32(math.Abs(float64(x))) }

// pcaComps returns the number of components PCA computes (n_comps,
// clamped; see clampComps), records it in the report and warns when it
// differs from n_comps.
func (r *runner) pcaComps() (int, error) {
	p, n := len(r.res.HVGIndex), r.res.Obs.NKept
	k, msg := clampComps(r.p.NComps, n, p)
	if msg != "" {
		r.warn("pca: %s", msg)
	}
	if k < 1 {
		return 0, fmt.Errorf("pipeline: PCA of %d cells x %d genes has no component", n, p)
	}
	r.res.Report.NComps = k
	return k, nil
}

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
