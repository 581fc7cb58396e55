package knn

import (
	"math"

	"gonum.org/v1/gonum/blas/blas32"
)

// pointSet holds the points a search scans, packed for the micro-kernel:
// panels of panelWidth points, each stored k-major (coordinate p of the
// panel's point j at panel*panelWidth*d + p*panelWidth + j), grouped into
// lists (an exact search has one list, an IVF index one per centroid).
// The rows are kept a second time slot by slot, so that re-ranking reads
// one contiguous run per point. A list's last panel is padded with slots whose id is -1 and whose norm
// is +Inf, so the kernel never reports them once a query's heap is full.
type pointSet struct {
	d     int
	data  []float32 // packed coordinates, len(norm)*d
	rows  []float32 // the same coordinates slot by slot (row-major), for re-ranking
	norm  []float32 // per slot: (1-c) ||p||^2 rounded down; see slackCoef
	ids   []int32   // per slot: the point's row in the caller's matrix, -1 on padding
	start []int     // list l covers panels start[l] to start[l+1]
}

// slackCoef returns the relative bound c used to keep the kernel's float32
// filter conservative: the computed qn + pn - 2 q.p differs from the exact
// squared distance by at most about (d+4) u (qn + pn), u = 2^-24 (the dot
// product accumulates d rounding errors bounded by u |q||p| <= u (qn+pn)/2
// each; the norms and the two additions add 4u more). c doubles that. The
// point's share c pn is folded into its stored norm, the query's share
// c qn into its threshold, so a point whose exact distance is at most the
// heap's worst is always reported and then re-ranked in float64.
func slackCoef(d int) float64 { return float64(2*d+16) * 0x1p-24 }

// rowNorm2 returns the squared norm of v, summed in float64.
func rowNorm2(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return s
}

// adjustedNorm returns (1-c) n rounded down to float32.
func adjustedNorm(n, c float64) float32 {
	v := float32(n * (1 - c))
	if float64(v) > n*(1-c) {
		v = math.Nextafter32(v, float32(math.Inf(-1)))
	}
	return max(v, 0)
}

// newPointSet packs the rows of x listed in members, list by list:
// members[bounds[l]:bounds[l+1]] are the rows of list l. With bounds nil,
// all rows of x form a single list in order.
func newPointSet(x blas32.General, members []int32, bounds []int) *pointSet {
	d := x.Cols
	if bounds == nil {
		bounds = []int{0, x.Rows}
	}
	nl := len(bounds) - 1
	ps := &pointSet{d: d, start: make([]int, nl+1)}
	panels := 0
	for l := 0; l < nl; l++ {
		ps.start[l] = panels
		panels += (bounds[l+1] - bounds[l] + panelWidth - 1) / panelWidth
	}
	ps.start[nl] = panels
	ps.data = make([]float32, panels*panelWidth*d)
	ps.rows = make([]float32, panels*panelWidth*d)
	ps.norm = make([]float32, panels*panelWidth)
	ps.ids = make([]int32, panels*panelWidth)
	c := slackCoef(d)
	for l := 0; l < nl; l++ {
		slot := ps.start[l] * panelWidth
		end := ps.start[l+1] * panelWidth
		for m := bounds[l]; m < bounds[l+1]; m++ {
			row := int32(m)
			if members != nil {
				row = members[m]
			}
			v := x.Data[int(row)*x.Stride : int(row)*x.Stride+d]
			p, j := slot/panelWidth, slot%panelWidth
			base := p * panelWidth * d
			for k, xv := range v {
				ps.data[base+k*panelWidth+j] = xv
			}
			copy(ps.rows[slot*d:slot*d+d], v)
			ps.norm[slot] = adjustedNorm(rowNorm2(v), c)
			ps.ids[slot] = row
			slot++
		}
		for ; slot < end; slot++ {
			ps.norm[slot] = float32(math.Inf(1))
			ps.ids[slot] = -1
		}
	}
	return ps
}

// lists returns the number of lists.
func (ps *pointSet) lists() int { return len(ps.start) - 1 }

// vector copies the coordinates of slot s into dst.
func (ps *pointSet) vector(s int, dst []float32) {
	copy(dst[:ps.d], ps.rows[s*ps.d:s*ps.d+ps.d])
}

// dist2 returns the squared distance between q and the point in slot s
// in float64 (sqdist64Go says how it is summed). It is the same function
// of (q, point) wherever the point sits, so equal distances are exactly
// equal and break by index.
func (ps *pointSet) dist2(q []float32, s int) float64 {
	return sqdist(q[:ps.d], ps.rows[s*ps.d:s*ps.d+ps.d])
}
