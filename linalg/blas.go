package linalg

import (
	"fmt"
	"math"
	"os"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// BLAS is the level-3 subset of BLAS that scbench needs, on row-major
// blas64 matrices. Implementations: the pure-Go engine (NewGo) and a
// CBLAS library loaded at run time (Load). Both are safe for concurrent
// use. Like gonum's blas, the methods panic on dimension mismatches,
// which are programming errors.
type BLAS interface {
	// Dgemm computes C = alpha*op(A)*op(B) + beta*C, where op(X) is X or
	// Xᵀ as tA, tB say. C must not overlap A or B. When beta is 0, C is
	// overwritten (NaNs in C do not propagate).
	Dgemm(tA, tB blas.Transpose, alpha float64, a, b blas64.General, beta float64, c blas64.General)

	// Dsyrk computes the triangle c.Uplo of
	//
	//	C = alpha*A*Aᵀ + beta*C  if t == blas.NoTrans,
	//	C = alpha*Aᵀ*A + beta*C  if t == blas.Trans,
	//
	// leaving the other triangle untouched.
	Dsyrk(t blas.Transpose, alpha float64, a blas64.General, beta float64, c blas64.Symmetric)

	// String names the implementation, e.g. "go(avx2-fma, 2 threads)".
	String() string
}

// EnvBLAS is the environment variable read by Default: unset or empty
// searches for an optimized CBLAS library, "none" selects the pure-Go
// engine and any other value is the path of a CBLAS library to load.
const EnvBLAS = "SCBENCH_BLAS"

var defaultBLAS = sync.OnceValue(func() BLAS { return chooseBLAS(os.Getenv(EnvBLAS)) })

// chooseBLAS is Default's choice for the value of SCBENCH_BLAS.
func chooseBLAS(spec string) BLAS {
	b, err := Load(spec, 0)
	if err != nil {
		g := NewGo(0)
		if spec != "" && spec != "none" {
			// The user asked for a library: keep the reason visible.
			g.note = fmt.Sprintf("%s=%s: %v", EnvBLAS, spec, err)
		}
		return g
	}
	return b
}

// Default returns the process-wide engine, chosen on first use: an
// optimized CBLAS (OpenBLAS, BLIS, MKL) when one loads, else the pure-Go
// engine. SCBENCH_BLAS overrides the search (see EnvBLAS); when the
// library it names fails to load, String of the returned Go engine says
// why. The choice is made once and never changes.
func Default() BLAS { return defaultBLAS() }

// Load returns the engine that spec names: "" searches the usual names of
// OpenBLAS (libopenblas.so.0, libopenblas.so) and then libblas.so.3,
// which is accepted only when it is an optimized library, not the
// reference BLAS; "none" returns the pure-Go engine; anything else is the
// path of a CBLAS shared library. threads <= 0 means GOMAXPROCS.
func Load(spec string, threads int) (BLAS, error) {
	switch spec {
	case "none":
		return NewGo(threads), nil
	case "":
		return searchCBLAS(threads)
	default:
		return openCBLAS(spec, threads, false)
	}
}

// gemmDims checks the shapes of a Dgemm call and returns m, n, k.
func gemmDims(tA, tB blas.Transpose, a, b, c blas64.General) (m, n, k int) {
	checkTrans("Dgemm", tA)
	checkTrans("Dgemm", tB)
	m, k = a.Rows, a.Cols
	if tA != blas.NoTrans {
		m, k = k, m
	}
	kb, n := b.Rows, b.Cols
	if tB != blas.NoTrans {
		kb, n = n, kb
	}
	if k != kb || c.Rows != m || c.Cols != n {
		panic(fmt.Sprintf("linalg: Dgemm shape mismatch: op(A) %dx%d, op(B) %dx%d, C %dx%d", m, k, kb, n, c.Rows, c.Cols))
	}
	checkGeneral("Dgemm", "A", a)
	checkGeneral("Dgemm", "B", b)
	checkGeneral("Dgemm", "C", c)
	return m, n, k
}

// syrkDims checks the shapes of a Dsyrk call and returns n, k.
func syrkDims(t blas.Transpose, a blas64.General, c blas64.Symmetric) (n, k int) {
	checkTrans("Dsyrk", t)
	n, k = a.Rows, a.Cols
	if t != blas.NoTrans {
		n, k = k, n
	}
	if c.N != n {
		panic(fmt.Sprintf("linalg: Dsyrk shape mismatch: op(A) %dx%d, C %dx%d", n, k, c.N, c.N))
	}
	if c.Uplo != blas.Upper && c.Uplo != blas.Lower {
		panic("linalg: Dsyrk: C.Uplo must be blas.Upper or blas.Lower")
	}
	checkGeneral("Dsyrk", "A", a)
	checkGeneral("Dsyrk", "C", blas64.General{Rows: c.N, Cols: c.N, Stride: c.Stride, Data: c.Data})
	return n, k
}

func checkTrans(fn string, t blas.Transpose) {
	if t != blas.NoTrans && t != blas.Trans && t != blas.ConjTrans {
		panic(fmt.Sprintf("linalg: %s: bad transpose %v", fn, t))
	}
}

func checkGeneral(fn, name string, g blas64.General) {
	if g.Rows < 0 || g.Cols < 0 {
		panic(fmt.Sprintf("linalg: %s: %s has negative shape %dx%d", fn, name, g.Rows, g.Cols))
	}
	if g.Rows == 0 || g.Cols == 0 {
		return
	}
	if g.Stride < g.Cols {
		panic(fmt.Sprintf("linalg: %s: %s stride %d < cols %d", fn, name, g.Stride, g.Cols))
	}
	if need := (g.Rows-1)*g.Stride + g.Cols; len(g.Data) < need {
		panic(fmt.Sprintf("linalg: %s: %s is %dx%d with stride %d but has %d elements, needs %d", fn, name, g.Rows, g.Cols, g.Stride, len(g.Data), need))
	}
}

// scaleGeneral computes C = beta*C on the m x n block of c, writing zeros
// when beta is 0.
func scaleGeneral(beta float64, m, n int, c []float64, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// scaleTriangle computes C = beta*C on the uplo triangle of the n x n c.
func scaleTriangle(beta float64, uplo blas.Uplo, n int, c []float64, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < n; i++ {
		lo, hi := i, n
		if uplo == blas.Lower {
			lo, hi = 0, i+1
		}
		row := c[i*ldc+lo : i*ldc+hi]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// fitsInt32 reports whether every value fits a 32-bit CBLAS int.
func fitsInt32(vs ...int) bool {
	for _, v := range vs {
		if v > math.MaxInt32 {
			return false
		}
	}
	return true
}
