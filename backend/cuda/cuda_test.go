package cuda

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/backendtest"
	"github.com/scbench/scbench/backend/gpu"
)

var writePTX = flag.String("writeptx", "", "TestWritePTX: write kernels.ptx and kernels.sha256 for the current kernel source into this folder")

// needCUDA skips the test when this machine cannot run the backend, or
// fails it when SCBENCH_REQUIRE_CUDA=1.
func needCUDA(t *testing.T) {
	t.Helper()
	rep := Probe()
	if rep.Available {
		return
	}
	if os.Getenv("SCBENCH_REQUIRE_CUDA") == "1" {
		t.Fatalf("SCBENCH_REQUIRE_CUDA=1 but %s", rep.Reason)
	}
	t.Skip(rep.Reason)
}

// newTestRuntime opens device 0 with a disk cache of its own.
func newTestRuntime(t *testing.T) *Runtime {
	t.Helper()
	needCUDA(t)
	r, err := newRuntime(0)
	if err != nil {
		t.Fatalf("newRuntime(0): %v", err)
	}
	r.cacheDir = t.TempDir()
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

func TestErrorFormat(t *testing.T) {
	err := &Error{Call: "cuLaunchKernel", Code: 1, Name: "CUDA_ERROR_INVALID_VALUE"}
	if got, want := err.Error(), "cuLaunchKernel: CUDA_ERROR_INVALID_VALUE (1)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestDriverErrorNames(t *testing.T) {
	needCUDA(t)
	drv, err := loadDriver()
	if err != nil {
		t.Fatal(err)
	}
	for code, name := range map[int32]string{1: "CUDA_ERROR_INVALID_VALUE", 2: "CUDA_ERROR_OUT_OF_MEMORY", 500: "CUDA_ERROR_NOT_FOUND"} {
		want := fmt.Sprintf("cuTest: %s (%d)", name, code)
		if got := drv.check("cuTest", code); got == nil || got.Error() != want {
			t.Errorf("check(%d) = %v, want %s", code, got, want)
		}
	}
	if err := drv.check("cuTest", 0); err != nil {
		t.Errorf("check(0) = %v, want nil", err)
	}
}

func TestEmbeddedPTXCurrent(t *testing.T) {
	want := gpu.SourceHash(gpu.CUDA)
	if got := embeddedHash(); got != want {
		t.Fatalf("backend/cuda/ptx/kernels.ptx was generated from kernel source %q, but gpu.SourceHash(gpu.CUDA) is now %q:\n"+
			"regenerate it on a machine with NVRTC: bench/gpu/genptx.sh (or: go test -run TestWritePTX ./backend/cuda -args -writeptx=$PWD/backend/cuda/ptx)", got, want)
	}
	if info := ptxInfo(embeddedPTX); info == "not PTX" {
		t.Fatalf("backend/cuda/ptx/kernels.ptx is not PTX (%d bytes)", len(embeddedPTX))
	}
	// Every kernel of the source is in the PTX.
	for _, m := range regexp.MustCompile(`KERNEL\s+(\w+)\s*\(`).FindAllStringSubmatch(gpu.Source(gpu.CUDA), -1) {
		if !bytes.Contains(embeddedPTX, []byte(".entry "+m[1]+"(")) {
			t.Errorf("the embedded PTX has no entry %s", m[1])
		}
	}
}

func TestProbeMissingLibrary(t *testing.T) {
	drv, err := openDriver([]string{filepath.Join(t.TempDir(), "libcuda.so.1")})
	rep := probe(drv, err)
	if rep.Available || !strings.HasPrefix(rep.Reason, "CUDA not available: ") {
		t.Errorf("probe of a missing library: Available %v, Reason %q", rep.Available, rep.Reason)
	}
	if len(rep.Libraries) != 1 || rep.Libraries[0].Err == "" || rep.Libraries[0].Path != "" {
		t.Errorf("probe of a missing library: libraries %+v", rep.Libraries)
	}
	if rep.API != "cuda" {
		t.Errorf("API = %q", rep.API)
	}
}

func TestProbe(t *testing.T) {
	needCUDA(t)
	rep := Probe()
	for _, l := range rep.Libraries {
		t.Logf("library %-12s path %q version %q optional %v err %q", l.Name, l.Path, l.Version, l.Optional, l.Err)
	}
	if len(rep.Devices) == 0 {
		t.Fatal("available, but no devices")
	}
	for _, d := range rep.Devices {
		t.Logf("device %d: %s, %.1f GiB, capability %s, %d SMs, %s", d.Index, d.Name, float64(d.Memory)/(1<<30), d.Capability, d.Units, d.Driver)
		if d.Name == "" || d.Memory <= 0 || d.Units <= 0 || !regexp.MustCompile(`^\d+\.\d$`).MatchString(d.Capability) || !strings.HasPrefix(d.Driver, "CUDA ") {
			t.Errorf("device %+v", d)
		}
	}
	if rep.Libraries[0].Name != "driver" || rep.Libraries[0].Path == "" || rep.Libraries[0].Version == "" {
		t.Errorf("driver library %+v", rep.Libraries[0])
	}
	r := newTestRuntime(t)
	d := r.Device()
	if d.Backend != "cuda" || d.Name != rep.Devices[0].Name || d.Memory != rep.Devices[0].Memory || d.Driver == "" {
		t.Errorf("Device() = %+v", d)
	}
	if r.MaxLocal() < 256 {
		t.Errorf("MaxLocal() = %d", r.MaxLocal())
	}
}

// TestConformance runs every conformance suite of backendtest on device
// 0: the backend operations, then the graph steps' capabilities (the
// neighbour search, sharded over two backends on the device, the fuzzy
// graph, UMAP, the spectral start and Leiden).
func TestConformance(t *testing.T) {
	// One disk cache for the subtests, each of which compiles the
	// kernels: the first compiles, the others load.
	needCUDA(t)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	open := func(t *testing.T) backend.Backend {
		needCUDA(t)
		be, err := New(0)
		if err != nil {
			t.Fatalf("New(0): %v", err)
		}
		return be
	}
	for _, s := range []struct {
		name string
		run  func(*testing.T, func(*testing.T) backend.Backend)
	}{
		{"Ops", backendtest.Run}, {"KNN", backendtest.RunKNN}, {"ShardedKNN", backendtest.RunShardedKNN},
		{"Fuzzy", backendtest.RunFuzzy}, {"UMAP", backendtest.RunUMAP}, {"Spectral", backendtest.RunSpectral},
		{"Leiden", backendtest.RunLeiden},
	} {
		t.Run(s.name, func(t *testing.T) { s.run(t, open) })
	}
}

// TestWritePTX regenerates the embedded PTX (bench/gpu/genptx.sh runs it).
func TestWritePTX(t *testing.T) {
	if *writePTX == "" {
		t.Skip("regenerates the embedded PTX when given -writeptx=DIR (bench/gpu/genptx.sh)")
	}
	nv, err := loadNVRTC()
	if err != nil {
		t.Fatalf("generating PTX needs NVRTC: %v", err)
	}
	// compute_70 (Volta) is the baseline; an NVRTC that no longer knows
	// it (CUDA 13 starts at Turing) gets its oldest architecture above.
	arch := -1
	for _, a := range nv.archs {
		if a >= 70 {
			arch = a
			break
		}
	}
	if arch < 0 {
		t.Fatalf("NVRTC %s knows no architecture from 70 on: %v", nv.version(), nv.archs)
	}
	src := gpu.Source(gpu.CUDA)
	ptx, err := nv.compile("scbench.cu", src, false, fmt.Sprintf("--gpu-architecture=compute_%d", arch))
	if err != nil {
		t.Fatal(err)
	}
	ptx = bytes.TrimRight(ptx, "\x00")
	if err := os.MkdirAll(*writePTX, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*writePTX, "kernels.ptx"), ptx, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*writePTX, "kernels.sha256"), []byte(gpu.SourceHash(gpu.CUDA)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d bytes of PTX (%s) from NVRTC %s for source %s into %s", len(ptx), ptxInfo(ptx), nv.version(), gpu.SourceHash(gpu.CUDA), *writePTX)
	if !Probe().Available {
		return
	}
	// Check that the driver loads it.
	r := newTestRuntime(t)
	if err := r.enter(); err != nil {
		t.Fatal(err)
	}
	defer r.exit()
	mod, err := r.load(append(ptx, 0))
	if err != nil {
		t.Fatalf("the driver does not load the PTX: %v", err)
	}
	r.drv.cuModuleUnload(mod)
}
