package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestCollectDevices(t *testing.T) {
	for _, c := range []struct {
		name      string
		m         fakeMachine
		auto      string
		textHas   []string
		cpuDevice bool // the OpenCL list has a CPU device
	}{
		{"H200s", fakeMachine{cuda: twoH200, opencl: poclAndNVIDIA}, "cuda 0",
			[]string{"cuda: available, 2 devices", "library nvrtc      /usr/lib/libnvrtc.so.12", "device 1: NVIDIA H200, 140.0 GiB, compute capability 9.0, driver 12.4",
				"device 1:1 (or 2): NVIDIA H200 [NVIDIA CUDA], OpenCL 3.0 CUDA", "(a CPU device: auto skips it)"}, true},
		{"no GPU", fakeMachine{cuda: noCUDA, opencl: poclOnly}, "cpu",
			[]string{"cuda: not available: no CUDA driver found (libcuda.so.1): install the NVIDIA driver or use --backend cpu",
				"library driver     not found: libcuda.so.1: cannot open", "opencl: available, 1 device", "auto: cpu"}, true},
		{"OpenCL GPU only", fakeMachine{cuda: noCUDA, opencl: poclAndNVIDIA}, "opencl 1:0", nil, true},
		{"nothing", fakeMachine{cuda: noCUDA, opencl: noOpenCL}, "cpu", []string{"opencl: not available: no OpenCL platform found"}, false},
	} {
		rep := collectDevices(c.m.cuda, c.m.opencl)
		if rep.Auto != c.auto {
			t.Errorf("%s: auto = %q, want %q", c.name, rep.Auto, c.auto)
		}
		var text bytes.Buffer
		printDevices(&text, rep)
		for _, want := range c.textHas {
			if !strings.Contains(text.String(), want) {
				t.Errorf("%s: the listing lacks %q:\n%s", c.name, want, text.String())
			}
		}
		cpuDev := false
		for _, b := range rep.Backends {
			for _, d := range b.Devices {
				cpuDev = cpuDev || d.CPU
			}
		}
		if cpuDev != c.cpuDevice {
			t.Errorf("%s: an OpenCL CPU device flagged: %v, want %v", c.name, cpuDev, c.cpuDevice)
		}
	}
}

// TestDevicesCommand runs 'scbench devices' on this machine: whatever it
// has, it exits 0, lists the three backends, and --json parses.
func TestDevicesCommand(t *testing.T) {
	code, out, errOut := scbench("devices")
	if code != 0 {
		t.Fatalf("devices: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"cpu: available", "cuda: ", "opencl: ", "auto: "} {
		if !strings.Contains(out, want) {
			t.Errorf("devices lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = scbench("devices", "--json")
	if code != 0 {
		t.Fatalf("devices --json: exit %d: %s", code, errOut)
	}
	var rep devicesReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("devices --json: %v\n%s", err, out)
	}
	if len(rep.Backends) != 3 || rep.Backends[0].Name != "cpu" || !rep.Backends[0].Available || rep.Auto == "" {
		t.Errorf("devices --json = %+v", rep)
	}
	for _, b := range rep.Backends {
		if !b.Available && b.Reason == "" {
			t.Errorf("%s is not available and says no reason", b.Name)
		}
	}
	if code, _, _ := scbench("devices", "extra"); code != 2 {
		t.Errorf("devices extra: exit %d, want 2", code)
	}
}
