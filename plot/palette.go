package plot

import (
	"fmt"
	"image/color"
)

// The default categorical palettes of scanpy (scanpy/plotting/palettes.py).
// The colour values are data: default20 is vega_20_scanpy (matplotlib's tab20
// reordered dark-then-light, grey removed, three colour-blindness fixes and two
// additions), default28 is zeileis_28 and default102 is godsnot_102.
var (
	default20 = [...]uint32{
		0x1f77b4, 0xff7f0e, 0x279e68, 0xd62728, 0xaa40fc, 0x8c564b, 0xe377c2,
		0xb5bd61, 0x17becf, 0xaec7e8, 0xffbb78, 0x98df8a, 0xff9896, 0xc5b0d5,
		0xc49c94, 0xf7b6d2, 0xdbdb8d, 0x9edae5, 0xad494a, 0x8c6d31,
	}
	default28 = [...]uint32{
		0x023fa5, 0x7d87b9, 0xbec1d4, 0xd6bcc0, 0xbb7784, 0x8e063b, 0x4a6fe3,
		0x8595e1, 0xb5bbe3, 0xe6afb9, 0xe07b91, 0xd33f6a, 0x11c638, 0x8dd593,
		0xc6dec7, 0xead3c6, 0xf0b98d, 0xef9708, 0x0fcfc0, 0x9cded6, 0xd5eae7,
		0xf3e1eb, 0xf6c4e1, 0xf79cd4, 0x7f7f7f, 0xc7c7c7, 0x1ce6ff, 0x336600,
	}
	default102 = [...]uint32{
		0xffff00, 0x1ce6ff, 0xff34ff, 0xff4a46, 0x008941, 0x006fa6, 0xa30059,
		0xffdbe5, 0x7a4900, 0x0000a6, 0x63ffac, 0xb79762, 0x004d43, 0x8fb0ff,
		0x997d87, 0x5a0007, 0x809693, 0x6a3a4c, 0x1b4400, 0x4fc601, 0x3b5dff,
		0x4a3b53, 0xff2f80, 0x61615a, 0xba0900, 0x6b7900, 0x00c2a0, 0xffaa92,
		0xff90c9, 0xb903aa, 0xd16100, 0xddefff, 0x000035, 0x7b4f4b, 0xa1c299,
		0x300018, 0x0aa6d8, 0x013349, 0x00846f, 0x372101, 0xffb500, 0xc2ffed,
		0xa079bf, 0xcc0744, 0xc0b9b2, 0xc2ff99, 0x001e09, 0x00489c, 0x6f0062,
		0x0cbd66, 0xeec3ff, 0x456d75, 0xb77b68, 0x7a87a1, 0x788d66, 0x885578,
		0xfad09f, 0xff8a9a, 0xd157a0, 0xbec459, 0x456648, 0x0086ed, 0x886f4c,
		0x34362d, 0xb4a8bd, 0x00a6aa, 0x452c2c, 0x636375, 0xa3c8c9, 0xff913f,
		0x938a81, 0x575329, 0x00fecf, 0xb05b6f, 0x8cd0ff, 0x3b9700, 0x04f757,
		0xc8a1a1, 0x1e6e00, 0x7900d7, 0xa77500, 0x6367a9, 0xa05837, 0x6b002c,
		0x772600, 0xd790ff, 0x9b9700, 0x549e79, 0xfff69f, 0x201625, 0x72418f,
		0xbc23ff, 0x99adc0, 0x3a2465, 0x922329, 0x5b4534, 0xfde8dc, 0x404e55,
		0x0089a3, 0xcb7e98, 0xa4e804, 0x324e72,
	}
)

// naColor is scanpy's na_color ("lightgray") for cells with a missing category.
var naColor = color.RGBA{0xd3, 0xd3, 0xd3, 0xff}

// DefaultPalette returns the palette scanpy picks for k categories: default_20
// for k <= 20, default_28 for k <= 28, default_102 otherwise. Beyond 102
// categories scanpy paints every category grey; Scatter instead cycles through
// default_102, so the colours repeat but the clusters stay visible.
func DefaultPalette(k int) []color.RGBA {
	var hex []uint32
	switch {
	case k <= len(default20):
		hex = default20[:]
	case k <= len(default28):
		hex = default28[:]
	default:
		hex = default102[:]
	}
	p := make([]color.RGBA, len(hex))
	for i, h := range hex {
		p[i] = color.RGBA{uint8(h >> 16), uint8(h >> 8), uint8(h), 0xff}
	}
	return p
}

// categoryColors returns one opaque colour per category, cycling palette when
// it is shorter than k, as matplotlib cycles a short colour list.
func categoryColors(k int, palette []color.RGBA) ([]color.RGBA, error) {
	if palette == nil {
		palette = DefaultPalette(k)
	}
	if len(palette) == 0 && k > 0 {
		return nil, fmt.Errorf("plot: ScatterOptions.Palette is empty but there are %d categories; pass nil for scanpy's default palette", k)
	}
	c := make([]color.RGBA, k)
	for i := range c {
		p := palette[i%len(palette)]
		p.A = 0xff // Alpha is set separately; legend swatches are opaque
		c[i] = p
	}
	return c, nil
}
