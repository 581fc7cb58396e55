package linalg

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// Cache blocking of the Go engine (Goto & van de Geijn 2008, BLIS loop
// order): a kc x nc block of op(B) is packed once per (jc, pc) and stays
// in L2/L3; a mc x kc block of op(A) is streamed through L2, and each kc
// x nr micro-panel of B stays in L1 while the kernel walks the rows.
// Values measured on the 2-core AMD EPYC (Zen 4) host; see doc.go.
const (
	blockKC = 256
	blockMC = 120 // multiple of mr
	blockNC = 2048
)

// minParallelFlops is the size below which Dgemm stays on one goroutine:
// starting workers costs more than it saves.
const minParallelFlops = 1 << 21

// Go is the pure-Go BLAS engine. Its micro-kernel is AVX2+FMA assembly on
// amd64 CPUs that have it (build tag noasm removes it) and portable Go
// elsewhere. Results do not depend on the thread count: every element of
// C is summed by one goroutine in the same order.
type Go struct {
	threads int
	// Block sizes for tests; 0 selects plan's defaults.
	blockKC, blockMC, blockNC int
	kern                      kernelFunc
	kname                     string
	note                      string // why Default fell back to Go, if it did
	scratch                   sync.Pool
}

// NewGo returns the pure-Go engine using up to threads goroutines per
// call; threads <= 0 means GOMAXPROCS at call time.
func NewGo(threads int) *Go {
	g := &Go{threads: threads, kern: kernGo, kname: "generic"}
	if k, name := asmKernel(); k != nil {
		g.kern, g.kname = k, name
	}
	return g
}

// newGoGeneric returns the engine with the portable kernel, for tests.
func newGoGeneric(threads int) *Go {
	return &Go{threads: threads, kern: kernGo, kname: "generic"}
}

// String implements BLAS.
func (g *Go) String() string {
	s := fmt.Sprintf("go(%s, %d threads", g.kname, g.nthreads())
	if g.blockKC != 0 {
		s += fmt.Sprintf(", blocks %d/%d/%d", g.blockKC, g.blockMC, g.blockNC)
	}
	s += ")"
	if g.note != "" {
		s += " [" + g.note + "]"
	}
	return s
}

func (g *Go) nthreads() int {
	if g.threads > 0 {
		return g.threads
	}
	return runtime.GOMAXPROCS(0)
}

// gemmScratch holds one worker's packing buffers.
type gemmScratch struct {
	b, a, edge []float64
	tmp        [mr * nr]float64
}

func (g *Go) getScratch() *gemmScratch {
	if s, ok := g.scratch.Get().(*gemmScratch); ok {
		return s
	}
	return new(gemmScratch)
}

// grow returns buf resized to n elements, reallocating only when short.
func grow(buf []float64, n int) []float64 {
	if cap(buf) < n {
		return make([]float64, n)
	}
	return buf[:n]
}

// gemmJob is one Dgemm on raw storage: C = alpha*op(A)*op(B) + C (beta
// already applied).
type gemmJob struct {
	tA, tB  bool
	m, n, k int
	alpha   float64
	a       []float64
	lda     int
	b       []float64
	ldb     int
	c       []float64
	ldc     int
}

// Dgemm implements BLAS.
func (g *Go) Dgemm(tA, tB blas.Transpose, alpha float64, a, b blas64.General, beta float64, c blas64.General) {
	m, n, k := gemmDims(tA, tB, a, b, c)
	if m == 0 || n == 0 {
		return
	}
	job := gemmJob{
		tA: tA != blas.NoTrans, tB: tB != blas.NoTrans,
		m: m, n: n, k: k, alpha: alpha,
		a: a.Data, lda: a.Stride, b: b.Data, ldb: b.Stride, c: c.Data, ldc: c.Stride,
	}
	g.gemm(job, beta, g.nthreads())
}

// gemm splits job over up to threads goroutines: by rows of C when there
// are enough, else by columns. Each part runs the serial blocked loop.
func (g *Go) gemm(job gemmJob, beta float64, threads int) {
	flops := 2 * float64(job.m) * float64(job.n) * float64(job.k)
	if threads < 1 || flops < minParallelFlops {
		threads = 1
	}
	var parts []gemmJob
	switch {
	case threads == 1:
		parts = []gemmJob{job}
	case job.m >= 2*mr*threads || job.m >= job.n:
		step := roundUp((job.m+threads-1)/threads, mr)
		for i := 0; i < job.m; i += step {
			p := job
			p.m = min(step, job.m-i)
			p.c = job.c[i*job.ldc:]
			if p.tA {
				p.a = job.a[i:]
			} else {
				p.a = job.a[i*job.lda:]
			}
			parts = append(parts, p)
		}
	default:
		step := roundUp((job.n+threads-1)/threads, nr)
		for j := 0; j < job.n; j += step {
			p := job
			p.n = min(step, job.n-j)
			p.c = job.c[j:]
			if p.tB {
				p.b = job.b[j*job.ldb:]
			} else {
				p.b = job.b[j:]
			}
			parts = append(parts, p)
		}
	}
	if len(parts) == 1 {
		g.serialWithBeta(&parts[0], beta)
		return
	}
	var wg sync.WaitGroup
	for i := range parts {
		wg.Add(1)
		go func(p *gemmJob) {
			defer wg.Done()
			g.serialWithBeta(p, beta)
		}(&parts[i])
	}
	wg.Wait()
}

func (g *Go) serialWithBeta(p *gemmJob, beta float64) {
	scaleGeneral(beta, p.m, p.n, p.c, p.ldc)
	if p.alpha == 0 || p.k == 0 {
		return
	}
	s := g.getScratch()
	g.gemmSerial(p, s)
	g.scratch.Put(s)
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// blocking is the cache blocking of one serial gemm.
type blocking struct {
	kc, mc, nc int
	packA      bool // pack op(A) into mr-row panels (else read in place)
}

// plan chooses the blocking of p. The default is the classic one. A
// skinny op(B) (n <= skinnyN, as in the eigensolver's A*V) gets a deep
// kc: its packed block stays small, and op(A), streamed from memory
// once, is read in long contiguous runs instead of 2 KiB pieces.
func (g *Go) plan(p *gemmJob) blocking {
	if g.blockKC != 0 {
		return blocking{
			kc: min(g.blockKC, p.k), mc: g.blockMC, nc: min(g.blockNC, roundUp(p.n, nr)),
			packA: p.tA && p.lda > directStride,
		}
	}
	bl := blocking{nc: min(blockNC, roundUp(p.n, nr)), kc: blockKC, mc: blockMC}
	// A transposed op(A) is read in place (mr values per k step, one
	// stride apart) while its rows are short; past directStride the
	// strided walk thrashes the TLB and packing pays.
	bl.packA = p.tA && p.lda > directStride
	switch {
	case p.tA && !bl.packA:
		// Take whole rows of the stored A (all of op(A)'s rows, up to
		// directStride) and as many as fit in half of L2: the block
		// is then one contiguous run of memory.
		bl.mc = roundUp(min(p.m, directStride), mr)
		bl.kc = max(16, l2Half/(8*max(p.lda, bl.mc)))
	case bl.nc <= skinnyN:
		bl.kc = max(blockKC, skinnyBBytes/(8*bl.nc))
		bl.mc = max(mr, min(blockMC, l2Half/(8*min(bl.kc, p.k))/mr*mr))
	}
	bl.kc = min(bl.kc, p.k)
	return bl
}

const (
	skinnyN      = 64
	skinnyBBytes = 256 << 10 // packed op(B) block of a skinny product
	l2Half       = 256 << 10 // op(A) block re-read from L2 per nr panel
	directStride = 1024      // elements
)

// gemmSerial runs the five-loop blocked algorithm on one goroutine.
// op(A) is read in place when it is row-major (no transpose): its rows
// are contiguous along k, which is what the kernel streams, and skipping
// the pack saves a pass over the large operand.
func (g *Go) gemmSerial(p *gemmJob, s *gemmScratch) {
	kern := g.kern
	bl := g.plan(p)
	s.b = grow(s.b, bl.kc*bl.nc)
	if bl.packA {
		s.a = grow(s.a, roundUp(bl.mc, mr)*bl.kc)
	}
	s.edge = grow(s.edge, mr*bl.kc)
	for jc := 0; jc < p.n; jc += bl.nc {
		nc := min(bl.nc, p.n-jc)
		for pc := 0; pc < p.k; pc += bl.kc {
			kc := min(bl.kc, p.k-pc)
			packB(s.b, p, pc, kc, jc, nc)
			for ic := 0; ic < p.m; ic += bl.mc {
				mc := min(bl.mc, p.m-ic)
				full := mc / mr * mr // rows covered by whole panels
				if bl.packA {
					packAT(s.a, p, ic, mc, pc, kc)
				} else if full < mc {
					packAEdge(s.edge, p, ic+full, mc-full, pc, kc)
				}
				for jr := 0; jr < nc; jr += nr {
					nrr := min(nr, nc-jr)
					bp := s.b[jr*kc : (jr+nr)*kc]
					for ir := 0; ir < mc; ir += mr {
						var a []float64
						var rs, cs int
						switch {
						case bl.packA:
							a, rs, cs = s.a[ir*kc:(ir+mr)*kc], 1, mr
						case ir >= full:
							a, rs, cs = s.edge[:mr*kc], 1, mr
						case p.tA:
							a, rs, cs = p.a[pc*p.lda+ic+ir:], 1, p.lda
						default:
							a, rs, cs = p.a[(ic+ir)*p.lda+pc:], p.lda, 1
						}
						mrr := min(mr, mc-ir)
						ci := (ic+ir)*p.ldc + jc + jr
						if mrr == mr && nrr == nr {
							kern(kc, a, rs, cs, bp, p.c[ci:], p.ldc)
							continue
						}
						t := s.tmp[:]
						clear(t)
						kern(kc, a, rs, cs, bp, t, nr)
						for r := 0; r < mrr; r++ {
							crow := p.c[ci+r*p.ldc : ci+r*p.ldc+nrr]
							for j := range crow {
								crow[j] += t[r*nr+j]
							}
						}
					}
				}
			}
		}
	}
}

// packB copies alpha*op(B)[pc:pc+kc, jc:jc+nc] into nr-column panels,
// panel q at dst[q*kc*nr:], element (pp, j) at pp*nr + j, zero-padding the
// last panel.
func packB(dst []float64, p *gemmJob, pc, kc, jc, nc int) {
	alpha := p.alpha
	for q := 0; q*nr < nc; q++ {
		j0 := jc + q*nr
		w := min(nr, jc+nc-j0)
		pan := dst[q*kc*nr : (q+1)*kc*nr]
		if !p.tB {
			for pp := 0; pp < kc; pp++ {
				src := p.b[(pc+pp)*p.ldb+j0 : (pc+pp)*p.ldb+j0+w]
				d := pan[pp*nr : pp*nr+nr]
				for j, v := range src {
					d[j] = alpha * v
				}
				clear(d[w:])
			}
			continue
		}
		for j := 0; j < w; j++ {
			src := p.b[(j0+j)*p.ldb+pc : (j0+j)*p.ldb+pc+kc]
			for pp, v := range src {
				pan[pp*nr+j] = alpha * v
			}
		}
		if w < nr {
			for pp := 0; pp < kc; pp++ {
				clear(pan[pp*nr+w : pp*nr+nr])
			}
		}
	}
}

// packAT packs op(A)[ic:ic+mc, pc:pc+kc] = A[pc:pc+kc, ic:ic+mc]ᵀ into
// mr-row panels (panel t at dst[t*mr*kc:], element (r, pp) at pp*mr + r),
// zero-padding the last panel.
func packAT(dst []float64, p *gemmJob, ic, mc, pc, kc int) {
	np := (mc + mr - 1) / mr
	if rem := mc % mr; rem != 0 {
		last := dst[(np-1)*mr*kc : np*mr*kc]
		for pp := 0; pp < kc; pp++ {
			clear(last[pp*mr+rem : pp*mr+mr])
		}
	}
	for pp := 0; pp < kc; pp++ {
		src := p.a[(pc+pp)*p.lda+ic : (pc+pp)*p.lda+ic+mc]
		for i, v := range src {
			t, r := i/mr, i%mr
			dst[t*mr*kc+pp*mr+r] = v
		}
	}
}

// packAEdge packs the last rows < mr rows of an op(A) block, starting at
// row i0, into one zero-padded mr-row panel.
func packAEdge(dst []float64, p *gemmJob, i0, rows, pc, kc int) {
	dst = dst[:mr*kc]
	clear(dst)
	if p.tA {
		for pp := 0; pp < kc; pp++ {
			copy(dst[pp*mr:pp*mr+rows], p.a[(pc+pp)*p.lda+i0:(pc+pp)*p.lda+i0+rows])
		}
		return
	}
	for r := 0; r < rows; r++ {
		src := p.a[(i0+r)*p.lda+pc : (i0+r)*p.lda+pc+kc]
		for pp, v := range src {
			dst[pp*mr+r] = v
		}
	}
}

// syrkTile is the tile edge of the Go Dsyrk: off-diagonal tiles are
// plain Dgemm calls into C, diagonal tiles go through a temporary.
const syrkTile = 192

// Dsyrk implements BLAS.
func (g *Go) Dsyrk(t blas.Transpose, alpha float64, a blas64.General, beta float64, c blas64.Symmetric) {
	n, k := syrkDims(t, a, c)
	if n == 0 {
		return
	}
	scaleTriangle(beta, c.Uplo, n, c.Data, c.Stride)
	if alpha == 0 || k == 0 {
		return
	}
	trans := t != blas.NoTrans
	upper := c.Uplo == blas.Upper
	// tileJob returns the gemm computing op(A)[I]*op(A)[J]ᵀ for the row
	// ranges I = [i0, i0+mi), J = [j0, j0+nj) of op(A).
	tileJob := func(i0, mi, j0, nj int, dst []float64, ldd int) gemmJob {
		j := gemmJob{m: mi, n: nj, k: k, alpha: alpha, c: dst, ldc: ldd, lda: a.Stride, ldb: a.Stride}
		if trans {
			// op(A) = Aᵀ: rows of op(A) are columns of A.
			j.tA, j.tB = true, false
			j.a, j.b = a.Data[i0:], a.Data[j0:]
		} else {
			j.tA, j.tB = false, true
			j.a, j.b = a.Data[i0*a.Stride:], a.Data[j0*a.Stride:]
		}
		return j
	}
	threads := g.nthreads()
	if n <= 2*syrkTile {
		// Small C: one parallel gemm into a full temporary, then add
		// the triangle. Wastes up to 2x flops, only on small problems.
		tmp := make([]float64, n*n)
		g.gemm(tileJob(0, n, 0, n, tmp, n), 0, threads)
		addTriangle(c.Data, c.Stride, tmp, n, n, upper)
		return
	}
	nt := (n + syrkTile - 1) / syrkTile
	type tile struct{ ti, tj int }
	var tiles []tile
	for ti := 0; ti < nt; ti++ {
		for tj := ti; tj < nt; tj++ {
			if upper {
				tiles = append(tiles, tile{ti, tj})
			} else {
				tiles = append(tiles, tile{tj, ti})
			}
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(threads, len(tiles)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := g.getScratch()
			defer g.scratch.Put(s)
			var dtmp []float64
			for {
				idx := int(next.Add(1) - 1)
				if idx >= len(tiles) {
					return
				}
				tl := tiles[idx]
				i0, j0 := tl.ti*syrkTile, tl.tj*syrkTile
				mi, nj := min(syrkTile, n-i0), min(syrkTile, n-j0)
				if tl.ti != tl.tj {
					job := tileJob(i0, mi, j0, nj, c.Data[i0*c.Stride+j0:], c.Stride)
					g.gemmSerial(&job, s)
					continue
				}
				dtmp = grow(dtmp, mi*mi)
				clear(dtmp)
				job := tileJob(i0, mi, i0, mi, dtmp, mi)
				g.gemmSerial(&job, s)
				addTriangle(c.Data[i0*c.Stride+i0:], c.Stride, dtmp, mi, mi, upper)
			}
		}()
	}
	wg.Wait()
}

// addTriangle adds the upper or lower triangle of the n x n src to dst.
func addTriangle(dst []float64, ldd int, src []float64, lds, n int, upper bool) {
	for i := 0; i < n; i++ {
		lo, hi := i, n
		if !upper {
			lo, hi = 0, i+1
		}
		d := dst[i*ldd+lo : i*ldd+hi]
		s := src[i*lds+lo : i*lds+hi]
		for j, v := range s {
			d[j] += v
		}
	}
}
