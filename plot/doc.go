// Package plot draws the workflow's figures straight into images with the
// standard library, with no plotting stack.
//
// Scatter draws a UMAP embedding coloured by category as scanpy's
// sc.pl.umap(adata, color="leiden") shows it: scanpy's default palettes
// (default_20, default_28, default_102), its marker size rule (area 120000/n
// points² on a 4-inch axes, scaled to the image), points drawn in input order
// with later ones on top, a framed axes box labelled UMAP1 and UMAP2, a title
// and a legend of colour swatches and category names. Text uses a small
// bitmap font held in this package (font.go), since the standard library
// renders none.
//
// Drawing is parallel yet deterministic: points are bucketed, in input order,
// into horizontal bands of the image, and each band is drawn by one goroutine,
// so the pixels never depend on scheduling. Markers are anti-aliased by pixel
// coverage and blended with integer arithmetic into the image.RGBA itself.
// WritePNG saves an image atomically (temporary file and rename).
package plot
