package plot

import (
	"image"
	"image/color"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// bandRows is the height of the horizontal bands the points are drawn in.
// Each band is drawn by one goroutine, visiting its points in input order, so
// overlapping points blend exactly as in a sequential pass whatever the number
// of workers; many more bands than cores balance dense and empty regions.
const bandRows = 16

// brush paints one marker with anti-aliased edges.
type brush struct {
	r     float32 // radius in pixels
	box   bool    // below 2 px across: a square whose pixel coverage is exact
	alpha float32
}

func newBrush(diameter, alpha float32) brush {
	return brush{r: diameter / 2, box: diameter < 2, alpha: alpha}
}

// rows returns the pixel rows [lo, hi] the marker centred at cy may touch.
func (b *brush) rows(cy float32) (lo, hi int) {
	return floor(cy - b.r - 0.5), floor(cy + b.r + 0.5)
}

func floor(v float32) int { return int(math.Floor(float64(v))) }

// paint blends the marker centred at (cx, cy) into img, touching only pixels
// inside clip. Blending is integer: dst += (src-dst)*a/256 with a in [0, 256],
// so a fully covered opaque pixel gets exactly the palette colour.
func (b *brush) paint(img *image.RGBA, clip image.Rectangle, cx, cy float32, c color.RGBA) {
	var x0, x1, y0, y1 int
	if b.box {
		x0, x1 = floor(cx-b.r), floor(cx+b.r)
		y0, y1 = floor(cy-b.r), floor(cy+b.r)
	} else {
		x0, x1 = floor(cx-b.r-0.5), floor(cx+b.r+0.5)
		y0, y1 = b.rows(cy)
	}
	x0, x1 = max(x0, clip.Min.X), min(x1, clip.Max.X-1)
	y0, y1 = max(y0, clip.Min.Y), min(y1, clip.Max.Y-1)
	cr, cg, cb := int32(c.R), int32(c.G), int32(c.B)
	scale := b.alpha * 256
	for y := y0; y <= y1; y++ {
		var covY float32
		dy := float32(y) + 0.5 - cy
		if b.box {
			covY = min(float32(y+1), cy+b.r) - max(float32(y), cy-b.r)
		}
		off := img.PixOffset(x0, y)
		for x := x0; x <= x1; x, off = x+1, off+4 {
			var cov float32
			if b.box {
				cov = covY * (min(float32(x+1), cx+b.r) - max(float32(x), cx-b.r))
			} else {
				dx := float32(x) + 0.5 - cx
				cov = b.r + 0.5 - float32(math.Sqrt(float64(dx*dx+dy*dy)))
			}
			if cov <= 0 {
				continue
			}
			a := int32(min(cov, 1)*scale + 0.5)
			if a <= 0 {
				continue
			}
			p := img.Pix[off : off+3 : off+3]
			if a >= 256 {
				p[0], p[1], p[2] = c.R, c.G, c.B
				continue
			}
			r0, g0, b0 := int32(p[0]), int32(p[1]), int32(p[2])
			p[0] = uint8(r0 + (cr-r0)*a>>8)
			p[1] = uint8(g0 + (cg-g0)*a>>8)
			p[2] = uint8(b0 + (cb-b0)*a>>8)
		}
	}
}

// raster draws the points of a scatter plot into clip.
type raster struct {
	img    *image.RGBA
	clip   image.Rectangle
	colors []color.RGBA // by label; label -1 takes the last
	brush  brush
}

// points maps xy through data box d onto clip and draws them in three
// parallel passes: pixel positions and per-chunk band counts, then a stable
// bucketing of point indices by band (chunk order, then point order), then
// one goroutine per band at a time drawing its bucket in order.
func (r *raster) points(xy []float32, labels []int32, d box) {
	n := len(labels)
	if n == 0 || r.clip.Empty() {
		return
	}
	workers := runtime.GOMAXPROCS(0)
	nb := (r.clip.Dy() + bandRows - 1) / bandRows
	chunks := min(workers, max(1, n/65536))
	chunkLen := (n + chunks - 1) / chunks

	px := make([]float32, n)
	py := make([]float32, n)
	counts := make([]int, chunks*nb) // counts[c*nb+b]
	sx := float64(r.clip.Dx()) / d.xw
	sy := float64(r.clip.Dy()) / d.yw
	left, bottom := float64(r.clip.Min.X), float64(r.clip.Max.Y)
	top := r.clip.Min.Y

	// bands returns the band range of point i, or ok=false when it draws nothing.
	bands := func(i int) (lo, hi int, ok bool) {
		if math.IsNaN(float64(px[i])) {
			return 0, 0, false
		}
		y0, y1 := r.brush.rows(py[i])
		y0, y1 = max(y0, top), min(y1, r.clip.Max.Y-1)
		if y0 > y1 {
			return 0, 0, false
		}
		return (y0 - top) / bandRows, (y1 - top) / bandRows, true
	}

	var wg sync.WaitGroup
	for c := range chunks {
		wg.Go(func() {
			cnt := counts[c*nb : (c+1)*nb]
			for i := c * chunkLen; i < min(n, (c+1)*chunkLen); i++ {
				x, y := float64(xy[2*i]), float64(xy[2*i+1])
				if !finite(x) || !finite(y) {
					px[i] = float32(math.NaN())
					continue
				}
				px[i] = float32(left + (x-d.x0)*sx)
				py[i] = float32(bottom - (y-d.y0)*sy)
				if lo, hi, ok := bands(i); ok {
					for b := lo; b <= hi; b++ {
						cnt[b]++
					}
				}
			}
		})
	}
	wg.Wait()

	// start[b] .. start[b+1] is band b's bucket; pos[c*nb+b] is where chunk c
	// writes its next index into band b.
	start := make([]int, nb+1)
	pos := make([]int, chunks*nb)
	total := 0
	for b := range nb {
		start[b] = total
		for c := range chunks {
			pos[c*nb+b] = total
			total += counts[c*nb+b]
		}
	}
	start[nb] = total
	idx := make([]int32, total)
	for c := range chunks {
		wg.Go(func() {
			p := pos[c*nb : (c+1)*nb]
			for i := c * chunkLen; i < min(n, (c+1)*chunkLen); i++ {
				if lo, hi, ok := bands(i); ok {
					for b := lo; b <= hi; b++ {
						idx[p[b]] = int32(i)
						p[b]++
					}
				}
			}
		})
	}
	wg.Wait()

	var next atomic.Int64
	for range min(workers, nb) {
		wg.Go(func() {
			for {
				b := int(next.Add(1) - 1)
				if b >= nb {
					return
				}
				band := r.clip
				band.Min.Y = top + b*bandRows
				band.Max.Y = min(band.Min.Y+bandRows, r.clip.Max.Y)
				for _, i := range idx[start[b]:start[b+1]] {
					l := labels[i]
					if l < 0 {
						l = int32(len(r.colors) - 1)
					}
					r.brush.paint(r.img, band, px[i], py[i], r.colors[l])
				}
			}
		})
	}
	wg.Wait()
}
