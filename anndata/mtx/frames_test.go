package mtx

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scbench/scbench/anndata"
)

func TestMakeUnique(t *testing.T) {
	cases := []struct{ in, want []string }{
		{[]string{"a", "b"}, []string{"a", "b"}},
		{[]string{"a", "a", "b"}, []string{"a", "a-1", "b"}},
		{[]string{"a", "a", "a", "b", "b"}, []string{"a", "a-1", "a-2", "b", "b-1"}},
		// "a-1" is taken, so the repeat of "a" becomes "a-2".
		{[]string{"a", "a-1", "a"}, []string{"a", "a-1", "a-2"}},
		// A later original "a-1" keeps its name; the repeat skips it.
		{[]string{"a", "a", "a-1"}, []string{"a", "a-2", "a-1"}},
		{[]string{"", "", "-1"}, []string{"", "-2", "-1"}},
		{nil, nil},
	}
	for _, c := range cases {
		if got := MakeUnique(c.in); !slices.Equal(got, c.want) {
			t.Errorf("MakeUnique(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// python returns the Debian python3 with anndata, or skips.
func python(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("SKIP: /usr/bin/python3 not found")
	}
	cmd := exec.Command(py, "-c", "import anndata, scipy, pandas")
	cmd.Dir = t.TempDir() // the repo's sparse/ folder would shadow the python package
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("SKIP: python3 cannot import anndata, scipy, pandas (apt-get install python3-anndata): %v\n%s", err, out)
	}
	return py
}

// TestMakeUniquePython compares MakeUnique with anndata's make_index_unique
// on random names with many repeats and suffix collisions.
func TestMakeUniquePython(t *testing.T) {
	py := python(t)
	rng := rand.New(rand.NewPCG(21, 22))
	pool := []string{"A", "A-1", "A-2", "B", "B-1", "C", "A-1-1", "x"}
	var names []string
	for range 400 {
		names = append(names, pool[rng.IntN(len(pool))])
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "names.txt")
	os.WriteFile(in, []byte(strings.Join(names, "\n")+"\n"), 0o644)
	script := `import sys, warnings, pandas as pd, anndata.utils as u
warnings.simplefilter("ignore")
names = open(sys.argv[1]).read().split("\n")[:-1]
print("\n".join(u.make_index_unique(pd.Index(names))))`
	cmd := exec.Command(py, "-c", script, in)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	want := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if got := MakeUnique(names); !slices.Equal(got, want) {
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("name %d (%q): %q, anndata says %q", i, names[i], got[i], want[i])
			}
		}
	}
}

// TestFrames checks obs and var against read_10x_mtx's conventions.
func TestFrames(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for i := range 40 {
		cfg := randomConfig(rng)
		cfg.antibody = !cfg.legacy && i%2 == 0
		g := generate(rng, cfg)
		g.write(t, t.TempDir())
		d, err := Open(g.dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, opt := range []FrameOptions{{}, {AllFeatures: true}, {VarNames: GeneIDs}} {
			obs, vr, genes, err := d.Frames(opt)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(obs.Index, g.barcodes) || len(obs.Columns) != 0 {
				t.Fatalf("obs = %v, want barcodes %v", obs, g.barcodes)
			}
			wantGenes := g.keptGenes(opt.AllFeatures)
			if !slices.Equal(genes, wantGenes) {
				t.Fatalf("%+v: gene map %v, want %v", opt, genes, wantGenes)
			}
			index, other, otherName := MakeUnique(g.names), g.ids, "gene_ids"
			if opt.VarNames == GeneIDs {
				index, other, otherName = g.ids, g.names, "gene_symbols"
			}
			types := g.types
			if wantGenes != nil {
				keep := func(s []string) []string {
					var out []string
					for i, x := range s {
						if wantGenes[i] >= 0 {
							out = append(out, x)
						}
					}
					return out
				}
				index, other, types = keep(index), keep(other), keep(types)
			}
			if !slices.Equal(vr.Index, index) {
				t.Fatalf("%+v: var index %v, want %v", opt, vr.Index, index)
			}
			wantCols := 2
			if cfg.legacy {
				wantCols = 1
			}
			if len(vr.Columns) != wantCols || vr.Columns[0].Name != otherName {
				t.Fatalf("%+v: var columns %v", opt, vr.Columns)
			}
			if got := columnStrings(t, vr.Columns[0]); !slices.Equal(got, other) {
				t.Fatalf("%+v: %s = %v, want %v", opt, otherName, got, other)
			}
			if !cfg.legacy {
				if vr.Columns[1].Name != "feature_types" {
					t.Fatalf("second var column %q", vr.Columns[1].Name)
				}
				if got := columnStrings(t, vr.Columns[1]); !slices.Equal(got, types) {
					t.Fatalf("feature_types = %v, want %v", got, types)
				}
			}
		}
	}
}

// columnStrings returns a string or categorical column as strings, and
// checks that it is categorical exactly when values repeat.
func columnStrings(t *testing.T, c anndata.Column) []string {
	t.Helper()
	switch v := c.Values.(type) {
	case []string:
		seen := map[string]bool{}
		for _, s := range v {
			if seen[s] {
				t.Fatalf("column %s repeats %q but is not categorical", c.Name, s)
			}
			seen[s] = true
		}
		return v
	case *anndata.Categorical:
		if !slices.IsSorted(v.Categories) || len(slices.Compact(slices.Clone(v.Categories))) != len(v.Categories) {
			t.Fatalf("column %s: categories %v not sorted and unique", c.Name, v.Categories)
		}
		if len(v.Categories) == len(v.Codes) && len(v.Codes) > 0 {
			t.Fatalf("column %s: categorical without repeats", c.Name)
		}
		out := make([]string, len(v.Codes))
		for i, k := range v.Codes {
			out[i] = v.Categories[k]
		}
		return out
	}
	t.Fatalf("column %s holds %T", c.Name, c.Values)
	return nil
}
