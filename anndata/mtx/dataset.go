package mtx

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/scbench/scbench/anndata"
)

// Dataset is a 10x Genomics matrix directory: a Matrix Market matrix of
// genes x cells with its feature and barcode files.
type Dataset struct {
	Matrix   string // matrix.mtx.gz or matrix.mtx
	Features string // features.tsv[.gz], or genes.tsv[.gz] as Cell Ranger 2 wrote
	Barcodes string // barcodes.tsv[.gz]
	Header   Header // what Matrix declares
}

// Open finds the files of the 10x directory at path and reads the matrix
// header. path is the directory or its matrix file. Files may carry a
// common prefix ("GSM123_matrix.mtx.gz", as GEO names them); a directory
// with exactly one *matrix.mtx[.gz] is taken to use that file's prefix.
// Each file may be gzip-compressed or plain, whatever its name says.
func Open(path string) (*Dataset, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	d := &Dataset{}
	dir, prefix := path, ""
	if st.IsDir() {
		if d.Matrix, prefix, err = findMatrix(dir); err != nil {
			return nil, err
		}
	} else {
		d.Matrix = path
		dir = filepath.Dir(path)
		base := filepath.Base(path)
		for _, suf := range []string{"matrix.mtx.gz", "matrix.mtx"} {
			if strings.HasSuffix(base, suf) {
				prefix = strings.TrimSuffix(base, suf)
				break
			}
		}
	}
	d.Features, err = findSibling(dir, "features", prefix, "features.tsv.gz", "features.tsv", "genes.tsv.gz", "genes.tsv")
	if err != nil {
		return nil, err
	}
	d.Barcodes, err = findSibling(dir, "barcodes", prefix, "barcodes.tsv.gz", "barcodes.tsv")
	if err != nil {
		return nil, err
	}
	var m matrixFile
	h, err := m.openFile(d.Matrix)
	if err != nil {
		return nil, err
	}
	m.Close()
	d.Header = h
	return d, nil
}

func findMatrix(dir string) (path, prefix string, err error) {
	for _, name := range []string{"matrix.mtx.gz", "matrix.mtx"} {
		p := filepath.Join(dir, name)
		if isFile(p) {
			return p, "", nil
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", "", err
	}
	var found []string
	for _, e := range ents {
		if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, "matrix.mtx.gz") || strings.HasSuffix(n, "matrix.mtx")) {
			found = append(found, n)
		}
	}
	// A prefixed pair "x_matrix.mtx" and "x_matrix.mtx.gz" counts once.
	if len(found) == 2 && found[0]+".gz" == found[1] {
		found = found[1:]
	}
	switch len(found) {
	case 0:
		return "", "", &Error{File: dir, Msg: "no matrix file: looked for matrix.mtx.gz, matrix.mtx and *matrix.mtx[.gz]"}
	case 1:
		n := found[0]
		return filepath.Join(dir, n), strings.TrimSuffix(strings.TrimSuffix(n, ".gz"), "matrix.mtx"), nil
	}
	return "", "", &Error{File: dir, Msg: fmt.Sprintf("%d matrix files (%s); give the path of one of them", len(found), strings.Join(found, ", "))}
}

func findSibling(dir, what, prefix string, names ...string) (string, error) {
	for _, n := range names {
		p := filepath.Join(dir, prefix+n)
		if isFile(p) {
			return p, nil
		}
	}
	looked := make([]string, len(names))
	for i, n := range names {
		looked[i] = prefix + n
	}
	return "", &Error{File: dir, Msg: fmt.Sprintf("no %s file: looked for %s", what, strings.Join(looked, ", "))}
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// readTSV calls fn with the tab-separated fields of each non-empty line of
// the (possibly gzip-compressed) file at path, and the line's number. A
// trailing '\r' is dropped. Empty lines are skipped, as pandas does.
func readTSV(path string, fn func(line int64, fields [][]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	var r io.Reader = br
	gz := false
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		z, err := gzip.NewReader(br)
		if err != nil {
			return &Error{File: path, Msg: fmt.Sprintf("bad gzip header: %v", err)}
		}
		defer z.Close()
		r, gz = z, true
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	var fields [][]byte
	var line int64
	for sc.Scan() {
		line++
		t := bytes.TrimSuffix(sc.Bytes(), []byte{'\r'})
		if len(t) == 0 {
			continue
		}
		fields = fields[:0]
		for {
			i := bytes.IndexByte(t, '\t')
			if i < 0 {
				fields = append(fields, t)
				break
			}
			fields = append(fields, t[:i])
			t = t[i+1:]
		}
		if err := fn(line, fields); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return &Error{File: path, Line: line + 1, Msg: "line longer than 16 MiB"}
		}
		if gz {
			return fmt.Errorf("%s: corrupt or truncated gzip data: %w", path, err)
		}
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}

// ReadBarcodes returns the cell barcodes: the first tab-separated field of
// each non-empty line.
func (d *Dataset) ReadBarcodes() ([]string, error) {
	var bc []string
	err := readTSV(d.Barcodes, func(_ int64, f [][]byte) error {
		bc = append(bc, string(f[0]))
		return nil
	})
	return bc, err
}

// Features are the columns of a features.tsv or genes.tsv file.
type Features struct {
	IDs   []string // column 1: gene_id (Ensembl id)
	Names []string // column 2: gene_name (symbol)
	Types []string // column 3: feature_type; nil for genes.tsv
}

// ReadFeatures reads the feature file. Every line needs the number of
// fields of the first line, at least 2 (id, name); a third gives the
// feature type. Further fields (genome, interval) are ignored.
func (d *Dataset) ReadFeatures() (*Features, error) {
	var ft Features
	want := 0
	intern := map[string]string{} // few distinct feature types
	err := readTSV(d.Features, func(line int64, f [][]byte) error {
		if want == 0 {
			want = min(len(f), 3)
			if want < 2 {
				return &Error{File: d.Features, Line: line, Msg: fmt.Sprintf("%d tab-separated field; want at least 2: gene_id, gene_name (and feature_type)", len(f))}
			}
		}
		if len(f) < want {
			return &Error{File: d.Features, Line: line, Msg: fmt.Sprintf("%d tab-separated fields; want %d as on the first line", len(f), want)}
		}
		ft.IDs = append(ft.IDs, string(f[0]))
		ft.Names = append(ft.Names, string(f[1]))
		if want == 3 {
			t, ok := intern[string(f[2])]
			if !ok {
				t = string(f[2])
				intern[t] = t
			}
			ft.Types = append(ft.Types, t)
		}
		return nil
	})
	return &ft, err
}

// VarNames selects what names the genes (the var index).
type VarNames int

const (
	// GeneSymbols names genes by column 2 of the feature file, made unique
	// as anndata's var_names_make_unique does, with the ids in a
	// "gene_ids" column: scanpy's read_10x_mtx default.
	GeneSymbols VarNames = iota
	// GeneIDs names genes by column 1, with the symbols in a
	// "gene_symbols" column (read_10x_mtx(var_names="gene_ids")).
	GeneIDs
)

// FrameOptions selects how Frames builds var.
type FrameOptions struct {
	VarNames VarNames
	// AllFeatures keeps every feature of a features.tsv. By default only
	// "Gene Expression" features are kept, as read_10x_mtx(gex_only=True)
	// does; genes.tsv files and feature files without a type keep all.
	AllFeatures bool
}

// Frames reads the barcodes and features and builds obs and var as scanpy's
// read_10x_mtx does, followed by anndata's conversion of string columns
// with repeated values to categoricals on writing. genes maps each matrix
// row (file gene) to its var row, -1 for features dropped; it is nil when
// all are kept. It checks the counts against the matrix header.
func (d *Dataset) Frames(opt FrameOptions) (obs, vr *anndata.Frame, genes []int32, err error) {
	bc, err := d.ReadBarcodes()
	if err != nil {
		return nil, nil, nil, err
	}
	if len(bc) != d.Header.Cols {
		return nil, nil, nil, &Error{File: d.Barcodes, Msg: fmt.Sprintf("%d barcodes, but %s line %d declares %d cells (columns)", len(bc), d.Matrix, d.Header.SizeLine, d.Header.Cols)}
	}
	ft, err := d.ReadFeatures()
	if err != nil {
		return nil, nil, nil, err
	}
	if len(ft.IDs) != d.Header.Rows {
		return nil, nil, nil, &Error{File: d.Features, Msg: fmt.Sprintf("%d features, but %s line %d declares %d genes (rows)", len(ft.IDs), d.Matrix, d.Header.SizeLine, d.Header.Rows)}
	}
	obs = &anndata.Frame{IndexName: "_index", Index: bc}

	var index, other []string
	otherName := "gene_ids"
	if opt.VarNames == GeneIDs {
		index, other, otherName = ft.IDs, ft.Names, "gene_symbols"
	} else {
		index, other = MakeUnique(ft.Names), ft.IDs
	}
	types := ft.Types
	if types != nil && !opt.AllFeatures && slices.ContainsFunc(types, func(t string) bool { return t != geneExpression }) {
		genes = make([]int32, len(types))
		var keep []int
		for i, t := range types {
			genes[i] = -1
			if t == geneExpression {
				genes[i] = int32(len(keep))
				keep = append(keep, i)
			}
		}
		pick := func(s []string) []string {
			out := make([]string, len(keep))
			for k, i := range keep {
				out[k] = s[i]
			}
			return out
		}
		index, other, types = pick(index), pick(other), pick(types)
	}
	vr = &anndata.Frame{IndexName: "_index", Index: index, Columns: []anndata.Column{stringColumn(otherName, other)}}
	if types != nil {
		vr.Columns = append(vr.Columns, stringColumn("feature_types", types))
	}
	return obs, vr, genes, nil
}

const geneExpression = "Gene Expression"

// MakeUnique returns names with every repeated name made unique as
// anndata's make_index_unique (var_names_make_unique) does: the first
// occurrence stays, later ones get "-1", "-2", ... in order, skipping a
// suffixed name that is already taken.
func MakeUnique(names []string) []string {
	seen := make(map[string]struct{}, len(names))
	dup := false
	for _, n := range names {
		if _, ok := seen[n]; ok {
			dup = true
		}
		seen[n] = struct{}{}
	}
	if !dup {
		return names
	}
	out := slices.Clone(names)
	first := make(map[string]struct{}, len(names))
	counter := map[string]int{}
	for i, n := range names {
		if _, ok := first[n]; !ok {
			first[n] = struct{}{}
			continue
		}
		for {
			counter[n]++
			cand := fmt.Sprintf("%s-%d", n, counter[n])
			if _, taken := seen[cand]; !taken {
				seen[cand] = struct{}{}
				out[i] = cand
				break
			}
		}
	}
	return out
}

// stringColumn returns a string column as anndata writes it: a categorical
// (categories sorted, as pandas orders them) when values repeat, else
// plain strings.
func stringColumn(name string, v []string) anndata.Column {
	codes := make(map[string]int32, 16)
	for _, s := range v {
		codes[s] = 0
	}
	if len(codes) == len(v) {
		return anndata.Column{Name: name, Values: v}
	}
	cats := make([]string, 0, len(codes))
	for s := range codes {
		cats = append(cats, s)
	}
	slices.Sort(cats)
	for i, s := range cats {
		codes[s] = int32(i)
	}
	c := &anndata.Categorical{Codes: make([]int32, len(v)), Categories: cats}
	for i, s := range v {
		c.Codes[i] = codes[s]
	}
	return anndata.Column{Name: name, Values: c}
}
