package cuda

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/scbench/scbench/backend/gpu"
)

// prelude is the dialect's CUDA prelude: the kernel source up to its first
// kernel file.
func prelude() string {
	return strings.SplitN(gpu.Source(gpu.CUDA), "\n// ---- ", 2)[0]
}

// testKernels exercise every argument type, 3-D grids and null pointers.
const testKernels = `
KERNEL args(GLOBAL i64 *ints, GLOBAL f64 *floats, i32 a, u32 b, i64 c, u64 d, f32 e, f64 f,
            GLOBAL const f64 *RESTRICT x, GLOBAL f64 *RESTRICT y, i64 n, GLOBAL f32 *unused) {
	i64 i = GID(0);
	if (i == 0) {
		ints[0] = a;
		ints[1] = (i64)b;
		ints[2] = c;
		ints[3] = (i64)d;
		floats[0] = e;
		floats[1] = f;
		ints[4] = unused == 0;
	}
	if (i < n) y[i] = x[i] * f + (f64)e * (f64)a;
}

KERNEL grid3(GLOBAL i32 *out, i32 nx, i32 ny, i32 nz) {
	i64 x = GID(0), y = GID(1), z = GID(2);
	if (x < nx && y < ny && z < nz) out[(z * ny + y) * nx + x] = (i32)(x + 1000 * y + 1000000 * z);
}

KERNEL add_one(GLOBAL f32 *x, i64 n) {
	i64 i = GID(0);
	if (i < n) x[i] += 1.0f;
}
`

func compileTest(t *testing.T, r *Runtime, extra string) *program {
	t.Helper()
	p, err := r.Compile("test", prelude()+testKernels+extra)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	t.Cleanup(p.Release)
	return p.(*program)
}

func kernelOf(t *testing.T, p gpu.Program, name string) gpu.Kernel {
	t.Helper()
	k, err := p.Kernel(name)
	if err != nil {
		t.Fatalf("Kernel(%s): %v", name, err)
	}
	return k
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func alloc(t *testing.T, r *Runtime, n int64) gpu.Mem {
	t.Helper()
	m, err := r.Alloc(n)
	must(t, err)
	t.Cleanup(func() { r.Free(m) })
	return m
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	return b[:n]
}

func f64Bytes(x []float64) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), 8*len(x))
}

// checkCopies writes, zeroes, copies and reads back at awkward offsets
// and sizes around r's staging chunk.
func checkCopies(t *testing.T, r *Runtime, sizes []int, offs []int64) {
	rng := rand.New(rand.NewPCG(uint64(len(sizes)), 7))
	for _, n := range sizes {
		for _, off := range offs {
			total := off + int64(n) + 5
			m := alloc(t, r, total)
			base := randBytes(rng, int(total))
			must(t, r.ToDevice(m, 0, base))
			src := randBytes(rng, n)
			keep := bytes.Clone(src)
			must(t, r.ToDevice(m, off, src))
			// ToDevice has returned: src may be reused at once.
			for i := range src {
				src[i] ^= 0xA5
			}
			want := bytes.Clone(base)
			copy(want[off:], keep)
			got := make([]byte, total)
			must(t, r.ToHost(got, m, 0))
			if i := firstDiff(got, want); i >= 0 {
				t.Fatalf("n %d off %d: byte %d is %#x after ToDevice, want %#x", n, off, i, got[i], want[i])
			}
			part := make([]byte, n)
			must(t, r.ToHost(part, m, off))
			if i := firstDiff(part, keep); i >= 0 {
				t.Fatalf("n %d off %d: ToHost at the offset: byte %d is %#x, want %#x", n, off, i, part[i], keep[i])
			}
			// Copy [off, off+n) to another allocation at offset 3,
			// then zero its middle third.
			m2 := alloc(t, r, int64(n)+9)
			base2 := randBytes(rng, n+9)
			must(t, r.ToDevice(m2, 0, base2))
			must(t, r.Copy(m2, 3, m, off, int64(n)))
			z0, z1 := n/3, 2*n/3
			must(t, r.Zero(m2, 3+int64(z0), int64(z1-z0)))
			want2 := bytes.Clone(base2)
			copy(want2[3:], keep)
			clear(want2[3+z0 : 3+z1])
			got2 := make([]byte, n+9)
			must(t, r.ToHost(got2, m2, 0))
			if i := firstDiff(got2, want2); i >= 0 {
				t.Fatalf("n %d off %d: byte %d is %#x after Copy and Zero, want %#x", n, off, i, got2[i], want2[i])
			}
			r.Free(m)
			r.Free(m2)
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func TestCopiesSmallChunks(t *testing.T) {
	r := newTestRuntime(t)
	r.chunk = 4099 // before the first copy allocates the staging buffers
	c := r.chunk
	checkCopies(t, r, []int{0, 1, 3, c - 1, c, c + 1, 2*c + 17, 5*c + 1234}, []int64{0, 1, 7, int64(c) + 3})
}

func TestCopiesLarge(t *testing.T) {
	r := newTestRuntime(t)
	// Larger than both staging buffers together, and odd.
	n := 2*defaultChunk + defaultChunk/3 + 12345
	checkCopies(t, r, []int{n}, []int64{3})

	// Throughput, for the log.
	m := alloc(t, r, int64(n))
	buf := make([]byte, n)
	must(t, r.Sync())
	start := time.Now()
	must(t, r.ToDevice(m, 0, buf))
	must(t, r.Sync())
	up := time.Since(start)
	start = time.Now()
	must(t, r.ToHost(buf, m, 0))
	down := time.Since(start)
	t.Logf("%d MB: to device %.1f GB/s, to host %.1f GB/s", n>>20, float64(n)/up.Seconds()/1e9, float64(n)/down.Seconds()/1e9)

	// Where the time goes: the DMA alone, from and to pinned memory, and
	// the host's copies into pinned memory.
	must(t, r.enter())
	defer r.exit()
	pinned := r.bufs[0]
	gb := func(d time.Duration) float64 { return float64(len(pinned)) / d.Seconds() / 1e9 }
	cm := m.(*mem)
	dma, err := r.Elapsed(func() error {
		return r.drv.check("cuMemcpyHtoDAsync", r.drv.cuMemcpyHtoDAsync(cm.ptr, unsafe.Pointer(&pinned[0]), uintptr(len(pinned)), r.stream))
	})
	must(t, err)
	dmaBack, err := r.Elapsed(func() error {
		return r.drv.check("cuMemcpyDtoHAsync", r.drv.cuMemcpyDtoHAsync(unsafe.Pointer(&pinned[0]), cm.ptr, uintptr(len(pinned)), r.stream))
	})
	must(t, err)
	start = time.Now()
	copy(pinned, buf)
	one := time.Since(start)
	start = time.Now()
	hostCopy(pinned, buf)
	par := time.Since(start)
	t.Logf("%d MiB: DMA to device %.1f GB/s, to host %.1f GB/s; host copy into pinned memory %.1f GB/s on one core, %.1f GB/s split (GOMAXPROCS %d)",
		len(pinned)>>20, gb(dma), gb(dmaBack), gb(one), gb(par), runtime.GOMAXPROCS(0))
}

func TestHostCopy(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 4<<20 - 1, 8<<20 + 3, 37<<20 + 11} {
		src := randBytes(rng, n)
		dst := make([]byte, n+3)
		if got := hostCopy(dst, src); got != n {
			t.Fatalf("hostCopy of %d bytes returned %d", n, got)
		}
		if !bytes.Equal(dst[:n], src) || dst[n] != 0 {
			t.Fatalf("hostCopy of %d bytes: wrong copy", n)
		}
	}
}

func TestBounds(t *testing.T) {
	r := newTestRuntime(t)
	m := alloc(t, r, 100)
	z := alloc(t, r, 0)
	for name, err := range map[string]error{
		"ToDevice past the end": r.ToDevice(m, 95, make([]byte, 6)),
		"ToHost past the end":   r.ToHost(make([]byte, 2), m, 99),
		"Zero negative offset":  r.Zero(m, -1, 2),
		"Copy past the end":     r.Copy(m, 0, z, 0, 1),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if z.Size() != 0 || m.Size() != 100 {
		t.Errorf("sizes %d, %d", z.Size(), m.Size())
	}
	must(t, r.ToDevice(z, 0, nil))
	must(t, r.Zero(z, 0, 0))
	r.Free(m)
	r.Free(m) // ignored
	if err := r.ToDevice(m, 0, []byte{1}); err == nil || !strings.Contains(err.Error(), "freed") {
		t.Errorf("ToDevice to a freed allocation: %v", err)
	}
}

func TestLaunchArguments(t *testing.T) {
	r := newTestRuntime(t)
	p := compileTest(t, r, "")
	k := kernelOf(t, p, "args")

	const n = 100_003
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64() * 1e3
	}
	a, b, c, d := int32(-123456789), uint32(4_000_000_000), int64(-(1<<40)-7), uint64(1<<63+5)
	e, f := float32(-1.25e-3), math.Pi*1e10

	ints, floats := alloc(t, r, 5*8), alloc(t, r, 2*8)
	xm, ym := alloc(t, r, 8*n), alloc(t, r, 8*n)
	empty := alloc(t, r, 0)
	must(t, r.ToDevice(xm, 0, f64Bytes(x)))
	local := 128
	must(t, r.Launch(k, [3]int{(n + local - 1) / local, 1, 1}, [3]int{local, 1, 1},
		ints, floats, a, b, c, d, e, f, xm, ym, int64(n), empty))

	gotI := make([]int64, 5)
	gotF := make([]float64, 2)
	y := make([]float64, n)
	must(t, r.ToHost(unsafe.Slice((*byte)(unsafe.Pointer(&gotI[0])), 40), ints, 0))
	must(t, r.ToHost(f64Bytes(gotF), floats, 0))
	must(t, r.ToHost(f64Bytes(y), ym, 0))
	if want := []int64{int64(a), int64(b), c, int64(d), 1}; fmt.Sprint(gotI) != fmt.Sprint(want) {
		t.Errorf("integer arguments arrived as %v, want %v", gotI, want)
	}
	if gotF[0] != float64(e) || gotF[1] != f {
		t.Errorf("float arguments arrived as %v, want [%v %v]", gotF, float64(e), f)
	}
	for i := range y {
		want := x[i]*f + float64(e)*float64(a)
		if math.Abs(y[i]-want) > 1e-14*math.Abs(want) {
			t.Fatalf("y[%d] = %v, want %v", i, y[i], want)
		}
	}
}

func TestLaunchGrid3D(t *testing.T) {
	r := newTestRuntime(t)
	k := kernelOf(t, compileTest(t, r, ""), "grid3")
	nx, ny, nz := 37, 19, 5
	out := alloc(t, r, int64(4*nx*ny*nz))
	local := [3]int{8, 4, 2}
	groups := [3]int{(nx + 7) / 8, (ny + 3) / 4, (nz + 1) / 2}
	must(t, r.Launch(k, groups, local, out, int32(nx), int32(ny), int32(nz)))
	got := make([]int32, nx*ny*nz)
	must(t, r.ToHost(unsafe.Slice((*byte)(unsafe.Pointer(&got[0])), 4*len(got)), out, 0))
	for z := range nz {
		for y := range ny {
			for x := range nx {
				if v := got[(z*ny+y)*nx+x]; v != int32(x+1000*y+1000000*z) {
					t.Fatalf("(%d,%d,%d) = %d", x, y, z, v)
				}
			}
		}
	}
}

func TestLaunchErrors(t *testing.T) {
	r := newTestRuntime(t)
	k := kernelOf(t, compileTest(t, r, ""), "add_one")
	m := alloc(t, r, 40)
	for _, c := range []struct {
		groups, local [3]int
		args          []any
		want          string
	}{
		{[3]int{1, 1, 1}, [3]int{10, 1, 1}, []any{m, 10}, "argument 1 has type int"},
		{[3]int{1, 1, 1}, [3]int{r.MaxLocal() + 1, 1, 1}, []any{m, int64(10)}, "threads"},
		{[3]int{0, 1, 1}, [3]int{10, 1, 1}, []any{m, int64(10)}, "grid"},
		// The driver's own check: a grid's y dimension is at most 65535.
		{[3]int{1, 70000, 1}, [3]int{1, 1, 1}, []any{m, int64(10)}, "cuLaunchKernel: CUDA_ERROR_INVALID_VALUE (1)"},
	} {
		err := r.Launch(k, c.groups, c.local, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Launch(%v, %v, %v) = %v, want an error with %q", c.groups, c.local, c.args, err, c.want)
		}
	}
	must(t, r.Sync())
}

func TestCompileError(t *testing.T) {
	r := newTestRuntime(t)
	if _, err := loadNVRTC(); err != nil {
		t.Skipf("no NVRTC: %v", err)
	}
	_, err := r.Compile("broken", prelude()+"KERNEL broken(GLOBAL f32 *x) { x[0] = undefined_name_42; }\n")
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("Compile of a broken source: %v, want a *CompileError", err)
	}
	if !strings.Contains(ce.Log, "undefined_name_42") || !strings.Contains(err.Error(), "nvrtcCompileProgram: NVRTC_ERROR_COMPILATION (6)") {
		t.Errorf("error %q", err)
	}
	t.Logf("%v", err)
}

func TestDiskCache(t *testing.T) {
	r := newTestRuntime(t)
	if _, err := loadNVRTC(); err != nil {
		t.Skipf("no NVRTC: %v", err)
	}
	extra := "// " + t.Name() + "\n"
	p := compileTest(t, r, extra)
	if p.origin != "nvrtc" {
		t.Fatalf("first compile: origin %q, want nvrtc", p.origin)
	}
	files, _ := filepath.Glob(filepath.Join(r.cacheDir, "*"))
	if len(files) != 1 || !regexp.MustCompile(fmt.Sprintf(`^[0-9a-f]{64}-sm%d-drv%d\.(cubin|ptx)$`, r.Capability(), r.drv.version)).MatchString(filepath.Base(files[0])) {
		t.Fatalf("cache folder holds %v", files)
	}

	// A second runtime with the same cache loads the code, which runs.
	r2 := newTestRuntime(t)
	r2.cacheDir = r.cacheDir
	p2 := compileTest(t, r2, extra)
	if p2.origin != "cache" {
		t.Fatalf("second compile: origin %q, want cache", p2.origin)
	}
	checkAddOne(t, r2, kernelOf(t, p2, "add_one"), 1)

	// A damaged file is compiled again and replaced.
	must(t, os.WriteFile(files[0], []byte("not a cubin"), 0o644))
	if p3 := compileTest(t, r2, extra); p3.origin != "nvrtc" {
		t.Fatalf("compile over a damaged cache file: origin %q, want nvrtc", p3.origin)
	}
	if p4 := compileTest(t, r2, extra); p4.origin != "cache" {
		t.Fatalf("compile after the repair: origin %q, want cache", p4.origin)
	}
}

// checkAddOne runs add_one times times on an awkward length and checks.
func checkAddOne(t *testing.T, r *Runtime, k gpu.Kernel, times int) {
	t.Helper()
	const n = 70_001
	m := alloc(t, r, 4*n)
	must(t, r.Zero(m, 0, 4*n))
	for range times {
		must(t, r.Launch(k, [3]int{(n + 255) / 256, 1, 1}, [3]int{256, 1, 1}, m, int64(n)))
	}
	got := make([]float32, n)
	must(t, r.ToHost(unsafe.Slice((*byte)(unsafe.Pointer(&got[0])), 4*n), m, 0))
	for i, v := range got {
		if v != float32(times) {
			t.Fatalf("x[%d] = %v after %d add_one, want %d", i, v, times, times)
		}
	}
}

func TestPTXJIT(t *testing.T) {
	// The path of the embedded PTX and of an NVRTC that does not know the
	// device: PTX for an older architecture, compiled forward by the
	// driver.
	r := newTestRuntime(t)
	nv, err := loadNVRTC()
	if err != nil {
		t.Skipf("no NVRTC: %v", err)
	}
	ptx, err := nv.compile("test.cu", prelude()+testKernels, false, fmt.Sprintf("--gpu-architecture=compute_%d", nv.archs[0]))
	must(t, err)
	t.Logf("PTX: %s", ptxInfo(ptx))
	must(t, r.enter())
	mod, err := r.load(ptx)
	r.exit()
	must(t, err)
	p := &program{rt: r, name: "test", module: mod, origin: "test"}
	defer p.Release()
	checkAddOne(t, r, kernelOf(t, p, "add_one"), 3)
}

func TestEmbeddedPTX(t *testing.T) {
	// The mechanism, on PTX of the test kernels compiled now (the
	// package's PTX may be stale while the kernels change).
	r := newTestRuntime(t)
	nv, err := loadNVRTC()
	if err != nil {
		t.Skipf("no NVRTC to make PTX with: %v", err)
	}
	src := prelude() + testKernels
	ptx, err := nv.compile("test.cu", src, false, fmt.Sprintf("--gpu-architecture=compute_%d", nv.archs[0]))
	must(t, err)
	sum := sha256.Sum256([]byte(src))
	r.embedded = embeddedCode{ptx: bytes.TrimRight(ptx, "\x00"), hash: hex.EncodeToString(sum[:])}
	r.noNVRTC = true
	p, err := r.Compile("test", src)
	must(t, err)
	defer p.Release()
	if o := p.(*program).origin; o != "embedded" {
		t.Fatalf("origin %q, want embedded", o)
	}
	checkAddOne(t, r, kernelOf(t, p, "add_one"), 2)
	if _, err := r.Compile("other", src+"// another source\n"); err == nil || !strings.Contains(err.Error(), "no embedded PTX for this source") {
		t.Errorf("Compile of another source without NVRTC: %v", err)
	}
	if files, _ := filepath.Glob(filepath.Join(r.cacheDir, "*")); len(files) != 0 {
		t.Errorf("the embedded PTX went to the disk cache: %v", files)
	}
}

func TestPackagePTX(t *testing.T) {
	// The package's own PTX, when it is current.
	r := newTestRuntime(t)
	r.noNVRTC = true
	p, err := r.Compile("scbench", gpu.Source(gpu.CUDA))
	if embeddedHash() != gpu.SourceHash(gpu.CUDA) {
		if err == nil || !strings.Contains(err.Error(), "genptx.sh") {
			t.Fatalf("Compile with a stale embedded PTX: %v, want an error saying to regenerate", err)
		}
		t.Skipf("the embedded PTX is stale: %v", err)
	}
	must(t, err)
	defer p.Release()
	if o := p.(*program).origin; o != "embedded" {
		t.Fatalf("origin %q, want embedded", o)
	}
	for _, m := range regexp.MustCompile(`KERNEL\s+(\w+)\s*\(`).FindAllStringSubmatch(gpu.Source(gpu.CUDA), -1) {
		kernelOf(t, p, m[1])
	}
}

// TestGoroutineHopping launches from goroutines that run on different OS
// threads, several of them new ones that never had the context current.
func TestGoroutineHopping(t *testing.T) {
	r := newTestRuntime(t)
	k := kernelOf(t, compileTest(t, r, ""), "add_one")
	const n, rounds = 50_003, 12
	m := alloc(t, r, 4*n)
	must(t, r.Zero(m, 0, 4*n))
	tids := map[int]bool{}
	for i := range rounds {
		var wg sync.WaitGroup
		var err error
		var tid int
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%3 == 0 {
				// Never unlocked: the thread ends with the
				// goroutine, so the next one runs on another.
				runtime.LockOSThread()
			}
			tid = threadID()
			err = r.Launch(k, [3]int{(n + 127) / 128, 1, 1}, [3]int{128, 1, 1}, m, int64(n))
			if err == nil && i%2 == 1 {
				err = r.Sync()
			}
		}()
		wg.Wait()
		must(t, err)
		tids[tid] = true
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	got := make([]float32, n)
	must(t, r.ToHost(unsafe.Slice((*byte)(unsafe.Pointer(&got[0])), 4*n), m, 0))
	for i, v := range got {
		if v != rounds {
			t.Fatalf("x[%d] = %v, want %d", i, v, rounds)
		}
	}
	if len(tids) < 2 {
		t.Errorf("the launches ran on %d OS thread(s); the test needs several", len(tids))
	}
	t.Logf("%d launches on %d OS threads", rounds, len(tids))
}

func TestElapsed(t *testing.T) {
	r := newTestRuntime(t)
	k := kernelOf(t, compileTest(t, r, ""), "add_one")
	const n = 1 << 24
	m := alloc(t, r, 4*n)
	d, err := r.Elapsed(func() error {
		return r.Launch(k, [3]int{n / 256, 1, 1}, [3]int{256, 1, 1}, m, int64(n))
	})
	must(t, err)
	if d <= 0 || d > 10*time.Second {
		t.Errorf("Elapsed = %v", d)
	}
	t.Logf("add_one on %d floats: %v", n, d)
}

func TestGemm64(t *testing.T) {
	r := newTestRuntime(t)
	if err := r.BLAS(); err != nil {
		t.Skipf("no cuBLAS: %v", err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	m, n, k := 37, 29, 53
	for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
		ta, tb := tr[0], tr[1]
		ar, ac := m, k
		if ta {
			ar, ac = k, m
		}
		br, bc := k, n
		if tb {
			br, bc = n, k
		}
		lda, ldb, ldc := ac+3, bc+1, n+2
		a, b, c := make([]float64, ar*lda), make([]float64, br*ldb), make([]float64, m*ldc)
		for _, s := range [][]float64{a, b, c} {
			for i := range s {
				s[i] = rng.NormFloat64()
			}
		}
		alpha, beta := 0.75, -1.5
		want := append([]float64(nil), c...)
		for i := range m {
			for j := range n {
				var s float64
				for l := range k {
					var av, bv float64
					if ta {
						av = a[l*lda+i]
					} else {
						av = a[i*lda+l]
					}
					if tb {
						bv = b[j*ldb+l]
					} else {
						bv = b[l*ldb+j]
					}
					s += av * bv
				}
				want[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
		am, bm, cm := alloc(t, r, int64(8*len(a))), alloc(t, r, int64(8*len(b))), alloc(t, r, int64(8*len(c)))
		must(t, r.ToDevice(am, 0, f64Bytes(a)))
		must(t, r.ToDevice(bm, 0, f64Bytes(b)))
		must(t, r.ToDevice(cm, 0, f64Bytes(c)))
		must(t, r.Gemm64(ta, tb, m, n, k, alpha, am, lda, bm, ldb, beta, cm, ldc))
		got := make([]float64, len(c))
		must(t, r.ToHost(f64Bytes(got), cm, 0))
		for i := range got {
			if math.Abs(got[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
				t.Fatalf("trans %v %v: C[%d] = %v, want %v", ta, tb, i, got[i], want[i])
			}
		}
	}
}

func TestSyrk64(t *testing.T) {
	r := newTestRuntime(t)
	if err := r.BLAS(); err != nil {
		t.Skipf("no cuBLAS: %v", err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	n, k := 41, 67
	lda, ldc := n+3, n+2
	a, c := make([]float64, k*lda), make([]float64, n*ldc)
	for _, s := range [][]float64{a, c} {
		for i := range s {
			s[i] = rng.NormFloat64()
		}
	}
	alpha, beta := 0.5, 1.0
	want := append([]float64(nil), c...)
	for i := range n {
		for j := i; j < n; j++ {
			var s float64
			for l := range k {
				s += a[l*lda+i] * a[l*lda+j]
			}
			want[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
		}
	}
	am, cm := alloc(t, r, int64(8*len(a))), alloc(t, r, int64(8*len(c)))
	must(t, r.ToDevice(am, 0, f64Bytes(a)))
	must(t, r.ToDevice(cm, 0, f64Bytes(c)))
	must(t, r.Syrk64(n, k, alpha, am, lda, beta, cm, ldc))
	got := make([]float64, len(c))
	must(t, r.ToHost(f64Bytes(got), cm, 0))
	for i := range got {
		// The strict lower triangle and the padding are untouched.
		if math.Abs(got[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
			t.Fatalf("C[%d] (row %d, column %d) = %v, want %v", i, i/ldc, i%ldc, got[i], want[i])
		}
	}
}
