package mtx

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// pyReadScript reads a 10x matrix as scanpy's read_10x_mtx does (scipy's
// mmread, astype(float32), csr_matrix, transpose) and prints the cells x
// genes CSR arrays, one per line.
const pyReadScript = `import sys, numpy as np, scipy.io, scipy.sparse
X = scipy.io.mmread(sys.argv[1]).astype("float32")
X = scipy.sparse.csr_matrix(X).T.tocsr()
X.sort_indices()
print(" ".join(map(str, X.indptr.tolist())))
print(" ".join(map(str, X.indices.tolist())))
print(" ".join(repr(v) for v in X.data.astype(np.float64).tolist()))
`

// TestRowsScipy checks Rows against scipy's mmread on random matrices
// (sorted and not, integer, real and pattern, symmetric, compressed).
// scipy sums duplicates in float32 in an order of its own, so values
// compare to a relative 1e-6 (large integers and reals round differently).
func TestRowsScipy(t *testing.T) {
	py := python(t)
	rng := rand.New(rand.NewPCG(31, 32))
	for i := range 12 {
		cfg := randomConfig(rng)
		cfg.fancy = false // scipy 1.10 wants "%%MatrixMarket" spelt so
		cfg.legacy, cfg.antibody, cfg.prefix = false, false, ""
		cfg.cells += 1
		cfg.entries = 20 + rng.IntN(300)
		if i%4 == 3 {
			cfg.sym = Symmetric + Symmetry(rng.IntN(2))
		}
		g := generate(rng, cfg)
		g.write(t, t.TempDir())
		c, _, err := runRows(t, g, RowsOptions{chunkEntries: 1 + rng.IntN(50), blockSize: 50 + rng.IntN(100)})
		if err != nil {
			t.Fatal(err)
		}
		name := "matrix.mtx"
		if cfg.gz[0] {
			name += ".gz"
		}
		cmd := exec.Command(py, "-c", pyReadScript, filepath.Join(g.dir, name))
		cmd.Dir = g.dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("case %d: python: %v", i, err)
		}
		want, err := parsePyCSR(string(out))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if len(want) != len(c.rows) {
			t.Fatalf("case %d: %d rows, scipy has %d", i, len(c.rows), len(want))
		}
		for r := range want {
			if len(want[r]) != len(c.rows[r]) {
				t.Fatalf("case %d (%s %s %s) row %d: %v, scipy %v", i, cfg.order, cfg.field, g.cfg.sym, r, c.rows[r], want[r])
			}
			for k, w := range want[r] {
				got := c.rows[r][k]
				tol := 1e-6 * math.Max(math.Abs(float64(w.val)), math.Abs(float64(got.val)))
				if got.gene != w.gene || !(math.Abs(float64(got.val-w.val)) <= tol || got.val == w.val) {
					t.Fatalf("case %d (%s) row %d entry %d: (%d, %v), scipy (%d, %v)", i, cfg.field, r, k, got.gene, got.val, w.gene, w.val)
				}
			}
		}
	}
}

func parsePyCSR(out string) ([][]refEntry, error) {
	lines := strings.Split(out, "\n")
	if len(lines) < 3 {
		return nil, fmt.Errorf("python printed %q", out)
	}
	var ptr []int
	for _, f := range strings.Fields(lines[0]) {
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		ptr = append(ptr, v)
	}
	idx, val := strings.Fields(lines[1]), strings.Fields(lines[2])
	rows := make([][]refEntry, len(ptr)-1)
	for r := range rows {
		for k := ptr[r]; k < ptr[r+1]; k++ {
			g, err := strconv.Atoi(idx[k])
			if err != nil {
				return nil, err
			}
			v, err := strconv.ParseFloat(val[k], 64)
			if err != nil {
				return nil, err
			}
			rows[r] = append(rows[r], refEntry{int32(g), float32(v)})
		}
	}
	return rows, nil
}
