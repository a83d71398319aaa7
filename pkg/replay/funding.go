package replay

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// fundingCols are the column positions of a settled-funding file (calc_time, funding_interval_hours,
// last_funding_rate in Binance's archive). interval is -1 when the file has no interval column.
type fundingCols struct {
	time, interval, rate, n int
}

func fundingHeaderCols(hdr [][]byte) (fundingCols, error) {
	c := fundingCols{time: -1, interval: -1, rate: -1}
	for i, h := range hdr {
		switch string(bytes.ToLower(bytes.TrimPrefix(h, []byte("\xef\xbb\xbf")))) {
		case "calc_time", "fundingtime", "funding_time":
			c.time = i
		case "funding_interval_hours", "fundingintervalhours":
			c.interval = i
		case "last_funding_rate", "fundingrate", "funding_rate":
			c.rate = i
		}
	}
	if c.time < 0 || c.rate < 0 {
		return c, fmt.Errorf("the header needs calc_time and last_funding_rate columns (columns: %s)", bytes.Join(hdr, []byte(",")))
	}
	c.n = max(c.time, c.rate, c.interval) + 1
	return c, nil
}

// fundingSource turns settled-funding rows into EventFunding. The mark price is filled in by the feed.
type fundingSource struct {
	lr        *lineReader
	symbol    string
	defHours  int
	cols      fundingCols
	f         [][]byte
	prev      int64
	prevHours int // the previous row's interval
	havePrev  bool
	next      exchange.Event
	nextNs    int64
	missing   []Gap
}

func (s *fundingSource) gaps() []Gap { return s.missing }

func newFundingSource(files []string, symbol string, defHours int) (*fundingSource, error) {
	s := &fundingSource{lr: newLineReader(files), symbol: symbol, defHours: defHours, f: make([][]byte, 0, 4)}
	return s, s.fill()
}

func (s *fundingSource) head() int64 { return s.nextNs }
func (s *fundingSource) close()      { s.lr.close() }

func (s *fundingSource) take(ev *exchange.Event) (raw decimal.Decimal, rawF float64, err error) {
	*ev = s.next
	return raw, rawF, s.fill()
}

// fill reads the next row into next (nextNs = exhausted at the end or after an error).
func (s *fundingSource) fill() error {
	s.nextNs = exhausted
	for {
		line, err := s.lr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if s.lr.first {
			if isHeader(line) {
				if s.cols, err = fundingHeaderCols(fields(s.f, line)); err != nil {
					return s.lr.errorf("%v", err)
				}
				continue
			}
			s.cols = fundingCols{time: 0, interval: 1, rate: 2, n: 3}
			if n := len(fields(s.f, line)); n == 2 {
				s.cols = fundingCols{time: 0, interval: -1, rate: 1, n: 2}
			}
		}
		if err := s.parse(line); err != nil {
			return s.lr.errorf("%v", err)
		}
		return nil
	}
}

func (s *fundingSource) parse(line []byte) error {
	s.f = fields(s.f, line)
	if len(s.f) < s.cols.n {
		return fmt.Errorf("%d columns, want at least %d", len(s.f), s.cols.n)
	}
	t, err := parseInt(s.f[s.cols.time])
	if err != nil {
		return fmt.Errorf("calc_time: %v", err)
	}
	ns := epochNanos(t)
	if s.havePrev && ns <= s.prev {
		return fmt.Errorf("settlement at %s is not after the previous one at %s", fmtNanos(ns), fmtNanos(s.prev))
	}
	hours := s.defHours
	if s.cols.interval >= 0 {
		h, err := parseInt(s.f[s.cols.interval])
		if err != nil || h <= 0 || h > 24 {
			return fmt.Errorf("funding_interval_hours %q is not an hour count between 1 and 24", s.f[s.cols.interval])
		}
		hours = int(h)
	}
	r, err := parseNum(s.f[s.cols.rate])
	if err != nil {
		return fmt.Errorf("last_funding_rate: %v", err)
	}
	rate := r.dec()
	if rate.Abs().GreaterThan(maxRate) {
		return fmt.Errorf("last_funding_rate %s is not a plausible rate (|rate| > %s)", rate, maxRate)
	}
	// A wait longer than the interval (the longer of the two rows', when it changes) means at least one
	// settlement is missing: no funding is paid for it, and the report says so. A minute's slack: settlement
	// times carry millisecond offsets.
	if s.havePrev && ns-s.prev > int64(time.Duration(max(hours, s.prevHours))*time.Hour+time.Minute) {
		s.missing = append(s.missing, Gap{Symbol: s.symbol, Market: "funding", From: time.Unix(0, s.prev).UTC(), To: time.Unix(0, ns).UTC()})
	}
	s.prev, s.prevHours, s.havePrev = ns, hours, true
	tm := time.Unix(0, ns).UTC()
	s.next = exchange.Event{Kind: exchange.EventFunding, Time: tm, Venue: exchange.Futures, Symbol: s.symbol,
		Funding: exchange.FundingRate{Symbol: s.symbol, Rate: rate, IntervalHours: hours, Time: tm}}
	s.nextNs = ns
	return nil
}
