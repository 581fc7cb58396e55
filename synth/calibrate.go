package synth

import "math"

const (
	quadPoints = 16  // equiprobable normal quantiles for the library size
	lqMitoGrid = 4   // points over the low-quality mt fraction
	logBins    = 256 // histogram bins of regular genes' log-expression
)

// solveSpread finds the spread sigma of log gene expression at which the
// expected number of detected genes per cell is Params.NNZPerCell. A wider
// spread concentrates UMIs on fewer genes, so detection falls as sigma
// grows; the root is bracketed in [0.05, 6] and found by regula falsi with
// the Illinois modification, which needs far fewer evaluations of the
// (smooth) expectation than bisection.
func (m *Model) solveSpread() float64 {
	target := m.p.NNZPerCell
	lo, hi := 0.05, 6.0
	flo, fhi := m.expectedNNZ(lo)-target, m.expectedNNZ(hi)-target
	if flo <= 0 {
		return lo // even nearly equal genes cannot reach the target
	}
	if fhi >= 0 {
		return hi
	}
	side := 0
	for range 100 {
		x := (lo*fhi - hi*flo) / (fhi - flo)
		f := m.expectedNNZ(x) - target
		if math.Abs(f) < 1e-4*target || hi-lo < 1e-6 {
			return x
		}
		if f > 0 {
			lo, flo = x, f
			if side == 1 {
				fhi /= 2
			}
			side = 1
		} else {
			hi, fhi = x, f
			if side == -1 {
				flo /= 2
			}
			side = -1
		}
	}
	return (lo + hi) / 2
}

// expectedNNZ returns the expected mean number of detected genes per cell
// at spread sigma, treating counts as Poisson: gene g of a cell with L UMIs
// and profile p is detected with probability 1 - exp(-L p_g). Regular genes
// are summed through a histogram of their log-expression (the profile of
// every type is the base profile but for its few markers, which are
// corrected exactly), and the library size is integrated by quadrature.
// It leaves m.base set for sigma.
func (m *Model) expectedNNZ(sigma float64) float64 {
	m.setBase(sigma)
	p := m.p
	nReg := len(m.logBase)
	mt := m.base[nReg:]

	// Histogram of regular genes: count and mean expression per bin.
	lmin, lmax := math.Inf(1), math.Inf(-1)
	var reg float64
	for g := 0; g < nReg; g++ {
		x := m.logExpr(g, sigma)
		lmin, lmax = min(lmin, x), max(lmax, x)
		reg += m.base[g]
	}
	var cnt, mean [logBins]float64
	width := (lmax - lmin) / logBins * (1 + 1e-9)
	if width == 0 {
		width = 1
	}
	for g := 0; g < nReg; g++ {
		k := min(int((m.logExpr(g, sigma)-lmin)/width), logBins-1)
		cnt[k]++
		mean[k] += m.base[g]
	}
	for k := range mean {
		if cnt[k] > 0 {
			mean[k] /= cnt[k]
		}
	}
	detected := func(s float64) float64 { // regular genes, s = UMIs per unit of base
		var d float64
		for k, c := range cnt {
			if c > 0 {
				d += c * -math.Expm1(-s*mean[k])
			}
		}
		return d
	}
	var mtSum float64
	for _, w := range mt {
		mtSum += w
	}
	var x [quadPoints]float64
	for q := range x {
		x[q] = normQuantile((float64(q) + 0.5) / quadPoints)
	}

	var healthy float64
	for t := range m.types {
		ct := &m.types[t]
		z := reg + mtSum
		for i, g := range ct.uniq {
			z += (ct.factor[i] - 1) * m.base[g]
		}
		var sum float64
		for _, xq := range x {
			lib := math.Exp(p.LogLibMean + ct.libOffset + p.LogLibSD*xq)
			s := lib / z
			d := detected(s)
			for i, g := range ct.uniq {
				// A marker is its base (Poisson) plus its excess, which
				// carries the per-cell gamma noise: negative binomial.
				b := m.base[g]
				phi := m.phi[m.geneClass[g]]
				p0 := math.Exp(-s*b) * math.Pow(1+phi*s*b*(ct.factor[i]-1), -1/phi)
				d += math.Exp(-s*b) - p0
			}
			for _, w := range mt {
				d += -math.Expm1(-s * w)
			}
			sum += d
		}
		healthy += ct.prop * sum / quadPoints
	}

	var lq float64
	if p.LowQuality > 0 {
		for _, xq := range x {
			lib := math.Exp(p.LogLibMean + lqLibShift + lqLibSD*xq)
			for j := 0; j < lqMitoGrid; j++ {
				f := lqMitoLo + (lqMitoHi-lqMitoLo)*(float64(j)+0.5)/lqMitoGrid
				d := detected(lib * (1 - f) / reg)
				for _, w := range mt {
					d += -math.Expm1(-lib * f * w / mtSum)
				}
				lq += d
			}
		}
		lq /= quadPoints * lqMitoGrid
	}
	return (1-p.LowQuality)*healthy + p.LowQuality*lq
}
