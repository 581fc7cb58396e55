package zarr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// rCheckRange reads [lo, hi) of a 1-D array into every destination type and
// compares with want (the expected values of that range).
func rCheckRange(t *testing.T, a *Array, lo, hi int64, want []float64, integral bool) {
	t.Helper()
	f64 := make([]float64, hi-lo)
	if err := a.ReadRange(lo, hi, f64); err != nil {
		t.Fatalf("%s: ReadRange(%d, %d) into []float64: %v", a.Name, lo, hi, err)
	}
	f32 := make([]float32, hi-lo+3) // longer than needed is fine
	if err := a.ReadRange(lo, hi, f32); err != nil {
		t.Fatalf("%s: ReadRange(%d, %d) into []float32: %v", a.Name, lo, hi, err)
	}
	i64 := make([]int64, hi-lo)
	i32 := make([]int32, hi-lo)
	erri64, erri32 := a.ReadRange(lo, hi, i64), a.ReadRange(lo, hi, i32)
	hasFrac := false
	for i, w := range want {
		if f64[i] != w && !(math.IsNaN(w) && math.IsNaN(f64[i])) {
			t.Fatalf("%s [%d, %d): element %d = %v, want %v", a.Name, lo, hi, lo+int64(i), f64[i], w)
		}
		if f32[i] != float32(w) && !math.IsNaN(w) {
			t.Fatalf("%s [%d, %d): float32 element %d = %v, want %v", a.Name, lo, hi, lo+int64(i), f32[i], float32(w))
		}
		hasFrac = hasFrac || w != math.Trunc(w)
	}
	if integral || !hasFrac {
		if erri64 != nil || erri32 != nil {
			t.Fatalf("%s: integer reads failed: %v, %v", a.Name, erri64, erri32)
		}
		for i, w := range want {
			if i64[i] != int64(w) || i32[i] != int32(w) {
				t.Fatalf("%s: integer element %d = %d/%d, want %v", a.Name, lo+int64(i), i64[i], i32[i], w)
			}
		}
	} else if erri64 == nil || erri32 == nil {
		t.Fatalf("%s: reading fractional values into integers did not fail", a.Name)
	}
}

func TestReadV2DTypesAndCodecs(t *testing.T) {
	dtypes := []string{"<f4", "<f8", "<i4", "<i8", "<u2", "<u4", "|u1", "|b1", "<i2", "|i1", "<u8", ">f8", ">f4", ">i4", ">i8", ">u2", ">u8"}
	codecs := []string{"", "gzip", "zlib", "zstd", "lz4"}
	rng := rand.New(rand.NewPCG(1, 2))
	root := t.TempDir()
	rGroupV2(t, root, nil)
	const n = 1003
	for i, dt := range dtypes {
		comp := codecs[i%len(codecs)]
		for _, comp := range []string{comp, codecs[(i+2)%len(codecs)]} {
			name := fmt.Sprintf("a%d_%s", i, comp)
			vals := rValues(rng, dt, n)
			fill := 7.0
			if dt == "|b1" {
				fill = 1
			}
			skipped := func(g []int64) bool { return g[0] == 3 || g[0] == 10 }
			rWriteV2(t, filepath.Join(root, name), rV2{shape: []int64{n}, chunks: []int64{97}, dtype: dt, order: "C", compressor: comp, fill: fill, skip: skipped}, rBytes(vals, dt))
			want := append([]float64(nil), vals...)
			for j := range want {
				if skipped([]int64{int64(j) / 97}) {
					want[j] = fill
				}
			}
			g, err := Open(root)
			if err != nil {
				t.Fatal(err)
			}
			a, err := g.Array(name)
			if err != nil {
				t.Fatal(err)
			}
			if a.DType.String() != strings.Replace(dt, ">u1", "|u1", 1) {
				t.Errorf("%s: dtype %s, want %s", name, a.DType, dt)
			}
			if a.NumChunks() != 11 {
				t.Errorf("%s: %d chunks, want 11", name, a.NumChunks())
			}
			integral := dt[1] != 'f'
			rCheckRange(t, a, 0, n, want, integral)
			for range 20 {
				lo := rng.Int64N(n)
				hi := lo + rng.Int64N(n-lo+1)
				rCheckRange(t, a, lo, hi, want[lo:hi], integral)
			}
		}
	}
}

func TestReadNDOrders(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	shape, chunks := []int64{13, 7, 5}, []int64{4, 3, 2}
	total := int64(13 * 7 * 5)
	root := t.TempDir()
	rGroupV2(t, root, nil)
	type tc struct {
		name, dtype, order, sep string
	}
	cases := []tc{{"c8", "<f8", "C", ""}, {"f8", "<f8", "F", "/"}, {"fbe", ">i2", "F", ""}, {"cbe", ">f4", "C", "/"}}
	want := map[string][]float64{}
	for _, c := range cases {
		vals := rValues(rng, c.dtype, total)
		want[c.name] = vals
		rWriteV2(t, filepath.Join(root, c.name), rV2{shape: shape, chunks: chunks, dtype: c.dtype, order: c.order, compressor: "zlib", sep: c.sep, fill: 0}, rBytes(vals, c.dtype))
	}
	root3 := t.TempDir()
	rGroupV3(t, root3, nil)
	for _, tr := range [][]int{nil, {2, 0, 1}, {1, 2, 0}} {
		name := fmt.Sprintf("t%v", tr)
		vals := rValues(rng, ">f8", total)
		want["v3"+name] = vals
		rWriteV3(t, filepath.Join(root3, name), rV3{shape: shape, chunks: chunks, dtype: ">f8", dataType: "float64", transpose: tr, compress: []string{"zstd", "crc32c"}, fill: 0}, rBytes(vals, ">f8"))
		name += "s"
		want["v3"+name] = vals
		rWriteV3(t, filepath.Join(root3, name), rV3{shape: shape, chunks: []int64{8, 6, 4}, inner: chunks, dtype: ">f8", dataType: "float64", transpose: tr, compress: []string{"gzip"}, fill: 0}, rBytes(vals, ">f8"))
	}
	check := func(g *Group, name string, vals []float64) {
		a, err := g.Array(name)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float64, total)
		if err := a.ReadAll(got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := range got {
			if got[i] != vals[i] {
				t.Fatalf("%s (%s): element %d = %v, want %v", name, a.CodecSummary(), i, got[i], vals[i])
			}
		}
		row := int64(7 * 5)
		for _, r := range [][2]int64{{3, 11}, {0, 1}, {12, 13}, {5, 5}, {4, 8}} {
			got := make([]float32, (r[1]-r[0])*row)
			if err := a.ReadRange(r[0], r[1], got); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if w := float32(vals[r[0]*row+int64(i)]); got[i] != w {
					t.Fatalf("%s rows %v: element %d = %v, want %v", name, r, i, got[i], w)
				}
			}
		}
	}
	g, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		check(g, c.name, want[c.name])
	}
	g3, err := Open(root3)
	if err != nil {
		t.Fatal(err)
	}
	for name, vals := range want {
		if strings.HasPrefix(name, "v3") {
			check(g3, name[2:], vals)
		}
	}
}

func TestReadV3ChainsAndSharding(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	root := t.TempDir()
	rGroupV3(t, root, map[string]any{"encoding-type": "test"})
	const n = 10007
	type tc struct {
		name string
		a    rV3
	}
	cases := []tc{
		{"plain", rV3{chunks: []int64{1000}, dtype: "<i4", dataType: "int32"}},
		{"gz", rV3{chunks: []int64{999}, dtype: "<f4", dataType: "float32", compress: []string{"gzip"}}},
		{"zcrc", rV3{chunks: []int64{4096}, dtype: ">i8", dataType: "int64", compress: []string{"zstd", "crc32c"}}},
		{"dotkeys", rV3{chunks: []int64{3000}, dtype: "<u2", dataType: "uint16", sep: ".", compress: []string{"crc32c"}}},
		{"v2keys", rV3{chunks: []int64{3000}, dtype: "<f8", dataType: "float64", keyEncoding: "v2"}},
		{"sharded", rV3{chunks: []int64{4000}, inner: []int64{500}, dtype: "<f4", dataType: "float32", compress: []string{"gzip"}}},
		{"shardstart", rV3{chunks: []int64{4000}, inner: []int64{1000}, dtype: "<i4", dataType: "int32", indexStart: true, compress: []string{"zstd"}}},
		{"shardholes", rV3{chunks: []int64{2000}, inner: []int64{250}, dtype: "<i8", dataType: "int64", fill: 9,
			skipInner: func(s []int64, l int64) bool { return l%3 == 1 },
			skip:      func(g []int64) bool { return g[0] == 2 }}},
		{"holes", rV3{chunks: []int64{777}, dtype: "|u1", dataType: "uint8", fill: 3, skip: func(g []int64) bool { return g[0]%4 == 0 }}},
	}
	want := map[string][]float64{}
	for _, c := range cases {
		c.a.shape = []int64{n}
		vals := rValues(rng, c.a.dtype, n)
		rWriteV3(t, filepath.Join(root, c.name), c.a, rBytes(vals, c.a.dtype))
		w := append([]float64(nil), vals...)
		fill := 0.0
		if f, ok := c.a.fill.(int); ok {
			fill = float64(f)
		}
		for i := range w {
			if c.a.inner == nil {
				if c.a.skip != nil && c.a.skip([]int64{int64(i) / c.a.chunks[0]}) {
					w[i] = fill
				}
				continue
			}
			s := int64(i) / c.a.chunks[0]
			l := (int64(i) % c.a.chunks[0]) / c.a.inner[0]
			if (c.a.skip != nil && c.a.skip([]int64{s})) || (c.a.skipInner != nil && c.a.skipInner([]int64{s}, l)) {
				w[i] = fill
			}
		}
		want[c.name] = w
	}
	g, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if g.Format() != 3 || g.Attrs()["encoding-type"] != "test" {
		t.Fatalf("format %d attrs %v", g.Format(), g.Attrs())
	}
	for _, c := range cases {
		a, err := g.Array(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if a.Attrs["k"] != "v" {
			t.Errorf("%s: attrs %v", c.name, a.Attrs)
		}
		wantChunks := (n + c.a.chunks[0] - 1) / c.a.chunks[0]
		if c.a.inner != nil {
			wantChunks = (n + c.a.inner[0] - 1) / c.a.inner[0]
			if !strings.HasPrefix(a.CodecSummary(), "sharding_indexed[") {
				t.Errorf("%s: summary %q", c.name, a.CodecSummary())
			}
		}
		if int64(a.NumChunks()) != wantChunks {
			t.Errorf("%s: NumChunks %d, want %d", c.name, a.NumChunks(), wantChunks)
		}
		rCheckRange(t, a, 0, n, want[c.name], c.a.dtype[1] != 'f')
		for range 30 {
			lo := rng.Int64N(n)
			hi := lo + rng.Int64N(min(n-lo, 3000)+1)
			rCheckRange(t, a, lo, hi, want[c.name][lo:hi], c.a.dtype[1] != 'f')
		}
		// Chunk by chunk, as the AnnData layer reads.
		got := make([]float64, n)
		for i := range a.NumChunks() {
			lo, hi := a.ChunkRange(i)
			if err := a.ReadRange(lo, hi, got[lo:hi]); err != nil {
				t.Fatal(err)
			}
		}
		for i := range got {
			if got[i] != want[c.name][i] {
				t.Fatalf("%s chunkwise: element %d = %v, want %v", c.name, i, got[i], want[c.name][i])
			}
		}
	}
}

// A damaged inner chunk must not matter to reads that do not touch it:
// proof that only the needed byte ranges of a shard are decoded.
func TestShardReadsOnlyNeededInnerChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	root := t.TempDir()
	rGroupV3(t, root, nil)
	vals := rValues(rng, "<f4", 4000)
	rWriteV3(t, filepath.Join(root, "s"), rV3{shape: []int64{4000}, chunks: []int64{4000}, inner: []int64{1000}, dtype: "<f4", dataType: "float32", compress: []string{"gzip"}}, rBytes(vals, "<f4"))
	shard := filepath.Join(root, "s", "c", "0")
	b, err := os.ReadFile(shard)
	if err != nil {
		t.Fatal(err)
	}
	for i := 20; i < 40; i++ { // inside inner chunk 0's gzip stream
		b[i] ^= 0x5a
	}
	rWrite(t, shard, b)
	g, _ := Open(root)
	a, err := g.Array("s")
	if err != nil {
		t.Fatal(err)
	}
	rCheckRange(t, a, 1500, 3999, vals[1500:3999], false)
	err = a.ReadRange(0, 10, make([]float32, 10))
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "inner chunk 0") {
		t.Fatalf("damaged inner chunk: err = %v, want ErrCorrupt naming inner chunk 0", err)
	}
	// A damaged index fails its checksum.
	b[len(b)-10] ^= 1
	rWrite(t, shard, b)
	g, _ = Open(root)
	a, _ = g.Array("s")
	if err := a.ReadRange(1500, 1600, make([]float32, 100)); !errors.Is(err, ErrChecksum) {
		t.Fatalf("damaged shard index: err = %v, want ErrChecksum", err)
	}
	// A shard cut short.
	rWrite(t, shard, b[:10])
	g, _ = Open(root)
	a, _ = g.Array("s")
	if err := a.ReadRange(1500, 1600, make([]float32, 100)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("truncated shard: err = %v", err)
	}
}

func rVLen(strs []string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(strs)))
	for _, s := range strs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

func TestReadStrings(t *testing.T) {
	words := []string{"", "a", "gène", "細胞", "CD8A", "x y", strings.Repeat("long", 40), "AAACCTGAGATAGGAG-1"}
	rng := rand.New(rand.NewPCG(9, 10))
	strs := make([]string, 23)
	for i := range strs {
		strs[i] = words[rng.IntN(len(words))] + fmt.Sprint(i)
	}
	root := t.TempDir()
	rGroupV2(t, root, nil)
	// v2 object array, gzip, chunk 5: a padded edge chunk, a clipped one is
	// tested below, chunk 2 missing (fill "").
	dir := filepath.Join(root, "obj")
	rJSON(t, filepath.Join(dir, ".zarray"), map[string]any{"zarr_format": 2, "shape": []int{23}, "chunks": []int{5}, "dtype": "|O",
		"compressor": map[string]any{"id": "gzip", "level": 1}, "fill_value": 0, "order": "C", "filters": []any{map[string]any{"id": "vlen-utf8"}}})
	want := append([]string(nil), strs...)
	for c := 0; c < 5; c++ {
		if c == 2 {
			for i := 10; i < 15; i++ {
				want[i] = ""
			}
			continue
		}
		chunk := make([]string, 5)
		copy(chunk, strs[c*5:min(23, c*5+5)])
		if c == 4 {
			chunk = chunk[:3] // clipped edge chunk
		}
		rWrite(t, filepath.Join(dir, fmt.Sprint(c)), rEncode(t, "gzip", rVLen(chunk)))
	}
	root3 := t.TempDir()
	rGroupV3(t, root3, nil)
	dir3 := filepath.Join(root3, "s")
	rJSON(t, filepath.Join(dir3, "zarr.json"), map[string]any{"zarr_format": 3, "node_type": "array", "shape": []int{23}, "data_type": "string",
		"chunk_grid": map[string]any{"name": "regular", "configuration": map[string]any{"chunk_shape": []int{10}}},
		"codecs":     []any{map[string]any{"name": "vlen-utf8", "configuration": map[string]any{}}, map[string]any{"name": "zstd", "configuration": map[string]any{"level": 3}}},
		"fill_value": "", "chunk_key_encoding": map[string]any{"name": "default"}})
	for c := 0; c < 3; c++ {
		chunk := make([]string, 10)
		copy(chunk, strs[c*10:min(23, c*10+10)])
		rWrite(t, filepath.Join(dir3, "c", fmt.Sprint(c)), rEncode(t, "zstd", rVLen(chunk)))
	}
	// Fixed-width |S and <U / >U.
	fixed := []string{"ab", "", "xyz", "q"}
	sb := []byte("ab\x00\x00" + "\x00\x00\x00\x00" + "xyz\x00" + "q\x00\x00\x00")
	rJSON(t, filepath.Join(root, "S", ".zarray"), map[string]any{"zarr_format": 2, "shape": []int{4}, "chunks": []int{3}, "dtype": "|S4", "compressor": nil, "fill_value": "", "order": "C", "filters": nil})
	rWrite(t, filepath.Join(root, "S", "0"), sb[:12])
	rWrite(t, filepath.Join(root, "S", "1"), append(append([]byte(nil), sb[12:]...), make([]byte, 8)...))
	ufixed := []string{"gè", "", "細胞x", "q"}
	for _, order := range []string{"<", ">"} {
		var ub []byte
		for _, s := range ufixed {
			rs := []rune(s)
			for i := range 3 {
				var r rune
				if i < len(rs) {
					r = rs[i]
				}
				if order == "<" {
					ub = binary.LittleEndian.AppendUint32(ub, uint32(r))
				} else {
					ub = binary.BigEndian.AppendUint32(ub, uint32(r))
				}
			}
		}
		name := "U" + map[string]string{"<": "le", ">": "be"}[order]
		rJSON(t, filepath.Join(root, name, ".zarray"), map[string]any{"zarr_format": 2, "shape": []int{4}, "chunks": []int{4}, "dtype": order + "U3", "compressor": map[string]any{"id": "zlib", "level": 1}, "fill_value": "", "order": "C", "filters": nil})
		rWrite(t, filepath.Join(root, name, "0"), rEncode(t, "zlib", ub))
	}
	g, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	g3, err := Open(root3)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		g    *Group
		name string
		want []string
	}{{g, "obj", want}, {g3, "s", strs}, {g, "S", fixed}, {g, "Ule", ufixed}, {g, "Ube", ufixed}} {
		a, err := c.g.Array(c.name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.ReadStrings()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(got) != len(c.want) {
			t.Fatalf("%s: %d strings, want %d", c.name, len(got), len(c.want))
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s[%d] = %q, want %q", c.name, i, got[i], c.want[i])
			}
		}
		if err := a.ReadAll(make([]float64, 100)); err == nil {
			t.Errorf("%s: reading strings as numbers did not fail", c.name)
		}
	}
	// A vlen chunk with the wrong count is corrupt.
	rWrite(t, filepath.Join(dir, "0"), rEncode(t, "gzip", rVLen(strs[:4])))
	a, _ := g.Array("obj")
	if _, err := a.ReadStrings(); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "obj/0") {
		t.Errorf("short vlen chunk: err = %v", err)
	}
	rWrite(t, filepath.Join(dir, "0"), rEncode(t, "gzip", rVLen(strs[:5])[:30]))
	if _, err := a.ReadStrings(); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated vlen chunk: err = %v", err)
	}
}

func TestReadScalar(t *testing.T) {
	root := t.TempDir()
	rGroupV2(t, root, nil)
	rJSON(t, filepath.Join(root, "x", ".zarray"), map[string]any{"zarr_format": 2, "shape": []int{}, "chunks": []int{}, "dtype": "<i8", "compressor": nil, "fill_value": 0, "order": "C", "filters": nil})
	rWrite(t, filepath.Join(root, "x", "0"), binary.LittleEndian.AppendUint64(nil, 42))
	root3 := t.TempDir()
	rGroupV3(t, root3, nil)
	rWriteV3(t, filepath.Join(root3, "x"), rV3{shape: []int64{}, chunks: []int64{}, dtype: "<f8", dataType: "float64", compress: []string{"gzip"}}, rBytes([]float64{42}, "<f8"))
	for _, r := range []string{root, root3} {
		g, err := Open(r)
		if err != nil {
			t.Fatal(err)
		}
		a, err := g.Array("x")
		if err != nil {
			t.Fatal(err)
		}
		v := make([]float64, 1)
		if err := a.ReadAll(v); err != nil || v[0] != 42 {
			t.Errorf("%s scalar: %v, %v", r, v, err)
		}
	}
}

func TestGroupsAndConsolidated(t *testing.T) {
	root := t.TempDir()
	rGroupV2(t, root, map[string]any{"encoding-type": "anndata"})
	rGroupV2(t, filepath.Join(root, "obs"), map[string]any{"from": "file"})
	rGroupV2(t, filepath.Join(root, "obs", "sub"), nil)
	rWriteV2(t, filepath.Join(root, "obs", "col"), rV2{shape: []int64{3}, chunks: []int64{2}, dtype: "<i4", order: "C", attrs: map[string]any{"a": 1.0}}, rBytes([]float64{1, 2, 3}, "<i4"))
	os.MkdirAll(filepath.Join(root, "obs", "notanode"), 0o755)
	g, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	obs, err := g.Group("obs")
	if err != nil {
		t.Fatal(err)
	}
	groups, arrays, err := obs.Members()
	if err != nil || fmt.Sprint(groups, arrays) != "[sub] [col]" {
		t.Fatalf("members: %v %v %v", groups, arrays, err)
	}
	if !g.Has("obs/col") || !g.Has("obs") || g.Has("obs/notanode") || g.Has("nothing") {
		t.Error("Has is wrong")
	}
	if _, err := g.Array("obs"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "group, not an array") {
		t.Errorf("Array on a group: %v", err)
	}
	if _, err := g.Group("obs/col"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Group on an array: %v", err)
	}
	if _, err := g.Array("obs/missing"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "obs/missing") {
		t.Errorf("missing array: %v", err)
	}
	if _, err := g.Array("../etc"); err == nil {
		t.Error("path escaping the store was accepted")
	}
	// Consolidated metadata wins over the files when present.
	rJSON(t, filepath.Join(root, ".zmetadata"), map[string]any{"zarr_consolidated_format": 1, "metadata": map[string]any{
		".zgroup": map[string]any{"zarr_format": 2}, ".zattrs": map[string]any{"encoding-type": "anndata"},
		"obs/.zgroup": map[string]any{"zarr_format": 2}, "obs/.zattrs": map[string]any{"from": "consolidated"},
		"obs/col/.zarray": map[string]any{"zarr_format": 2, "shape": []int{3}, "chunks": []int{2}, "dtype": "<i4", "compressor": nil, "fill_value": 0, "order": "C", "filters": nil},
	}})
	g, err = Open(root)
	if err != nil {
		t.Fatal(err)
	}
	obs, _ = g.Group("obs")
	if obs.Attrs()["from"] != "consolidated" {
		t.Errorf("consolidated attrs not used: %v", obs.Attrs())
	}
	groups, arrays, _ = obs.Members()
	if fmt.Sprint(groups, arrays) != "[] [col]" {
		t.Errorf("consolidated members: %v %v", groups, arrays)
	}
	a, err := obs.Array("col")
	if err != nil {
		t.Fatal(err)
	}
	v := make([]int32, 3)
	if err := a.ReadAll(v); err != nil || fmt.Sprint(v) != "[1 2 3]" {
		t.Errorf("read via consolidated: %v %v", v, err)
	}
	// v3 consolidated metadata inside the root zarr.json.
	root3 := t.TempDir()
	rWriteV3(t, filepath.Join(root3, "x"), rV3{shape: []int64{3}, chunks: []int64{3}, dtype: "<i4", dataType: "int32"}, rBytes([]float64{4, 5, 6}, "<i4"))
	xmeta, _ := os.ReadFile(filepath.Join(root3, "x", "zarr.json"))
	os.Remove(filepath.Join(root3, "x", "zarr.json"))
	rWrite(t, filepath.Join(root3, "zarr.json"), []byte(`{"zarr_format":3,"node_type":"group","attributes":{},
		"consolidated_metadata":{"kind":"inline","must_understand":false,"metadata":{"x":`+string(xmeta)+`}}}`))
	g3, err := Open(root3)
	if err != nil {
		t.Fatal(err)
	}
	_, arrays, _ = g3.Members()
	a, err = g3.Array("x")
	if err != nil || fmt.Sprint(arrays) != "[x]" {
		t.Fatalf("v3 consolidated: %v %v", arrays, err)
	}
	if err := a.ReadAll(v); err != nil || fmt.Sprint(v) != "[4 5 6]" {
		t.Errorf("v3 consolidated read: %v %v", v, err)
	}
}

func TestReadErrors(t *testing.T) {
	root := t.TempDir()
	if _, err := Open(filepath.Join(root, "nope")); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing path: %v", err)
	}
	if _, err := Open(root); !errors.Is(err, ErrNotZarr) || !strings.Contains(err.Error(), "no .zgroup/.zarray/zarr.json") {
		t.Errorf("empty dir: %v", err)
	}
	rWrite(t, filepath.Join(root, "file"), []byte("x"))
	if _, err := Open(filepath.Join(root, "file")); !errors.Is(err, ErrNotZarr) {
		t.Errorf("file: %v", err)
	}
	rGroupV2(t, root, nil)
	base := func() map[string]any {
		return map[string]any{"zarr_format": 2, "shape": []int{10}, "chunks": []int{4}, "dtype": "<f4", "compressor": nil, "fill_value": 0, "order": "C", "filters": nil}
	}
	bad := []struct {
		name string
		edit func(m map[string]any)
		want error
		text string
	}{
		{"bz2", func(m map[string]any) { m["compressor"] = map[string]any{"id": "bz2"} }, ErrUnsupported, `compressor "bz2" (supported: blosc`},
		{"delta", func(m map[string]any) { m["filters"] = []any{map[string]any{"id": "delta"}} }, ErrUnsupported, `filter "delta"`},
		{"c8", func(m map[string]any) { m["dtype"] = "<c8" }, ErrUnsupported, `dtype "<c8" (supported:`},
		{"f2", func(m map[string]any) { m["dtype"] = "<f2" }, ErrUnsupported, `dtype "<f2"`},
		{"obj", func(m map[string]any) { m["dtype"] = "|O" }, ErrUnsupported, "without a vlen-utf8 filter"},
		{"struct", func(m map[string]any) { m["dtype"] = []any{[]any{"a", "<f4"}} }, ErrUnsupported, "structured"},
		{"zerochunk", func(m map[string]any) { m["chunks"] = []int{0} }, ErrInvalidMetadata, "below 1"},
		{"ndim", func(m map[string]any) { m["chunks"] = []int{2, 2} }, ErrInvalidMetadata, "dimensions"},
		{"fmt", func(m map[string]any) { m["zarr_format"] = 3 }, ErrInvalidMetadata, "zarr_format 3"},
		{"order", func(m map[string]any) { m["order"] = "K" }, ErrInvalidMetadata, `order "K"`},
	}
	for _, c := range bad {
		m := base()
		c.edit(m)
		rJSON(t, filepath.Join(root, c.name, ".zarray"), m)
	}
	rWrite(t, filepath.Join(root, "badjson", ".zarray"), []byte("{"))
	g, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range bad {
		_, err := g.Array(c.name)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) || !strings.Contains(err.Error(), filepath.Join(c.name, ".zarray")) {
			t.Errorf("%s: err = %v, want %v containing %q and the file", c.name, err, c.want, c.text)
		}
	}
	if _, err := g.Array("badjson"); !errors.Is(err, ErrInvalidMetadata) {
		t.Errorf("bad json: %v", err)
	}
	// Chunks that decode to the wrong size or not at all.
	vals := rValues(rand.New(rand.NewPCG(1, 1)), "<f4", 10)
	rWriteV2(t, filepath.Join(root, "ok"), rV2{shape: []int64{10}, chunks: []int64{4}, dtype: "<f4", order: "C", compressor: "gzip"}, rBytes(vals, "<f4"))
	rWrite(t, filepath.Join(root, "ok", "1"), rEncode(t, "gzip", make([]byte, 12)))
	rWrite(t, filepath.Join(root, "ok", "2"), []byte("not gzip at all"))
	a, err := g.Array("ok")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.ReadRange(0, 4, make([]float32, 4)); err != nil {
		t.Errorf("good chunk: %v", err)
	}
	err = a.ReadRange(0, 8, make([]float32, 8))
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "ok/1") || !strings.Contains(err.Error(), "decoded 12 bytes, want 16: truncated or corrupt chunk") {
		t.Errorf("short chunk: %v", err)
	}
	if err := a.ReadRange(8, 10, make([]float32, 2)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "ok/2") {
		t.Errorf("garbage chunk: %v", err)
	}
	if err := a.ReadRange(3, 11, make([]float32, 8)); err == nil || !strings.Contains(err.Error(), "outside [0, 10)") {
		t.Errorf("range past the end: %v", err)
	}
	if err := a.ReadRange(0, 4, make([]float32, 3)); err == nil || !strings.Contains(err.Error(), "holds 3 elements") {
		t.Errorf("short destination: %v", err)
	}
	if err := a.ReadRange(0, 4, make([]uint16, 4)); err == nil || !strings.Contains(err.Error(), "[]uint16") {
		t.Errorf("bad destination type: %v", err)
	}
	// Overflow on conversion.
	rWriteV2(t, filepath.Join(root, "big"), rV2{shape: []int64{3}, chunks: []int64{3}, dtype: "<i8", order: "C"}, rBytes([]float64{1, 1 << 40, 2}, "<i8"))
	a, _ = g.Array("big")
	if err := a.ReadAll(make([]int32, 3)); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Errorf("int64 -> int32 overflow: %v", err)
	}
	// v3 metadata errors.
	root3 := t.TempDir()
	rGroupV3(t, root3, nil)
	v3 := func(name string, edit func(m map[string]any)) {
		m := map[string]any{"zarr_format": 3, "node_type": "array", "shape": []int{4}, "data_type": "float32",
			"chunk_grid": map[string]any{"name": "regular", "configuration": map[string]any{"chunk_shape": []int{4}}},
			"codecs":     []any{map[string]any{"name": "bytes", "configuration": map[string]any{"endian": "little"}}}, "fill_value": 0}
		edit(m)
		rJSON(t, filepath.Join(root3, name, "zarr.json"), m)
	}
	v3("lz4x", func(m map[string]any) {
		m["codecs"] = append(m["codecs"].([]any), map[string]any{"name": "numcodecs.lz4"})
	})
	v3("cplx", func(m map[string]any) { m["data_type"] = "complex64" })
	v3("grid", func(m map[string]any) { m["chunk_grid"] = map[string]any{"name": "rectilinear"} })
	v3("nobytes", func(m map[string]any) { m["codecs"] = []any{} })
	v3("shardplus", func(m map[string]any) {
		m["codecs"] = []any{map[string]any{"name": "sharding_indexed", "configuration": map[string]any{"chunk_shape": []int{2}, "codecs": m["codecs"], "index_codecs": []any{map[string]any{"name": "bytes"}}}}, map[string]any{"name": "gzip"}}
	})
	v3("shardidx", func(m map[string]any) {
		m["codecs"] = []any{map[string]any{"name": "sharding_indexed", "configuration": map[string]any{"chunk_shape": []int{2}, "codecs": m["codecs"], "index_codecs": []any{map[string]any{"name": "bytes"}, map[string]any{"name": "gzip"}}}}}
	})
	v3("shardsplit", func(m map[string]any) {
		m["codecs"] = []any{map[string]any{"name": "sharding_indexed", "configuration": map[string]any{"chunk_shape": []int{3}, "codecs": m["codecs"], "index_codecs": []any{map[string]any{"name": "bytes"}}}}}
	})
	g3, _ := Open(root3)
	for name, text := range map[string]string{
		"lz4x": `codec "numcodecs.lz4" (supported: transpose`, "cplx": `data_type "complex64" (supported: bool`,
		"grid": `chunk_grid "rectilinear"`, "nobytes": "no array-to-bytes codec", "shardplus": "sharding_indexed combined",
		"shardidx": `index codec "gzip"`, "shardsplit": "does not divide",
	} {
		if _, err := g3.Array(name); err == nil || !strings.Contains(err.Error(), text) || !strings.Contains(err.Error(), filepath.Join(name, "zarr.json")) {
			t.Errorf("v3 %s: err = %v, want it to contain %q and the file", name, err, text)
		}
	}
	// A crc32c mismatch in a v3 chunk.
	rWriteV3(t, filepath.Join(root3, "crc"), rV3{shape: []int64{5}, chunks: []int64{5}, dtype: "<i4", dataType: "int32", compress: []string{"crc32c"}}, rBytes([]float64{1, 2, 3, 4, 5}, "<i4"))
	p := filepath.Join(root3, "crc", "c", "0")
	b, _ := os.ReadFile(p)
	b[3] ^= 1
	rWrite(t, p, b)
	a, _ = g3.Array("crc")
	if err := a.ReadAll(make([]int32, 5)); !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "crc/c/0") {
		t.Errorf("crc mismatch: %v", err)
	}
}

// Many goroutines decoding at once share pools and the shard index cache;
// run with -race.
func TestConcurrentReads(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	root := t.TempDir()
	rGroupV3(t, root, nil)
	const n = 20011
	vals := rValues(rng, "<f4", n)
	rWriteV3(t, filepath.Join(root, "s"), rV3{shape: []int64{n}, chunks: []int64{4000}, inner: []int64{500}, dtype: "<f4", dataType: "float32", compress: []string{"zstd"}}, rBytes(vals, "<f4"))
	rWriteV3(t, filepath.Join(root, "g"), rV3{shape: []int64{n}, chunks: []int64{333}, dtype: "<f4", dataType: "float32", compress: []string{"gzip", "crc32c"}}, rBytes(vals, "<f4"))
	g, _ := Open(root)
	for _, name := range []string{"s", "g"} {
		a, err := g.Array(name)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(w), 1))
				for range 40 {
					lo := r.Int64N(n)
					hi := lo + r.Int64N(n-lo+1)
					got := make([]float32, hi-lo)
					if err := a.ReadRange(lo, hi, got); err != nil {
						errs <- err
						return
					}
					for i := range got {
						if got[i] != float32(vals[lo+int64(i)]) {
							errs <- fmt.Errorf("%s: element %d = %v, want %v", name, lo+int64(i), got[i], vals[lo+int64(i)])
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
}
