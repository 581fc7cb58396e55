package plot

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"unicode/utf8"
)

// Default image size in pixels.
const (
	DefaultWidth  = 1600
	DefaultHeight = 1200
)

// axesPoints is the width, in typographic points, of the axes of scanpy's
// default 4 x 4 inch figure (matplotlib's default subplot box is 0.775 of the
// figure wide). PointSize, like scanpy's size, is a marker area in points², so
// a marker covers the same fraction of the axes here as in scanpy.
const axesPoints = 0.775 * 4 * 72

// ScatterOptions configures Scatter. The zero value gives scanpy's defaults.
type ScatterOptions struct {
	// Width and Height of the image in pixels; 0 means DefaultWidth and
	// DefaultHeight.
	Width, Height int
	// Title is drawn centred above the axes; empty draws none.
	Title string
	// PointSize is scanpy's size: the marker area in points² on scanpy's
	// default 4-inch axes, scaled to this image's axes. 0 means scanpy's
	// 120000/n. Markers below 2 pixels across are drawn as anti-aliased
	// squares, larger ones as anti-aliased discs.
	PointSize float64
	// Alpha is the opacity of each point in (0, 1]; 0 means 1 (opaque), scanpy's
	// default.
	Alpha float64
	// Palette gives category i the colour Palette[i % len(Palette)]; its alpha
	// is ignored. nil means DefaultPalette(len(names)).
	Palette []color.RGBA
}

// Scatter draws an embedding coloured by category, as scanpy's
// sc.pl.umap(adata, color="leiden") shows it: a white image with the title on
// top, the points in a framed box labelled UMAP1 (below) and UMAP2 (left, read
// upwards), and a legend on the right listing each category's colour and name.
//
// xy holds n points as x0, y0, x1, y1, ...; labels holds n category codes,
// each in [0, len(names)) or -1 for a missing category (drawn light grey and
// listed as "NA", like scanpy's na_color). Points with a NaN or infinite
// coordinate are skipped. Points are drawn in order, later points on top; the
// image is the same for any GOMAXPROCS.
func Scatter(xy []float32, labels []int32, names []string, opt ScatterOptions) (*image.RGBA, error) {
	if len(xy) != 2*len(labels) {
		return nil, fmt.Errorf("plot: Scatter: xy has %d values but labels has %d points; xy must hold n x 2 values (x0, y0, x1, y1, ...)", len(xy), len(labels))
	}
	w, h := opt.Width, opt.Height
	if w == 0 {
		w = DefaultWidth
	}
	if h == 0 {
		h = DefaultHeight
	}
	if w < 0 || h < 0 {
		return nil, fmt.Errorf("plot: Scatter: image size %d x %d is negative", opt.Width, opt.Height)
	}
	alpha := opt.Alpha
	if alpha == 0 {
		alpha = 1
	}
	if !(alpha > 0 && alpha <= 1) {
		return nil, fmt.Errorf("plot: Scatter: Alpha %v is outside (0, 1]", opt.Alpha)
	}
	if opt.PointSize < 0 || math.IsNaN(opt.PointSize) || math.IsInf(opt.PointSize, 0) {
		return nil, fmt.Errorf("plot: Scatter: PointSize %v must be finite and >= 0 (0 picks scanpy's 120000/n)", opt.PointSize)
	}
	hasNA := false
	for i, l := range labels {
		if l < -1 || int(l) >= len(names) {
			return nil, fmt.Errorf("plot: Scatter: label %d of point %d is outside [0, %d) (the %d names); use -1 for a missing category", l, i, len(names), len(names))
		}
		if l == -1 {
			hasNA = true
		}
	}
	colors, err := categoryColors(len(names), opt.Palette)
	if err != nil {
		return nil, err
	}
	entries := make([]legendEntry, 0, len(names)+1)
	for i, nm := range names {
		entries = append(entries, legendEntry{nm, colors[i]})
	}
	if hasNA {
		entries = append(entries, legendEntry{"NA", naColor})
		colors = append(colors, naColor) // label -1 maps to the last colour
	}

	lay, err := newLayout(w, h, opt.Title, entries)
	if err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}

	n := len(labels)
	size := opt.PointSize
	if size == 0 && n > 0 {
		size = 120000 / float64(n)
	}
	side := min(lay.plot.Dx(), lay.plot.Dy())
	diam := math.Sqrt(size) * float64(side) / axesPoints
	diam = min(max(diam, 1), float64(side)/4) // keep tiny clouds visible, huge markers sane
	rast := raster{
		img:    img,
		clip:   lay.plot,
		colors: colors,
		brush:  newBrush(float32(diam), float32(alpha)),
	}
	rast.points(xy, labels, dataBox(xy))

	lay.decorate(img, opt.Title, entries)
	return img, nil
}

// legendEntry is one row of the legend.
type legendEntry struct {
	name  string
	color color.RGBA
}

// box is the data range mapped onto the axes.
type box struct{ x0, xw, y0, yw float64 }

// dataBox is the range of the finite points widened by matplotlib's default 5%
// axes margin on each side; a degenerate range becomes a unit range around it.
func dataBox(xy []float32) box {
	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for i := 0; i+1 < len(xy); i += 2 {
		x, y := float64(xy[i]), float64(xy[i+1])
		if !finite(x) || !finite(y) {
			continue
		}
		xmin, xmax = min(xmin, x), max(xmax, x)
		ymin, ymax = min(ymin, y), max(ymax, y)
	}
	x0, xw := padRange(xmin, xmax)
	y0, yw := padRange(ymin, ymax)
	return box{x0, xw, y0, yw}
}

func padRange(lo, hi float64) (start, width float64) {
	switch {
	case lo > hi: // no finite points
		return 0, 1
	case lo == hi || !finite(hi-lo):
		return lo - 0.5, 1
	}
	pad := 0.05 * (hi - lo)
	return lo - pad, (hi - lo) + 2*pad
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// layout places the parts of the figure in pixels.
type layout struct {
	scale      int             // text scale of labels and legend
	margin     int             // outer margin
	frame      int             // frame line width
	titleY     int             // top of the title glyphs
	outer      image.Rectangle // axes box including the frame lines
	plot       image.Rectangle // inside the frame: where points are drawn
	legendX    int             // left edge of the legend
	legendY    int             // top of the first legend row
	rows       int             // legend rows per column
	rowH       int             // legend row pitch
	colX       []int           // legend column offsets from legendX
	swatch     int             // swatch disc diameter
	maxChars   int             // legend names are truncated to this many runes
	xLabelY    int             // top of the UMAP1 glyphs
	yLabelX    int             // left of the rotated UMAP2 glyphs
	titleScale int
}

var errTooSmall = errors.New("plot: Scatter: image too small for the axes, labels and legend")

func newLayout(w, h int, title string, entries []legendEntry) (*layout, error) {
	l := &layout{}
	s := max(1, min(w, h)/600)
	l.scale = s
	l.titleScale = s + 1
	l.margin = max(6, min(w, h)/40)
	l.frame = max(1, s/2)
	m := l.margin
	lineH := textHeight(s)

	top := m
	if title != "" {
		l.titleY = m
		top = m + textHeight(l.titleScale) + m/2
	}
	bottom := h - m - lineH - 2*s // room for UMAP1 below the frame
	left := m + lineH + 2*s       // room for UMAP2 left of the frame
	if bottom-top < 4*l.frame+8 {
		return nil, fmt.Errorf("%w: %d x %d leaves %d pixel rows for the axes", errTooSmall, w, h, bottom-top)
	}

	// Legend: scanpy uses one column up to 14 categories, two up to 30,
	// three beyond; add columns when the rows would not fit the height.
	k := len(entries)
	legendW := 0
	if k > 0 {
		l.rowH = lineH + 4*s
		l.swatch = lineH
		ncol := 1
		switch {
		case k > 30:
			ncol = 3
		case k > 14:
			ncol = 2
		}
		maxRows := max(1, (bottom-top)/l.rowH)
		ncol = max(ncol, (k+maxRows-1)/maxRows)
		l.rows = (k + ncol - 1) / ncol
		// Each column is as wide as its longest name, as in matplotlib. The
		// legend may take at most 45% of the width; longer names are cut.
		fixed := l.swatch + 3*s + 8*s // swatch, gap to text, gap to next column
		longest := 0
		for _, e := range entries {
			longest = max(longest, utf8.RuneCountInString(e.name))
		}
		for l.maxChars = max(longest, 1); ; l.maxChars-- {
			l.colX = l.colX[:0]
			x := 0
			for c := 0; c*l.rows < k; c++ {
				l.colX = append(l.colX, x)
				chars := 0
				for _, e := range entries[c*l.rows : min(k, (c+1)*l.rows)] {
					chars = max(chars, min(l.maxChars, utf8.RuneCountInString(e.name)))
				}
				x += fixed + chars*cellW*s
			}
			legendW = x + m/2
			if legendW <= w*45/100 || l.maxChars == 1 {
				break
			}
		}
	}
	right := w - m - legendW
	if right-left < 4*l.frame+8 {
		return nil, fmt.Errorf("%w: %d x %d leaves %d pixel columns for the axes", errTooSmall, w, h, right-left)
	}
	l.outer = image.Rect(left, top, right, bottom)
	l.plot = l.outer.Inset(l.frame)
	l.legendX = right + m/2
	l.legendY = (top+bottom)/2 - l.rows*l.rowH/2
	l.xLabelY = bottom + 2*s
	l.yLabelX = m
	return l, nil
}

// decorate draws the frame, title, axis labels and legend on top of the points.
func (l *layout) decorate(img *image.RGBA, title string, entries []legendEntry) {
	black := color.RGBA{0, 0, 0, 0xff}
	o, f := l.outer, l.frame
	fillRect(img, o.Min.X, o.Min.Y, o.Dx(), f, black)
	fillRect(img, o.Min.X, o.Max.Y-f, o.Dx(), f, black)
	fillRect(img, o.Min.X, o.Min.Y, f, o.Dy(), black)
	fillRect(img, o.Max.X-f, o.Min.Y, f, o.Dy(), black)

	cx := (o.Min.X + o.Max.X) / 2
	cy := (o.Min.Y + o.Max.Y) / 2
	if title != "" {
		maxChars := max(1, (img.Rect.Dx()-2*l.margin)/(cellW*l.titleScale))
		t := truncate(title, maxChars)
		x := max(l.margin, cx-textWidth(t, l.titleScale)/2)
		drawText(img, x, l.titleY, t, l.titleScale, black)
	}
	drawText(img, cx-textWidth("UMAP1", l.scale)/2, l.xLabelY, "UMAP1", l.scale, black)
	drawTextUp(img, l.yLabelX, cy-textWidth("UMAP2", l.scale)/2, "UMAP2", l.scale, black)

	for i, e := range entries {
		col, row := i/l.rows, i%l.rows
		x := l.legendX + l.colX[col]
		y := l.legendY + row*l.rowH
		r := float32(l.swatch) / 2
		b := newBrush(float32(l.swatch), 1)
		b.paint(img, img.Rect, float32(x)+r, float32(y+l.rowH/2), e.color)
		ty := y + l.rowH/2 - 7*l.scale/2 // centre the capitals (glyph rows 0-6) on the swatch
		drawText(img, x+l.swatch+3*l.scale, ty, truncate(e.name, l.maxChars), l.scale, black)
	}
}
