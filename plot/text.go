package plot

import (
	"image"
	"image/color"
	"unicode/utf8"
)

// textWidth is the width in pixels of s set at scale, without the spacing
// column after the last glyph.
func textWidth(s string, scale int) int {
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return 0
	}
	return (n*cellW - 1) * scale
}

// textHeight is the height of one line of glyphs (descenders included).
func textHeight(scale int) int { return glyphH * scale }

// drawText sets the ink pixels of s, left to right, with the top-left corner
// of the first glyph at (x, y). Text is opaque and not anti-aliased: at whole
// pixel scales the bitmap is already crisp.
func drawText(img *image.RGBA, x, y int, s string, scale int, c color.RGBA) {
	for _, r := range s {
		g := glyph(r)
		for row := 0; row < glyphH; row++ {
			bits := g[row]
			for col := 0; col < glyphW; col++ {
				if bits&(1<<(glyphW-1-col)) != 0 {
					fillRect(img, x+col*scale, y+row*scale, scale, scale, c)
				}
			}
		}
		x += cellW * scale
	}
}

// drawTextUp draws s rotated 90 degrees counter-clockwise, reading bottom to
// top like matplotlib's y-axis label, inside the box whose top-left corner is
// (x, y): the box is textHeight wide and textWidth tall.
func drawTextUp(img *image.RGBA, x, y int, s string, scale int, c color.RGBA) {
	bottom := y + textWidth(s, scale) // one past the last row
	along := 0                        // distance along the text, from the bottom
	for _, r := range s {
		g := glyph(r)
		for row := 0; row < glyphH; row++ {
			bits := g[row]
			for col := 0; col < glyphW; col++ {
				if bits&(1<<(glyphW-1-col)) != 0 {
					// Glyph column runs up the image, glyph row runs right.
					fillRect(img, x+row*scale, bottom-(along+col+1)*scale, scale, scale, c)
				}
			}
		}
		along += cellW
	}
}

// truncate shortens s to at most n runes, marking the cut with "..".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 2 {
		return string([]rune(s)[:max(n, 0)])
	}
	return string([]rune(s)[:n-2]) + ".."
}

// fillRect paints the w x h rectangle at (x, y), clipped to img, opaquely.
func fillRect(img *image.RGBA, x, y, w, h int, c color.RGBA) {
	r := image.Rect(x, y, x+w, y+h).Intersect(img.Rect)
	for yy := r.Min.Y; yy < r.Max.Y; yy++ {
		off := img.PixOffset(r.Min.X, yy)
		for xx := r.Min.X; xx < r.Max.X; xx++ {
			p := img.Pix[off : off+4 : off+4]
			p[0], p[1], p[2], p[3] = c.R, c.G, c.B, c.A
			off += 4
		}
	}
}
