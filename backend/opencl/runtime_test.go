package opencl

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"unsafe"

	"github.com/scbench/scbench/backend/gpu"
)

// prelude returns the dialect's OpenCL prelude, which test kernels follow.
func prelude(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../gpu/kernels/prelude_opencl.h")
	if err != nil {
		t.Fatalf("reading the prelude: %v", err)
	}
	return string(b)
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(1 + rng.IntN(255)) // never zero, so zeroing shows
	}
	return b
}

// TestMemory checks Alloc, Zero, ToDevice, ToHost and Copy against a host
// copy of every allocation, at offsets and sizes that are not multiples of
// anything.
func TestMemory(t *testing.T) {
	rt := newTestRuntime(t)
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int64{0, 1, 3, 7, 17, 1000, 4099, 65537, 1<<20 + 13}
	mems := make([]gpu.Mem, len(sizes))
	host := make([][]byte, len(sizes))
	for i, n := range sizes {
		m, err := rt.Alloc(n)
		if err != nil {
			t.Fatalf("Alloc(%d): %v", n, err)
		}
		if m.Size() != n {
			t.Fatalf("Alloc(%d).Size() = %d", n, m.Size())
		}
		mems[i] = m
		host[i] = randBytes(rng, int(n))
		if err := rt.ToDevice(m, 0, host[i]); err != nil {
			t.Fatalf("ToDevice(%d bytes): %v", n, err)
		}
	}
	verify := func(what string) {
		t.Helper()
		for i, m := range mems {
			got := make([]byte, sizes[i])
			if err := rt.ToHost(got, m, 0); err != nil {
				t.Fatalf("%s: ToHost(%d bytes): %v", what, sizes[i], err)
			}
			if !bytes.Equal(got, host[i]) {
				t.Fatalf("%s: allocation of %d bytes differs from its host copy", what, sizes[i])
			}
		}
	}
	verify("after ToDevice")

	// Random ranges of each operation, each mirrored on the host.
	span := func(n int64) (off, k int64) {
		off = rng.Int64N(n + 1)
		return off, rng.Int64N(n - off + 1)
	}
	for range 200 {
		i := rng.IntN(len(sizes))
		n := sizes[i]
		switch rng.IntN(4) {
		case 0:
			off, k := span(n)
			if err := rt.Zero(mems[i], off, k); err != nil {
				t.Fatalf("Zero(%d bytes, off %d, n %d): %v", n, off, k, err)
			}
			clear(host[i][off : off+k])
		case 1:
			off, k := span(n)
			src := randBytes(rng, int(k))
			if err := rt.ToDevice(mems[i], off, src); err != nil {
				t.Fatalf("ToDevice(%d bytes, off %d, n %d): %v", n, off, k, err)
			}
			copy(host[i][off:], src)
		case 2:
			off, k := span(n)
			got := make([]byte, k)
			if err := rt.ToHost(got, mems[i], off); err != nil {
				t.Fatalf("ToHost(%d bytes, off %d, n %d): %v", n, off, k, err)
			}
			if !bytes.Equal(got, host[i][off:off+k]) {
				t.Fatalf("ToHost(%d bytes, off %d, n %d) differs", n, off, k)
			}
		case 3:
			j := rng.IntN(len(sizes))
			if i == j {
				continue // overlapping copies are not allowed
			}
			k := rng.Int64N(min(n, sizes[j]) + 1)
			dstOff := rng.Int64N(n - k + 1)
			srcOff := rng.Int64N(sizes[j] - k + 1)
			if err := rt.Copy(mems[i], dstOff, mems[j], srcOff, k); err != nil {
				t.Fatalf("Copy(%d bytes from %d+%d to %d+%d): %v", k, sizes[j], srcOff, n, dstOff, err)
			}
			copy(host[i][dstOff:], host[j][srcOff:srcOff+k])
		}
	}
	if err := rt.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	verify("after random operations")

	// Disjoint ranges of one allocation copy too.
	big := len(sizes) - 1
	if err := rt.Copy(mems[big], 5000, mems[big], 3, 4097); err != nil {
		t.Fatalf("Copy within one allocation: %v", err)
	}
	copy(host[big][5000:], host[big][3:3+4097])
	verify("after a copy within one allocation")

	// Ranges outside an allocation are refused, before any OpenCL call.
	m := mems[4] // 17 bytes
	bad := []struct {
		name string
		err  error
	}{
		{"Zero past the end", rt.Zero(m, 10, 8)},
		{"Zero at a negative offset", rt.Zero(m, -1, 2)},
		{"ToDevice past the end", rt.ToDevice(m, 16, []byte{1, 2})},
		{"ToHost past the end", rt.ToHost(make([]byte, 18), m, 0)},
		{"Copy past the source's end", rt.Copy(mems[5], 0, m, 1, 17)},
		{"Copy past the destination's end", rt.Copy(m, 1, mems[5], 0, 17)},
		{"ToHost from the empty allocation", rt.ToHost([]byte{0}, mems[0], 0)},
	}
	for _, b := range bad {
		if b.err == nil {
			t.Errorf("%s succeeded", b.name)
		}
	}
	for _, n := range []int64{-1, 1 << 62} {
		if m, err := rt.Alloc(n); err == nil {
			t.Errorf("Alloc(%d) succeeded", n)
			rt.Free(m)
		}
	}
	verify("after refused operations")

	// Freed allocations are refused; a second Free does nothing.
	rt.Free(m)
	rt.Free(m)
	if err := rt.ToDevice(m, 0, []byte{1}); err == nil || !strings.Contains(err.Error(), "freed") {
		t.Errorf("ToDevice to a freed allocation: %v, want an error saying it was freed", err)
	}
}

// TestCompileError checks that a build failure names the call and its
// code, and carries the compiler's log.
func TestCompileError(t *testing.T) {
	rt := newTestRuntime(t)
	src := prelude(t) + "\nKERNEL broken(GLOBAL f32 *x) { x[0] = no_such_variable; }\n"
	_, err := rt.Compile("broken", src)
	if err == nil {
		t.Fatal("Compile of a broken kernel succeeded")
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("Compile error %q is not an *opencl.Error", err)
	}
	if ce.Call != "clBuildProgram" || ce.Code != clBuildProgramFailure {
		t.Errorf("Compile error from %s code %d, want clBuildProgram code %d", ce.Call, ce.Code, clBuildProgramFailure)
	}
	if !strings.Contains(err.Error(), "clBuildProgram: CL_BUILD_PROGRAM_FAILURE (-11)") {
		t.Errorf("Compile error %q does not name the call and code", err)
	}
	if !strings.Contains(ce.Log, "no_such_variable") {
		t.Errorf("build log does not mention the undefined name:\n%s", ce.Log)
	}

	// A kernel that the program lacks.
	p, err := rt.Compile("empty", prelude(t)+"\nKERNEL present(GLOBAL f32 *x) { x[0] = 1.0f; }\n")
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	defer p.Release()
	if _, err := p.Kernel("absent"); err == nil || !strings.Contains(err.Error(), "CL_INVALID_KERNEL_NAME") {
		t.Errorf("Kernel(absent): %v, want CL_INVALID_KERNEL_NAME", err)
	}
	if _, err := p.Kernel("present"); err != nil {
		t.Errorf("Kernel(present): %v", err)
	}
}

// argsKernel uses every argument type a launch takes, each in a way that
// a wrong size or a swapped argument shows.
const argsKernel = `
KERNEL args(GLOBAL i64 *iout, GLOBAL f64 *fout, GLOBAL const i32 *RESTRICT in,
		i32 a, u32 b, i64 c, u64 d, f32 e, f64 f, i64 n) {
	i64 i = GID(0);
	if (i >= n) return;
	i32 x = in[i];
	iout[4*i+0] = (i64)x * (i64)a;
	iout[4*i+1] = (i64)(b - (u32)i);
	iout[4*i+2] = c + i;
	iout[4*i+3] = (i64)(d ^ (u64)i);
	fout[2*i+0] = (f64)(e * (f32)x);
	fout[2*i+1] = f * (f64)x;
}

KERNEL where(GLOBAL i32 *out, i32 nx, i32 ny) {
	i64 x = GID(0), y = GID(1), z = GID(2);
	i64 at = (z * ny + y) * nx + x;
	out[4*at+0] = (i32)(x + 1000 * y + 1000000 * z);
	out[4*at+1] = LID(0) + 100 * LID(1) + 10000 * LID(2);
	out[4*at+2] = GRP(0) + 100 * GRP(1) + 10000 * GRP(2);
	out[4*at+3] = NGRP(0) + 100 * NGRP(1) + 10000 * NGRP(2) + 1000000 * LSIZE(0);
}
`

// TestLaunch runs a kernel that takes every argument type, on a size that
// is no multiple of the work-group size, and a 3-D kernel.
func TestLaunch(t *testing.T) {
	rt := newTestRuntime(t)
	prog, err := rt.Compile("test", prelude(t)+argsKernel)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	defer prog.Release()
	k, err := prog.Kernel("args")
	if err != nil {
		t.Fatalf("Kernel: %v", err)
	}
	if k.Name() != "args" {
		t.Errorf("Name() = %q", k.Name())
	}

	const n = 1013
	rng := rand.New(rand.NewPCG(3, 4))
	in := make([]int32, n)
	for i := range in {
		in[i] = rng.Int32N(1<<20) - 1<<19
		if in[i] == 0 {
			in[i] = 7
		}
	}
	var (
		a = int32(-123457)
		b = uint32(0xfffffff0)
		c = int64(-1<<40 - 3)
		d = uint64(1<<63 | 0x123456789)
		e = float32(-1.2345678)
		f = 3.141592653589793e-7
	)
	alloc := func(n int64) gpu.Mem {
		m, err := rt.Alloc(n)
		if err != nil {
			t.Fatalf("Alloc(%d): %v", n, err)
		}
		t.Cleanup(func() { rt.Free(m) })
		return m
	}
	iout, fout, inm := alloc(4*8*n), alloc(2*8*n), alloc(4*n)
	if err := rt.ToDevice(inm, 0, asBytes(in)); err != nil {
		t.Fatalf("ToDevice: %v", err)
	}
	local := min(64, rt.MaxLocal())
	groups := (n + local - 1) / local
	if err := rt.Launch(k, [3]int{groups, 1, 1}, [3]int{local, 1, 1}, iout, fout, inm, a, b, c, d, e, f, int64(n)); err != nil {
		t.Fatalf("Launch: %v", err)
	}
	if err := rt.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	gi := make([]int64, 4*n)
	gf := make([]float64, 2*n)
	if err := rt.ToHost(asBytes(gi), iout, 0); err != nil {
		t.Fatalf("ToHost: %v", err)
	}
	if err := rt.ToHost(asBytes(gf), fout, 0); err != nil {
		t.Fatalf("ToHost: %v", err)
	}
	bad := 0
	for i, x := range in {
		want := []int64{int64(x) * int64(a), int64(b - uint32(i)), c + int64(i), int64(d ^ uint64(i))}
		wantF := []float64{float64(e * float32(x)), f * float64(x)}
		for j := range want {
			if gi[4*i+j] != want[j] {
				t.Errorf("item %d: integer output %d = %d, want %d", i, j, gi[4*i+j], want[j])
				bad++
			}
		}
		for j := range wantF {
			if gf[2*i+j] != wantF[j] {
				t.Errorf("item %d: float output %d = %v, want %v", i, j, gf[2*i+j], wantF[j])
				bad++
			}
		}
		if bad > 10 {
			t.FailNow()
		}
	}

	// Launch errors: argument types, freed buffers, group sizes.
	if err := rt.Launch(k, [3]int{1, 1, 1}, [3]int{1, 1, 1}, iout, fout, inm, 1, b, c, d, e, f, int64(n)); err == nil {
		t.Error("Launch with an int argument succeeded")
	}
	if err := rt.Launch(k, [3]int{1, 1, 1}, [3]int{rt.MaxLocal() + 1, 1, 1}, iout, fout, inm, a, b, c, d, e, f, int64(n)); err == nil {
		t.Error("Launch of a work-group larger than MaxLocal succeeded")
	}
	if err := rt.Launch(k, [3]int{0, 1, 1}, [3]int{local, 1, 1}, iout, fout, inm, a, b, c, d, e, f, int64(n)); err != nil {
		t.Errorf("Launch of no groups: %v", err)
	}
	gone := alloc(8)
	rt.Free(gone)
	if err := rt.Launch(k, [3]int{1, 1, 1}, [3]int{1, 1, 1}, gone, fout, inm, a, b, c, d, e, f, int64(n)); err == nil {
		t.Error("Launch with a freed buffer succeeded")
	}

	// A 3-D launch: every work-item reports where it is.
	w, err := prog.Kernel("where")
	if err != nil {
		t.Fatalf("Kernel: %v", err)
	}
	groups3, local3 := [3]int{3, 2, 5}, [3]int{7, 3, 2}
	nx, ny, nz := groups3[0]*local3[0], groups3[1]*local3[1], groups3[2]*local3[2]
	out := alloc(int64(4 * 4 * nx * ny * nz))
	if err := rt.Launch(w, groups3, local3, out, int32(nx), int32(ny)); err != nil {
		t.Fatalf("Launch 3-D: %v", err)
	}
	got := make([]int32, 4*nx*ny*nz)
	if err := rt.ToHost(asBytes(got), out, 0); err != nil {
		t.Fatalf("ToHost: %v", err)
	}
	for z := range nz {
		for y := range ny {
			for x := range nx {
				at := (z*ny+y)*nx + x
				want := [4]int32{
					int32(x + 1000*y + 1000000*z),
					int32(x%local3[0] + 100*(y%local3[1]) + 10000*(z%local3[2])),
					int32(x/local3[0] + 100*(y/local3[1]) + 10000*(z/local3[2])),
					int32(groups3[0] + 100*groups3[1] + 10000*groups3[2] + 1000000*local3[0]),
				}
				if [4]int32(got[4*at:4*at+4]) != want {
					t.Fatalf("work-item (%d,%d,%d) reports %v, want %v", x, y, z, got[4*at:4*at+4], want)
				}
			}
		}
	}
}

// TestClosed checks that a closed runtime refuses work.
func TestClosed(t *testing.T) {
	p, d := testDevice(t)
	rt, err := NewRuntime(p, d)
	if err != nil {
		noDevice(t, err.Error())
	}
	m, err := rt.Alloc(10)
	if err != nil {
		t.Fatalf("Alloc: %v", err)
	}
	if err := rt.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := rt.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := rt.Alloc(1); err == nil {
		t.Error("Alloc after Close succeeded")
	}
	if err := rt.ToDevice(m, 0, []byte{1}); err == nil {
		t.Error("ToDevice after Close succeeded")
	}
	rt.Free(m) // harmless
}

// TestDevices checks NewRuntime's refusals and what Probe reports.
func TestDevices(t *testing.T) {
	p, d := testDevice(t)
	r := Probe()
	if !r.Available {
		noDevice(t, r.Reason)
	}
	if r.API != "opencl" || len(r.Libraries) == 0 || r.Libraries[len(r.Libraries)-1].Path == "" {
		t.Errorf("Probe: API %q, libraries %+v", r.API, r.Libraries)
	}
	for _, dev := range r.Devices {
		t.Logf("%+v", dev)
		if dev.Name == "" || dev.Platform == "" || dev.Memory <= 0 || dev.Units <= 0 || !strings.HasPrefix(dev.Capability, "OpenCL ") || dev.Driver == "" {
			t.Errorf("Probe lists an incomplete device: %+v", dev)
		}
	}
	rt := newTestRuntime(t)
	info := rt.Device()
	if info.Backend != "opencl" || info.Memory <= 0 || info.Driver == "" || !strings.HasSuffix(info.Name, ")") {
		t.Errorf("Device() = %+v", info)
	}
	if rt.Dialect() != gpu.OpenCL || rt.MaxLocal() < 1 {
		t.Errorf("Dialect() = %v, MaxLocal() = %d", rt.Dialect(), rt.MaxLocal())
	}
	for _, pd := range [][2]int{{-1, 0}, {p, -1}, {p, d + 1000}, {1000, 0}} {
		if rt, err := NewRuntime(pd[0], pd[1]); err == nil {
			rt.Close()
			t.Errorf("NewRuntime(%d, %d) succeeded", pd[0], pd[1])
		}
	}
}

func TestErrorName(t *testing.T) {
	for code, want := range map[int32]string{0: "CL_SUCCESS", -11: "CL_BUILD_PROGRAM_FAILURE", -54: "CL_INVALID_WORK_GROUP_SIZE", -1001: "CL_PLATFORM_NOT_FOUND_KHR", -12345: "CL_UNKNOWN_ERROR"} {
		if got := ErrorName(code); got != want {
			t.Errorf("ErrorName(%d) = %q, want %q", code, got, want)
		}
	}
	err := &Error{Call: "clFinish", Code: -5}
	if got, want := err.Error(), "clFinish: CL_OUT_OF_RESOURCES (-5)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func asBytes[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(z)))
}
