package mtx

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const banner = "%%MatrixMarket matrix coordinate integer general\n"

// TestParseErrors: each bad file fails with the line and what is wrong.
func TestParseErrors(t *testing.T) {
	cases := []struct{ text, want string }{
		{"", "empty file"},
		{"hello world\n1 1 1\n", "line 1: bad header \"hello world\": not a Matrix Market file"},
		{"%%MatrixMarket matrix array real general\n2 2\n", "line 1: dense \"array\" format is not supported"},
		{"%%MatrixMarket matrix coordinate complex general\n2 2 1\n", "line 1: complex values are not supported"},
		{"%%MatrixMarket matrix coordinate integer hermitian\n2 2 1\n", "line 1: hermitian"},
		{"%%MatrixMarket matrix coordinate integer\n2 2 1\n", "line 1: bad header"},
		{"%%MatrixMarket vector coordinate integer general\n", "object \"vector\""},
		{banner, "line 1: size line missing"},
		{banner + "% only comments\n\n", "line 3: size line missing"},
		{banner + "% c\n3 x 1\n", "line 3: bad size line \"3 x 1\""},
		{banner + "3 4\n", "line 2: bad size line"},
		{banner + "-3 4 1\n", "line 2: bad size line"},
		{banner + "3000000000 4 1\n", "at most 2147483647 genes and cells"},
		{"%%MatrixMarket matrix coordinate real symmetric\n3 4 0\n", "symmetric matrices must be square"},
		{banner + "3 5 2\n1 1 1\n1 6 1\n", "line 4: cell (column) index 6 exceeds the 5 columns (cells) declared on line 2"},
		{banner + "3 5 1\n4 1 1\n", "line 3: gene (row) index 4 exceeds the 3 rows (genes) declared on line 2"},
		{banner + "3 5 1\n0 1 1\n", "line 3: gene (row) index 0: Matrix Market indices start at 1"},
		{banner + "3 5 1\n1 0 1\n", "line 3: cell (column) index 0"},
		{banner + "3 5 1\n1 99999999999999999999999 1\n", "line 3: cell (column) index too large"},
		{banner + "3 5 1\n1 2\n", "line 3: 2 field(s); want 3 fields (gene cell value)"},
		{banner + "3 5 1\n1\n", "line 3: 1 field(s)"},
		{banner + "3 5 1\n1 2 x\n", "line 3: bad value \"x\" in an integer matrix"},
		{banner + "3 5 1\n1 2 1.5\n", "line 3: bad value \"1.5\" in an integer matrix"},
		{banner + "3 5 1\n1 2 99999999999999999999\n", "bad value \"99999999999999999999\" in an integer matrix"},
		{"%%MatrixMarket matrix coordinate real general\n3 5 1\n1 2 1.2.3\n", "line 3: bad value \"1.2.3\": want a number"},
		{"%%MatrixMarket matrix coordinate real general\n3 5 1\n1 2 -\n", "line 3: bad value \"-\""},
		{"%%MatrixMarket matrix coordinate pattern general\n3 5 1\n1 2 1\n", "line 3: pattern matrix entry has a third field \"1\""},
		{banner + "3 5 1\n1 2 3 4\n", "line 3: too many fields"},
		{banner + "3 5 1\n1.5 2 3\n", "line 3: bad gene (row) index \"1.5\""},
		{banner + "3 5 1\n-1 2 3\n", "line 3: bad gene (row) index \"-1\""},
		{banner + "3 5 1\n1 b 3\n", "line 3: bad cell (column) index \"b\""},
		{banner + "3 5 1\n1 2 3\r4\n", "line 3: too many fields"},
		{banner + "3 5 3\n1 1 1\n", "line 3: the file ends after 1 entries, but line 2 declares 3"},
		{banner + "3 5 1\n1 1 1\n\n% c\n2 2 2\n", "line 6: more entries than the 1 declared on line 2"},
	}
	for _, c := range cases {
		for _, block := range []int{3, 1 << 20} {
			_, _, err := parseBytes([]byte(c.text), 2, block)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%q (block %d):\n got %v\nwant ...%s...", c.text, block, err, c.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "test.mtx") {
				t.Errorf("%q: error %q does not name the file", c.text, err)
			}
		}
	}
}

// TestParseErrorLineFar: the line number counts lines of earlier blocks.
func TestParseErrorLineFar(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(banner + "% comment\n9 9 3000\n")
	for i := range 2999 {
		if i == 1500 {
			b.WriteString("\n% mid comment\n")
		}
		b.WriteString("1 2 3\n")
	}
	b.WriteString("1 10 3\n")
	for _, block := range []int{7, 100, 4096} {
		_, _, err := parseBytes(b.Bytes(), 3, block)
		want := "test.mtx line 3005: cell (column) index 10 exceeds the 9 columns (cells) declared on line 3"
		if err == nil || err.Error() != want {
			t.Errorf("block %d: %v, want %s", block, err, want)
		}
		var e *Error
		if !errors.As(err, &e) || e.Line != 3005 {
			t.Errorf("block %d: %#v is not an *Error at line 3005", block, err)
		}
	}
}

// TestGzipErrors: truncated and corrupt compressed matrices say so.
func TestGzipErrors(t *testing.T) {
	var text bytes.Buffer
	text.WriteString(banner + "1000 100 5000\n")
	for i := range 5000 {
		text.WriteString(strings.Repeat("1", 1+i%3) + " 7 12\n")
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(text.Bytes())
	w.Close()
	gz := z.Bytes()
	_, _, err := parseBytes(gz[:len(gz)*2/3], 2, 256)
	if err == nil || !strings.Contains(err.Error(), "corrupt or truncated gzip") {
		t.Errorf("truncated gzip: %v", err)
	}
	bad := bytes.Clone(gz)
	bad[len(bad)-6] ^= 0xff // the CRC
	_, _, err = parseBytes(bad, 2, 256)
	if err == nil || !strings.Contains(err.Error(), "corrupt or truncated gzip") {
		t.Errorf("bad checksum: %v", err)
	}
	_, got, err := parseBytes(gz, 2, 256)
	if err != nil || len(got) != 5000 {
		t.Errorf("intact gzip: %d entries, %v", len(got), err)
	}
}

// TestOpenErrors: missing files are listed by the names looked for, and
// counts that disagree with the matrix are named.
func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	mtx := banner + "3 2 1\n1 1 1\n"
	put := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check := func(err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want ...%s...", err, want)
		}
	}
	_, err := Open(dir)
	check(err, "no matrix file: looked for matrix.mtx.gz, matrix.mtx and *matrix.mtx[.gz]")
	put("matrix.mtx", mtx)
	_, err = Open(dir)
	check(err, "no features file: looked for features.tsv.gz, features.tsv, genes.tsv.gz, genes.tsv")
	put("genes.tsv", "g1\tA\ng2\tB\n")
	_, err = Open(filepath.Join(dir, "matrix.mtx"))
	check(err, "no barcodes file: looked for barcodes.tsv.gz, barcodes.tsv")
	put("barcodes.tsv", "AAAC-1\nAAAG-1\nAAAT-1\n")
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, err = d.Frames(FrameOptions{})
	check(err, "barcodes.tsv: 3 barcodes, but "+filepath.Join(dir, "matrix.mtx")+" line 2 declares 2 cells (columns)")
	put("barcodes.tsv", "AAAC-1\n\nAAAG-1\n")
	_, _, _, err = d.Frames(FrameOptions{})
	check(err, "genes.tsv: 2 features, but "+filepath.Join(dir, "matrix.mtx")+" line 2 declares 3 genes (rows)")
	put("genes.tsv", "g1\tA\ng2\ng3\tC\n")
	_, _, _, err = d.Frames(FrameOptions{})
	check(err, "genes.tsv line 2: 1 tab-separated fields; want 2 as on the first line")
	put("genes.tsv", "g1\ng2\ng3\n")
	_, _, _, err = d.Frames(FrameOptions{})
	check(err, "genes.tsv line 1: 1 tab-separated field; want at least 2")

	put("x_matrix.mtx", mtx)
	os.Remove(filepath.Join(dir, "matrix.mtx"))
	put("y_matrix.mtx.gz", mtx)
	_, err = Open(dir)
	check(err, "2 matrix files (x_matrix.mtx, y_matrix.mtx.gz); give the path of one of them")
	_, err = Open(filepath.Join(dir, "x_matrix.mtx"))
	check(err, "no features file: looked for x_features.tsv.gz, x_features.tsv, x_genes.tsv.gz, x_genes.tsv")
}
