package mtx

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Field is the value type a Matrix Market file declares on its banner line.
type Field uint8

const (
	Real    Field = iota // "real" (or "double"): decimal floating point, read as float64 then stored as float32
	Integer              // "integer": read as int64 then stored as float32
	Pattern              // "pattern": no value column; every entry is 1
)

func (f Field) String() string {
	switch f {
	case Real:
		return "real"
	case Integer:
		return "integer"
	case Pattern:
		return "pattern"
	}
	return fmt.Sprintf("Field(%d)", uint8(f))
}

// Symmetry is the storage scheme a Matrix Market file declares.
type Symmetry uint8

const (
	General       Symmetry = iota // every entry is stored
	Symmetric                     // one triangle is stored; (i, j, v) also stands for (j, i, v)
	SkewSymmetric                 // one triangle is stored; (i, j, v) also stands for (j, i, -v)
)

func (s Symmetry) String() string {
	switch s {
	case General:
		return "general"
	case Symmetric:
		return "symmetric"
	case SkewSymmetric:
		return "skew-symmetric"
	}
	return fmt.Sprintf("Symmetry(%d)", uint8(s))
}

// Header is what the banner and size lines of a Matrix Market coordinate
// file declare. In 10x files rows are genes (features) and columns cells.
type Header struct {
	Field    Field
	Symmetry Symmetry
	Rows     int   // genes
	Cols     int   // cells
	Entries  int64 // entry lines in the file (one triangle when symmetric)
	SizeLine int64 // line number of the size line; entries follow it
}

// Error is a problem with an input file. Line is 0 when the problem is not
// tied to one line (a missing file, a wrong count over the whole file).
type Error struct {
	File string
	Line int64
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s line %d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// maxIndex bounds rows and columns: parsed indices are int32.
const maxIndex = math.MaxInt32

// readHeader reads the banner, the comments and the size line of a Matrix
// Market file from br, leaving br at the first entry line.
func readHeader(br *bufio.Reader, name string) (Header, error) {
	var h Header
	fail := func(line int64, format string, args ...any) (Header, error) {
		return h, &Error{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	line, long, err := readHeaderLine(br)
	if len(line) == 0 && err != nil {
		if err == io.EOF {
			return fail(0, "empty file; want a Matrix Market header such as %q", exampleBanner)
		}
		return h, fmt.Errorf("%s: %w", name, err)
	}
	if long {
		return fail(1, "bad header: the first line is longer than %d bytes; want %q", br.Size(), exampleBanner)
	}
	if err := h.parseBanner(line); err != nil {
		return fail(1, "%v", err)
	}
	for n := int64(2); ; n++ {
		line, long, err := readHeaderLine(br)
		if len(line) == 0 && err != nil {
			if err == io.EOF {
				return fail(n-1, "size line missing: the file ends after the header; want a line \"genes cells entries\"")
			}
			return h, fmt.Errorf("%s: %w", name, err)
		}
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] == '%' {
			continue // comment or blank line
		}
		if long {
			return fail(n, "size line longer than %d bytes", br.Size())
		}
		h.SizeLine = n
		if err := h.parseSize(t); err != nil {
			return fail(n, "%v", err)
		}
		return h, nil
	}
}

const exampleBanner = "%%MatrixMarket matrix coordinate integer general"

// readHeaderLine returns the next line of br. A line that does not fit br's
// buffer is consumed whole; its first part is returned with long set.
func readHeaderLine(br *bufio.Reader) (line []byte, long bool, err error) {
	line, err = br.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		return line, false, err
	}
	start := line[:min(len(line), 64)]
	keep := append([]byte(nil), start...)
	for err == bufio.ErrBufferFull {
		_, err = br.ReadSlice('\n')
	}
	if err == io.EOF {
		err = nil
	}
	return keep, true, err
}

func (h *Header) parseBanner(line []byte) error {
	t := strings.Fields(string(line))
	if len(t) == 0 || !strings.EqualFold(t[0], "%%MatrixMarket") {
		return fmt.Errorf("bad header %s: not a Matrix Market file; want %q", quote(line), exampleBanner)
	}
	if len(t) != 5 {
		return fmt.Errorf("bad header %s: want 5 words as in %q", quote(line), exampleBanner)
	}
	if !strings.EqualFold(t[1], "matrix") {
		return fmt.Errorf("bad header: object %q is not supported; want matrix", t[1])
	}
	switch strings.ToLower(t[2]) {
	case "coordinate":
	case "array":
		return errors.New("dense \"array\" format is not supported; 10x matrices use \"coordinate\" format")
	default:
		return fmt.Errorf("bad header: format %q; want coordinate", t[2])
	}
	switch strings.ToLower(t[3]) {
	case "real", "double":
		h.Field = Real
	case "integer":
		h.Field = Integer
	case "pattern":
		h.Field = Pattern
	case "complex":
		return errors.New("complex values are not supported; want integer, real or pattern")
	default:
		return fmt.Errorf("bad header: unknown field %q; want integer, real or pattern", t[3])
	}
	switch strings.ToLower(t[4]) {
	case "general":
		h.Symmetry = General
	case "symmetric":
		h.Symmetry = Symmetric
	case "skew-symmetric":
		h.Symmetry = SkewSymmetric
	case "hermitian":
		return errors.New("hermitian matrices are not supported; want general")
	default:
		return fmt.Errorf("bad header: unknown symmetry %q; want general", t[4])
	}
	return nil
}

func (h *Header) parseSize(t []byte) error {
	f := strings.Fields(string(t))
	bad := func() error {
		return fmt.Errorf("bad size line %s: want three non-negative integers: genes (rows), cells (columns) and entries", quote(t))
	}
	if len(f) != 3 {
		return bad()
	}
	var v [3]int64
	for i, s := range f {
		x, err := strconv.ParseInt(s, 10, 64)
		if err != nil || x < 0 {
			return bad()
		}
		v[i] = x
	}
	if v[0] > maxIndex || v[1] > maxIndex {
		return fmt.Errorf("size line declares %d x %d; at most %d genes and cells are supported", v[0], v[1], maxIndex)
	}
	h.Rows, h.Cols, h.Entries = int(v[0]), int(v[1]), v[2]
	if h.Symmetry != General && h.Rows != h.Cols {
		return fmt.Errorf("size line declares a %s matrix of %d x %d; symmetric matrices must be square", h.Symmetry, h.Rows, h.Cols)
	}
	return nil
}

// quote quotes the start of a line for an error message.
func quote(b []byte) string {
	b = bytes.TrimRight(b, "\r\n")
	if len(b) > 60 {
		return strconv.Quote(string(b[:60])) + "..."
	}
	return strconv.Quote(string(b))
}
