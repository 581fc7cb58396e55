package linalg

import (
	"runtime"
	"slices"

	"gonum.org/v1/gonum/blas/blas64"

	"github.com/scbench/scbench/internal/parallel"
)

// Single-precision products for EigSymTop (EigOptions.Float32).
//
// Once A no longer fits in cache (d = 5,000: 200 MB), a block product
// A*P streams all of A from memory; in float64 with 16 columns that is
// 4 flops a byte, and the products ran at about 40 GFLOP/s on two cores.
// A copy of A rounded to float32 is half the bytes and twice the lanes,
// and float32 accumulation over d terms keeps a product's relative error
// near 1e-6, far below the residual of 1e-3 of each eigenvalue that PCA
// asks for; the float64 Rayleigh-Ritz step at the end (refine) takes the
// eigenvalues back to float64 accuracy on the subspace found.

// singleCols is the number of columns of P a kernel call multiplies: one
// AVX-512 register of float32.
const singleCols = 16

// singleKernel computes rows x 16 of Y = A X: y[r*16+c] = sum over p < k
// of a[r*lda+p] * x[p*16+c], for r < rows (overwriting y).
type singleKernel struct {
	name string
	rows int
	fn   func(k int, a []float32, lda int, x, y []float32)
}

// singleGo is the portable kernel, one row at a time.
var singleGo = singleKernel{name: "generic", rows: 1, fn: skernGo}

func skernGo(k int, a []float32, lda int, x, y []float32) {
	var acc [singleCols]float32
	row := a[:k]
	for p, v := range row {
		xr := (*[singleCols]float32)(x[p*singleCols:])
		for c := range acc {
			acc[c] += v * xr[c]
		}
	}
	copy(y[:singleCols], acc[:])
}

// singleOp multiplies blocks by a float32 copy of a dense symmetric A.
type singleOp struct {
	d       int
	a       []float32 // d x d, row-major
	kern    singleKernel
	threads int
	x       []float32 // packed panels of the block: panel q is d x 16
}

// newSingleOp rounds a to float32 on threads goroutines (0: GOMAXPROCS)
// and picks the fastest kernel the CPU runs. finite is whether every
// rounded element is finite (a NaN, an infinity or a value beyond
// float32's range is not).
func newSingleOp(a blas64.General, threads int) (s *singleOp, finite bool) {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	d := a.Rows
	s = &singleOp{d: d, a: make([]float32, d*d), kern: bestSingleKernel(), threads: threads}
	blocks := splitRange(d, threads)
	bad := make([]bool, len(blocks))
	parallel.Blocks(blocks, func(blk, lo, hi int) {
		var inf float32 // stays 0 unless some element is not finite
		for i := lo; i < hi; i++ {
			dst := s.a[i*d : (i+1)*d]
			for j, v := range a.Data[i*a.Stride : i*a.Stride+d] {
				x := float32(v)
				dst[j] = x
				inf += x - x // NaN for an infinity or a NaN
			}
		}
		bad[blk] = inf != 0
	})
	return s, !slices.Contains(bad, true)
}

// apply sets dst (d x b) = A32 * src, src rounded to float32 and the
// result widened to float64.
func (s *singleOp) apply(dst, src blas64.General) error {
	d, b := s.d, src.Cols
	panels := (b + singleCols - 1) / singleCols
	if n := panels * d * singleCols; cap(s.x) < n {
		s.x = make([]float32, n)
	}
	x := s.x[:panels*d*singleCols]
	for q := 0; q < panels; q++ {
		c0 := q * singleCols
		w := min(singleCols, b-c0)
		xq := x[q*d*singleCols:]
		for i := 0; i < d; i++ {
			row := xq[i*singleCols : (i+1)*singleCols]
			for c, v := range src.Data[i*src.Stride+c0 : i*src.Stride+c0+w] {
				row[c] = float32(v)
			}
			clear(row[w:])
		}
	}
	R := s.kern.rows
	groups := d / R
	parallel.Blocks(splitRange(groups, min(s.threads, max(groups/4, 1))), func(_, g0, g1 int) {
		var y [8 * singleCols]float32
		for g := g0; g < g1; g++ {
			s.rows(g*R, R, panels, x, dst, y[:])
		}
		if g1 == groups {
			// The last d%R rows, one at a time (all of them when d < R).
			for i := groups * R; i < d; i++ {
				s.rowsGo(i, panels, x, dst, y[:])
			}
		}
	})
	return nil
}

// rows computes dst's rows [i0, i0+R) with the kernel.
func (s *singleOp) rows(i0, R, panels int, x []float32, dst blas64.General, y []float32) {
	d, b := s.d, dst.Cols
	for q := 0; q < panels; q++ {
		s.kern.fn(d, s.a[i0*d:], d, x[q*d*singleCols:(q+1)*d*singleCols], y[:R*singleCols])
		widenRows(dst, i0, R, q, b, y)
	}
}

// rowsGo computes dst's row i with the portable kernel.
func (s *singleOp) rowsGo(i, panels int, x []float32, dst blas64.General, y []float32) {
	d, b := s.d, dst.Cols
	for q := 0; q < panels; q++ {
		skernGo(d, s.a[i*d:], d, x[q*d*singleCols:(q+1)*d*singleCols], y[:singleCols])
		widenRows(dst, i, 1, q, b, y)
	}
}

// widenRows widens the R x 16 result y of panel q into dst's rows [i0, i0+R).
func widenRows(dst blas64.General, i0, R, q, b int, y []float32) {
	c0 := q * singleCols
	w := min(singleCols, b-c0)
	for r := 0; r < R; r++ {
		out := dst.Data[(i0+r)*dst.Stride+c0 : (i0+r)*dst.Stride+c0+w]
		for c := range out {
			out[c] = float64(y[r*singleCols+c])
		}
	}
}

// splitRange cuts [0, n) into up to parts ranges of about equal size.
func splitRange(n, parts int) [][2]int {
	parts = max(min(parts, n), 1)
	out := make([][2]int, parts)
	for p := range out {
		out[p] = [2]int{p * n / parts, (p + 1) * n / parts}
	}
	return out
}

// singleFast reports whether the CPU has a SIMD kernel for the float32
// products: the portable one runs at a fiftieth of the AVX-512 kernel's
// speed (BenchmarkSingleApply), slower than the float64 engine.
func singleFast() bool { return bestSingleKernel().name != singleGo.name }

// bestSingleKernel is the last (fastest) of singleKernels.
func bestSingleKernel() singleKernel {
	ks := singleKernels()
	return ks[len(ks)-1]
}
