package plot

import (
	"bufio"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
)

// WritePNG encodes img as PNG into path atomically: it writes a temporary file
// in the same directory and renames it over path, so readers never see a
// partial image. It uses png.BestSpeed: a 1600 x 1200 plot is mostly flat
// white, which the fastest deflate level already compresses well, at a
// fraction of the default level's time.
func WritePNG(path string, img image.Image) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("plot: WritePNG %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err = enc.Encode(w, img); err != nil {
		return fmt.Errorf("plot: WritePNG %s: encoding: %w", path, err)
	}
	if err = w.Flush(); err != nil {
		return fmt.Errorf("plot: WritePNG %s: writing %s: %w", path, tmp, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("plot: WritePNG %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("plot: WritePNG %s: closing %s: %w", path, tmp, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("plot: WritePNG %s: renaming %s into place: %w", path, tmp, err)
	}
	return nil
}
