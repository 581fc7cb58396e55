package linalg

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas/blas64"

	"github.com/scbench/scbench/internal/cputime"
)

// TestSweep times EigSymTop over block sizes and basis sizes. It is a
// tuning tool, run by hand: SWEEP=small|big go test -run Sweep -v; or
// SWEEP=file SWEEP_FILE=cov.bin for a d x d matrix stored as raw
// little-endian float64 (k = 100, PCA's relative tolerance 1e-3). SWEEP_B
// and SWEEP_M list block sizes and basis sizes (percent of k);
// SWEEP_F32=1 adds float32 products (EigOptions.Float32).
func TestSweep(t *testing.T) {
	mode := os.Getenv("SWEEP")
	if mode == "" {
		t.Skip("tuning tool; set SWEEP=small or SWEEP=big")
	}
	type prob struct {
		name string
		a    blas64.General
		k    int
	}
	var probs []prob
	tol, relative := 0.0, false
	switch mode {
	case "file":
		raw, err := os.ReadFile(os.Getenv("SWEEP_FILE"))
		if err != nil {
			t.Fatal(err)
		}
		n := len(raw) / 8
		d := int(math.Sqrt(float64(n)))
		if d*d != n {
			t.Fatalf("%s: %d values, not a square matrix", os.Getenv("SWEEP_FILE"), n)
		}
		a := blas64.General{Rows: d, Cols: d, Stride: d, Data: make([]float64, n)}
		for i := range a.Data {
			a.Data[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
		}
		probs = append(probs, prob{"file", a, 100})
		tol, relative = 1e-3, true
	case "small":
		rng := rand.New(rand.NewPCG(1000, 99))
		probs = append(probs, prob{"pca1000", shuffledMatrix(rng, spectra[0].f(1000, 5)), 100})
		probs = append(probs, prob{"bench2000", pcaCovariance(NewGo(0), 2000, 300, 1), 50})
	default:
		probs = append(probs, prob{"bench5000", pcaCovariance(NewGo(0), 5000, 300, 1), 100})
	}
	f32s := []bool{false}
	if os.Getenv("SWEEP_F32") != "" {
		f32s = append(f32s, true)
	}
	ints := func(env, def string) []int {
		s := os.Getenv(env)
		if s == "" {
			s = def
		}
		var out []int
		for _, f := range strings.Split(s, ",") {
			v, _ := strconv.Atoi(f)
			out = append(out, v)
		}
		return out
	}
	engines := []BLAS{NewGo(0)}
	if os.Getenv("SWEEP_CBLAS") != "" {
		c, err := Load("", 0)
		if err != nil {
			t.Fatal(err)
		}
		engines = []BLAS{c}
	}
	for _, e := range engines {
		for _, p := range probs {
			for _, f32 := range f32s {
				for _, b := range ints("SWEEP_B", "8,16,24") {
					for _, m := range ints("SWEEP_M", "200,250") {
						var info EigInfo
						best, bestCPU := time.Duration(1<<62), time.Duration(1<<62)
						for range 3 {
							c0, _ := cputime.Process()
							t0 := time.Now()
							_, _, err := EigSymTop(p.a, p.k, &EigOptions{BLAS: e, BlockSize: b, MaxBasis: m * p.k / 100, Info: &info, Tol: tol, Relative: relative, Float32: f32})
							if err != nil {
								t.Fatal(err)
							}
							best = min(best, time.Since(t0))
							c1, _ := cputime.Process()
							bestCPU = min(bestCPU, c1-c0)
						}
						t.Logf("%v %s float32=%v b=%d m=%d: %v (cpu %v) matvecs=%d restarts=%d gemm=%.3g GFLOP (%.1f GFLOP/s)", e, p.name, info.Float32, b, info.MaxBasis,
							best.Round(time.Millisecond), bestCPU.Round(time.Millisecond), info.MatVecs, info.Restarts, info.Flops/1e9, info.Flops/best.Seconds()/1e9)
					}
				}
			}
		}
	}
}
