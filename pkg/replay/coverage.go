package replay

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Coverage returns the span every market of the chosen symbols has data for — spot klines, perp klines and
// settled funding: from the latest first row to the end of the earliest last one (a kline's end is its open
// time plus the interval; the funding data's, its last settlement plus eight hours). A backtest that runs
// outside it holds markets with no prices, or no funding, which dilutes every annualised figure. Each market's
// files must follow one another in name order: a file that starts before the previous one ends (the same
// months fetched twice, in two layouts) is an error naming both. Only the first and last rows of the files
// are read.
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
		for _, m := range []struct {
			pattern, what string
			tail          time.Duration // from the last row's time to the end of what it covers
		}{
			{sym + "-spot-" + interval + "-*.csv", sym + " spot kline", iv},
			{sym + "-perp-" + interval + "-*.csv", sym + " perp kline", iv},
			{sym + "-fundingRate-*.csv", sym + " funding rate", 8 * time.Hour},
		} {
			files, err := filesFor(dir, m.pattern, m.what)
			if err != nil {
				return from, to, fmt.Errorf("replay: %w", err)
			}
			first, last, err := spanOf(files)
			if err != nil {
				return from, to, err
			}
			end := last.Add(m.tail)
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

// spanOf returns the times of the first and last rows of a market's files (in name order), checking that
// each file starts after the previous one ends.
func spanOf(files []string) (first, last time.Time, err error) {
	var prevName string
	for _, path := range files {
		a, err := edgeOpen(path, false)
		if err != nil {
			return first, last, err
		}
		b, err := edgeOpen(path, true)
		if err != nil {
			return first, last, err
		}
		if prevName != "" && !a.After(last) {
			return first, last, fmt.Errorf("replay: overlapping data: %s (%s → %s) does not start after the last row of %s (%s); keep only one of them",
				filepath.Base(path), a.Format(time.RFC3339), b.Format(time.RFC3339), filepath.Base(prevName), last.Format(time.RFC3339))
		}
		if prevName == "" {
			first = a
		}
		prevName, last = path, b
	}
	return first, last, nil
}

// timeColumns are the header names of the time column of kline and funding files.
var timeColumns = map[string]bool{"open_time": true, "opentime": true, "open time": true, "calc_time": true,
	"fundingtime": true, "funding_time": true}

// edgeOpen reads the time of a kline or funding file's first (or last) data row: the open time of a bar, the
// time of a settlement. The time column is the first one, or the one its header names.
func edgeOpen(path string, last bool) (time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	head := make([]byte, 8192)
	n, err := f.Read(head)
	if err != nil && err != io.EOF {
		return time.Time{}, fmt.Errorf("replay: reading %s: %w", path, err)
	}
	head = head[:n]
	lines := splitLines(head)
	col := 0
	for _, l := range lines {
		l = bytes.TrimPrefix(bytes.TrimSpace(l), []byte("\xef\xbb\xbf"))
		if len(l) == 0 {
			continue
		}
		if isHeader(l) {
			for i, name := range bytes.Split(l, []byte(",")) {
				if timeColumns[string(bytes.ToLower(bytes.TrimSpace(name)))] {
					col = i
				}
			}
		}
		break
	}
	pick := func(line []byte) (time.Time, bool) { // a row whose time column is an integer (not the header)
		line = bytes.TrimPrefix(bytes.TrimSpace(line), []byte("\xef\xbb\xbf"))
		if len(line) == 0 {
			return time.Time{}, false
		}
		fs := bytes.Split(line, []byte(","))
		if col >= len(fs) {
			return time.Time{}, false
		}
		v, err := parseInt(bytes.TrimSpace(fs[col]))
		if err != nil {
			return time.Time{}, false
		}
		return time.Unix(0, epochNanos(v)).UTC(), true
	}
	if !last {
		for i, l := range lines {
			if i == len(lines)-1 && n == len(head) && n == 8192 {
				break // possibly cut short
			}
			if t, ok := pick(l); ok {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("replay: %s has no data row", path)
	}
	st, err := f.Stat()
	if err != nil {
		return time.Time{}, fmt.Errorf("replay: %w", err)
	}
	off := max(st.Size()-8192, 0)
	tail := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(tail, off); err != nil && err != io.EOF {
		return time.Time{}, fmt.Errorf("replay: reading %s: %w", path, err)
	}
	lines = splitLines(tail)
	for i := len(lines) - 1; i >= 0; i-- {
		if i == 0 && off > 0 {
			break // possibly cut short
		}
		if t, ok := pick(lines[i]); ok {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("replay: %s has no data row", path)
}

func splitLines(b []byte) [][]byte {
	return bytes.Split(bytes.ReplaceAll(b, []byte("\r"), nil), []byte("\n"))
}
