package zarr

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/scbench/scbench/anndata/zarr/blosc"
)

// wPython returns Debian's python3 when it can import every module in
// mods, and skips the test otherwise.
func wPython(t testing.TB, mods ...string) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skipf("SKIP: %s not found (apt-get install -y python3-zarr python3-numcodecs python3-anndata)", py)
	}
	cmd := exec.Command(py, "-I", "-c", "import "+strings.Join(mods, ", "))
	cmd.Dir = t.TempDir() // a checkout folder named like a module (sparse/, zarr/) must not shadow it
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("SKIP: %s cannot import %s (apt-get install -y python3-zarr python3-numcodecs python3-anndata): %v\n%s", py, strings.Join(mods, ", "), err, out)
	}
	return py
}

// wRunPython runs script with args and fails the test on error.
func wRunPython(t testing.TB, py, script string, args ...string) string {
	t.Helper()
	cmd := exec.Command(py, append([]string{"-I", "-c", script}, args...)...)
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("python: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// wBloscWorks reports whether package blosc can encode yet.
func wBloscWorks() bool {
	_, err := blosc.Encode([]byte("probe probe probe"), blosc.Options{Compressor: "lz4", Level: 5, Shuffle: blosc.ByteShuffle, TypeSize: 1})
	return err == nil
}

// wCompressors returns the compressors to test: none, zstd and, once
// package blosc encodes, blosc with several codecs and shuffles.
func wCompressors(t testing.TB) []Compressor {
	cs := []Compressor{{}, {ID: "zstd", Level: 1}, {ID: "zstd", Level: 7}}
	if wBloscWorks() {
		cs = append(cs,
			Compressor{ID: "blosc", CName: "lz4", CLevel: 5, Shuffle: 1},
			Compressor{ID: "blosc", CName: "zstd", CLevel: 3, Shuffle: 2},
			Compressor{ID: "blosc", CName: "lz4hc", CLevel: 9, Shuffle: 0},
			Compressor{ID: "blosc", CName: "zlib", CLevel: 1, Shuffle: 1},
			Compressor{ID: "blosc", CName: "blosclz", CLevel: 5, Shuffle: 1},
			Compressor{ID: "blosc", CName: "snappy", CLevel: 5, Shuffle: 1},
		)
	} else {
		t.Log("package blosc cannot encode yet: blosc compressors not tested")
	}
	return cs
}

// wRandomRaw returns n random little-endian elements of dtype, with runs
// of repeated values so that compressors find something to do.
func wRandomRaw(rng *rand.Rand, dtype string, n int64) []byte {
	size, err := writeItemSize(dtype)
	if err != nil {
		panic(err)
	}
	raw := make([]byte, int(n)*size)
	for i := int64(0); i < n; i++ {
		b := raw[int(i)*size:]
		if i > 0 && rng.IntN(3) == 0 {
			copy(b[:size], raw[int(i-1)*size:int(i)*size])
			continue
		}
		switch dtype {
		case "<f4":
			binary.LittleEndian.PutUint32(b, math.Float32bits(float32(rng.NormFloat64()*100)))
		case "<f8":
			binary.LittleEndian.PutUint64(b, math.Float64bits(rng.NormFloat64()*1e6))
		case "|b1":
			b[0] = byte(rng.IntN(2))
		default: // integers: any bit pattern is a valid value
			for j := range size {
				b[j] = byte(rng.Uint32())
			}
		}
	}
	return raw
}

// wArrayCase is one array the interop test writes and Python reads back.
type wArrayCase struct {
	Path  string
	DType string
	Shape []int64
	raw   []byte
	strs  []string
	attrs bool // written with {"case": Path}
}

func TestWriteInteropPython(t *testing.T) {
	py := wPython(t, "zarr", "numcodecs", "numpy")
	rng := rand.New(rand.NewPCG(1, 2))
	root := filepath.Join(t.TempDir(), "store.zarr")
	if err := CreateGroup(root, map[string]any{"encoding-type": "anndata", "note": "<ünïcode & html 😀>"}); err != nil {
		t.Fatal(err)
	}
	var cases []wArrayCase
	shapes := []struct{ shape, chunks []int64 }{
		{[]int64{}, []int64{}},
		{[]int64{0}, []int64{5}},
		{[]int64{1}, []int64{1}},
		{[]int64{37}, []int64{10}},
		{[]int64{3}, []int64{1000}},
		{[]int64{13, 7}, []int64{5, 3}},
		{[]int64{9, 4}, []int64{9, 4}},
		{[]int64{4, 5, 6}, []int64{3, 2, 4}},
	}
	dtypes := []string{"<f4", "<f8", "<i4", "<i8", "|i1", "<i2", "<u2", "|u1", "<u8", "|b1"}
	for ci, comp := range wCompressors(t) {
		for si, s := range shapes {
			dtype := dtypes[(ci*len(shapes)+si)%len(dtypes)]
			n := int64(1)
			for _, x := range s.shape {
				n *= x
			}
			c := wArrayCase{Path: fmt.Sprintf("c%d/a%d", ci, si), DType: dtype, Shape: s.shape, raw: wRandomRaw(rng, dtype, n), attrs: true}
			err := WriteArray(filepath.Join(root, c.Path), ArraySpec{
				Shape: s.shape, ChunkShape: s.chunks, DType: dtype, Compressor: comp,
				Attrs: map[string]any{"case": c.Path, "compressor": comp.String()},
			}, c.raw, 3)
			if err != nil {
				t.Fatal(err)
			}
			cases = append(cases, c)
		}
		if err := CreateGroup(filepath.Join(root, fmt.Sprintf("c%d", ci)), nil); err != nil {
			t.Fatal(err)
		}

		// An appended array: chunks written out of order from two
		// goroutines, final length set by Resize.
		const chunk, total = 16, 71
		raw := wRandomRaw(rng, "<i8", total)
		app := wArrayCase{Path: fmt.Sprintf("c%d/appended", ci), DType: "<i8", Shape: []int64{total}, raw: raw}
		aw, err := CreateArray(filepath.Join(root, app.Path), ArraySpec{Shape: []int64{0}, ChunkShape: []int64{chunk}, DType: "<i8", Compressor: comp})
		if err != nil {
			t.Fatal(err)
		}
		padded := append(append([]byte{}, raw...), make([]byte, 8*(5*chunk-total))...)
		errc := make(chan error, 5)
		for _, k := range []int64{4, 1, 3, 0, 2} {
			go func() { errc <- aw.WriteChunk([]int64{k}, padded[k*chunk*8:(k+1)*chunk*8]) }()
		}
		for range 5 {
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		}
		if err := aw.Resize([]int64{total}); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, app)

		// Strings, several chunks with a padded last one, and none.
		strs := make([]string, 23)
		for i := range strs {
			switch i % 4 {
			case 0:
				strs[i] = ""
			case 1:
				strs[i] = fmt.Sprintf("cell-%d-ü€😀", rng.IntN(1000))
			default:
				strs[i] = strings.Repeat("ACGT", rng.IntN(5)) + fmt.Sprint(i)
			}
		}
		for j, v := range [][]string{strs, nil, {"one"}} {
			sc := wArrayCase{Path: fmt.Sprintf("c%d/s%d", ci, j), DType: "|O", Shape: []int64{int64(len(v))}, strs: v}
			if err := WriteStringsWith(filepath.Join(root, sc.Path), v, ArraySpec{ChunkShape: []int64{7}, Compressor: comp, Attrs: map[string]any{"encoding-type": "string-array"}}); err != nil {
				t.Fatal(err)
			}
			cases = append(cases, sc)
		}
	}
	if wBloscWorks() {
		sc := wArrayCase{Path: "default-strings", DType: "|O", Shape: []int64{3}, strs: []string{"a", "", "ccc"}}
		if err := WriteStrings(filepath.Join(root, sc.Path), sc.strs, nil); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, sc)
	}
	if err := WriteConsolidated(root); err != nil {
		t.Fatal(err)
	}
	manifest, _ := json.Marshal(cases)
	out := t.TempDir()
	// Python opens the store through .zmetadata only, so a missing or wrong
	// entry there fails too.
	wRunPython(t, py, `
import json, sys, zarr, numpy as np
root, out, cases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
g = zarr.open_consolidated(root, mode="r")
assert g.attrs["note"] == "<ünïcode & html 😀>", dict(g.attrs)
for i, c in enumerate(cases):
    a = g[c["Path"]]
    v = a[...]
    info = {"shape": list(a.shape), "dtype": a.dtype.str, "attrs": dict(a.attrs)}
    if a.dtype == object:
        info["strings"] = [str(s) for s in v.reshape(-1)]
    else:
        open(f"{out}/{i}.bin", "wb").write(np.ascontiguousarray(v).tobytes())
    json.dump(info, open(f"{out}/{i}.json", "w"))
`, root, out, string(manifest))
	for i, c := range cases {
		var info struct {
			Shape   []int64
			DType   string
			Attrs   map[string]any
			Strings []string
		}
		b, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("%d.json", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &info); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(info.Shape) != fmt.Sprint(c.Shape) || info.DType != c.DType {
			t.Errorf("%s: python sees shape %v dtype %s, wrote %v %s", c.Path, info.Shape, info.DType, c.Shape, c.DType)
		}
		if c.DType == "|O" {
			if len(info.Strings) != len(c.strs) {
				t.Errorf("%s: python reads %d strings, wrote %d", c.Path, len(info.Strings), len(c.strs))
				continue
			}
			for k := range c.strs {
				if info.Strings[k] != c.strs[k] {
					t.Errorf("%s[%d]: python reads %q, wrote %q", c.Path, k, info.Strings[k], c.strs[k])
				}
			}
			continue
		}
		got, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("%d.bin", i)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, c.raw) {
			t.Errorf("%s: python reads %d bytes that differ from the %d written", c.Path, len(got), len(c.raw))
		}
		if c.attrs && info.Attrs["case"] != c.Path {
			t.Errorf("%s: attrs %v", c.Path, info.Attrs)
		}
	}
}

// TestWriteCut compares writeCut with a per-element reference on arrays of
// awkward shapes.
func TestWriteCut(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 40 {
		nd := 1 + trial%4
		shape, cs := make([]int64, nd), make([]int64, nd)
		n := int64(1)
		for d := range nd {
			shape[d] = int64(rng.IntN(7))
			cs[d] = 1 + int64(rng.IntN(5))
			n *= shape[d]
		}
		w := &ArrayWriter{}
		if err := w.init(ArraySpec{Shape: shape, ChunkShape: cs, DType: "<i2"}); err != nil {
			t.Fatal(err)
		}
		src := wRandomRaw(rng, "<i2", n)
		grid := make([]int64, nd)
		for d := range nd {
			grid[d] = (shape[d] + cs[d] - 1) / cs[d]
		}
		idx := make([]int64, nd)
		for {
			if n == 0 {
				break
			}
			dst := bytes.Repeat([]byte{0xAA}, w.chunkBytes)
			w.writeCut(dst, src, idx)
			// Reference: visit every element of the chunk.
			per := w.chunkBytes / 2
			for e := range per {
				pos, g, off, inside := e, make([]int64, nd), int64(0), true
				for d := nd - 1; d >= 0; d-- {
					g[d] = idx[d]*cs[d] + int64(pos)%cs[d]
					pos /= int(cs[d])
				}
				for d := range nd {
					if g[d] >= shape[d] {
						inside = false
					}
					off = off*shape[d] + g[d]
				}
				want := []byte{0, 0}
				if inside {
					want = src[2*off : 2*off+2]
				}
				if !bytes.Equal(dst[2*e:2*e+2], want) {
					t.Fatalf("shape %v chunks %v chunk %v element %d: got %v want %v", shape, cs, idx, e, dst[2*e:2*e+2], want)
				}
			}
			d := nd - 1
			for ; d >= 0; d-- {
				idx[d]++
				if idx[d] < grid[d] {
					break
				}
				idx[d] = 0
			}
			if d < 0 {
				break
			}
		}
	}
}

// TestWriteMetadata checks .zarray, .zattrs, chunk keys and the VLenUTF8
// bytes against the zarr 2 spec and numcodecs' format, without Python.
func TestWriteMetadata(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "arr")
	w, err := CreateArray(dir, ArraySpec{
		Shape: []int64{5, 3}, ChunkShape: []int64{2, 3}, DType: "<f4",
		Compressor: Compressor{ID: "zstd", Level: 5}, FillValue: math.NaN(),
		Attrs: map[string]any{"encoding-type": "array"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, ".zarray"))
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	want := `map[chunks:[2 3] compressor:map[id:zstd level:5] dtype:<f4 fill_value:NaN filters:<nil> order:C shape:[5 3] zarr_format:2]`
	if got := fmt.Sprint(meta); got != want {
		t.Errorf(".zarray\n got %s\nwant %s", got, want)
	}
	if !bytes.Contains(b, []byte(`"<f4"`)) {
		t.Errorf(".zarray escapes the dtype: %s", b)
	}
	raw := wRandomRaw(rand.New(rand.NewPCG(5, 6)), "<f4", 6)
	if err := w.WriteChunk([]int64{2, 0}, raw); err != nil {
		t.Fatal(err)
	}
	comp, err := os.ReadFile(filepath.Join(dir, "2.0"))
	if err != nil {
		t.Fatal(err)
	}
	dec, _ := zstd.NewReader(nil)
	defer dec.Close()
	got, err := dec.DecodeAll(comp, nil)
	if err != nil || !bytes.Equal(got, raw) {
		t.Errorf("chunk 2.0 does not decode to what was written: %v", err)
	}
	var fh zstd.Header
	if err := fh.Decode(comp); err != nil || !fh.HasFCS || fh.FrameContentSize != uint64(len(raw)) {
		t.Errorf("zstd frame header %+v (%v): numcodecs needs the content size %d", fh, err, len(raw))
	}
	// Every size, up to past klauspost's 8 MiB window, must record it.
	for _, n := range []int{0, 1, 255, 256, 1023, 1024, 70000, 9 << 20} {
		src := bytes.Repeat([]byte{1, 2, 3, 5, 8}, n/5+1)[:n]
		comp, err := Compressor{ID: "zstd", Level: 3}.Encode(src, 1)
		if err != nil {
			t.Fatal(err)
		}
		var fh zstd.Header
		if err := fh.Decode(comp); err != nil || (!fh.HasFCS && n > 0) || fh.FrameContentSize != uint64(n) {
			t.Errorf("zstd frame of %d bytes: header %+v (%v) lacks the content size", n, fh, err)
		}
		if got, err := dec.DecodeAll(comp, nil); err != nil || !bytes.Equal(got, src) {
			t.Errorf("zstd frame of %d bytes does not decode: %v", n, err)
		}
	}
	if err := w.WriteChunk([]int64{0, 0}, raw[:20]); err == nil || !strings.Contains(err.Error(), "20 bytes, want 24") {
		t.Errorf("short chunk: err = %v", err)
	}
	if err := w.WriteChunk([]int64{0}, raw); err == nil {
		t.Error("chunk index of the wrong rank: no error")
	}
	if err := w.Resize([]int64{9, 3}); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(filepath.Join(dir, ".zarray"))
	if err := json.Unmarshal(b, &meta); err != nil || fmt.Sprint(meta["shape"]) != "[9 3]" {
		t.Errorf("after Resize: shape %v (%v)", meta["shape"], err)
	}

	// numcodecs VLenUTF8 of ["ab", "", "€"] in chunks of 2: [2]["ab"][""]
	// then [2]["€"][""] (padding).
	sdir := filepath.Join(t.TempDir(), "s")
	if err := WriteStringsWith(sdir, []string{"ab", "", "€"}, ArraySpec{ChunkShape: []int64{2}}); err != nil {
		t.Fatal(err)
	}
	c0, _ := os.ReadFile(filepath.Join(sdir, "0"))
	c1, _ := os.ReadFile(filepath.Join(sdir, "1"))
	if w0 := []byte{2, 0, 0, 0, 2, 0, 0, 0, 'a', 'b', 0, 0, 0, 0}; !bytes.Equal(c0, w0) {
		t.Errorf("chunk 0 = %v, want %v", c0, w0)
	}
	if w1 := []byte{2, 0, 0, 0, 3, 0, 0, 0, 0xe2, 0x82, 0xac, 0, 0, 0, 0}; !bytes.Equal(c1, w1) {
		t.Errorf("chunk 1 = %v, want %v", c1, w1)
	}
	if err := WriteStrings(filepath.Join(t.TempDir(), "bad"), []string{"ok", "\xff"}, nil); err == nil || !strings.Contains(err.Error(), "string 1") {
		t.Errorf("invalid UTF-8: err = %v", err)
	}

	if err := WriteConsolidated(filepath.Dir(dir)); err != nil {
		t.Fatal(err)
	}
	var cons struct {
		Metadata map[string]json.RawMessage
		Format   int `json:"zarr_consolidated_format"`
	}
	b, _ = os.ReadFile(filepath.Join(filepath.Dir(dir), ".zmetadata"))
	if err := json.Unmarshal(b, &cons); err != nil {
		t.Fatal(err)
	}
	if cons.Format != 1 || len(cons.Metadata) != 2 || cons.Metadata["arr/.zarray"] == nil || cons.Metadata["arr/.zattrs"] == nil {
		t.Errorf(".zmetadata: format %d, keys %d: %s", cons.Format, len(cons.Metadata), b)
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	bad := []ArraySpec{
		{Shape: []int64{3}, ChunkShape: []int64{0}, DType: "<f4"},
		{Shape: []int64{3}, ChunkShape: []int64{1, 1}, DType: "<f4"},
		{Shape: []int64{-1}, ChunkShape: []int64{1}, DType: "<f4"},
		{Shape: []int64{3}, ChunkShape: []int64{3}, DType: ">f4"},
		{Shape: []int64{3}, ChunkShape: []int64{3}, DType: "<f3"},
		{Shape: []int64{3}, ChunkShape: []int64{3}, DType: "<f4", Compressor: Compressor{ID: "lzma"}},
		{Shape: []int64{3}, ChunkShape: []int64{3}, DType: "<f4", Compressor: Compressor{ID: "blosc", CName: "brotli"}},
		{Shape: []int64{3}, ChunkShape: []int64{3}, DType: "<f4", Compressor: Compressor{ID: "zstd", Level: 40}},
		{Shape: []int64{1 << 20}, ChunkShape: []int64{1 << 30}, DType: "<f8"},
	}
	for i, s := range bad {
		if _, err := CreateArray(filepath.Join(dir, fmt.Sprint(i)), s); err == nil {
			t.Errorf("spec %d (%+v): no error", i, s)
		}
	}
	if err := WriteArray(filepath.Join(dir, "short"), ArraySpec{Shape: []int64{4}, ChunkShape: []int64{2}, DType: "<i4"}, make([]byte, 12), 0); err == nil {
		t.Error("WriteArray with too few bytes: no error")
	}
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() != 0 { // root writes anywhere
		if err := CreateGroup(filepath.Join(ro, "g"), nil); err == nil {
			t.Error("group in a read-only directory: no error")
		}
	}
	if err := WriteConsolidated(filepath.Join(dir, "missing")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("consolidating a missing store: err = %v", err)
	}
}

func BenchmarkWriteChunk(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	const n = 1 << 20
	// Sparse-count-like data: small integers as float32.
	raw := make([]byte, 4*n)
	for i := range n {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(rng.IntN(4)+rng.IntN(2)*rng.IntN(50))))
	}
	comps := []Compressor{{}, {ID: "zstd", Level: 1}, {ID: "zstd", Level: 3}}
	if wBloscWorks() {
		comps = append(comps, Compressor{ID: "blosc", CName: "lz4", CLevel: 5, Shuffle: 1}, Compressor{ID: "blosc", CName: "zstd", CLevel: 5, Shuffle: 1})
	}
	for _, c := range comps {
		b.Run(c.String(), func(b *testing.B) {
			w, err := CreateArray(filepath.Join(b.TempDir(), "a"), ArraySpec{Shape: []int64{n}, ChunkShape: []int64{n}, DType: "<f4", Compressor: c})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(raw)))
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := w.WriteChunk([]int64{next.Add(1)}, raw); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// TestWriteRoundTripGo reads what the writer wrote with this package's own
// reader (through .zmetadata), for every compressor and awkward shapes.
func TestWriteRoundTripGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	root := filepath.Join(t.TempDir(), "rt.zarr")
	if err := CreateGroup(root, map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	type rt struct {
		path  string
		dtype string
		shape []int64
		raw   []byte
		strs  []string
	}
	var cases []rt
	for ci, comp := range wCompressors(t) {
		for di, dtype := range []string{"<f4", "<f8", "<i4", "<i8", "|b1"} {
			shape := [][]int64{{0}, {1}, {101}, {11, 6}, {}}[(ci+di)%5]
			chunks := [][]int64{{3}, {1}, {17}, {4, 5}, {}}[(ci+di)%5]
			n := int64(1)
			for _, s := range shape {
				n *= s
			}
			c := rt{path: fmt.Sprintf("c%d/%d", ci, di), dtype: dtype, shape: shape, raw: wRandomRaw(rng, dtype, n)}
			if err := WriteArray(filepath.Join(root, c.path), ArraySpec{Shape: shape, ChunkShape: chunks, DType: dtype, Compressor: comp}, c.raw, 2); err != nil {
				t.Fatal(err)
			}
			cases = append(cases, c)
		}
		strs := []string{"", "a", "ünï€😀", strings.Repeat("z", 300), "tail"}
		c := rt{path: fmt.Sprintf("c%d/strings", ci), dtype: "|O", shape: []int64{5}, strs: strs}
		if err := WriteStringsWith(filepath.Join(root, c.path), strs, ArraySpec{ChunkShape: []int64{2}, Compressor: comp}); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c)
		if err := CreateGroup(filepath.Join(root, fmt.Sprintf("c%d", ci)), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteConsolidated(root); err != nil {
		t.Fatal(err)
	}
	g, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		a, err := g.Array(c.path)
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		if fmt.Sprint(a.Shape) != fmt.Sprint(c.shape) || a.DType.String() != c.dtype {
			t.Errorf("%s: read as %s %v, wrote %s %v", c.path, a.DType, a.Shape, c.dtype, c.shape)
			continue
		}
		if c.dtype == "|O" {
			got, err := a.ReadStrings()
			if err != nil || fmt.Sprintf("%q", got) != fmt.Sprintf("%q", c.strs) {
				t.Errorf("%s: read %q (%v), wrote %q", c.path, got, err, c.strs)
			}
			continue
		}
		n := int64(1)
		for _, s := range c.shape {
			n *= s
		}
		var dst any
		switch c.dtype {
		case "<f4":
			dst = make([]float32, n)
		case "<f8":
			dst = make([]float64, n)
		case "<i4":
			dst = make([]int32, n)
		case "<i8":
			dst = make([]int64, n)
		case "|b1":
			dst = make([]bool, n)
		}
		if err := a.ReadAll(dst); err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		var got bytes.Buffer
		binary.Write(&got, binary.LittleEndian, dst)
		if !bytes.Equal(got.Bytes(), c.raw) {
			t.Errorf("%s (%s, shape %v): values read differ from those written", c.path, c.dtype, c.shape)
		}
	}
}
