package zarr

import (
	"testing"

	"github.com/scbench/scbench/internal/shareddata"
)

// The brain10k store in Zarr format 3, plain and sharded (laid out by
// zarrita, an independent implementation), must read element for element as
// the format 2 store that anndata wrote with Blosc-lz4.
func TestSharedBrain10kFormats(t *testing.T) {
	v2 := shareddata.Path(t, "data/brain10k/brain10k.zarr")
	v3 := shareddata.Path(t, "data/brain10k-v3/brain10k-v3.zarr")
	v3s := shareddata.Path(t, "data/brain10k-v3/brain10k-v3-sharded.zarr")
	var ref *Group
	for i, p := range []string{v2, v3, v3s} {
		g, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{2, 3, 3}[i]; g.Format() != want {
			t.Fatalf("%s: format %d, want %d", p, g.Format(), want)
		}
		if g.Attrs()["encoding-type"] != "anndata" {
			t.Errorf("%s: root attrs %v", p, g.Attrs())
		}
		if i == 0 {
			ref = g
			continue
		}
		for _, name := range []string{"X/data", "X/indices", "X/indptr"} {
			ra, err := ref.Array(name)
			if err != nil {
				t.Fatal(err)
			}
			a, err := g.Array(name)
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Shape) != 1 || a.Shape[0] != ra.Shape[0] {
				t.Fatalf("%s %s: shape %v, want %v", p, name, a.Shape, ra.Shape)
			}
			want := make([]float64, ra.Shape[0])
			got := make([]float64, a.Shape[0])
			if err := ra.ReadAll(want); err != nil {
				t.Fatal(err)
			}
			if err := a.ReadAll(got); err != nil {
				t.Fatal(err)
			}
			for j := range got {
				if got[j] != want[j] {
					t.Fatalf("%s %s[%d] = %v, v2 has %v", p, name, j, got[j], want[j])
				}
			}
			// Typed reads that decode in place must agree too.
			if name == "X/data" {
				f := make([]float32, a.Shape[0])
				if err := a.ReadAll(f); err != nil {
					t.Fatal(err)
				}
				for j := range f {
					if float64(f[j]) != want[j] {
						t.Fatalf("%s %s[%d] float32 = %v, want %v", p, name, j, f[j], want[j])
					}
				}
			}
		}
		for _, name := range []string{"obs/_index", "var/_index", "var/gene_ids"} {
			ra, _ := ref.Array(name)
			a, err := g.Array(name)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ra.ReadStrings()
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.ReadStrings()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) || len(got) == 0 {
				t.Fatalf("%s %s: %d strings, want %d", p, name, len(got), len(want))
			}
			for j := range got {
				if got[j] != want[j] {
					t.Fatalf("%s %s[%d] = %q, want %q", p, name, j, got[j], want[j])
				}
			}
		}
	}
}

func TestSharedSynth5k(t *testing.T) {
	p := shareddata.Path(t, "data/synth5k/synth5k.zarr")
	g, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	a, err := g.Array("X/indptr")
	if err != nil {
		t.Fatal(err)
	}
	ptr := make([]int64, a.Shape[0])
	if err := a.ReadAll(ptr); err != nil {
		t.Fatal(err)
	}
	if len(ptr) != 5001 || ptr[0] != 0 || ptr[5000] != 10479255 {
		t.Fatalf("indptr: len %d, ends %d..%d", len(ptr), ptr[0], ptr[len(ptr)-1])
	}
	idx, err := g.Array("obs/_index")
	if err != nil {
		t.Fatal(err)
	}
	names, err := idx.ReadStrings()
	if err != nil || len(names) != 5000 || names[0] != "c0" || names[4999] != "c4999" {
		t.Fatalf("obs names: %d, %v", len(names), err)
	}
	d, err := g.Array("X/data")
	if err != nil {
		t.Fatal(err)
	}
	if s := d.CodecSummary(); s != "blosc(zstd, clevel 3, shuffle)" {
		t.Errorf("codec summary %q", s)
	}
	// The last, partial chunk through the tail of the array.
	n := d.Shape[0]
	tail := make([]float32, 1000)
	if err := d.ReadRange(n-1000, n, tail); err != nil {
		t.Fatal(err)
	}
	for _, v := range tail {
		if v <= 0 || v != float32(int(v)) {
			t.Fatalf("counts should be positive integers, got %v", v)
		}
	}
}
