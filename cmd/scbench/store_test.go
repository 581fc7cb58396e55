package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scbench/scbench/internal/shareddata"
)

// scbench runs the command line in-process and returns its exit code and
// output.
func scbench(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = dispatch(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

type infoJSON struct {
	Cells      int    `json:"cells"`
	Genes      int    `json:"genes"`
	NNZ        int64  `json:"nnz"`
	ZarrFormat int    `json:"zarr_format"`
	XEncoding  string `json:"x_encoding"`
}

func infoOf(t *testing.T, path string) infoJSON {
	t.Helper()
	code, out, errOut := scbench("info", "--json", path)
	if code != 0 {
		t.Fatalf("info --json %s: exit %d: %s", path, code, errOut)
	}
	var in infoJSON
	if err := json.Unmarshal([]byte(out), &in); err != nil {
		t.Fatalf("info --json %s printed no JSON object: %v\n%s", path, err, out)
	}
	return in
}

func TestInfoShared(t *testing.T) {
	for _, c := range []struct {
		rel    string
		want   infoJSON
		codecs string
	}{
		{"data/synth5k/synth5k.zarr", infoJSON{5000, 27998, 10479255, 2, "csr_matrix"}, "blosc(zstd"},
		{"data/brain10k/brain10k.zarr", infoJSON{10000, 1000, 691914, 2, "csr_matrix"}, "blosc(lz4"},
		{"data/brain10k-v3/brain10k-v3-sharded.zarr", infoJSON{10000, 1000, 691914, 3, "csr_matrix"}, "sharding_indexed"},
	} {
		path := shareddata.Path(t, c.rel)
		if got := infoOf(t, path); got != c.want {
			t.Errorf("info --json %s = %+v, want %+v", c.rel, got, c.want)
		}
		code, out, _ := scbench("info", path)
		if code != 0 || !strings.Contains(out, fmt.Sprintf("%d cells x %d genes", c.want.Cells, c.want.Genes)) || !strings.Contains(out, c.codecs) {
			t.Errorf("info %s: exit %d, text lacks the shape or %q:\n%s", c.rel, code, c.codecs, out)
		}
	}
}

func TestInfoErrors(t *testing.T) {
	dir := t.TempDir()
	notStore := filepath.Join(dir, "plain")
	if err := os.Mkdir(notStore, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"info", filepath.Join(dir, "missing.zarr")}, 1, "missing.zarr"},
		{[]string{"info", notStore}, 1, "not"},
		{[]string{"info"}, 2, "want exactly one store path"},
		{[]string{"info", "a", "b"}, 2, "want exactly one store path"},
		{[]string{"nosuchcommand"}, 2, "unknown command"},
	} {
		code, _, errOut := scbench(c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("scbench %q: exit %d, stderr %q; want exit %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
}

// TestGenerateOpensInPython generates a small store, reads its shape and
// nnz with `scbench info --json`, and checks that Debian's Python anndata
// opens it with the same shape, nnz and ground-truth column.
func TestGenerateOpensInPython(t *testing.T) {
	dir := t.TempDir()
	for _, comp := range []string{"lz4", "zstd"} {
		out := filepath.Join(dir, comp+".zarr")
		code, stdout, stderr := scbench("generate", "--cells", "1234", "--genes", "2001", "--seed", "7", "--compression", comp, "--out", out)
		if code != 0 {
			t.Fatalf("generate: exit %d: %s", code, stderr)
		}
		if !strings.Contains(stdout, "1234 cells x 2001 genes") || !strings.Contains(stderr, "generate: 1234/1234 cells") {
			t.Errorf("generate output lacks the summary or progress:\nstdout: %s\nstderr: %s", stdout, stderr)
		}
		in := infoOf(t, out)
		if in.Cells != 1234 || in.Genes != 2001 || in.NNZ <= 0 {
			t.Fatalf("info of the generated store: %+v", in)
		}
		pythonCheck(t, dir, out, fmt.Sprintf(`
a = anndata.read_zarr(path)
assert a.shape == (%d, %d), a.shape
assert a.X.nnz == %d, a.X.nnz
assert "truth" in a.obs.columns and a.obs["truth"].dtype.name == "category"
assert a.obs_names.is_unique and a.var_names.is_unique
`, in.Cells, in.Genes, in.NNZ))
	}
}

func TestGenerateErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"generate"}, "--out is required"},
		{[]string{"generate", "--cells", "-5", "--out", filepath.Join(dir, "x.zarr")}, "cells"},
		{[]string{"generate", "--compression", "brotli", "--out", filepath.Join(dir, "x.zarr")}, "unknown --compression"},
	} {
		code, _, errOut := scbench(c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("scbench %q: exit %d, stderr %q; want exit 2 and %q", c.args, code, errOut, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.zarr")); !os.IsNotExist(err) {
		t.Errorf("a refused generate left %s behind", filepath.Join(dir, "x.zarr"))
	}
}

// TestConvert converts a small hand-written 10x directory and checks the
// store, in Go through info and in Python against the matrix written here.
func TestConvert(t *testing.T) {
	dir := t.TempDir()
	tenx := filepath.Join(dir, "tenx")
	if err := os.Mkdir(tenx, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		// 3 genes x 4 cells, 1-based (gene, cell, value); cell 3 is empty.
		"matrix.mtx":   "%%MatrixMarket matrix coordinate integer general\n% written by a test\n3 4 5\n1 1 2\n3 1 1\n2 2 7\n1 4 1\n3 4 3\n",
		"features.tsv": "G1\tA\tGene Expression\nG2\tB\tGene Expression\nG3\tA\tGene Expression\n",
		"barcodes.tsv": "AAA-1\nCCC-1\nGGG-1\nTTT-1\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(tenx, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "out.zarr")
	code, stdout, stderr := scbench("convert", tenx, out)
	if code != 0 {
		t.Fatalf("convert: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "4 cells x 3 genes, 5 non-zeros") {
		t.Errorf("convert summary: %s", stdout)
	}
	if in := infoOf(t, out); in.Cells != 4 || in.Genes != 3 || in.NNZ != 5 {
		t.Errorf("info of the converted store: %+v", in)
	}
	pythonCheck(t, dir, out, `
a = anndata.read_zarr(path)
assert a.X.toarray().tolist() == [[2, 0, 1], [0, 7, 0], [0, 0, 0], [1, 0, 3]], a.X.toarray()
assert list(a.obs_names) == ["AAA-1", "CCC-1", "GGG-1", "TTT-1"]
assert list(a.var_names) == ["A", "B", "A-1"], list(a.var_names)
assert list(a.var["gene_ids"]) == ["G1", "G2", "G3"]
`)

	// A missing barcodes file is named in the error, and nothing is written.
	if err := os.Remove(filepath.Join(tenx, "barcodes.tsv")); err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(dir, "out2.zarr")
	code, _, stderr = scbench("convert", tenx, out2)
	if code != 1 || !strings.Contains(stderr, "barcodes") {
		t.Errorf("convert without barcodes: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out2); !os.IsNotExist(err) {
		t.Errorf("a failed convert left %s behind", out2)
	}
}

// pythonCheck runs body with path bound to the store, under Debian's
// python3 with anndata, and fails the test when it raises. It skips when
// python3 or anndata is missing.
func pythonCheck(t *testing.T, dir, path, body string) {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("SKIP: /usr/bin/python3 not found (apt-get install python3-anndata)")
	}
	script := "import sys, anndata\npath = sys.argv[1]\n" + body + "\nprint('ok')\n"
	cmd := exec.Command(py, "-I", "-c", script, path)
	cmd.Dir = dir
	o, err := cmd.CombinedOutput()
	if err != nil && strings.Contains(string(o), "No module named 'anndata'") {
		t.Skip("SKIP: python3 cannot import anndata (apt-get install python3-anndata)")
	}
	if err != nil || !strings.Contains(string(o), "ok") {
		t.Errorf("python anndata on %s: %v\n%s", path, err, o)
	}
}
