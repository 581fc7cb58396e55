package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"
)

// testEngines returns every engine this machine can run: the Go engine
// with its best kernel, the Go engine with the portable kernel, and the
// CBLAS library when one loads.
func testEngines(t testing.TB) []BLAS {
	es := []BLAS{NewGo(0), newGoGeneric(0), NewGo(1)}
	if b, err := Load("", 0); err == nil {
		es = append(es, b)
	} else {
		t.Logf("no CBLAS library, testing the Go engine only: %v", err)
	}
	return es
}

// smallBlockEngines return Go engines with tiny cache blocks, so that
// small matrices cross every block boundary.
func smallBlockEngines() []BLAS {
	a, b := NewGo(2), NewGo(1)
	a.blockKC, a.blockMC, a.blockNC = 7, 12, 16
	b.blockKC, b.blockMC, b.blockNC = 1, 6, 8
	return []BLAS{a, b}
}

// randGeneral returns an r x c matrix with stride c+pad, the padding
// filled with a sentinel so writes outside the matrix are caught.
func randGeneral(rng *rand.Rand, r, c, pad int) blas64.General {
	st := max(c+pad, 1)
	g := blas64.General{Rows: r, Cols: c, Stride: st, Data: make([]float64, max(r*st, 1))}
	for i := range g.Data {
		g.Data[i] = sentinel
	}
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			g.Data[i*g.Stride+j] = rng.NormFloat64()
		}
	}
	return g
}

const sentinel = 1e300

func cloneGeneral(g blas64.General) blas64.General {
	g.Data = append([]float64(nil), g.Data...)
	return g
}

func TestDgemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ref := gonum.Implementation{}
	type shape struct{ m, n, k int }
	shapes := []shape{
		{1, 1, 1}, {1, 7, 3}, {7, 1, 5}, {6, 8, 1}, {5, 9, 0}, {13, 17, 11},
		{97, 31, 301}, {250, 13, 257}, {7, 301, 97}, {121, 130, 600},
		{3, 2100, 5},   // crosses blockNC
		{1100, 9, 13},  // transposed A past directStride: packed
		{40, 20, 5000}, // deep k of a skinny product
		{7, 600, 300},  // few rows: split across threads by columns
	}
	for _, e := range append(testEngines(t), smallBlockEngines()...) {
		for _, sh := range shapes {
			for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
					for _, ab := range [][2]float64{{1, 0}, {-0.7, 1}, {2.5, -0.3}, {0, 0.5}} {
						name := fmt.Sprintf("%v/%dx%dx%d/%c%c/a=%g,b=%g", e, sh.m, sh.n, sh.k, tA, tB, ab[0], ab[1])
						ar, ac := sh.m, sh.k
						if tA == blas.Trans {
							ar, ac = ac, ar
						}
						br, bc := sh.k, sh.n
						if tB == blas.Trans {
							br, bc = bc, br
						}
						a := randGeneral(rng, ar, ac, rng.IntN(3))
						b := randGeneral(rng, br, bc, rng.IntN(3))
						c := randGeneral(rng, sh.m, sh.n, 2)
						if ab[1] == 0 && sh.m > 0 && sh.n > 0 {
							c.Data[0] = math.NaN() // beta = 0 must not propagate it
						}
						want := cloneGeneral(c)
						if ab[1] == 0 {
							scaleGeneral(0, sh.m, sh.n, want.Data, want.Stride)
						}
						ref.Dgemm(tA, tB, sh.m, sh.n, sh.k, ab[0], a.Data, max(a.Stride, 1), b.Data, max(b.Stride, 1), ab[1], want.Data, want.Stride)
						e.Dgemm(tA, tB, ab[0], a, b, ab[1], c)
						compareData(t, name, c.Data, want.Data, 1e-12*float64(sh.k+1))
					}
				}
			}
		}
	}
}

func TestDsyrk(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ref := gonum.Implementation{}
	for _, e := range append(testEngines(t), smallBlockEngines()...) {
		for _, nk := range [][2]int{{1, 1}, {1, 9}, {7, 3}, {31, 1}, {97, 13}, {301, 77}, {450, 40}, {500, 0}} {
			n, k := nk[0], nk[1]
			for _, tr := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				for _, ul := range []blas.Uplo{blas.Upper, blas.Lower} {
					for _, ab := range [][2]float64{{1, 0}, {-0.5, 2}} {
						ar, ac := n, k
						if tr == blas.Trans {
							ar, ac = k, n
						}
						a := randGeneral(rng, ar, ac, 1)
						cg := randGeneral(rng, n, n, 3)
						c := blas64.Symmetric{N: n, Stride: cg.Stride, Data: cg.Data, Uplo: ul}
						want := cloneGeneral(cg)
						if ab[1] == 0 {
							scaleTriangle(0, ul, n, want.Data, want.Stride)
						}
						ref.Dsyrk(ul, tr, n, k, ab[0], a.Data, max(a.Stride, 1), ab[1], want.Data, want.Stride)
						e.Dsyrk(tr, ab[0], a, ab[1], c)
						name := fmt.Sprintf("%v/n=%d,k=%d/%c/%c/a=%g,b=%g", e, n, k, tr, ul, ab[0], ab[1])
						compareData(t, name, c.Data, want.Data, 1e-12*float64(k+1))
					}
				}
			}
		}
	}
}

// compareData fails when got and want differ by more than tol relative
// to max(1, |want|), including the padding (which must be untouched).
func compareData(t *testing.T, name string, got, want []float64, tol float64) {
	t.Helper()
	for i := range want {
		g, w := got[i], want[i]
		if math.IsNaN(g) || math.Abs(g-w) > tol*math.Max(1, math.Abs(w)) {
			t.Fatalf("%s: element %d = %v, want %v", name, i, g, w)
		}
	}
}

func TestLoad(t *testing.T) {
	g, err := Load("none", 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g.(*Go); !ok {
		t.Fatalf("Load(none) = %v, want the Go engine", g)
	}
	if _, err := Load("/nonexistent/libnothing.so", 0); err == nil {
		t.Fatal("Load of a missing library succeeded")
	}
	if b := chooseBLAS("none"); !strings.HasPrefix(b.String(), "go(") {
		t.Errorf("SCBENCH_BLAS=none chose %v", b)
	}
	// A library that fails to load falls back to Go and says why.
	if b := chooseBLAS("/nonexistent/libnothing.so"); !strings.Contains(b.String(), "SCBENCH_BLAS=/nonexistent/libnothing.so") {
		t.Errorf("failed load: String() = %q, want the reason", b)
	}
	t.Logf("Default() = %v", Default())
}
