package main

import (
	"slices"
	"testing"
)

func TestParseDeviceList(t *testing.T) {
	for _, s := range []string{"", "all", " all "} {
		if l, err := parseDeviceList(s); err != nil || l != nil {
			t.Errorf("parseDeviceList(%q) = %v, %v; want all (nil)", s, l, err)
		}
	}
	l, err := parseDeviceList("1,0, 2")
	if err != nil || len(l) != 3 || l[0].String() != "1" || l[2].String() != "2" {
		t.Errorf("parseDeviceList(1,0, 2) = %v, %v", l, err)
	}
	for _, bad := range []string{"0,0", "0,x", ",", "0,,1", "-1"} {
		if _, err := parseDeviceList(bad); err == nil {
			t.Errorf("parseDeviceList(%q) succeeded", bad)
		}
	}
}

// TestOpenMoreDevices checks which devices --devices opens besides the
// first, on fake machines.
func TestOpenMoreDevices(t *testing.T) {
	open := func(m *fakeMachine, req backendRequest, list string, only bool) []string {
		t.Helper()
		devs, err := parseDeviceList(list)
		if err != nil {
			t.Fatal(err)
		}
		if devs != nil {
			req.dev = devs[0]
		}
		api := m.api()
		first, err := openBackend(api, req, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer first.Close()
		more, err := openMoreDevices(api, first, devs, only)
		if err != nil {
			t.Fatal(err)
		}
		var labels []string
		for _, c := range more {
			labels = append(labels, c.label)
			c.Close()
		}
		return labels
	}
	cuda := backendRequest{name: "cuda", dev: deviceArg{platform: -1}}
	m := &fakeMachine{cuda: twoH200, opencl: noOpenCL}
	if got := open(m, cuda, "", false); !slices.Equal(got, []string{"1"}) {
		t.Errorf("cuda, all: more devices %v, want [1]", got)
	}
	if got := open(m, cuda, "1,0", false); !slices.Equal(got, []string{"0"}) {
		t.Errorf("cuda, 1,0: more devices %v, want [0]", got)
	}
	one := backendRequest{name: "cuda", dev: deviceArg{set: true, index: 1, platform: -1}}
	if got := open(m, one, "", true); got != nil {
		t.Errorf("cuda, --device 1 alone: more devices %v, want none", got)
	}
	ocl := backendRequest{name: "opencl", dev: deviceArg{platform: -1}}
	m = &fakeMachine{cuda: noCUDA, opencl: poclAndNVIDIA}
	if got := open(m, ocl, "all", false); !slices.Equal(got, []string{"1:1"}) {
		t.Errorf("opencl, all: more devices %v, want [1:1] (the PoCL CPU device left out)", got)
	}
	m = &fakeMachine{cuda: noCUDA, opencl: poclOnly}
	if got := open(m, ocl, "", false); got != nil {
		t.Errorf("opencl on PoCL only: more devices %v, want none", got)
	}
	cpu := backendRequest{name: "cpu", dev: deviceArg{platform: -1}}
	if got := open(m, cpu, "", false); got != nil {
		t.Errorf("cpu: more devices %v, want none", got)
	}
}
