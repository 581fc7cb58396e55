package knn

import "math"

// The micro-kernel computes a tile of squared Euclidean distances between
// tileRows queries and panelWidth points through the expansion
// ||q||^2 + ||p||^2 - 2 q.p, and reports whether any of them is at most
// its query's threshold. Queries and points arrive packed k-major, so each
// step of the inner loop reads one contiguous run of each.
const (
	tileRows   = 6  // queries per kernel call (the register tile's rows)
	panelWidth = 16 // points per panel (two 8-lane YMM registers)
)

// kernelFunc is the micro-kernel's signature: a holds kc*tileRows values
// (a[p*tileRows+r] is coordinate p of query r), b holds kc*panelWidth
// values (b[p*panelWidth+j] is coordinate p of point j), pn the points'
// squared norms, qn and thr the queries' squared norms and thresholds.
// It writes c[r*panelWidth+j] = qn[r] + pn[j] - 2 a(r,:).b(:,j) and returns
// a mask with bit r*panelWidth+j of the 96-bit value hi<<64 | lo set when
// c[r*panelWidth+j] <= thr[r].
type kernelFunc func(kc int, a, b, pn, qn, thr, c []float32) (lo, hi uint64)

// sqdistFunc returns the squared Euclidean distance between q and p
// (len(p) >= len(q)) in float64, summed in the order of sqdist64Go.
type sqdistFunc func(q, p []float32) float64

// kernel and sqdist are the fastest implementations the CPU supports;
// kernelName names them. They are chosen once, at package initialization.
var kernel, sqdist, kernelName = chooseKernels()

func chooseKernels() (kernelFunc, sqdistFunc, string) {
	if k, s, name := asmKernel(); k != nil {
		return k, s, name
	}
	return kernelGo, sqdist64Go, "go"
}

// sqdist64Go is the portable sqdistFunc and defines the summation order
// every implementation follows, so that distances, and with them the
// order of ties, are the same on every machine: differences of the
// float32 coordinates are exact in float64; their squares go by fused
// multiply-add into eight partial sums (coordinate k into sum k mod 8)
// over the first len(q)&^7 coordinates, and into one more sum r over the
// rest; the result is (((s0+s4)+(s2+s6)) + ((s1+s5)+(s3+s7))) + r.
func sqdist64Go(q, p []float32) float64 {
	p = p[:len(q)]
	var s [8]float64
	n8 := len(q) &^ 7
	for k := 0; k < n8; k += 8 {
		for l := range s {
			t := float64(q[k+l]) - float64(p[k+l])
			s[l] = math.FMA(t, t, s[l])
		}
	}
	var r float64
	for k := n8; k < len(q); k++ {
		t := float64(q[k]) - float64(p[k])
		r = math.FMA(t, t, r)
	}
	return (((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]))) + r
}

// kernelGo is the portable micro-kernel.
func kernelGo(kc int, a, b, pn, qn, thr, c []float32) (lo, hi uint64) {
	var acc [tileRows * panelWidth]float32
	a = a[:kc*tileRows]
	b = b[:kc*panelWidth]
	for p := 0; p < kc; p++ {
		ap := a[p*tileRows : p*tileRows+tileRows]
		bp := b[p*panelWidth : p*panelWidth+panelWidth]
		for r, av := range ap {
			row := acc[r*panelWidth : r*panelWidth+panelWidth]
			for j, bv := range bp {
				row[j] += av * bv
			}
		}
	}
	pn = pn[:panelWidth]
	c = c[:tileRows*panelWidth]
	for r := 0; r < tileRows; r++ {
		for j := 0; j < panelWidth; j++ {
			v := (qn[r] + pn[j]) - 2*acc[r*panelWidth+j]
			c[r*panelWidth+j] = v
			if v <= thr[r] {
				if bit := r*panelWidth + j; bit < 64 {
					lo |= 1 << bit
				} else {
					hi |= 1 << (bit - 64)
				}
			}
		}
	}
	return lo, hi
}
