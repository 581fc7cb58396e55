package graph

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scbench/scbench/internal/shareddata"
	"github.com/scbench/scbench/sparse"
)

// leidenReadLines returns the lines after the header of a gzip CSV, and
// the header.
func leidenReadLines(t *testing.T, path string) (string, []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	sc := bufio.NewScanner(zr)
	var header string
	var lines []string
	for sc.Scan() {
		if header == "" {
			header = sc.Text()
			continue
		}
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return header, lines
}

// leidenReadReference reads scanpy's connectivities (row, col, value
// triplets) as an n x n CSR and its Leiden labels (one per kept cell).
func leidenReadReference(t *testing.T, ds string) (*sparse.CSR, []int32) {
	t.Helper()
	lpath := shareddata.Path(t, "reference/"+ds+"/leiden.csv.gz")
	cpath := shareddata.Path(t, "reference/"+ds+"/connectivities.csv.gz")
	header, lines := leidenReadLines(t, lpath)
	if header != "leiden" {
		t.Fatalf("%s: header %q, want \"leiden\"", lpath, header)
	}
	labels := make([]int32, len(lines))
	for i, l := range lines {
		v, err := strconv.Atoi(l)
		if err != nil {
			t.Fatalf("%s: line %d: %v", lpath, i+2, err)
		}
		labels[i] = int32(v)
	}
	n := len(labels)
	header, lines = leidenReadLines(t, cpath)
	if header != "row,col,value" {
		t.Fatalf("%s: header %q, want \"row,col,value\"", cpath, header)
	}
	rows := make([]int32, len(lines))
	cols := make([]int32, len(lines))
	vals := make([]float32, len(lines))
	m := sparse.NewCSR(n, n, int64(len(lines)))
	for i, l := range lines {
		f := strings.Split(l, ",")
		if len(f) != 3 {
			t.Fatalf("%s: line %d: %q", cpath, i+2, l)
		}
		r, err1 := strconv.Atoi(f[0])
		c, err2 := strconv.Atoi(f[1])
		v, err3 := strconv.ParseFloat(f[2], 32)
		if err1 != nil || err2 != nil || err3 != nil || r < 0 || r >= n || c < 0 || c >= n {
			t.Fatalf("%s: line %d: bad triplet %q for %d cells", cpath, i+2, l, n)
		}
		rows[i], cols[i], vals[i] = int32(r), int32(c), float32(v)
		m.Indptr[r+1]++
	}
	for i := 0; i < n; i++ {
		m.Indptr[i+1] += m.Indptr[i]
	}
	pos := append([]int64(nil), m.Indptr[:n]...)
	for i := range rows {
		r := rows[i]
		m.Indices[pos[r]] = cols[i]
		m.Data[pos[r]] = vals[i]
		pos[r]++
	}
	if err := m.Validate(); err != nil {
		t.Fatalf("%s: %v", cpath, err)
	}
	return m, labels
}

func TestLeidenScanpyReference(t *testing.T) {
	for _, c := range []struct {
		ds     string
		minARI float64
	}{
		{"synth5k", 0.9},
		{"brain10k", 0.55},
	} {
		t.Run(c.ds, func(t *testing.T) {
			adj, ref := leidenReadReference(t, c.ds)
			start := time.Now()
			labels, info, err := Leiden(adj, DefaultLeidenParams())
			elapsed := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			qRef := Modularity(adj, ref, 1)
			refClusters := 0
			for _, l := range ref {
				refClusters = max(refClusters, int(l)+1)
			}
			score := AdjustedRandIndex(labels, ref)
			t.Logf("%s: %d cells, %d entries, %.3f s; ours: %d clusters, modularity %.5f, %d passes, %d levels, %d moves; scanpy: %d clusters, modularity %.5f; ARI %.4f",
				c.ds, adj.Rows, adj.NNZ(), elapsed.Seconds(), info.Clusters, info.Modularity, info.Iterations, info.Levels, info.Moves, refClusters, qRef, score)
			if info.Modularity < qRef-0.01 {
				t.Errorf("modularity %.5f, scanpy's partition %.5f", info.Modularity, qRef)
			}
			if score < c.minARI {
				t.Errorf("ARI %.4f against scanpy, want >= %.2f", score, c.minARI)
			}
			if d := math.Abs(float64(info.Clusters-refClusters)) / float64(refClusters); d > 0.3 {
				t.Errorf("%d clusters, scanpy %d", info.Clusters, refClusters)
			}
			// Other seeds: how much our runs agree with scanpy and each other.
			var msg []string
			for seed := uint64(1); seed <= 3; seed++ {
				p := DefaultLeidenParams()
				p.Seed = seed
				l2, i2, err := Leiden(adj, p)
				if err != nil {
					t.Fatal(err)
				}
				msg = append(msg, fmt.Sprintf("seed %d: %d clusters, Q %.5f, ARI vs scanpy %.3f, vs seed 0 %.3f",
					seed, i2.Clusters, i2.Modularity, AdjustedRandIndex(l2, ref), AdjustedRandIndex(l2, labels)))
			}
			t.Log(strings.Join(msg, "; "))
		})
	}
}
