package mtx

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// matrixFile reads a matrix file from its first entry line, pass after
// pass, reusing its buffers and decompressor. Compressed files are
// recognised by the gzip magic number, so the name does not matter.
type matrixFile struct {
	n      countingReader // bytes read from the file
	raw    *bufio.Reader  // the file
	gz     *gzip.Reader   // reused between passes
	text   *bufio.Reader  // gz's text
	br     *bufio.Reader  // raw or text: the text after the header
	isGz   bool
	closer io.Closer
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// openFile opens path and reads its header.
func (m *matrixFile) openFile(path string) (Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return Header{}, err
	}
	h, err := m.reset(f, path)
	if err != nil {
		f.Close()
		return Header{}, err
	}
	m.closer = f
	return h, nil
}

// reset starts reading the matrix text (or gzip stream) r, up to and
// including its header.
func (m *matrixFile) reset(r io.Reader, name string) (Header, error) {
	m.n = countingReader{r: r}
	m.closer = nil
	if m.raw == nil {
		m.raw = bufio.NewReaderSize(&m.n, 1<<20)
	} else {
		m.raw.Reset(&m.n)
	}
	m.br, m.isGz = m.raw, false
	if magic, _ := m.raw.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		var err error
		if m.gz == nil {
			m.gz, err = gzip.NewReader(m.raw)
		} else {
			err = m.gz.Reset(m.raw)
		}
		if err != nil {
			return Header{}, &Error{File: name, Msg: fmt.Sprintf("bad gzip header: %v", err)}
		}
		if m.text == nil {
			m.text = bufio.NewReaderSize(m.gz, 1<<16)
		} else {
			m.text.Reset(m.gz)
		}
		m.br, m.isGz = m.text, true
	}
	h, err := readHeader(m.br, name)
	if err != nil {
		return Header{}, m.wrapErr(name, err)
	}
	return h, nil
}

// Close closes the file; the buffers stay for the next pass.
func (m *matrixFile) Close() error {
	if m.closer != nil {
		err := m.closer.Close()
		m.closer = nil
		return err
	}
	return nil
}

// wrapErr explains a read error, naming the file.
func (m *matrixFile) wrapErr(path string, err error) error {
	if _, ok := err.(*Error); ok {
		return err
	}
	if !m.isGz {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return fmt.Errorf("%s: corrupt or truncated gzip data: %w", path, err)
}

// passConfig sets up the pipeline of a pass.
type passConfig struct {
	workers   int              // parser goroutines
	blockSize int              // bytes of text per block
	progress  func(done int64) // file bytes read so far; called per block
}

// defaultBlockSize balances per-block overhead against memory held in
// flight ((2*workers+2) blocks of text plus their parsed entries).
const defaultBlockSize = 1 << 20

// passer reads one matrix file pass after pass, reusing its readers and
// blocks so that a pass leaves no garbage behind.
type passer struct {
	path   string
	open   func(m *matrixFile) (Header, error) // starts m on the file
	want   Header                              // what the first pass saw
	m      matrixFile
	blocks []*block
}

func newPasser(path string, want Header) *passer {
	return &passer{path: path, want: want, open: func(m *matrixFile) (Header, error) { return m.openFile(path) }}
}

// run reads the matrix once. A reader goroutine cuts the text into blocks
// at line ends, cfg.workers goroutines parse blocks with spec, and fn
// receives the parsed blocks in file order on the calling goroutine. It
// checks that the file still has the header it had, and that it holds
// exactly the declared number of entries. It returns the bytes of text read.
func (p *passer) run(ctx context.Context, spec *parseSpec, cfg passConfig, fn func(*block) error) (int64, error) {
	path, m := p.path, &p.m
	h, err := p.open(m)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	if h != p.want {
		return 0, &Error{File: path, Msg: "the file changed while it was being read (its header differs from the first pass)"}
	}
	workers := max(cfg.workers, 1)
	size := cfg.blockSize
	if size <= 0 {
		size = defaultBlockSize
	}
	nb := 2*workers + 2
	for len(p.blocks) < nb {
		p.blocks = append(p.blocks, &block{done: make(chan bool, 1)})
	}
	free := make(chan *block, nb)
	for _, b := range p.blocks[:nb] {
		select {
		case <-b.done: // left over from a pass that stopped early
		default:
		}
		free <- b
	}
	work := make(chan *block, nb)
	ordered := make(chan *block, nb)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { m.readBlocks(path, size, free, work, ordered, stop) })
	for range workers {
		wg.Go(func() {
			for b := range work {
				if b.readErr == nil {
					spec.parse(b)
				}
				b.done <- true
			}
		})
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()

	var text, entries int64
	base := h.SizeLine // lines before the current block
	for b := range ordered {
		<-b.done
		if b.readErr != nil {
			return text, b.readErr
		}
		if entries+b.entries > h.Entries {
			line := base + entryLine(b.text, h.Entries-entries+1)
			return text, &Error{File: path, Line: line, Msg: fmt.Sprintf("more entries than the %d declared on line %d", h.Entries, h.SizeLine)}
		}
		if b.err != nil {
			return text, &Error{File: path, Line: base + b.err.line, Msg: b.err.msg}
		}
		entries += b.entries
		text += int64(len(b.text))
		if cfg.progress != nil {
			cfg.progress(b.fileOff)
		}
		if err := fn(b); err != nil {
			return text, err
		}
		base += b.lines
		free <- b
		if err := ctx.Err(); err != nil {
			return text, err
		}
	}
	if entries < h.Entries {
		return text, &Error{File: path, Line: base, Msg: fmt.Sprintf("the file ends after %d entries, but line %d declares %d", entries, h.SizeLine, h.Entries)}
	}
	return text, nil
}

// readBlocks cuts the text into blocks of about size bytes that end at a
// line end, and hands each to the consumer (in order) and to the parsers.
func (m *matrixFile) readBlocks(path string, size int, free <-chan *block, work, ordered chan<- *block, stop <-chan struct{}) {
	defer close(work)
	defer close(ordered)
	var carry []byte // the unfinished last line of the previous block
	for {
		var b *block
		select {
		case b = <-free:
		case <-stop:
			return
		}
		b.readErr = nil
		t := b.text[:0]
		if cap(t) < size {
			t = make([]byte, 0, size)
		}
		t = append(t, carry...)
		carry = carry[:0]
		eof := false
		for {
			if len(t) == cap(t) {
				t = slices.Grow(t, cap(t)) // a line longer than a block
			}
			n, err := fill(m.br, t[len(t):cap(t)])
			t = t[:len(t)+n]
			if err == io.EOF {
				eof = true
				break
			}
			if err != nil {
				b.readErr = m.wrapErr(path, err)
				eof = true
				break
			}
			if bytes.IndexByte(t[len(t)-n:], '\n') >= 0 {
				break
			}
		}
		if eof {
			if len(t) > 0 && t[len(t)-1] != '\n' {
				t = append(t, '\n')
			}
		} else {
			cut := bytes.LastIndexByte(t, '\n') + 1
			carry = append(carry, t[cut:]...)
			t = t[:cut]
		}
		b.text = t
		b.fileOff = m.n.n
		select {
		case ordered <- b:
		case <-stop:
			return
		}
		work <- b // never blocks: work holds as many blocks as exist
		if eof {
			return
		}
	}
}

// fill reads into p until it is full (nil error) or the reader fails;
// io.EOF means the text ended cleanly.
func fill(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := r.Read(p[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func statSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
