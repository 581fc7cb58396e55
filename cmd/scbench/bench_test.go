package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scbench/scbench/pipeline"
)

func TestBenchRefusals(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--repeat", "0"}, "--repeat 0"},
		{[]string{"--backend", "tpu"}, "unknown backend"},
		{[]string{"--backend", "cpu,cpu"}, "listed twice"},
		{[]string{"--backend", "cpu", "--device", "0"}, "no devices"},
		{[]string{"--until", "tsne"}, "unknown step"},
		{[]string{"--cells", "0"}, "--cells 0"},
		{[]string{"--out", filepath.Join(dir, "missing")}, "not a folder"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		code, _, errOut := scbench(append([]string{"bench"}, c.args...)...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("bench %v: exit %d, stderr %q; want exit 2 and %q", c.args, code, firstLine(errOut), c.want)
		}
	}
	// A store that is not one fails before any run, with what to do.
	bad := filepath.Join(dir, "bad.zarr")
	if err := os.Mkdir(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := scbench("bench", "--backend", "cpu", "--store", bad, "--out", dir)
	if code != 1 || !strings.Contains(errOut, "remove it to have it generated again") {
		t.Errorf("bench on an empty folder: exit %d, %q", code, errOut)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// TestBenchCPU generates a tiny store once, runs the whole workflow on it,
// then twice more to PCA with --cold, and checks the results' names and
// contents.
func TestBenchCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: generates data and runs the workflow")
	}
	cache, out := t.TempDir(), t.TempDir()
	const cells = 1200
	args := []string{"bench", "--backend", "cpu", "--cells", "1200", "--dir", cache, "--out", out, "--tmp", cache, "--quiet"}
	code, stdout, stderr := scbench(args...)
	if code != 0 {
		t.Fatalf("bench: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	store := filepath.Join(cache, "synth-1200-seed0.zarr")
	if !isZarr(store) || !strings.Contains(stderr, "generating "+store) {
		t.Errorf("no store generated at %s: %s", store, stderr)
	}
	for _, want := range []string{"QC through PCA", "34.40", "whole run", "notebook s", "How the rows map", "wrote "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	date := time.Now().UTC().Format("2006-01-02")
	files, _ := filepath.Glob(filepath.Join(out, "*.json"))
	if len(files) != 1 {
		t.Fatalf("results %v, want one", files)
	}
	name := filepath.Base(files[0])
	if !strings.HasPrefix(name, date+"-cpu-") || !strings.HasSuffix(name, "-1200.json") || strings.Contains(name, " ") {
		t.Errorf("result named %s, want %s-cpu-<device>-1200.json", name, date)
	}
	res := readResult(t, files[0])
	if res.Format != "scbench-bench/1" || res.Backend != "cpu" || res.Cells != cells || res.Seed == nil || *res.Seed != 0 ||
		res.Run != 1 || res.Cold || res.Report == nil || res.Report.Backend != "cpu" || res.Report.Until != "leiden" {
		t.Errorf("result %+v", res)
	}
	if res.Machine.Cores < 1 || res.Machine.GoVersion == "" || res.Machine.OS == "" {
		t.Errorf("machine %+v", res.Machine)
	}
	for _, row := range res.Notebook {
		if row.Seconds == nil || *row.Seconds <= 0 {
			t.Errorf("notebook row %s has no seconds after a whole run", row.Step)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(cache, "scbench-bench-*")); len(left) != 0 {
		t.Errorf("temporary output left behind: %v", left)
	}

	// Again: the store is reused, two cold runs to PCA get their own names.
	code, stdout, stderr = scbench(append(args, "--until", "pca", "--repeat", "2", "--cold")...)
	if code != 0 {
		t.Fatalf("bench --cold: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "(reused)") || strings.Contains(stderr, "generating") {
		t.Errorf("the store was not reused: %s", stderr)
	}
	if !strings.Contains(stderr, "--cold: dropped the page cache of") && !strings.Contains(stderr, "--cold: could not") {
		t.Errorf("--cold says nothing about the page cache: %s", stderr)
	}
	cold, _ := filepath.Glob(filepath.Join(out, "*-1200-cold*.json"))
	if len(cold) != 2 {
		t.Fatalf("cold results %v, want two", cold)
	}
	r2 := readResult(t, filepath.Join(out, strings.TrimSuffix(filepath.Base(files[0]), ".json")+"-cold-2.json"))
	if !r2.Cold || r2.Run != 2 || r2.Repeat != 2 || r2.ColdNote == "" || r2.Report.Until != "pca" {
		t.Errorf("second cold result %+v", r2)
	}
	for _, row := range r2.Notebook {
		if reached := row.Step != "neighbors" && row.Step != "UMAP" && row.Step != "Leiden" && row.Step != "whole run"; reached != (row.Seconds != nil) {
			t.Errorf("--until pca: row %s has seconds %v", row.Step, row.Seconds)
		}
	}
	if !strings.Contains(stdout, "QC..PCA s") {
		t.Errorf("no summary of the two runs:\n%s", stdout)
	}

	// A backend that is not available fails the command, after the others ran.
	if !systemAPI().cudaProbe().Available {
		out2 := t.TempDir()
		code, _, stderr = scbench("bench", "--backend", "cuda,cpu", "--store", store, "--out", out2, "--tmp", cache, "--until", "qc", "--quiet")
		got, _ := filepath.Glob(filepath.Join(out2, "*-cpu-*.json"))
		if code != 1 || !strings.Contains(stderr, "--backend cuda: not available") || !strings.Contains(stderr, "not every run succeeded") || len(got) != 1 {
			t.Errorf("bench --backend cuda,cpu without CUDA: exit %d, results %v, stderr %s", code, got, stderr)
		}
	}

	// --cells against an existing store of another size is refused.
	code, _, stderr = scbench("bench", "--backend", "cpu", "--store", store, "--cells", "999", "--out", out)
	if code != 2 || !strings.Contains(stderr, "holds 1200 cells") {
		t.Errorf("--cells 999 on a 1200-cell store: exit %d, %s", code, firstLine(stderr))
	}
}

func readResult(t *testing.T, path string) benchResult {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r benchResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

func TestNotebookTable(t *testing.T) {
	rep := &pipeline.Report{Steps: []pipeline.StepTime{
		{Name: "pass 1", Seconds: 10}, {Name: "hvg", Seconds: 0.5}, {Name: "pass 2", Seconds: 20},
		{Name: "pca eigen", Seconds: 3}, {Name: "pass 3", Seconds: 2}, {Name: "neighbors", Seconds: 4},
		{Name: "umap", Seconds: 6}, {Name: "leiden", Seconds: 1.5}, {Name: "write", Seconds: 9}, {Name: "picture", Seconds: 1},
	}}
	want := map[string]float64{"QC": 10, "HVG": 0.5, "scale": 20, "PCA": 5, "QC through PCA": 35.5,
		"neighbors": 4, "UMAP": 6, "Leiden": 1.5, "whole run": 47}
	rows := notebookTable(rep, pipeline.StepLeiden)
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for _, r := range rows {
		if r.Seconds == nil || *r.Seconds != want[r.Step] {
			t.Errorf("row %s = %v, want %g", r.Step, r.Seconds, want[r.Step])
		}
	}
	// Stopped after HVG: pass 2 exists (it writes X) but is not scale.
	rows = notebookTable(&pipeline.Report{Steps: rep.Steps[:3]}, pipeline.StepHVG)
	for _, r := range rows {
		if has := r.Step == "QC" || r.Step == "HVG"; has != (r.Seconds != nil) {
			t.Errorf("--until hvg: row %s = %v", r.Step, r.Seconds)
		}
	}
	if s := speedup(2, 4); s != "2.0x faster" {
		t.Errorf("speedup(2, 4) = %q", s)
	}
	if s := speedup(6, 2); s != "3.0x slower" {
		t.Errorf("speedup(6, 2) = %q", s)
	}
}

func TestResultNames(t *testing.T) {
	for in, want := range map[string]string{
		"NVIDIA H200":                     "nvidia-h200",
		"NVIDIA H100 80GB HBM3":           "nvidia-h100-80gb-hbm3",
		"2 CPU cores (AMD EPYC)":          "2-cpu-cores-amd-epyc",
		"Intel(R) Xeon(R) Platinum 8480+": "intel-xeon-platinum-8480",
		"pthread-skylake-avx512-AMD EPYC": "pthread-skylake-avx512-amd-epyc",
		"???":                             "device",
		"16 CPU cores (Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz with a very long name)": "16-cpu-cores-intel-xeon-platinum-8480-cpu-2",
	} {
		if got := deviceSlug(in); got != want {
			t.Errorf("deviceSlug(%q) = %q, want %q", in, got, want)
		}
	}
	for cells, want := range map[int]string{1_300_000: "1300k", 100_000: "100k", 1500: "1500", 999: "999"} {
		if got := cellsTag(cells); got != want {
			t.Errorf("cellsTag(%d) = %q, want %q", cells, got, want)
		}
	}
	dir := t.TempDir()
	date := time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC)
	for i, want := range []string{"2026-12-01-cuda-nvidia-h200-1300k.json", "2026-12-01-cuda-nvidia-h200-1300k-2.json", "2026-12-01-cuda-nvidia-h200-1300k-3.json"} {
		p, err := resultName(dir, date, "cuda", "nvidia-h200", 1_300_000, false)
		if err != nil || filepath.Base(p) != want {
			t.Fatalf("resultName #%d = %s, %v; want %s", i+1, p, err, want)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if p, _ := resultName(dir, date, "opencl", "nvidia-h200", 1_300_000, true); filepath.Base(p) != "2026-12-01-opencl-nvidia-h200-1300k-cold.json" {
		t.Errorf("cold result named %s", p)
	}
}
