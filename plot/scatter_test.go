package plot

import (
	"fmt"
	"image"
	"image/color"
	_ "image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

// blobs returns n points in k Gaussian blobs centred at centres, labelled by
// blob, in shuffled order (as cells come in a dataset).
func blobs(rng *rand.Rand, n int, centres [][2]float64, sd float64) ([]float32, []int32) {
	xy := make([]float32, 2*n)
	labels := make([]int32, n)
	for i := range n {
		k := rng.IntN(len(centres))
		labels[i] = int32(k)
		xy[2*i] = float32(centres[k][0] + sd*rng.NormFloat64())
		xy[2*i+1] = float32(centres[k][1] + sd*rng.NormFloat64())
	}
	return xy, labels
}

func names(k int) []string {
	s := make([]string, k)
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}

func rgbAt(img *image.RGBA, x, y int) color.RGBA {
	return img.RGBAAt(x, y)
}

// countColor counts the pixels of r that have exactly colour c, and their mean position.
func countColor(img *image.RGBA, r image.Rectangle, c color.RGBA) (n int, mx, my float64) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if rgbAt(img, x, y) == c {
				n++
				mx += float64(x)
				my += float64(y)
			}
		}
	}
	if n > 0 {
		mx /= float64(n)
		my /= float64(n)
	}
	return n, mx, my
}

// plotRect finds the axes box of a Scatter image from its pixels alone: the
// frame's left edge is the first column that is black for over a third of the
// height (the rotated UMAP2 label is shorter), its top the first black pixel
// of that column, and the edges run on from that corner.
func plotRect(t *testing.T, img *image.RGBA) image.Rectangle {
	t.Helper()
	black := color.RGBA{0, 0, 0, 0xff}
	b := img.Rect
	midY := b.Dy() / 2
	left := -1
	for x := 0; x < b.Dx() && left < 0; x++ {
		run := 0
		for y := 0; y < b.Dy(); y++ {
			if rgbAt(img, x, y) == black {
				run++
			}
		}
		if run > b.Dy()/3 {
			left = x
		}
	}
	if left < 0 {
		t.Fatal("no frame found")
	}
	top := -1
	for y := 0; y < midY; y++ {
		if rgbAt(img, left, y) == black {
			top = y
			break
		}
	}
	right, bottom := left, top
	for x := left; x < b.Dx() && rgbAt(img, x, top) == black; x++ {
		right = x
	}
	for y := top; y < b.Dy() && rgbAt(img, left, y) == black; y++ {
		bottom = y
	}
	return image.Rect(left, top, right+1, bottom+1)
}

func TestScatterSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	xy, labels := blobs(rng, 1001, [][2]float64{{0, 0}, {5, 3}}, 1)
	img, err := Scatter(xy, labels, names(2), ScatterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds(); got != image.Rect(0, 0, DefaultWidth, DefaultHeight) {
		t.Errorf("default bounds %v, want %dx%d", got, DefaultWidth, DefaultHeight)
	}
	img, err = Scatter(xy, labels, names(2), ScatterOptions{Width: 777, Height: 531, Title: "leiden"})
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds(); got != image.Rect(0, 0, 777, 531) {
		t.Errorf("bounds %v, want 777x531", got)
	}
	if c := rgbAt(img, 1, 1); c != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("corner pixel %v, want white background", c)
	}
	if _, err := Scatter(xy, labels, names(2), ScatterOptions{Width: 40, Height: 30}); err == nil {
		t.Error("40x30 image: want a too-small error")
	}
}

// TestScatterClusterColours places blobs at the corners and centre of the data
// and checks each blob's palette colour fills pixels in the matching part of
// the axes box.
func TestScatterClusterColours(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	centres := [][2]float64{{-10, 10}, {10, 10}, {-10, -10}, {10, -10}, {0, 0}}
	xy, labels := blobs(rng, 23457, centres, 0.8)
	img, err := Scatter(xy, labels, []string{"top left", "top right", "bottom left", "bottom right", "centre"},
		ScatterOptions{Width: 1203, Height: 911, Title: "blobs"})
	if err != nil {
		t.Fatal(err)
	}
	pr := plotRect(t, img)
	// Matplotlib's autoscale: the data range plus 5% on each side.
	lo, hi := [2]float64{math.Inf(1), math.Inf(1)}, [2]float64{math.Inf(-1), math.Inf(-1)}
	for i, v := range xy {
		lo[i%2], hi[i%2] = min(lo[i%2], float64(v)), max(hi[i%2], float64(v))
	}
	frac := func(v float64, a int) float64 { return (v - lo[a] + 0.05*(hi[a]-lo[a])) / (1.1 * (hi[a] - lo[a])) }
	pal := DefaultPalette(5)
	for k, c := range centres {
		n, mx, my := countColor(img, pr, pal[k])
		if n < 200 {
			t.Errorf("cluster %d: %d pixels of its colour %v in the axes, want >= 200", k, n, pal[k])
			continue
		}
		// Data x grows right, data y grows up (image y down).
		wantX := float64(pr.Min.X) + frac(c[0], 0)*float64(pr.Dx())
		wantY := float64(pr.Max.Y) - frac(c[1], 1)*float64(pr.Dy())
		if math.Abs(mx-wantX) > 0.02*float64(pr.Dx()) || math.Abs(my-wantY) > 0.02*float64(pr.Dy()) {
			t.Errorf("cluster %d: its pixels centre at (%.0f, %.0f), want near (%.0f, %.0f)", k, mx, my, wantX, wantY)
		}
	}
}

// legendRegion is the part of the image right of the axes box.
func legendRegion(t *testing.T, img *image.RGBA) image.Rectangle {
	pr := plotRect(t, img)
	return image.Rect(pr.Max.X, 0, img.Rect.Max.X, img.Rect.Max.Y)
}

func TestScatterLegend(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, k := range []int{3, 20, 23, 37} {
		centres := make([][2]float64, k)
		for i := range centres {
			centres[i] = [2]float64{rng.Float64() * 30, rng.Float64() * 30}
		}
		xy, labels := blobs(rng, 5003, centres, 0.5)
		img, err := Scatter(xy, labels, names(k), ScatterOptions{Width: 1100, Height: 807})
		if err != nil {
			t.Fatal(err)
		}
		want := DefaultPalette(k)
		switch {
		case k <= 20 && want[2] != (color.RGBA{0x27, 0x9e, 0x68, 0xff}):
			t.Fatalf("k=%d: palette is not default_20", k)
		case k > 20 && k <= 28 && want[0] != (color.RGBA{0x02, 0x3f, 0xa5, 0xff}):
			t.Fatalf("k=%d: palette is not default_28", k)
		case k > 28 && want[0] != (color.RGBA{0xff, 0xff, 0x00, 0xff}):
			t.Fatalf("k=%d: palette is not default_102", k)
		}
		lr := legendRegion(t, img)
		for i := range k {
			if n, _, _ := countColor(img, lr, want[i]); n < 20 {
				t.Errorf("k=%d: legend has %d pixels of category %d's colour %v, want a swatch", k, n, i, want[i])
			}
		}
		// Text is black: the legend holds ink for the names.
		if n, _, _ := countColor(img, lr, color.RGBA{0, 0, 0, 255}); n < 10*k {
			t.Errorf("k=%d: legend has only %d black pixels for %d names", k, n, k)
		}
	}
}

// TestScatterLongNames checks long category names are cut so that the axes
// keep most of a narrow image.
func TestScatterLongNames(t *testing.T) {
	nm := []string{"Megakaryocyte-erythroid progenitors of the bone marrow", "B", "plasmacytoid dendritic cells (pDC)"}
	xy := []float32{0, 0, 1, 2, 3, 1}
	img, err := Scatter(xy, []int32{0, 1, 2}, nm, ScatterOptions{Width: 613, Height: 457})
	if err != nil {
		t.Fatal(err)
	}
	if pr := plotRect(t, img); pr.Dx() < img.Rect.Dx()/2 {
		t.Errorf("axes box %v is under half the width of %v", pr, img.Rect)
	}
	lr := legendRegion(t, img)
	if n, _, _ := countColor(img, lr, DefaultPalette(3)[2]); n < 20 {
		t.Error("legend lost a swatch")
	}
}

func TestScatterMissingCategory(t *testing.T) {
	xy := []float32{0, 0, 1, 1, 2, 0.5}
	labels := []int32{0, -1, 1}
	img, err := Scatter(xy, labels, []string{"a", "b"}, ScatterOptions{Width: 640, Height: 480, PointSize: 400})
	if err != nil {
		t.Fatal(err)
	}
	pr := plotRect(t, img)
	if n, _, _ := countColor(img, pr, naColor); n < 10 {
		t.Errorf("missing-category point: %d light grey pixels, want a marker", n)
	}
	if n, _, _ := countColor(img, legendRegion(t, img), naColor); n < 10 {
		t.Errorf("legend has %d light grey pixels, want an NA swatch", n)
	}
}

// TestScatterNonFinite checks NaN and infinite points are skipped: the image
// equals the one drawn without them.
func TestScatterNonFinite(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	xy, labels := blobs(rng, 3001, [][2]float64{{0, 0}, {4, 4}, {-3, 5}}, 1)
	bad := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	var cleanXY []float32
	var cleanL []int32
	for i := range labels {
		if i%7 == 3 {
			xy[2*i+i%2] = bad[i%3]
			continue
		}
		cleanXY = append(cleanXY, xy[2*i], xy[2*i+1])
		cleanL = append(cleanL, labels[i])
	}
	opt := ScatterOptions{Width: 900, Height: 700, PointSize: 30, Alpha: 0.7}
	got, err := Scatter(xy, labels, names(3), opt)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Scatter(cleanXY, cleanL, names(3), opt)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffPixels(got, want); d != 0 {
		t.Errorf("%d pixels differ from the plot without the non-finite points", d)
	}
	allNaN := []float32{float32(math.NaN()), 1, 2, float32(math.NaN())}
	if _, err := Scatter(allNaN, []int32{0, 1}, names(2), opt); err != nil {
		t.Errorf("all points non-finite: %v", err)
	}
}

func diffPixels(a, b *image.RGBA) int {
	if a.Rect != b.Rect {
		return a.Rect.Dx() * a.Rect.Dy()
	}
	d := 0
	for i := 0; i < len(a.Pix); i += 4 {
		if a.Pix[i] != b.Pix[i] || a.Pix[i+1] != b.Pix[i+1] || a.Pix[i+2] != b.Pix[i+2] || a.Pix[i+3] != b.Pix[i+3] {
			d++
		}
	}
	return d
}

func TestScatterDegenerate(t *testing.T) {
	opt := ScatterOptions{Width: 800, Height: 600}
	pal := DefaultPalette(3)

	img, err := Scatter(nil, nil, names(3), opt)
	if err != nil {
		t.Fatalf("0 points: %v", err)
	}
	pr := plotRect(t, img)
	inner := pr.Inset(2)
	if n, _, _ := countColor(img, inner, color.RGBA{255, 255, 255, 255}); n != inner.Dx()*inner.Dy() {
		t.Errorf("0 points: axes box has %d non-white pixels", inner.Dx()*inner.Dy()-n)
	}
	if n, _, _ := countColor(img, legendRegion(t, img), pal[2]); n == 0 {
		t.Error("0 points: legend still lists the categories, want swatch of category 2")
	}

	img, err = Scatter([]float32{3.5, -2}, []int32{1}, names(3), opt)
	if err != nil {
		t.Fatalf("1 point: %v", err)
	}
	pr = plotRect(t, img)
	n, mx, my := countColor(img, pr, pal[1])
	if n == 0 || math.Abs(mx-float64(pr.Min.X+pr.Max.X)/2) > 2 || math.Abs(my-float64(pr.Min.Y+pr.Max.Y)/2) > 2 {
		t.Errorf("1 point: %d pixels of its colour centred at (%.1f, %.1f), want a marker at the axes centre %v", n, mx, my, pr)
	}

	same := make([]float32, 2*777)
	sameL := make([]int32, 777)
	for i := range sameL {
		same[2*i], same[2*i+1] = 1e6, 1e6
		sameL[i] = int32(i % 3)
	}
	img, err = Scatter(same, sameL, names(3), opt)
	if err != nil {
		t.Fatalf("identical points: %v", err)
	}
	pr = plotRect(t, img)
	// The last point drawn (label 776 % 3 = 2) is on top at the centre.
	if c := rgbAt(img, (pr.Min.X+pr.Max.X)/2, (pr.Min.Y+pr.Max.Y)/2); c != pal[2] {
		t.Errorf("identical points: centre pixel %v, want the last point's colour %v", c, pal[2])
	}
}

func TestScatterErrors(t *testing.T) {
	xy := []float32{0, 0, 1, 1}
	for _, tc := range []struct {
		name   string
		xy     []float32
		labels []int32
		opt    ScatterOptions
	}{
		{"label = len(names)", xy, []int32{0, 2}, ScatterOptions{}},
		{"label -2", xy, []int32{-2, 0}, ScatterOptions{}},
		{"odd xy", xy[:3], []int32{0, 1}, ScatterOptions{}},
		{"xy too short", xy, []int32{0, 1, 1}, ScatterOptions{}},
		{"alpha > 1", xy, []int32{0, 1}, ScatterOptions{Alpha: 1.5}},
		{"alpha < 0", xy, []int32{0, 1}, ScatterOptions{Alpha: -0.1}},
		{"negative size", xy, []int32{0, 1}, ScatterOptions{PointSize: -1}},
		{"NaN size", xy, []int32{0, 1}, ScatterOptions{PointSize: math.NaN()}},
		{"negative width", xy, []int32{0, 1}, ScatterOptions{Width: -5}},
		{"empty palette", xy, []int32{0, 1}, ScatterOptions{Palette: []color.RGBA{}}},
	} {
		if _, err := Scatter(tc.xy, tc.labels, names(2), tc.opt); err == nil {
			t.Errorf("%s: want an error", tc.name)
		} else {
			t.Logf("%s: %v", tc.name, err)
		}
	}
}

// TestScatterOrder checks the banded parallel drawing against a plain
// sequential loop over the points, for marker sizes on both sides of the
// square/disc switch, half-transparent overlapping points and several
// GOMAXPROCS values.
func TestScatterOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	xy, labels := blobs(rng, 200003, [][2]float64{{0, 0}, {1, 1}, {2, 0}, {0.5, 2}}, 0.7)
	labels[17] = -1
	nm := names(4)
	for _, size := range []float64{0, 2.3, 60} {
		opt := ScatterOptions{Width: 1001, Height: 733, PointSize: size, Alpha: 0.45, Title: "order"}
		for _, procs := range []int{1, 2, 7} {
			old := runtime.GOMAXPROCS(procs)
			got, err := Scatter(xy, labels, nm, opt)
			runtime.GOMAXPROCS(old)
			if err != nil {
				t.Fatal(err)
			}
			want := sequentialScatter(t, xy, labels, nm, opt)
			if d := diffPixels(got, want); d != 0 {
				t.Errorf("size %v, GOMAXPROCS %d: %d pixels differ from sequential drawing", size, procs, d)
			}
		}
	}
}

// sequentialScatter draws like Scatter but one point after another over the
// whole axes box, without bands.
func sequentialScatter(t *testing.T, xy []float32, labels []int32, nm []string, opt ScatterOptions) *image.RGBA {
	t.Helper()
	empty, err := Scatter(nil, nil, nm, opt) // frame, text and legend only
	if err != nil {
		t.Fatal(err)
	}
	colors := DefaultPalette(len(nm))
	entries := []legendEntry{}
	for i, s := range nm {
		entries = append(entries, legendEntry{s, colors[i]})
	}
	entries = append(entries, legendEntry{"NA", naColor})
	colors = append(colors, naColor)
	lay, err := newLayout(opt.Width, opt.Height, opt.Title, entries)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(empty.Rect)
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	side := float64(min(lay.plot.Dx(), lay.plot.Dy()))
	size := opt.PointSize
	if size == 0 {
		size = 120000 / float64(len(labels))
	}
	diam := min(max(math.Sqrt(size)*side/axesPoints, 1), side/4)
	b := newBrush(float32(diam), float32(opt.Alpha))
	d := dataBox(xy)
	for i, l := range labels {
		x := float64(lay.plot.Min.X) + (float64(xy[2*i])-d.x0)*float64(lay.plot.Dx())/d.xw
		y := float64(lay.plot.Max.Y) - (float64(xy[2*i+1])-d.y0)*float64(lay.plot.Dy())/d.yw
		if l < 0 {
			l = int32(len(colors) - 1)
		}
		b.paint(img, lay.plot, float32(x), float32(y), colors[l])
	}
	lay.decorate(img, opt.Title, entries)
	return img
}

// TestBrushCoverage checks the anti-aliased ink of one marker against its
// geometric area: d² for squares, pi d²/4 for discs.
func TestBrushCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, d := range []float32{1, 1.37, 1.99, 2.5, 7.3, 20.1} {
		img := image.NewRGBA(image.Rect(0, 0, 64, 64))
		for i := range img.Pix {
			img.Pix[i] = 255
		}
		b := newBrush(d, 1)
		cx, cy := 30+rng.Float32(), 31+rng.Float32()
		b.paint(img, img.Rect, cx, cy, color.RGBA{0, 0, 0, 255})
		ink := 0.0
		for i := 0; i < len(img.Pix); i += 4 {
			ink += float64(255-img.Pix[i]) / 255
		}
		area := float64(d * d)
		if !b.box {
			area *= math.Pi / 4
		}
		// Rounding alpha to 1/256 per pixel and the linear edge ramp.
		tol := 0.02*area + 0.6
		if math.Abs(ink-area) > tol {
			t.Errorf("diameter %v: ink %.3f, want area %.3f +- %.3f", d, ink, area, tol)
		}
	}
}

func TestScatterAlpha(t *testing.T) {
	c := color.RGBA{0x20, 0x80, 0xf0, 0xff}
	img, err := Scatter([]float32{0, 0}, []int32{0}, []string{"x"},
		ScatterOptions{Width: 500, Height: 400, PointSize: 900, Alpha: 0.5, Palette: []color.RGBA{c}})
	if err != nil {
		t.Fatal(err)
	}
	pr := plotRect(t, img)
	got := rgbAt(img, (pr.Min.X+pr.Max.X)/2, (pr.Min.Y+pr.Max.Y)/2)
	mix := func(dst, src uint8) uint8 { return uint8(int(dst) + (int(src)-int(dst))*128/256) }
	want := color.RGBA{mix(255, c.R), mix(255, c.G), mix(255, c.B), 255}
	for _, ch := range [][2]uint8{{got.R, want.R}, {got.G, want.G}, {got.B, want.B}} {
		if d := int(ch[0]) - int(ch[1]); d < -1 || d > 1 {
			t.Errorf("half-transparent point over white: %v, want %v", got, want)
			break
		}
	}
	if n, _, _ := countColor(img, legendRegion(t, img), c); n == 0 {
		t.Error("legend swatch should be opaque in the palette colour")
	}
}

func TestFont(t *testing.T) {
	if len(glyphs) != '~'-' '+1 {
		t.Fatalf("%d glyphs, want printable ASCII", len(glyphs))
	}
	seen := map[[glyphH]uint8]rune{}
	for r := rune('!'); r <= '~'; r++ {
		g := *glyph(r)
		if g == ([glyphH]uint8{}) {
			t.Errorf("glyph %q is blank", r)
		}
		if o, dup := seen[g]; dup {
			t.Errorf("glyphs %q and %q are identical", o, r)
		}
		seen[g] = r
	}
	if glyph('é') != glyph('?') || glyph('\n') != glyph('?') {
		t.Error("characters outside printable ASCII should draw as '?'")
	}
	if got := truncate("Megakaryocytes", 8); got != "Megaka.." {
		t.Errorf("truncate: %q", got)
	}
}

// TestTextRotation checks that drawTextUp is drawText turned 90 degrees
// counter-clockwise.
func TestTextRotation(t *testing.T) {
	const s, scale = "UMAP2 gj", 2
	w, h := textWidth(s, scale), textHeight(scale)
	flat := image.NewRGBA(image.Rect(0, 0, w, h))
	up := image.NewRGBA(image.Rect(0, 0, h, w))
	ink := color.RGBA{0, 0, 0, 255}
	drawText(flat, 0, 0, s, scale, ink)
	drawTextUp(up, 0, 0, s, scale, ink)
	for y := range h {
		for x := range w {
			// Rotating CCW sends (x, y) to (y, w-1-x).
			if flat.RGBAAt(x, y) != up.RGBAAt(y, w-1-x) {
				t.Fatalf("pixel (%d, %d) of the flat text differs from its rotation", x, y)
			}
		}
	}
}

func TestWritePNG(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	xy, labels := blobs(rng, 4321, [][2]float64{{0, 0}, {3, 1}, {1, 4}}, 0.6)
	img, err := Scatter(xy, labels, []string{"T cells", "B cells", "NK"}, ScatterOptions{Width: 701, Height: 509, Title: "leiden", Alpha: 0.8})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "umap.png")
	if err := WritePNG(path, img); err != nil {
		t.Fatal(err)
	}
	got := decodePNG(t, path)
	if d := diffPixels(got, img); d != 0 {
		t.Errorf("decoded PNG differs in %d pixels", d)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only umap.png (no temporary files)", len(ents))
	}
	if err := WritePNG(filepath.Join(dir, "missing", "x.png"), img); err == nil {
		t.Error("writing into a missing directory: want an error")
	}
	if out := os.Getenv("SCBENCH_PLOT_DEMO"); out != "" {
		if err := WritePNG(out, img); err != nil {
			t.Fatal(err)
		}
		t.Logf("demo written to %s", out)
	}
}

func decodePNG(t *testing.T, path string) *image.RGBA {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	rgba := image.NewRGBA(m.Bounds())
	for y := m.Bounds().Min.Y; y < m.Bounds().Max.Y; y++ {
		for x := m.Bounds().Min.X; x < m.Bounds().Max.X; x++ {
			rgba.Set(x, y, m.At(x, y))
		}
	}
	return rgba
}

func ExampleScatter() {
	xy := []float32{0.1, 0.2, 0.3, 0.1, 2.0, 2.1}
	labels := []int32{0, 0, 1}
	img, err := Scatter(xy, labels, []string{"T cells", "B cells"}, ScatterOptions{Title: "leiden"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(img.Bounds())
	// Output: (0,0)-(1600,1200)
}
