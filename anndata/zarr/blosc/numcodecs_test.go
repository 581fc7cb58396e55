package blosc

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const python = "/usr/bin/python3"

// requireNumcodecs skips the test unless Debian's Python has numcodecs.
func requireNumcodecs(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Skipf("SKIP: %s not found (install python3-numcodecs)", python)
	}
	if out, err := exec.Command(python, "-c", "import numcodecs.blosc").CombinedOutput(); err != nil {
		t.Skipf("SKIP: numcodecs not importable by %s (apt-get install -y python3-numcodecs): %v: %s", python, err, bytes.TrimSpace(out))
	}
}

// checkScript decodes every NAME.blosc in a folder with numcodecs (the
// real c-blosc) and compares it with NAME.raw.
const checkScript = `
import os, sys
import numcodecs.blosc as nb
d = sys.argv[1]
bad = 0
n = 0
for f in sorted(os.listdir(d)):
    if not f.endswith(".blosc"):
        continue
    frame = open(os.path.join(d, f), "rb").read()
    want = open(os.path.join(d, f[:-6] + ".raw"), "rb").read()
    n += 1
    try:
        got = bytes(nb.decompress(frame))
    except Exception as e:
        print("FAIL", f, e)
        bad += 1
        continue
    if got != want:
        print("FAIL", f, "decoded", len(got), "bytes differ from", len(want))
        bad += 1
print("checked", n, "bad", bad)
`

// TestNumcodecsDecodesOurFrames writes frames with Encode and has numcodecs
// decode them.
func TestNumcodecsDecodesOurFrames(t *testing.T) {
	requireNumcodecs(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(31, 32))
	count := 0
	for _, comp := range allCompressors {
		for sh := NoShuffle; sh <= BitShuffle; sh++ {
			for _, ts := range []int{1, 2, 3, 4, 8, 20} {
				for _, n := range []int{1 + rng.IntN(300), 4096*ts + rng.IntN(4000), 70000 + rng.IntN(100000)} {
					opt := Options{Compressor: comp, Level: 1 + rng.IntN(9), Shuffle: sh, TypeSize: ts, BlockSize: []int{0, 0, 1000, 20000}[rng.IntN(4)]}
					data := testData(rng, n, ts)
					frame, err := Encode(data, opt)
					if err != nil {
						t.Fatal(err)
					}
					name := fmt.Sprintf("%s_s%d_t%d_l%d_b%d_n%d", comp, sh, ts, opt.Level, opt.BlockSize, n)
					if err := os.WriteFile(filepath.Join(dir, name+".blosc"), frame, 0o644); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(dir, name+".raw"), data, 0o644); err != nil {
						t.Fatal(err)
					}
					count++
				}
			}
		}
	}
	out, err := exec.Command(python, "-c", checkScript, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("numcodecs check failed: %v\n%s", err, out)
	}
	want := fmt.Sprintf("checked %d bad 0", count)
	if !strings.Contains(string(out), want) {
		t.Fatalf("numcodecs rejected some of our frames:\n%s", out)
	}
}
