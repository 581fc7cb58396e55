// Package cellpoints generates points shaped like the PCA scores of single
// cells, for the tests and benchmarks of the graph steps (kNN, Leiden) at
// sizes that no shared dataset has.
package cellpoints

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas/blas32"
)

// Dim and Types are the shape of what Generate draws.
const (
	Dim   = 30 // components
	Types = 28 // cell types
)

// Generate returns n points in Dim dimensions: Types cell types of
// log-normal sizes, each made of 1 to 5 subtypes (offset from the type's
// centre by less than the spread between types), and 15% of each type's
// cells spread along a line towards the next type (a differentiation
// trajectory). Component c has scale 1/sqrt(1+c/4), as PCA scores decay.
// It also returns the subtype of each point. The same seed gives the same
// points.
func Generate(n int, seed uint64) (blas32.General, []int32) {
	const d = Dim
	rng := rand.New(rand.NewPCG(seed, 31))
	scale := make([]float64, d)
	for c := range scale {
		scale[c] = 1 / math.Sqrt(1+float64(c)/4)
	}
	type sub struct {
		centre         []float64
		spread, weight float64
		typ            int
	}
	var subs []sub
	typeCentre := make([][]float64, Types)
	for ty := range Types {
		tc := make([]float64, d)
		for c := range tc {
			tc[c] = 7 * rng.NormFloat64() * scale[c]
		}
		typeCentre[ty] = tc
		size := math.Exp(rng.NormFloat64())
		for range 1 + rng.IntN(5) {
			sc := make([]float64, d)
			for c := range sc {
				sc[c] = tc[c] + 2.2*rng.NormFloat64()*scale[c]
			}
			subs = append(subs, sub{sc, 0.7 + 0.6*rng.Float64(), size * (0.3 + rng.Float64()), ty})
		}
	}
	var sum float64
	for _, s := range subs {
		sum += s.weight
	}
	x := blas32.General{Rows: n, Cols: d, Stride: d, Data: make([]float32, n*d)}
	label := make([]int32, n)
	for i := range n {
		u, b := rng.Float64()*sum, 0
		for b < len(subs)-1 && u > subs[b].weight {
			u -= subs[b].weight
			b++
		}
		s := subs[b]
		label[i] = int32(b)
		// A trajectory cell sits at a random point between its subtype's
		// centre and the next type's.
		f := 0.0
		if rng.Float64() < 0.15 {
			f = rng.Float64()
		}
		other := typeCentre[(s.typ+1)%Types]
		row := x.Data[i*d : (i+1)*d]
		for c := range row {
			row[c] = float32((1-f)*s.centre[c] + f*other[c] + s.spread*rng.NormFloat64()*scale[c])
		}
	}
	return x, label
}
