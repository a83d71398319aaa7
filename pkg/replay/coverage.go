package replay

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/carry-trading/carry/exchange"
)

// Coverage returns the span every market of the chosen symbols has data for — spot klines, perp klines and
// settled funding: from the latest first row to the end of the earliest last one (a kline's end is its open
// time plus the interval; the funding data's, its last settlement plus that row's funding interval, read as
// the replay reads it: its funding_interval_hours, else Options.FundingHours, else eight hours). A backtest that runs outside it holds markets with
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
		defHours := exchange.DefaultFundingInterval
		if h, ok := opts.FundingHours[sym]; ok && h > 0 && h <= 24 {
			defHours = h
		}
		for _, m := range []struct {
			files   []string
			tail    time.Duration // from the last row's time to the end of what it covers
			funding bool
		}{{spot, iv, false}, {perp, iv, false}, {funding, time.Duration(defHours) * time.Hour, true}} {
			first, last, hours, err := spanOf(m.files)
			if err != nil {
				return from, to, err
			}
			if m.funding && hours > 0 {
				m.tail = time.Duration(hours) * time.Hour // the last settlement covers its own interval
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

// spanOf returns the times of the first and last rows of a market's files (in name order), and the last
// row's funding interval (0 when it has none), checking that each file starts after the previous one ends.
func spanOf(files []string) (first, last time.Time, hours int, err error) {
	for i, path := range files {
		a, b, h, err := edges(path)
		if err != nil {
			return first, last, hours, err
		}
		if i > 0 && !a.After(last) {
			return first, last, hours, fmt.Errorf("replay: overlapping data: %s (%s → %s) does not start after the last row of %s (%s); keep only one of them",
				filepath.Base(path), a.Format(time.RFC3339), b.Format(time.RFC3339), filepath.Base(files[i-1]), last.Format(time.RFC3339))
		}
		if i == 0 {
			first = a
		}
		last, hours = b, h
	}
	return first, last, hours, nil
}

// edgeWindow is how much of a file's head and tail edges reads.
const edgeWindow = 8192

// edges reads the times of a kline or funding file's first and last data rows (the open time of a bar, the
// time of a settlement), and the last row's funding interval (0 when the file has no such column, or the
// value is not 1 to 24 hours), from its first and last few kilobytes. The time column is the first one, or
// the one the header names.
func edges(path string) (first, last time.Time, hours int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return first, last, hours, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return first, last, hours, fmt.Errorf("replay: %w", err)
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
		return first, last, hours, err
	}
	col, hoursCol := 0, -1
	for _, l := range head {
		if l = bytes.TrimPrefix(bytes.TrimSpace(l), []byte("\xef\xbb\xbf")); len(l) == 0 {
			continue
		}
		if isHeader(l) { // the time column is the one the replay's own header parsers read
			hdr := fields(nil, l)
			if c, err := headerCols(hdr); err == nil {
				col = c.openTime
			} else if c, err := fundingHeaderCols(hdr); err == nil {
				col, hoursCol = c.time, c.interval
			}
		}
		break
	}
	// at is a row's time and funding interval (0 when none): false for a blank line, the header, or a row
	// whose time column is not an integer.
	at := func(line []byte) (time.Time, int, bool) {
		fs := bytes.Split(bytes.TrimPrefix(bytes.TrimSpace(line), []byte("\xef\xbb\xbf")), []byte(","))
		if col >= len(fs) {
			return time.Time{}, 0, false
		}
		v, err := parseInt(bytes.TrimSpace(fs[col]))
		if err != nil {
			return time.Time{}, 0, false
		}
		h := 0
		if hoursCol >= 0 && hoursCol < len(fs) {
			if n, err := parseInt(bytes.TrimSpace(fs[hoursCol])); err == nil && n >= 1 && n <= 24 {
				h = int(n)
			}
		}
		return time.Unix(0, epochNanos(v)).UTC(), h, true
	}
	noRow := fmt.Errorf("replay: %s has no data row", path)
	headCut := size > edgeWindow // the window's last line may be cut short
	found := false
	for i, l := range head {
		if headCut && i == len(head)-1 {
			break
		}
		if first, _, found = at(l); found {
			break
		}
	}
	if !found {
		return first, last, hours, noRow
	}
	tail, off := head, int64(0)
	if headCut {
		off = size - edgeWindow
		if tail, err = read(off); err != nil {
			return first, last, hours, err
		}
	}
	found = false
	for i := len(tail) - 1; i >= 0 && !found; i-- {
		if i == 0 && off > 0 {
			break // the window's first line may be cut short
		}
		last, hours, found = at(tail[i])
	}
	if !found && off > 0 {
		// The file's last kilobytes hold no data row (a long corrupt line at the end, say): find its last rows
		// by reading it all, and leave the bad line to the replay, which names it with its line number.
		if last, hours, err = scanLast(f, at); err != nil {
			return first, last, hours, fmt.Errorf("replay: reading %s: %w", path, err)
		}
		found = !last.IsZero()
	}
	if !found {
		return first, last, hours, noRow
	}
	return first, last, hours, nil
}

// scanLast reads the whole file for the time and funding interval of its last data row (zero when it has
// none).
func scanLast(f io.ReadSeeker, at func([]byte) (time.Time, int, bool)) (last time.Time, hours int, err error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return last, hours, err
	}
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := r.ReadBytes('\n')
		if t, h, ok := at(line); ok {
			last, hours = t, h
		}
		if err == io.EOF {
			return last, hours, nil
		}
		if err != nil {
			return last, hours, err
		}
	}
}
