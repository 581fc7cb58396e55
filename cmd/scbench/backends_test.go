package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/scbench/scbench/backend"
	"github.com/scbench/scbench/backend/gpu"
)

// fakeRuntime is just enough of a gpu.Runtime for gpu.New: it compiles
// anything and runs nothing, so that selection can be tested without a GPU.
type fakeRuntime struct{ dev backend.Device }

type fakeProgram struct{}

func (fakeProgram) Kernel(name string) (gpu.Kernel, error) { return nil, errors.New("fake") }
func (fakeProgram) Release()                               {}

func (r fakeRuntime) Device() backend.Device                { return r.dev }
func (r fakeRuntime) Dialect() gpu.Dialect                  { return gpu.OpenCL }
func (r fakeRuntime) MaxLocal() int                         { return 256 }
func (r fakeRuntime) Alloc(int64) (gpu.Mem, error)          { return nil, errors.New("fake") }
func (r fakeRuntime) Free(gpu.Mem)                          {}
func (r fakeRuntime) Zero(gpu.Mem, int64, int64) error      { return errors.New("fake") }
func (r fakeRuntime) ToDevice(gpu.Mem, int64, []byte) error { return errors.New("fake") }
func (r fakeRuntime) ToHost([]byte, gpu.Mem, int64) error   { return errors.New("fake") }
func (r fakeRuntime) Copy(gpu.Mem, int64, gpu.Mem, int64, int64) error {
	return errors.New("fake")
}
func (r fakeRuntime) Compile(name, source string) (gpu.Program, error) { return fakeProgram{}, nil }
func (r fakeRuntime) Launch(gpu.Kernel, [3]int, [3]int, ...any) error  { return errors.New("fake") }
func (r fakeRuntime) Sync() error                                      { return nil }
func (r fakeRuntime) Close() error                                     { return nil }

// fakeMachine builds a gpuAPI from probe reports; opened records what the
// constructors were asked for, and failCUDA makes cuda's fail.
type fakeMachine struct {
	cuda, opencl gpu.ProbeReport
	failCUDA     error
	opened       []string
}

func (m *fakeMachine) api() gpuAPI {
	return gpuAPI{
		cudaProbe:   func() gpu.ProbeReport { return m.cuda },
		openclProbe: func() gpu.ProbeReport { return m.opencl },
		cudaNew: func(dev int) (*gpu.Backend, error) {
			m.opened = append(m.opened, "cuda "+itoa(dev))
			if m.failCUDA != nil {
				return nil, m.failCUDA
			}
			d, _ := cudaDevice(&m.cuda, dev)
			return gpu.New(fakeRuntime{backend.Device{Backend: "cuda", Name: d.Name}})
		},
		openclNew: func(p, d int) (*gpu.Backend, error) {
			m.opened = append(m.opened, "opencl "+itoa(p)+":"+itoa(d))
			return gpu.New(fakeRuntime{backend.Device{Backend: "opencl", Name: "fake"}})
		},
	}
}

func itoa(v int) string { return deviceArg{set: true, index: v, platform: -1}.String() }

var (
	noCUDA = gpu.ProbeReport{API: "cuda", Reason: "no CUDA driver found (libcuda.so.1)",
		Libraries: []gpu.Library{{Name: "driver", Err: "libcuda.so.1: cannot open shared object file"}}}
	twoH200 = gpu.ProbeReport{API: "cuda", Available: true,
		Libraries: []gpu.Library{{Name: "driver", Path: "/usr/lib/libcuda.so.1"}, {Name: "nvrtc", Path: "/usr/lib/libnvrtc.so.12"}},
		Devices: []gpu.DeviceInfo{
			{Index: 0, Name: "NVIDIA H200", Memory: 140 << 30, Capability: "9.0", Driver: "12.4"},
			{Index: 1, Name: "NVIDIA H200", Memory: 140 << 30, Capability: "9.0", Driver: "12.4"}}}
	poclOnly = gpu.ProbeReport{API: "opencl", Available: true,
		Libraries: []gpu.Library{{Name: "icd loader", Path: "/usr/lib/libOpenCL.so.1"}},
		Devices:   []gpu.DeviceInfo{{Index: 0, Platform: "Portable Computing Language", Name: "pthread-skylake-avx512-AMD EPYC", Capability: "OpenCL 3.0 PoCL"}}}
	poclAndNVIDIA = gpu.ProbeReport{API: "opencl", Available: true,
		Devices: []gpu.DeviceInfo{
			{Index: 0, Platform: "Portable Computing Language", Name: "cpu-haswell-Intel(R) Xeon(R)"},
			{Index: 0, Platform: "NVIDIA CUDA", Name: "NVIDIA H200", Capability: "OpenCL 3.0 CUDA"},
			{Index: 1, Platform: "NVIDIA CUDA", Name: "NVIDIA H200", Capability: "OpenCL 3.0 CUDA"}}}
	noOpenCL = gpu.ProbeReport{API: "opencl", Reason: "no OpenCL platform found",
		Libraries: []gpu.Library{{Name: "icd loader", Path: "/usr/lib/libOpenCL.so.1"}}}
)

func TestParseBackend(t *testing.T) {
	for _, c := range []struct {
		name, device string
		want         string // deviceArg.String(), or the error's text
		bad          bool
	}{
		{"auto", "", "default", false},
		{"CUDA", "1", "1", false},
		{"opencl", "1:0", "1:0", false},
		{"opencl", " 3 ", "3", false},
		{"cpu", "", "default", false},
		{"tpu", "", "unknown backend", true},
		{"cpu", "0", "no devices", true},
		{"cuda", "0:1", "P:D is for OpenCL", true},
		{"cuda", "-1", "non-negative", true},
		{"opencl", "a:b", "non-negative", true},
		{"opencl", "1:", "non-negative", true},
	} {
		r, err := parseBackend(c.name, c.device)
		switch {
		case c.bad && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("parseBackend(%q, %q) = %v; want an error with %q", c.name, c.device, err, c.want)
		case !c.bad && (err != nil || r.dev.String() != c.want):
			t.Errorf("parseBackend(%q, %q) = device %s, %v; want %s", c.name, c.device, r.dev, err, c.want)
		}
	}
	reqs, err := parseBackendList(" cuda, opencl ,cpu", "")
	if err != nil || len(reqs) != 3 || reqs[1].name != "opencl" {
		t.Errorf("parseBackendList = %+v, %v", reqs, err)
	}
	for _, bad := range []string{"cuda,cuda", ",", "cuda,gpu"} {
		if _, err := parseBackendList(bad, ""); err == nil {
			t.Errorf("parseBackendList(%q) succeeded", bad)
		}
	}
	// --device goes to the GPU backends of a list, not to the CPU.
	reqs, err = parseBackendList("opencl,cpu", "1:0")
	if err != nil || reqs[0].dev.String() != "1:0" || reqs[1].dev.set {
		t.Errorf("parseBackendList(opencl,cpu, 1:0) = %+v, %v", reqs, err)
	}
	if _, err := parseBackendList("cpu", "1"); err == nil {
		t.Error("parseBackendList(cpu, 1) succeeded")
	}
}

func TestOpenBackend(t *testing.T) {
	for _, c := range []struct {
		name           string
		m              fakeMachine
		backend, dev   string
		wantAPI        string // "" when an error is wanted
		wantOpened     string
		wantErr        string
		wantSkippedHas string
	}{
		{name: "auto prefers CUDA", m: fakeMachine{cuda: twoH200, opencl: poclAndNVIDIA}, backend: "auto",
			wantAPI: "cuda", wantOpened: "cuda 0"},
		{name: "auto device 1", m: fakeMachine{cuda: twoH200, opencl: poclAndNVIDIA}, backend: "auto", dev: "1",
			wantAPI: "cuda", wantOpened: "cuda 1"},
		{name: "auto skips PoCL's CPU for the OpenCL GPU", m: fakeMachine{cuda: noCUDA, opencl: poclAndNVIDIA}, backend: "auto",
			wantAPI: "opencl", wantOpened: "opencl 1:0", wantSkippedHas: "libcuda.so.1"},
		{name: "auto never picks PoCL", m: fakeMachine{cuda: noCUDA, opencl: poclOnly}, backend: "auto",
			wantAPI: "cpu", wantSkippedHas: "auto does not pick them"},
		{name: "auto falls back when CUDA fails to open", m: fakeMachine{cuda: twoH200, opencl: poclAndNVIDIA, failCUDA: errors.New("nvrtc: boom")},
			backend: "auto", wantAPI: "opencl", wantOpened: "cuda 0,opencl 1:0", wantSkippedHas: "nvrtc: boom"},
		{name: "auto with nothing", m: fakeMachine{cuda: noCUDA, opencl: noOpenCL}, backend: "auto", wantAPI: "cpu",
			wantSkippedHas: "no OpenCL platform found"},
		{name: "explicit CUDA missing", m: fakeMachine{cuda: noCUDA, opencl: poclOnly}, backend: "cuda",
			wantErr: "no CUDA driver found (libcuda.so.1): install the NVIDIA driver or use --backend cpu"},
		{name: "explicit CUDA device out of range", m: fakeMachine{cuda: twoH200}, backend: "cuda", dev: "2",
			wantErr: "CUDA has 2 devices (indices 0-1)"},
		{name: "explicit OpenCL takes PoCL", m: fakeMachine{cuda: noCUDA, opencl: poclOnly}, backend: "opencl",
			wantAPI: "opencl", wantOpened: "opencl 0:0"},
		{name: "OpenCL Nth device across platforms", m: fakeMachine{opencl: poclAndNVIDIA}, backend: "opencl", dev: "2",
			wantAPI: "opencl", wantOpened: "opencl 1:1"},
		{name: "OpenCL P:D", m: fakeMachine{opencl: poclAndNVIDIA}, backend: "opencl", dev: "0:0",
			wantAPI: "opencl", wantOpened: "opencl 0:0"},
		{name: "OpenCL N out of range", m: fakeMachine{opencl: poclAndNVIDIA}, backend: "opencl", dev: "3",
			wantErr: "OpenCL has 3 devices"},
		{name: "explicit OpenCL missing", m: fakeMachine{opencl: noOpenCL}, backend: "opencl",
			wantErr: "no OpenCL platform found: install an OpenCL driver"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := parseBackend(c.backend, c.dev)
			if err != nil {
				t.Fatal(err)
			}
			m := c.m
			got, err := openBackend(m.api(), req, 1)
			if c.wantAPI == "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v; want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer got.Close()
			if got.api != c.wantAPI || got.Device().Backend != c.wantAPI {
				t.Errorf("picked %s (device %+v), want %s", got.api, got.Device(), c.wantAPI)
			}
			if o := strings.Join(m.opened, ","); o != c.wantOpened {
				t.Errorf("opened %q, want %q", o, c.wantOpened)
			}
			if s := strings.Join(got.skipped, "; "); !strings.Contains(s, c.wantSkippedHas) {
				t.Errorf("skipped %q, want it to mention %q", s, c.wantSkippedHas)
			}
			if d := got.describe(); !strings.Contains(d, "backend "+c.wantAPI) {
				t.Errorf("describe() = %q", d)
			}
		})
	}
}

func TestOpenCLCPU(t *testing.T) {
	for _, c := range []struct {
		platform, name string
		cpu            bool
	}{
		{"Portable Computing Language", "pthread-skylake-avx512-AMD EPYC", true},
		{"Portable Computing Language", "cpu-haswell-Intel(R) Xeon(R) Platinum 8480+", true},
		{"Intel(R) CPU Runtime for OpenCL(TM) Applications", "Intel(R) Xeon(R) Gold 6338", true},
		{"NVIDIA CUDA", "NVIDIA H200", false},
		{"AMD Accelerated Parallel Processing", "gfx90a:sramecc+:xnack-", false},
		{"Intel(R) OpenCL Graphics", "Intel(R) Data Center GPU Max 1550", false},
	} {
		if got := openclCPU(gpu.DeviceInfo{Platform: c.platform, Name: c.name}); got != c.cpu {
			t.Errorf("openclCPU(%q, %q) = %v, want %v", c.platform, c.name, got, c.cpu)
		}
	}
}

// TestRunUnavailableBackend asks run for CUDA on a machine without it: the
// error says why and what to do, before any data is read.
func TestRunUnavailableBackend(t *testing.T) {
	p := systemAPI().cudaProbe()
	if p.Available {
		t.Skip("SKIP: this machine has CUDA")
	}
	code, _, errOut := scbench("run", "--backend", "cuda", "--input", "/nonexistent.zarr")
	if code != 1 || !strings.Contains(errOut, "--backend cuda: not available: ") || !strings.Contains(errOut, "or use --backend cpu") ||
		strings.Contains(errOut, "nonexistent") {
		t.Errorf("run --backend cuda without CUDA: exit %d, %q", code, errOut)
	}
}
