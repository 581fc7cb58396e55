package knn

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/blas/blas32"

	"github.com/scbench/scbench/internal/shareddata"
)

type refParams struct {
	NPCs       int `json:"n_pcs"`
	NNeighbors int `json:"n_neighbors"`
}

// loadReference returns X_pca's first n_pcs columns, the exact neighbour
// lists and the parameters of one reference dataset.
func loadReference(t *testing.T, name string) (blas32.General, [][]float64, refParams) {
	dir := shareddata.Path(t, "reference/"+name)
	b, err := os.ReadFile(filepath.Join(dir, "params.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p refParams
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("%s/params.json: %v", dir, err)
	}
	pca := shareddata.ReadFloats(t, filepath.Join(dir, "X_pca.csv.gz"))
	cols := len(pca[0])
	x := blas32.General{Rows: len(pca), Cols: cols, Stride: cols, Data: make([]float32, len(pca)*cols)}
	for i, row := range pca {
		for j, v := range row {
			x.Data[i*cols+j] = float32(v)
		}
	}
	knn := shareddata.ReadFloats(t, filepath.Join(dir, "knn_exact.csv.gz"))
	if len(knn) != x.Rows || len(knn[0]) != p.NNeighbors {
		t.Fatalf("%s: knn_exact is %d x %d, want %d x %d", dir, len(knn), len(knn[0]), x.Rows, p.NNeighbors)
	}
	return Columns(x, p.NPCs), knn, p
}

// recall returns the fraction of reference neighbours found in got. A
// missed reference neighbour counts as found when its distance equals
// the row's k-th distance within 1e-5 relative (a tie).
func recall(x blas32.General, got Neighbors, ref [][]float64) float64 {
	hits, total := 0, 0
	for i, row := range ref {
		ids, dist := got.Row(i)
		in := make(map[int32]bool, len(ids))
		for _, id := range ids {
			in[id] = true
		}
		kth := float64(dist[len(dist)-1])
		for _, v := range row {
			total++
			id := int32(v)
			if in[id] {
				hits++
				continue
			}
			d := distance(x, i, int(id))
			if d <= kth*(1+1e-5) {
				hits++
			}
		}
	}
	return float64(hits) / float64(total)
}

func distance(x blas32.General, i, j int) float64 {
	var s float64
	for k := 0; k < x.Cols; k++ {
		t := float64(x.Data[i*x.Stride+k]) - float64(x.Data[j*x.Stride+k])
		s += t * t
	}
	return math.Sqrt(s)
}

func TestReference(t *testing.T) {
	for _, name := range []string{"synth5k", "brain10k"} {
		t.Run(name, func(t *testing.T) {
			x, ref, p := loadReference(t, name)
			ex, err := Exact(x, p.NNeighbors, 0)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < x.Rows; i++ {
				if ex.Indices[i*ex.K] != int32(i) || ex.Distances[i*ex.K] != 0 {
					t.Fatalf("row %d does not start with itself", i)
				}
			}
			if r := recall(x, ex, ref); r != 1 {
				t.Errorf("Exact recall@%d = %.6f, want 1", p.NNeighbors, r)
			}
			ix, err := BuildIVFFlat(x, IVFFlatParams{})
			if err != nil {
				t.Fatal(err)
			}
			nb, err := ix.SearchSelf(p.NNeighbors, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			r := recall(x, nb, ref)
			t.Logf("%s: %d cells x %d PCs: IVF-Flat (%d lists, %d probes) recall@%d = %.4f", name, x.Rows, x.Cols, ix.Params().NLists, ix.Params().NProbes, p.NNeighbors, r)
			if r < 0.95 {
				t.Errorf("IVF-Flat recall@%d = %.4f, want >= 0.95", p.NNeighbors, r)
			}
		})
	}
}
