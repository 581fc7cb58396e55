package plot

import (
	"bytes"
	"image/png"
	"io"
	"math/rand/v2"
	"testing"
)

// benchData is a 1.3M-cell embedding with 31 clusters of uneven size and
// spread, like the atlas workflow's UMAP and leiden output.
func benchData(n int) ([]float32, []int32) {
	rng := rand.New(rand.NewPCG(21, 22))
	centres := make([][2]float64, 31)
	for i := range centres {
		centres[i] = [2]float64{rng.Float64()*40 - 20, rng.Float64()*30 - 15}
	}
	return blobs(rng, n, centres, 1.2)
}

func BenchmarkScatter1300k(b *testing.B) {
	xy, labels := benchData(1_300_000)
	nm := names(31)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Scatter(xy, labels, nm, ScatterOptions{Title: "leiden"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodePNG compares the deflate levels on the 1.3M-point plot; the
// reported bytes/op metric is the file size.
func BenchmarkEncodePNG(b *testing.B) {
	xy, labels := benchData(1_300_000)
	img, err := Scatter(xy, labels, names(31), ScatterOptions{Title: "leiden"})
	if err != nil {
		b.Fatal(err)
	}
	for _, lv := range []struct {
		name  string
		level png.CompressionLevel
	}{{"BestSpeed", png.BestSpeed}, {"Default", png.DefaultCompression}} {
		b.Run(lv.name, func(b *testing.B) {
			var buf bytes.Buffer
			enc := png.Encoder{CompressionLevel: lv.level}
			if err := enc.Encode(&buf, img); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := enc.Encode(io.Discard, img); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "file-bytes")
		})
	}
}
