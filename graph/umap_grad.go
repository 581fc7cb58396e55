// Gradient coefficients of the UMAP layout, tabulated.
//
// Both gradients of the cross entropy (McInnes et al. 2018, section 3.2;
// umap-learn _optimize_layout_euclidean_single_epoch) are a scalar
// function of the squared distance d2 times the difference vector:
//
//	attractive  -2 a b d2^(b-1) / (1 + a d2^b)
//	repulsive    2 gamma b / ((0.001 + d2) (1 + a d2^b))
//
// Evaluating d2^b costs a log and an exp, and every update of a cell waits
// for the previous one, so math.Pow set the pace of the whole optimizer.
// umapGrad tabulates both functions once per run at 2^7 points per octave
// of d2 for d2 in [2^-40, 2^40) and interpolates linearly: the table index
// is the top bits of d2's float32 encoding (exponent and 7 mantissa bits),
// the interpolation weight the remaining mantissa bits, so a coefficient
// costs two loads and a multiply-add. The relative error is below 1e-4
// (TestUMAPGradTable), far below the noise of the stochastic gradient
// itself; d2 outside the table is computed exactly.

package graph

import "math"

const (
	umapGridBits  = 7   // grid points per octave: 2^umapGridBits
	umapGridLoExp = -40 // table covers d2 in [2^umapGridLoExp, 2^umapGridHiExp)
	umapGridHiExp = 40
	umapGridShift = 23 - umapGridBits // float32 bits below the index
)

// umapGrad holds the two gradient coefficients as tables over d2.
type umapGrad struct {
	a, b, gamma float64
	base        int       // table index of 2^umapGridLoExp
	att, rep    []float32 // coefficients at the grid points
}

func newUMAPGrad(a, b, gamma float64) *umapGrad {
	g := &umapGrad{a: a, b: b, gamma: gamma}
	g.base = int(math.Float32bits(float32(math.Ldexp(1, umapGridLoExp))) >> umapGridShift)
	top := int(math.Float32bits(float32(math.Ldexp(1, umapGridHiExp))) >> umapGridShift)
	size := top - g.base + 1
	g.att = make([]float32, size)
	g.rep = make([]float32, size)
	for i := range size {
		d2 := float64(math.Float32frombits(uint32(g.base+i) << umapGridShift))
		g.att[i] = float32(g.attExact(d2))
		g.rep[i] = float32(g.repExact(d2))
	}
	return g
}

func (g *umapGrad) attExact(d2 float64) float64 {
	pb := math.Pow(d2, g.b)
	return -2 * g.a * g.b * pb / (d2 * (g.a*pb + 1))
}

func (g *umapGrad) repExact(d2 float64) float64 {
	return 2 * g.gamma * g.b / ((0.001 + d2) * (g.a*math.Pow(d2, g.b) + 1))
}

// attractive returns the attractive coefficient for d2 > 0.
func (g *umapGrad) attractive(d2 float32) float32 {
	u := math.Float32bits(d2)
	i := int(u>>umapGridShift) - g.base
	if uint(i) >= uint(len(g.att)-1) {
		return float32(g.attExact(float64(d2)))
	}
	f := float32(u&(1<<umapGridShift-1)) * (1.0 / (1 << umapGridShift))
	lo := g.att[i]
	return lo + f*(g.att[i+1]-lo)
}

// repulsive returns the repulsive coefficient for d2 > 0.
func (g *umapGrad) repulsive(d2 float32) float32 {
	u := math.Float32bits(d2)
	i := int(u>>umapGridShift) - g.base
	if uint(i) >= uint(len(g.rep)-1) {
		return float32(g.repExact(float64(d2)))
	}
	f := float32(u&(1<<umapGridShift-1)) * (1.0 / (1 << umapGridShift))
	lo := g.rep[i]
	return lo + f*(g.rep[i+1]-lo)
}
