package linalg

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"
)

// gonumBLAS adapts gonum's pure-Go BLAS to the BLAS interface, as the
// baseline of the benchmarks.
type gonumBLAS struct{ gonum.Implementation }

func (g gonumBLAS) Dgemm(tA, tB blas.Transpose, alpha float64, a, b blas64.General, beta float64, c blas64.General) {
	m, n, k := gemmDims(tA, tB, a, b, c)
	g.Implementation.Dgemm(tA, tB, m, n, k, alpha, a.Data, a.Stride, b.Data, b.Stride, beta, c.Data, c.Stride)
}

func (g gonumBLAS) Dsyrk(t blas.Transpose, alpha float64, a blas64.General, beta float64, c blas64.Symmetric) {
	n, k := syrkDims(t, a, c)
	g.Implementation.Dsyrk(c.Uplo, t, n, k, alpha, a.Data, a.Stride, beta, c.Data, c.Stride)
}

func (gonumBLAS) String() string { return "gonum" }

// benchEngines returns the engines to compare. A loaded OpenBLAS keeps
// worker threads that spin between calls and slow the Go engines down,
// so the CBLAS library is benchmarked only when SCBENCH_BLAS selects it
// (a path, or "" for the search), and the Go engines only when
// SCBENCH_BLAS=none: run the benchmarks once with each setting.
func benchEngines(b *testing.B) map[string]BLAS {
	if os.Getenv(EnvBLAS) != "none" {
		c, err := Load(os.Getenv(EnvBLAS), 0)
		if err != nil {
			b.Skipf("no CBLAS library (%v); set %s=none to benchmark the Go engines", err, EnvBLAS)
		}
		return map[string]BLAS{"cblas": c}
	}
	classic := NewGo(0)
	classic.blockKC, classic.blockMC, classic.blockNC = blockKC, blockMC, blockNC
	return map[string]BLAS{"go": NewGo(0), "go-classic": classic, "go-generic": newGoGeneric(0), "gonum": gonumBLAS{}}
}

// BenchmarkDgemm measures the product the eigensolver is made of: the
// d x d covariance times a d x 128 block, d = 5000.
func BenchmarkDgemm(b *testing.B) {
	const d, nb = 5000, 128
	rng := rand.New(rand.NewPCG(5, 6))
	a := randGeneral(rng, d, d, 0)
	x := randGeneral(rng, d, nb, 0)
	c := randGeneral(rng, d, nb, 0)
	for name, e := range benchEngines(b) {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				e.Dgemm(blas.NoTrans, blas.NoTrans, 1, a, x, 0, c)
			}
			b.ReportMetric(2*d*d*nb*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkDgemmSkinny measures the block products of EigSymTop at
// several block widths.
func BenchmarkDgemmSkinny(b *testing.B) {
	const d = 5000
	rng := rand.New(rand.NewPCG(5, 6))
	a := randGeneral(rng, d, d, 0)
	for _, nb := range []int{8, 16, 24, 32, 48} {
		x := randGeneral(rng, d, nb, 0)
		c := randGeneral(rng, d, nb, 0)
		for name, e := range benchEngines(b) {
			if name == "gonum" || name == "go-generic" {
				continue
			}
			b.Run(fmt.Sprintf("n=%d/%s", nb, name), func(b *testing.B) {
				for b.Loop() {
					e.Dgemm(blas.NoTrans, blas.NoTrans, 1, a, x, 0, c)
				}
				b.ReportMetric(2*d*d*float64(nb)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkDsyrk measures AᵀA of a 1000-row chunk with 2000 columns, the
// shape of a dense covariance accumulation step.
func BenchmarkDsyrk(b *testing.B) {
	const n, k = 2000, 1000
	rng := rand.New(rand.NewPCG(7, 8))
	a := randGeneral(rng, k, n, 0)
	c := blas64.Symmetric{N: n, Stride: n, Uplo: blas.Upper, Data: make([]float64, n*n)}
	for name, e := range benchEngines(b) {
		if name == "go-generic" {
			continue
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				e.Dsyrk(blas.Trans, 1, a, 1, c)
			}
			b.ReportMetric(float64(n)*float64(n+1)*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
