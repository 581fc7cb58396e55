package linalg

import (
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// The Lanczos step's products with the basis, C = Vᵀ X and X -= V C, are
// tall and skinny: d x n times d x b (b = 8 or 16) and back. The Go
// engine's general blocking ran them at about half its kernel's speed
// (packing, edge handling and a split that suits square products). With
// the Go engine and its assembly kernel they run here on the 6x8
// micro-kernel directly: a block X of d x 8 (or its 8-column panels) is
// already the kernel's packed B layout, and the stored Vᵀ is read in
// place, six rows at a time for Vᵀ X, six contiguous elements of a row
// per step for V C. Other engines, and block sizes that are not a
// multiple of 8, use Dgemm.

// blockKernel returns the micro-kernel and thread count for the block
// products, or nil when they go through Dgemm.
func (s *lanczos) blockKernel() (kernelFunc, int) {
	g, ok := s.e.(*Go)
	if !ok || g.kname == "generic" || s.b%nr != 0 {
		return nil, 0
	}
	return g.kern, g.nthreads()
}

// projCoef sets c ((n1-n0) x b, row-major) = V[:, n0:n1]ᵀ x for the d x b
// block x (stride b).
func (s *lanczos) projCoef(n0, n1 int, x blas64.General, c blas64.General) {
	kern, threads := s.blockKernel()
	if kern == nil {
		s.gemm(blas.NoTrans, blas.NoTrans, 1, rows(s.vt, n0, n1), x, 0, c)
		return
	}
	d, b := s.d, s.b
	s.flops += 2 * float64(n1-n0) * float64(b) * float64(d)
	xp := s.panels(x, 1)
	groups := (n1 - n0 + mr - 1) / mr
	s.forGroups(groups, threads, func(g0, g1 int, tmp []float64) {
		for g := g0; g < g1; g++ {
			i0 := n0 + g*mr
			a := s.vt.Data[i0*d:]
			for p := 0; p < b/nr; p++ {
				clear(tmp)
				kern(d, a, d, 1, xp[p*d*nr:(p+1)*d*nr], tmp, nr)
				for r := 0; r < mr && i0+r < n1; r++ {
					copy(c.Data[(i0+r-n0)*b+p*nr:(i0+r-n0)*b+p*nr+nr], tmp[r*nr:(r+1)*nr])
				}
			}
		}
	})
}

// subtractProj sets x -= V[:, n0:n1] c for the d x b block x (stride b)
// and c ((n1-n0) x b).
func (s *lanczos) subtractProj(n0, n1 int, c blas64.General, x blas64.General) {
	kern, threads := s.blockKernel()
	if kern == nil {
		s.gemm(blas.Trans, blas.NoTrans, -1, rows(s.vt, n0, n1), c, 1, x)
		return
	}
	d, b := s.d, s.b
	kc := n1 - n0
	if kc == 0 {
		return
	}
	s.flops += 2 * float64(d) * float64(b) * float64(kc)
	cp := s.panels(c, -1) // -c, so that the kernel's += subtracts
	groups := (d + mr - 1) / mr
	s.forGroups(groups, threads, func(g0, g1 int, tmp []float64) {
		for g := g0; g < g1; g++ {
			i0 := g * mr
			// V(i0+r, n0+q) = Vᵀ[n0+q, i0+r]: six contiguous elements per
			// step of the kernel.
			a := s.vt.Data[n0*d+i0:]
			for p := 0; p < b/nr; p++ {
				bp := cp[p*kc*nr : (p+1)*kc*nr]
				if i0+mr <= d {
					kern(kc, a, 1, d, bp, x.Data[i0*b+p*nr:], b)
					continue
				}
				// The last rows run past a row of Vᵀ into the next (Vᵀ
				// has mr spare rows); the result goes through tmp.
				clear(tmp)
				kern(kc, a, 1, d, bp, tmp, nr)
				for r := 0; i0+r < d; r++ {
					row := x.Data[(i0+r)*b+p*nr : (i0+r)*b+p*nr+nr]
					for j := range row {
						row[j] += tmp[r*nr+j]
					}
				}
			}
		}
	})
}

// panels returns the rows x b matrix x, times sign, as b/8 packed panels
// of rows x 8 (the kernel's B layout): x itself when b = 8 and sign = 1.
func (s *lanczos) panels(x blas64.General, sign float64) []float64 {
	b := s.b
	if b == nr && sign == 1 && x.Stride == nr {
		return x.Data[:x.Rows*nr]
	}
	n := x.Rows * b
	if cap(s.panel) < n {
		s.panel = make([]float64, n)
	}
	out := s.panel[:n]
	for p := 0; p < b/nr; p++ {
		dst := out[p*x.Rows*nr:]
		for i := 0; i < x.Rows; i++ {
			src := x.Data[i*x.Stride+p*nr : i*x.Stride+p*nr+nr]
			for j, v := range src {
				dst[i*nr+j] = sign * v
			}
		}
	}
	return out
}

// forGroups runs fn over [0, groups) split into up to threads ranges of
// about equal size, each with its own mr x nr scratch tile. Every output
// element is computed by one call, so the result does not depend on the
// split.
func (s *lanczos) forGroups(groups, threads int, fn func(g0, g1 int, tmp []float64)) {
	parts := min(threads, max(groups/4, 1))
	if parts <= 1 {
		fn(0, groups, s.tile[0][:])
		return
	}
	if len(s.tile) < parts {
		s.tile = make([][mr * nr]float64, parts)
	}
	var wg sync.WaitGroup
	for p := 1; p < parts; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(p*groups/parts, (p+1)*groups/parts, s.tile[p][:])
		}()
	}
	fn(0, groups/parts, s.tile[0][:])
	wg.Wait()
}
