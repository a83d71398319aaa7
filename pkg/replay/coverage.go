package replay

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"time"
)

// Coverage returns the span every spot and perp kline market of the chosen symbols has data for: from the
// latest first bar to the end of the earliest last bar. A backtest that runs outside it holds markets with no
// prices (the shipped funding file, for instance, starts nine months before the klines), which dilutes every
// annualised figure. Only the first and last rows of the files are read.
func Coverage(dir string, opts Options) (from, to time.Time, err error) {
	symbols, interval, err := resolve(dir, opts)
	if err != nil {
		return from, to, err
	}
	iv, err := parseInterval(interval)
	if err != nil {
		return from, to, fmt.Errorf("replay: %w", err)
	}
	for _, sym := range symbols {
		for _, kind := range []string{"spot", "perp"} {
			files, err := filesFor(dir, sym+"-"+kind+"-"+interval+"-*.csv", sym+" "+kind+" kline")
			if err != nil {
				return from, to, fmt.Errorf("replay: %w", err)
			}
			first, err := edgeOpen(files[0], false)
			if err != nil {
				return from, to, err
			}
			last, err := edgeOpen(files[len(files)-1], true)
			if err != nil {
				return from, to, err
			}
			end := last.Add(iv)
			if from.IsZero() || first.After(from) {
				from = first
			}
			if to.IsZero() || end.Before(to) {
				to = end
			}
		}
	}
	if !from.Before(to) {
		return from, to, fmt.Errorf("replay: the markets of %v in %s share no time span", symbols, dir)
	}
	return from, to, nil
}

// edgeOpen reads the open time of a kline file's first (or last) data row.
func edgeOpen(path string, last bool) (time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	var buf []byte
	if last {
		st, err := f.Stat()
		if err != nil {
			return time.Time{}, fmt.Errorf("replay: %w", err)
		}
		off := max(st.Size()-8192, 0)
		buf = make([]byte, st.Size()-off)
		if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
			return time.Time{}, fmt.Errorf("replay: reading %s: %w", path, err)
		}
	} else {
		buf = make([]byte, 8192)
		n, err := f.Read(buf)
		if err != nil && err != io.EOF {
			return time.Time{}, fmt.Errorf("replay: reading %s: %w", path, err)
		}
		buf = buf[:n]
	}
	lines := bytes.Split(bytes.ReplaceAll(buf, []byte("\r"), nil), []byte("\n"))
	pick := func(line []byte) (time.Time, bool) {
		line = bytes.TrimPrefix(bytes.TrimSpace(line), []byte("\xef\xbb\xbf"))
		if len(line) == 0 || isHeader(line) {
			return time.Time{}, false
		}
		end := bytes.IndexByte(line, ',')
		if end < 0 {
			return time.Time{}, false
		}
		v, err := parseInt(line[:end])
		if err != nil {
			return time.Time{}, false
		}
		return time.Unix(0, epochNanos(v)).UTC(), true
	}
	if last {
		for i := len(lines) - 1; i >= 0; i-- {
			if t, ok := pick(lines[i]); ok {
				return t, nil
			}
		}
	} else {
		for i, l := range lines {
			if i == len(lines)-1 && len(buf) == 8192 {
				break // possibly cut short
			}
			if t, ok := pick(l); ok {
				return t, nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("replay: %s has no data row", path)
}
