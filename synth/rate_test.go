package synth

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scbench/scbench/anndata"
	"github.com/scbench/scbench/anndata/zarr"
	"github.com/scbench/scbench/sparse"
)

// TestGenerateRate times generation alone and Generate end to end for
// SYNTH_RATE_CELLS cells at the default parameters. It is a measurement,
// not a check, so it runs only when asked:
//
//	SYNTH_RATE_CELLS=100000 go test ./synth -run GenerateRate -v
//
// SYNTH_RATE_DIR chooses where the store goes (default: a temporary
// directory) and SYNTH_RATE_COMP=zstd writes Blosc-zstd instead of
// anndata's default Blosc-lz4.
func TestGenerateRate(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SYNTH_RATE_CELLS"))
	if n <= 0 {
		t.Skip("set SYNTH_RATE_CELLS to the number of cells to time")
	}
	p := DefaultParams()
	p.Cells = n
	if os.Getenv("SYNTH_RATE_COMP") == "zstd" {
		p.Write = &anndata.WriteOptions{Compressor: &zarr.Compressor{ID: "blosc", CName: "zstd", CLevel: 3, Shuffle: 1}}
	}
	dir := os.Getenv("SYNTH_RATE_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	out := filepath.Join(dir, "synth-rate.zarr")
	defer os.RemoveAll(out)

	t0 := time.Now()
	m, err := NewModel(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("model: %v", time.Since(t0))

	t0 = time.Now()
	var nnz int64
	var under200, over10k int
	err = m.Stream(context.Background(), func(_ int, x *sparse.CSR) error {
		nnz += x.NNZ()
		for i := 0; i < x.Rows; i++ {
			switch g := x.Indptr[i+1] - x.Indptr[i]; {
			case g < 200:
				under200++
			case g > 10000:
				over10k++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	gen := time.Since(t0).Seconds()
	t.Logf("generation only: %d cells, %d non-zeros in %.2fs: %.0f cells/s, %.3g nnz/s", n, nnz, gen, float64(n)/gen, float64(nnz)/gen)
	t.Logf("cells under 200 genes: %d, over 10,000 genes: %d", under200, over10k)

	t0 = time.Now()
	st, err := Generate(context.Background(), out, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	e2e := time.Since(t0).Seconds()
	var bytes int64
	filepath.WalkDir(out, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				bytes += info.Size()
			}
		}
		return nil
	})
	t.Logf("Generate end to end: %.2fs: %.0f cells/s, %.3g nnz/s; store %.1f MB, %.2f bytes per non-zero; %d low-quality cells",
		e2e, float64(n)/e2e, float64(st.NNZ)/e2e, float64(bytes)/1e6, float64(bytes)/float64(st.NNZ), st.LowQuality)
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "VmHWM") {
				t.Logf("peak resident memory: %s", strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")))
			}
		}
	}
}
