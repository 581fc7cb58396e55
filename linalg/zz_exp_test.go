package linalg

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"gonum.org/v1/gonum/blas/blas64"
)

func loadF64(t *testing.T, path string) []float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(&b[0])), len(b)/8)
}

func TestZZEig(t *testing.T) {
	pre := os.Getenv("ZZ_PRE")
	if pre == "" {
		t.Skip()
	}
	k, _ := strconv.Atoi(os.Getenv("ZZ_K"))
	c := loadF64(t, pre+".cov")
	d := int(math.Sqrt(float64(len(c))))
	a := blas64.General{Rows: d, Cols: d, Stride: d, Data: c}
	var ref []float64
	var refV blas64.General
	for _, cfg := range []struct {
		tol float64
		b   int
	}{{1e-10, 16}, {1e-7, 16}, {1e-7, 8}, {1e-5, 16}, {1e-5, 8}, {1e-4, 8}, {1e-3, 8}, {1e-4, 16}, {1e-3, 16}} {
		var info EigInfo
		t0 := time.Now()
		vals, vecs, err := EigSymTop(a, k, &EigOptions{Tol: cfg.tol, BlockSize: cfg.b, Seed: 0x5cbe, Info: &info, BLAS: NewGo(2)})
		el := time.Since(t0)
		if err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref, refV = vals, vecs
			var tr float64
			for i := 0; i < d; i++ {
				tr += c[i*d+i]
			}
			fmt.Printf("spectrum: l1 %.4g l20 %.4g lk %.4g trace %.4g\n", vals[0], vals[19], vals[k-1], tr)
		}
		worstVal, worstCos := 0.0, 1.0
		for j := range vals {
			worstVal = math.Max(worstVal, math.Abs(vals[j]-ref[j])/ref[j])
		}
		for j := 0; j < min(20, k); j++ {
			var dot float64
			for i := 0; i < d; i++ {
				dot += vecs.Data[i*vecs.Stride+j] * refV.Data[i*refV.Stride+j]
			}
			worstCos = math.Min(worstCos, math.Abs(dot))
		}
		fmt.Printf("tol %g b %d: %.3fs matvecs %d restarts %d flops %.3g resid %.2g | max rel val err %.2g, min |cos| first20 %.8f\n", cfg.tol, cfg.b, el.Seconds(), info.MatVecs, info.Restarts, info.Flops, info.Residual, worstVal, worstCos)
	}
}
