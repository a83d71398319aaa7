package replay

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Coverage returns the span every market of the chosen symbols has data for — spot klines, perp klines and
// settled funding: from the latest first row to the end of the earliest last one (a kline's end is its open
// time plus the interval; the funding data's, its last settlement plus the interval between its last two,
// 1 to 8 hours, or eight hours when that cannot be read). A backtest that runs outside it holds markets with
// no prices, or no funding, which dilutes every annualised figure. Each market's files must follow one
// another in name order: a file that starts before the previous one ends (the same months fetched twice, in
// two layouts) is an error naming both. Only the first and last rows of the files are read.
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
		spot, perp, funding, err := symbolFiles(dir, sym, interval)
		if err != nil {
			return from, to, err
		}
		for _, m := range []struct {
			files   []string
			tail    time.Duration // from the last row's time to the end of what it covers
			funding bool
		}{{spot, iv, false}, {perp, iv, false}, {funding, 8 * time.Hour, true}} {
			first, last, step, err := spanOf(m.files)
			if err != nil {
				return from, to, err
			}
			if h := step.Round(time.Hour); m.funding && h >= time.Hour && h < m.tail {
				m.tail = h // a 1 h or 4 h symbol: its last settlement covers that long
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

// spanOf returns the times of the first and last rows of a market's files (in name order), and the step
// between the last two rows (0 when unknown), checking that each file starts after the previous one ends.
func spanOf(files []string) (first, last time.Time, step time.Duration, err error) {
	for i, path := range files {
		a, b, prev, err := edges(path)
		if err != nil {
			return first, last, step, err
		}
		if i > 0 && !a.After(last) {
			return first, last, step, fmt.Errorf("replay: overlapping data: %s (%s → %s) does not start after the last row of %s (%s); keep only one of them",
				filepath.Base(path), a.Format(time.RFC3339), b.Format(time.RFC3339), filepath.Base(files[i-1]), last.Format(time.RFC3339))
		}
		if i == 0 {
			first = a
		}
		if step = 0; !prev.IsZero() {
			step = b.Sub(prev)
		} else if i > 0 {
			step = b.Sub(last) // a file of one row: the step from the previous file's last
		}
		last = b
	}
	return first, last, step, nil
}

// edgeWindow is how much of a file's head and tail edges reads.
const edgeWindow = 8192

// edges reads the times of a kline or funding file's first and last data rows (the open time of a bar, the
// time of a settlement), and of the row before the last (zero when there is none in the window), from its
// first and last few kilobytes. The time column is the first one, or the one the header names.
func edges(path string) (first, last, prev time.Time, err error) {
	f, err := os.Open(path)
	if err != nil {
		return first, last, prev, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return first, last, prev, fmt.Errorf("replay: %w", err)
	}
	size := st.Size()
	read := func(off int64) ([][]byte, error) {
		buf := make([]byte, min(size-off, edgeWindow))
		if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
			return nil, fmt.Errorf("replay: reading %s: %w", path, err)
		}
		return bytes.Split(bytes.ReplaceAll(buf, []byte("\r"), nil), []byte("\n")), nil
	}
	head, err := read(0)
	if err != nil {
		return first, last, prev, err
	}
	col := 0
	for _, l := range head {
		if l = bytes.TrimPrefix(bytes.TrimSpace(l), []byte("\xef\xbb\xbf")); len(l) == 0 {
			continue
		}
		if isHeader(l) { // the time column is the one the replay's own header parsers read
			hdr := fields(nil, l)
			if c, err := headerCols(hdr); err == nil {
				col = c.openTime
			} else if c, err := fundingHeaderCols(hdr); err == nil {
				col = c.time
			}
		}
		break
	}
	// at is a row's time: false for a blank line, the header, or a row whose time column is not an integer.
	at := func(line []byte) (time.Time, bool) {
		fs := bytes.Split(bytes.TrimPrefix(bytes.TrimSpace(line), []byte("\xef\xbb\xbf")), []byte(","))
		if col >= len(fs) {
			return time.Time{}, false
		}
		v, err := parseInt(bytes.TrimSpace(fs[col]))
		if err != nil {
			return time.Time{}, false
		}
		return time.Unix(0, epochNanos(v)).UTC(), true
	}
	noRow := fmt.Errorf("replay: %s has no data row", path)
	headCut := size > edgeWindow // the window's last line may be cut short
	found := false
	for i, l := range head {
		if headCut && i == len(head)-1 {
			break
		}
		if first, found = at(l); found {
			break
		}
	}
	if !found {
		return first, last, prev, noRow
	}
	tail, off := head, int64(0)
	if headCut {
		off = size - edgeWindow
		if tail, err = read(off); err != nil {
			return first, last, prev, err
		}
	}
	found = false
	for i := len(tail) - 1; i >= 0; i-- {
		if i == 0 && off > 0 {
			break // the window's first line may be cut short
		}
		t, ok := at(tail[i])
		switch {
		case !ok:
		case !found:
			last, found = t, true
		default:
			return first, last, t, nil
		}
	}
	if !found && off > 0 {
		// The file's last kilobytes hold no data row (a long corrupt line at the end, say): find its last rows
		// by reading it all, and leave the bad line to the replay, which names it with its line number.
		if last, prev, err = scanLast(f, at); err != nil {
			return first, last, prev, fmt.Errorf("replay: reading %s: %w", path, err)
		}
		found = !last.IsZero()
	}
	if !found {
		return first, last, prev, noRow
	}
	return first, last, prev, nil
}

// scanLast reads the whole file for the times of its last two data rows (zero when it has none).
func scanLast(f io.ReadSeeker, at func([]byte) (time.Time, bool)) (last, prev time.Time, err error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return last, prev, err
	}
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := r.ReadBytes('\n')
		if t, ok := at(line); ok {
			last, prev = t, last
		}
		if err == io.EOF {
			return last, prev, nil
		}
		if err != nil {
			return last, prev, err
		}
	}
}
