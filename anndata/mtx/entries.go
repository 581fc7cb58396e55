package mtx

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
)

// block is a piece of the entry text, cut at a line end, and the entries
// parsed from it. Blocks travel reader -> parser -> consumer and back.
type block struct {
	text    []byte // whole lines; the last byte is '\n'
	fileOff int64  // bytes of the (compressed) file read when the block was cut
	readErr error  // the read that ended this block failed

	// Filled by parse. Entries are 0-based and already remapped and
	// filtered; a symmetric entry adds its mirror right after itself.
	genes, cells []int32
	vals         []float32
	entries      int64     // entry lines in text, kept or not
	lines        int64     // lines in text
	err          *lineErr  // first bad line, numbered from 1 within the block
	done         chan bool // parse finished
}

// lineErr is a parse error at a line counted from the start of a block.
type lineErr struct {
	line int64
	msg  string
}

// parseSpec says which entries a pass keeps.
type parseSpec struct {
	h      Header
	remap  []int32 // file gene -> output gene, -1 drops it; nil keeps all
	lo, hi int32   // keep cells in [lo, hi)
	// values asks for the values of dropped entries to be parsed as well,
	// which validates them; passes after the first skip them.
	values bool
}

// parse parses b.text into b's entry slices. It stops at the first bad
// line. b.text must end with '\n', which lets the scanning loops run
// without length checks of their own.
func (s *parseSpec) parse(b *block) {
	t := b.text
	// Size the entry slices once for the most entries t can hold, rather
	// than let append leave a trail of smaller copies behind.
	most := bytes.Count(t, []byte{'\n'})
	if s.h.Symmetry != General {
		most *= 2
	}
	if cap(b.genes) < most {
		b.genes, b.cells, b.vals = make([]int32, 0, most), make([]int32, 0, most), make([]float32, 0, most)
	}
	genes, cells, vals := b.genes[:0], b.cells[:0], b.vals[:0]
	b.err = nil
	nRows, nCols := uint64(s.h.Rows), uint64(s.h.Cols)
	field, sym := s.h.Field, s.h.Symmetry
	remap, lo, hi := s.remap, s.lo, s.hi
	var line, entries int64
	i := 0
	for i < len(t) {
		line++
		for t[i] == ' ' || t[i] == '\t' {
			i++
		}
		switch t[i] {
		case '\n':
			i++
			continue
		case '%', '\r':
			if t[i] == '\r' && t[i+1] != '\n' {
				b.err = errAt(line, "stray carriage return")
				goto done
			}
			for t[i] != '\n' {
				i++
			}
			i++
			continue
		}
		entries++

		// Gene (row) index.
		g, j := parseUint(t, i)
		if j == i || !isSep(t[j]) {
			b.err = errAt(line, "bad gene (row) index %s: want a positive integer", token(t, i))
			goto done
		}
		if g == 0 || g > nRows {
			b.err = errAt(line, "%s", rangeMsg("gene (row)", g, nRows, "rows (genes)", s.h.SizeLine))
			goto done
		}
		i = skipBlanks(t, j)
		if t[i] == '\n' || t[i] == '\r' {
			b.err = errAt(line, "%s", fieldsMsg(field, 1))
			goto done
		}

		// Cell (column) index.
		c, j := parseUint(t, i)
		if j == i || !isSep(t[j]) {
			b.err = errAt(line, "bad cell (column) index %s: want a positive integer", token(t, i))
			goto done
		}
		if c == 0 || c > nCols {
			b.err = errAt(line, "%s", rangeMsg("cell (column)", c, nCols, "columns (cells)", s.h.SizeLine))
			goto done
		}
		i = skipBlanks(t, j)
		gene, cell := int32(g-1), int32(c-1)
		keep := cell >= lo && cell < hi && (remap == nil || remap[gene] >= 0)
		keepMirror := sym != General && gene != cell &&
			gene >= lo && gene < hi && (remap == nil || remap[cell] >= 0)

		// Value.
		v := float32(1)
		if field == Pattern {
			if t[i] != '\n' && t[i] != '\r' {
				b.err = errAt(line, "pattern matrix entry has a third field %s; want \"gene cell\"", token(t, i))
				goto done
			}
		} else {
			if t[i] == '\n' || t[i] == '\r' {
				b.err = errAt(line, "%s", fieldsMsg(field, 2))
				goto done
			}
			j := i
			if keep || keepMirror || s.values {
				// Fast path for counts: a sign and few enough digits that
				// int64 (integer) or float64 (real) holds them exactly.
				k := i
				neg := t[k] == '-'
				if neg || t[k] == '+' {
					k++
				}
				u, e := parseUint(t, k)
				if e > k && e-k <= fastDigits[field] && isSep(t[e]) {
					if field == Integer {
						x := int64(u)
						if neg {
							x = -x // "-0" is +0 in int64, as in scipy
						}
						v = float32(x)
					} else {
						v = float32(u)
						if neg {
							v = -v
						}
					}
					i = skipBlanks(t, e)
					goto value
				}
			}
			for !isSep(t[j]) {
				j++
			}
			if keep || keepMirror || s.values {
				var ok bool
				if field == Integer {
					v, ok = parseInteger(t[i:j])
				} else {
					v, ok = parseReal(t[i:j])
				}
				if !ok {
					if field == Integer {
						b.err = errAt(line, "bad value %s in an integer matrix: want an integer", token(t, i))
					} else {
						b.err = errAt(line, "bad value %s: want a number", token(t, i))
					}
					goto done
				}
			}
			i = skipBlanks(t, j)
		}
	value:
		if t[i] == '\r' {
			i++
		}
		if t[i] != '\n' {
			b.err = errAt(line, "%s; found more: %s", fieldsMsg(field, -1), token(t, i))
			goto done
		}
		i++

		if keep {
			og := gene
			if remap != nil {
				og = remap[gene]
			}
			genes = append(genes, og)
			cells = append(cells, cell)
			vals = append(vals, v)
		}
		if keepMirror {
			if sym == SkewSymmetric {
				v = -v
			}
			mg := cell
			if remap != nil {
				mg = remap[cell]
			}
			genes = append(genes, mg)
			cells = append(cells, gene)
			vals = append(vals, v)
		}
	}
done:
	b.genes, b.cells, b.vals = genes, cells, vals
	b.entries, b.lines = entries, line // each loop turn consumes one line
}

// errAt makes a parse error at a line. (A closure capturing the line
// counter would keep the counter out of a register.)
func errAt(line int64, format string, args ...any) *lineErr {
	return &lineErr{line: line, msg: fmt.Sprintf(format, args...)}
}

// entryLine returns the line (from 1) of the k-th entry line (from 1) in t.
func entryLine(t []byte, k int64) int64 {
	var line int64
	for i := 0; i < len(t); {
		line++
		j := skipBlanks(t, i)
		if t[j] != '\n' && t[j] != '\r' && t[j] != '%' {
			k--
			if k == 0 {
				return line
			}
		}
		for t[j] != '\n' {
			j++
		}
		i = j + 1
	}
	return line
}

// fastDigits is the most digits of an integer token that parse's fast path
// takes for each field: int64 holds 18 exactly; float64 holds 15, so a real
// converts to float32 with one rounding, as through float64.
var fastDigits = [...]int{Real: 15, Integer: 18, Pattern: 0}

func isSep(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipBlanks(t []byte, i int) int {
	for t[i] == ' ' || t[i] == '\t' {
		i++
	}
	return i
}

// parseUint parses the decimal digits at t[i:], returning the value and the
// index after them (i when there is none). Values past 19 digits saturate,
// which every range check rejects.
func parseUint(t []byte, i int) (uint64, int) {
	var v uint64
	j := i
	for ; t[j]-'0' <= 9; j++ {
		if v < 1e18 {
			v = v*10 + uint64(t[j]-'0')
		} else {
			v = math.MaxUint64
		}
	}
	return v, j
}

// token quotes the whitespace-delimited token at t[i:] for a message.
func token(t []byte, i int) string {
	j := i
	for j < len(t) && !isSep(t[j]) && j-i < 40 {
		j++
	}
	if j == i {
		return "(nothing)"
	}
	return strconv.Quote(string(t[i:j]))
}

func rangeMsg(what string, v, n uint64, dims string, sizeLine int64) string {
	if v == 0 {
		return fmt.Sprintf("%s index 0: Matrix Market indices start at 1", what)
	}
	if v == math.MaxUint64 {
		return fmt.Sprintf("%s index too large: exceeds the %d %s declared on line %d", what, n, dims, sizeLine)
	}
	return fmt.Sprintf("%s index %d exceeds the %d %s declared on line %d", what, v, n, dims, sizeLine)
}

// fieldsMsg describes a wrong number of fields; found < 0 means too many.
func fieldsMsg(f Field, found int) string {
	want := "3 fields (gene cell value)"
	if f == Pattern {
		want = "2 fields (gene cell)"
	}
	if found < 0 {
		return "too many fields: want " + want
	}
	return fmt.Sprintf("%d field(s); want %s", found, want)
}

// parseInteger parses a decimal int64 and converts it to float32, as
// scipy's mmread (int64) followed by astype(float32) does.
func parseInteger(tok []byte) (float32, bool) {
	i := 0
	neg := false
	if tok[0] == '-' || tok[0] == '+' {
		neg = tok[0] == '-'
		i = 1
	}
	if i == len(tok) {
		return 0, false
	}
	if len(tok)-i > 18 {
		v, err := strconv.ParseInt(string(tok), 10, 64)
		return float32(v), err == nil
	}
	var v int64
	for _, c := range tok[i:] {
		if c-'0' > 9 {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return float32(v), true
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseReal parses a decimal number to float64, correctly rounded, then
// converts it to float32, as mmread followed by astype(float32) does.
// Short plain decimals take an exact fast path (an integer mantissa below
// 2^53 times or divided by an exact power of ten rounds once); anything
// else goes to strconv.
func parseReal(tok []byte) (float32, bool) {
	i := 0
	neg := false
	if tok[0] == '-' || tok[0] == '+' {
		neg = tok[0] == '-'
		i = 1
	}
	var m uint64
	digits, frac := 0, 0
	for ; i < len(tok) && tok[i]-'0' <= 9; i++ {
		m = m*10 + uint64(tok[i]-'0')
		digits++
	}
	if i < len(tok) && tok[i] == '.' {
		for i++; i < len(tok) && tok[i]-'0' <= 9; i++ {
			m = m*10 + uint64(tok[i]-'0')
			digits++
			frac++
		}
	}
	exp := 0
	if i < len(tok) && (tok[i] == 'e' || tok[i] == 'E') && digits > 0 {
		i++
		eneg := false
		if i < len(tok) && (tok[i] == '-' || tok[i] == '+') {
			eneg = tok[i] == '-'
			i++
		}
		start := i
		for ; i < len(tok) && tok[i]-'0' <= 9 && i-start < 5; i++ {
			exp = exp*10 + int(tok[i]-'0')
		}
		if i == start {
			return slowReal(tok)
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(tok) || digits == 0 || digits > 15 {
		return slowReal(tok)
	}
	exp -= frac
	f := float64(m)
	switch {
	case exp == 0:
	case exp > 0 && exp <= 22:
		f *= pow10[exp]
	case exp < 0 && exp >= -22:
		f /= pow10[-exp]
	default:
		return slowReal(tok)
	}
	if neg {
		f = -f
	}
	return float32(f), true
}

func slowReal(tok []byte) (float32, bool) {
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		// Out-of-range values parse to ±Inf with ErrRange, as numpy reads them.
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return 0, false
		}
	}
	return float32(f), true
}
