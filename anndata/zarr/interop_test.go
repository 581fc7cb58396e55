package zarr

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// rInteropScript writes arrays with zarr-python 2 and numcodecs (an
// independent implementation of format 2 and of every compressor), and the
// expected values: numbers as little-endian float64, strings as JSON.
const rInteropScript = `
import json, sys, numpy as np, zarr, numcodecs
from numcodecs import Blosc, Zstd, GZip, Zlib, LZ4, VLenUTF8
root, exp = sys.argv[1], sys.argv[2]
g = zarr.open_group(root, mode="w")
g.attrs["encoding-type"] = "anndata"
rng = np.random.default_rng(7)
def counts(n, dtype):
    # sparse-count-like values: many small integers, some larger
    v = rng.negative_binomial(2, 0.3, size=n).astype(dtype)
    return v
cases = []
n = 20011
for cname in ["lz4", "zstd", "zlib", "blosclz", "lz4hc"]:
    for shuffle in [0, 1, 2]:
        for dt in ["<f4", "<i8", "<u2"]:
            cases.append((f"blosc_{cname}_{shuffle}_{dt[1:]}", counts(n, dt), dict(compressor=Blosc(cname=cname, clevel=5, shuffle=shuffle), chunks=(1999,))))
cases.append(("blosc_small_blocks", rng.standard_normal(n).astype("<f8"), dict(compressor=Blosc(cname="zstd", clevel=3, shuffle=1, blocksize=4096), chunks=(6007,))))
cases.append(("zstd_be", rng.standard_normal(n).astype(">f8"), dict(compressor=Zstd(level=3), chunks=(2048,))))
cases.append(("gzip_i4", counts(n, "<i4"), dict(compressor=GZip(level=5), chunks=(3000,))))
cases.append(("zlib_i2", counts(n, ">i2"), dict(compressor=Zlib(level=1), chunks=(1777,))))
cases.append(("lz4_f4", rng.standard_normal(n).astype("<f4"), dict(compressor=LZ4(), chunks=(2345,))))
cases.append(("none_u1", counts(n, "|u1"), dict(compressor=None, chunks=(5000,))))
cases.append(("bool", rng.random(1001) < 0.3, dict(compressor=Blosc(), chunks=(100,))))
cases.append(("F2d", rng.standard_normal((57, 31)).astype("<f4"), dict(compressor=Zstd(), chunks=(10, 7), order="F")))
cases.append(("C2d_slash", counts(57 * 31, "<i4").reshape(57, 31), dict(compressor=Blosc(cname="lz4"), chunks=(8, 9), dimension_separator="/")))
for name, v, kw in cases:
    z = g.create_dataset(name, data=v, **kw)
    np.asarray(v, dtype="<f8").tofile(f"{exp}/{name}.f8")
# Missing chunks hold the fill value.
z = g.create_dataset("sparse_fill", shape=(1000,), chunks=(64,), dtype="<f4", fill_value=float("nan"), compressor=Zstd())
z[130:200] = np.arange(70, dtype="<f4")
z[900:] = 5
np.asarray(z[:], dtype="<f8").tofile(f"{exp}/sparse_fill.f8")
strs = np.array([f"cell-{i}-" + "é" * (i % 5) + ("細胞" if i % 7 == 0 else "") for i in range(2503)], dtype=object)
g.create_dataset("strings", data=strs, dtype=object, object_codec=VLenUTF8(), chunks=(400,), compressor=Blosc(cname="lz4", shuffle=1))
g.create_dataset("fixedS", data=np.array([b"ab", b"", b"xyzzy", b"q"] * 5, dtype="|S5"), chunks=(3,))
g.create_dataset("fixedU", data=np.array(["gé", "", "細胞x", "q"] * 5, dtype="<U4"), chunks=(6,))
json.dump({"strings": list(strs), "fixedS": ["ab", "", "xyzzy", "q"] * 5, "fixedU": ["gé", "", "細胞x", "q"] * 5}, open(f"{exp}/strings.json", "w"))
zarr.consolidate_metadata(root)
`

// rPython returns the Debian Python with the modules, or skips.
func rPython(t *testing.T, mods ...string) string {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("SKIP: /usr/bin/python3 not found")
	}
	cmd := exec.Command(py, "-c", "import "+strings.Join(mods, ", "))
	cmd.Dir = t.TempDir() // keep the repository's own folders off sys.path
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("SKIP: python modules %v missing (apt-get install python3-zarr python3-numcodecs python3-anndata): %s", mods, out)
	}
	return py
}

func TestInteropZarrPython(t *testing.T) {
	py := rPython(t, "zarr", "numcodecs", "numpy")
	root := filepath.Join(t.TempDir(), "s.zarr")
	exp := t.TempDir()
	cmd := exec.Command(py, "-c", rInteropScript, root, exp)
	cmd.Dir = exp
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	g, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(exp, "*.f8"))
	if len(files) < 50 {
		t.Fatalf("only %d expected arrays", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".f8")
		raw, _ := os.ReadFile(f)
		want := make([]float64, len(raw)/8)
		for i := range want {
			want[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
		}
		a, err := g.Array(name)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float64, len(want))
		if err := a.ReadAll(got); err != nil {
			t.Fatalf("%s (%s): %v", name, a.CodecSummary(), err)
		}
		for i := range got {
			if got[i] != want[i] && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
				t.Fatalf("%s (%s, %s): element %d = %v, want %v", name, a.DType, a.CodecSummary(), i, got[i], want[i])
			}
		}
		if len(a.Shape) == 1 && a.DType.Kind != Bool {
			// A range across chunk boundaries, in the stored type's nearest Go type.
			lo, hi := a.Shape[0]/3, a.Shape[0]/3+a.ChunkShape[0]+17
			f32 := make([]float32, hi-lo)
			if err := a.ReadRange(lo, hi, f32); err != nil {
				t.Fatal(err)
			}
			for i := range f32 {
				if w := float32(want[lo+int64(i)]); f32[i] != w && !math.IsNaN(float64(w)) {
					t.Fatalf("%s: float32 element %d = %v, want %v", name, lo+int64(i), f32[i], w)
				}
			}
		}
	}
	var strs map[string][]string
	b, _ := os.ReadFile(filepath.Join(exp, "strings.json"))
	if err := json.Unmarshal(b, &strs); err != nil {
		t.Fatal(err)
	}
	for name, want := range strs {
		a, err := g.Array(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.ReadStrings()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d strings, want %d", name, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s[%d] = %q, want %q", name, i, got[i], want[i])
			}
		}
	}
}
