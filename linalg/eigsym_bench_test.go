package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// pcaCovariance returns a d x d covariance with a PCA-like spectrum: the
// large-n limit of the covariance of low-rank-plus-noise cells, L*Lᵀ +
// diag(noise), where L is d x rank with Gaussian columns scaled to a
// power-law (a few dozen large components, then a slowly decaying tail)
// and the per-gene noise variances are uniform in [0.2, 1].
func pcaCovariance(e BLAS, d, rank int, seed uint64) blas64.General {
	rng := rand.New(rand.NewPCG(seed, 17))
	l := blas64.General{Rows: d, Cols: rank, Stride: rank, Data: make([]float64, d*rank)}
	for j := 0; j < rank; j++ {
		s := math.Sqrt(float64(d) * 0.05 / math.Pow(float64(j+1), 1.1) / float64(d))
		for i := 0; i < d; i++ {
			l.Data[i*rank+j] = s * rng.NormFloat64()
		}
	}
	a := blas64.General{Rows: d, Cols: d, Stride: d, Data: make([]float64, d*d)}
	e.Dgemm(blas.NoTrans, blas.Trans, 1, l, l, 0, a)
	for i := 0; i < d; i++ {
		a.Data[i*d+i] += 0.2 + 0.8*rng.Float64()
	}
	return a
}

func BenchmarkEigSymTop(b *testing.B) {
	engines := benchEngines(b)
	delete(engines, "go-generic")
	delete(engines, "gonum") // minutes: its Dgemm runs at a fifth of the speed
	for _, dk := range [][2]int{{2000, 50}, {5000, 100}} {
		d, k := dk[0], dk[1]
		a := pcaCovariance(NewGo(0), d, 300, 1)
		for name, e := range engines {
			b.Run(fmt.Sprintf("d=%d,k=%d/%s", d, k, name), func(b *testing.B) {
				var info EigInfo
				for b.Loop() {
					if _, _, err := EigSymTop(a, k, &EigOptions{BLAS: e, Info: &info}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(info.MatVecs), "matvecs")
				b.ReportMetric(float64(info.Restarts), "restarts")
			})
		}
	}
}
