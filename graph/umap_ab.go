// The low-dimensional similarity curve of UMAP.
//
// McInnes, Healy & Melville 2018, section 3.2 (definition of Phi): the
// embedding's membership strength for distance x is 1 / (1 + a x^(2b)),
// a smooth approximation of the target
//
//	Psi(x) = 1                              for x <  min_dist
//	Psi(x) = exp(-(x - min_dist) / spread)   for x >= min_dist.
//
// umap-learn 0.5.3 find_ab_params fits a and b by least squares on 300
// evenly spaced points in [0, 3 spread] (scipy.optimize.curve_fit, i.e.
// MINPACK's Levenberg-Marquardt, starting from a = b = 1). FindABParams
// runs Levenberg-Marquardt with the analytic Jacobian from the same start
// on the same points, so it lands on the same minimum; scipy stops at its
// default tolerances (ftol = xtol = 1.49e-8), so the two agree to about
// 1e-7 relative (a = 0.58303002, b = 1.33416699 for min_dist 0.5, spread 1,
// scanpy's defaults).

package graph

import (
	"fmt"
	"math"
)

// FindABParams returns the a and b of the curve 1 / (1 + a x^(2b)) that
// best fits UMAP's target membership for the given spread and min_dist,
// as umap-learn's find_ab_params does.
func FindABParams(spread, minDist float64) (a, b float64, err error) {
	if !(spread > 0) || !(minDist >= 0) || math.IsInf(spread, 0) || math.IsInf(minDist, 0) {
		return 0, 0, fmt.Errorf("graph: UMAP curve fit: spread %v, min_dist %v (want spread > 0, min_dist >= 0)", spread, minDist)
	}
	const nPoints = 300
	x := make([]float64, nPoints)
	y := make([]float64, nPoints)
	for i := range x {
		x[i] = 3 * spread * float64(i) / (nPoints - 1) // np.linspace(0, 3 spread, 300)
		if x[i] < minDist {
			y[i] = 1
		} else {
			y[i] = math.Exp(-(x[i] - minDist) / spread)
		}
	}
	// cost returns the half sum of squared residuals at (a, b) and, when
	// jac, the normal equations J^T J and J^T r.
	cost := func(a, b float64, jac bool) (c float64, jtj [3]float64, jtr [2]float64) {
		for i, xi := range x {
			var u, lnx float64
			if xi > 0 {
				lnx = math.Log(xi)
				u = math.Exp(2 * b * lnx)
			}
			f := 1 / (1 + a*u)
			r := f - y[i]
			c += r * r / 2
			if jac {
				ja := -u * f * f               // d f / d a
				jb := -a * u * 2 * lnx * f * f // d f / d b (0 at x = 0)
				jtj[0] += ja * ja
				jtj[1] += ja * jb
				jtj[2] += jb * jb
				jtr[0] += ja * r
				jtr[1] += jb * r
			}
		}
		return c, jtj, jtr
	}
	a, b = 1, 1
	lambda := 1e-3
	c, jtj, jtr := cost(a, b, true)
	for range 500 {
		// (J^T J + lambda diag(J^T J)) delta = -J^T r, Marquardt's scaling.
		m00 := jtj[0] * (1 + lambda)
		m11 := jtj[2] * (1 + lambda)
		m01 := jtj[1]
		det := m00*m11 - m01*m01
		if det == 0 || math.IsNaN(det) {
			lambda *= 10
			if lambda > 1e12 {
				break
			}
			continue
		}
		da := -(m11*jtr[0] - m01*jtr[1]) / det
		db := -(m00*jtr[1] - m01*jtr[0]) / det
		na, nb := a+da, b+db
		if na > 0 && nb > 0 {
			if nc, _, _ := cost(na, nb, false); nc <= c {
				small := math.Abs(da) <= 1e-14*math.Abs(a) && math.Abs(db) <= 1e-14*math.Abs(b)
				a, b = na, nb
				c, jtj, jtr = cost(a, b, true)
				lambda = max(lambda/10, 1e-15)
				if small {
					break
				}
				continue
			}
		}
		lambda *= 10
		if lambda > 1e12 {
			break // no step lowers the cost: at the minimum
		}
	}
	if math.IsNaN(a) || math.IsNaN(b) || a <= 0 || b <= 0 {
		return 0, 0, fmt.Errorf("graph: UMAP curve fit for spread %v, min_dist %v did not converge (a = %v, b = %v)", spread, minDist, a, b)
	}
	return a, b, nil
}
