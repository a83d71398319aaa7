package replay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// lineReader streams the lines of several files in order (consecutive months of one kind), tracking the file
// and line number for error messages. Lines are returned without their end-of-line bytes and are valid until
// the next call.
type lineReader struct {
	files  []string
	idx    int
	f      *os.File
	br     *bufio.Reader
	line   int  // 1-based number of the line last returned
	first  bool // the line last returned is the first non-empty line of its file
	sawAny bool // a non-empty line was returned from the current file
	long   []byte
}

func newLineReader(files []string) *lineReader {
	return &lineReader{files: files, idx: -1}
}

// next returns the next non-empty line, or io.EOF after the last file.
func (r *lineReader) next() ([]byte, error) {
	for {
		if r.f == nil {
			if err := r.open(); err != nil {
				return nil, err
			}
		}
		b, err := r.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			r.long = append(r.long[:0], b...)
			for errors.Is(err, bufio.ErrBufferFull) {
				b, err = r.br.ReadSlice('\n')
				r.long = append(r.long, b...)
			}
			b = r.long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading %s: %w", r.name(), err)
		}
		if len(b) > 0 {
			r.line++
			b = bytes.TrimRight(b, "\r\n")
			if len(b) > 0 {
				r.first = !r.sawAny
				r.sawAny = true
				if r.first {
					b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
				}
				return b, nil
			}
		}
		if errors.Is(err, io.EOF) {
			_ = r.f.Close()
			r.f = nil
		}
	}
}

func (r *lineReader) open() error {
	r.idx++
	if r.idx >= len(r.files) {
		r.idx = len(r.files)
		return io.EOF
	}
	f, err := os.Open(r.files[r.idx])
	if err != nil {
		return fmt.Errorf("opening %s: %w", r.files[r.idx], err)
	}
	r.f, r.line, r.sawAny = f, 0, false
	if r.br == nil {
		r.br = bufio.NewReaderSize(f, 64<<10)
	}
	r.br.Reset(f)
	return nil
}

// name is the base name of the current file.
func (r *lineReader) name() string {
	if r.idx < 0 || r.idx >= len(r.files) {
		return ""
	}
	return filepath.Base(r.files[r.idx])
}

// errorf names the file and line of the last returned line.
func (r *lineReader) errorf(format string, args ...any) error {
	return fmt.Errorf("%s line %d: %s", r.path(), r.line, fmt.Sprintf(format, args...))
}

func (r *lineReader) path() string {
	if r.idx < 0 || r.idx >= len(r.files) {
		return "(no file)"
	}
	return r.files[r.idx]
}

func (r *lineReader) close() {
	if r.f != nil {
		_ = r.f.Close()
		r.f = nil
	}
	r.idx = len(r.files)
}

// fields splits a CSV line on commas into dst (no quoting: Binance files have none). Fields are trimmed of
// spaces when they have any.
func fields(dst [][]byte, line []byte) [][]byte { return fieldsN(dst, line, -1) }

// fieldsN is fields that stops after the first n fields (all when n < 0); the last one kept may hold the
// rest of the line only when n < 0.
func fieldsN(dst [][]byte, line []byte, n int) [][]byte {
	dst = dst[:0]
	start := 0
	for i := 0; i < len(line); i++ {
		if line[i] == ',' {
			dst = append(dst, trim(line[start:i]))
			if len(dst) == n {
				return dst
			}
			start = i + 1
		}
	}
	return append(dst, trim(line[start:]))
}

func trim(b []byte) []byte {
	if len(b) > 0 && (b[0] <= ' ' || b[len(b)-1] <= ' ') {
		return bytes.TrimSpace(b)
	}
	return b
}

// isHeader reports whether a first line is a header (its first field does not start with a digit).
func isHeader(line []byte) bool {
	line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")) // UTF-8 BOM
	return len(line) > 0 && (line[0] < '0' || line[0] > '9')
}
