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

// klineCols are the column positions of the fields a bar needs.
type klineCols struct {
	openTime, open, high, low, close, volume int
	n                                        int // fields a row must have
}

// archiveCols is Binance's header-less 12-column layout: open_time, open, high, low, close, volume,
// close_time, quote_volume, count, taker_buy_volume, taker_buy_quote_volume, ignore.
var archiveCols = klineCols{openTime: 0, open: 1, high: 2, low: 3, close: 4, volume: 5, n: 6}

func headerCols(hdr [][]byte) (klineCols, error) {
	c := klineCols{openTime: -1, open: -1, high: -1, low: -1, close: -1, volume: -1}
	for i, h := range hdr {
		switch string(bytes.ToLower(bytes.TrimPrefix(h, []byte("\xef\xbb\xbf")))) {
		case "open_time", "opentime", "open time":
			c.openTime = i
		case "open":
			c.open = i
		case "high":
			c.high = i
		case "low":
			c.low = i
		case "close":
			c.close = i
		case "volume":
			c.volume = i
		}
	}
	for _, x := range []struct {
		name string
		i    int
	}{{"open_time", c.openTime}, {"open", c.open}, {"high", c.high}, {"low", c.low}, {"close", c.close}, {"volume", c.volume}} {
		if x.i < 0 {
			return c, fmt.Errorf("the header has no %s column (columns: %s)", x.name, bytes.Join(hdr, []byte(",")))
		}
		c.n = max(c.n, x.i+1)
	}
	return c, nil
}

// bar is one parsed kline.
type bar struct {
	open           int64 // open time, Unix ns
	o, h, l, c     num
	of, hf, lf, cf float64
	vol            decimal.Decimal
}

// klineSource turns the klines of one market into quote events: four per bar (open at +0, the first extreme at
// +interval/4, the second at +interval/2, close at +3·interval/4), with suspend/resume around gaps.
type klineSource struct {
	lr       *lineReader
	venue    exchange.Venue
	symbol   string
	interval int64
	pr       pricer
	cols     klineCols
	f        [][]byte
	prevOpen int64 // the last bar's open time
	havePrev bool
	traded   int64 // the open time of the last bar with trades (a bar without any carries no price)
	didTrade bool  // traded is set
	done     bool
	cur      bar
	pts      [4]*num
	q        steps
	memo     memoPrice // the last close, which the next bar usually opens at
	slab     decSlab
	missing  []Gap
}

func (s *klineSource) gaps() []Gap { return s.missing }

// memoPrice caches the decimals derived from one bar price: a bar usually opens at the previous close, so
// that point needs no new decimals.
type memoPrice struct {
	m        int64
	e        int32
	ok       bool
	raw      decimal.Decimal
	bid, ask decimal.Decimal
	f        float64
}

func newKlineSource(files []string, venue exchange.Venue, symbol string, interval time.Duration, pr pricer) (*klineSource, error) {
	s := &klineSource{lr: newLineReader(files), venue: venue, symbol: symbol, interval: int64(interval), pr: pr,
		f: make([][]byte, 0, 16)}
	return s, s.fill()
}

func (s *klineSource) close() { s.lr.close() }

func (s *klineSource) head() int64 {
	if s.q.n == 0 {
		return exhausted
	}
	return s.q.buf[s.q.head].ns
}

func (s *klineSource) take(ev *exchange.Event) (raw decimal.Decimal, rawF float64, err error) {
	st := s.q.pop()
	t := time.Unix(0, st.ns).UTC()
	switch st.kind {
	case exchange.EventQuote:
		mp := s.price(st.pt)
		*ev = exchange.Event{Kind: st.kind, Time: t, Venue: s.venue, Symbol: s.symbol,
			Quote: exchange.Quote{Venue: s.venue, Symbol: s.symbol, Bid: mp.bid, BidQty: s.cur.vol, Ask: mp.ask, AskQty: s.cur.vol, Time: t}}
		raw, rawF = mp.raw, mp.f
	case exchange.EventMark, settleMark: // the perp's mark moves, nothing is quoted (no bid/ask)
		n := *s.pts[st.pt]
		raw, rawF = s.pr.raw(n, &s.slab), n.float()
		*ev = exchange.Event{Kind: st.kind, Time: t, Venue: s.venue, Symbol: s.symbol}
		if st.kind == exchange.EventMark { // an intra-bar extreme (settleMark is read by the feed, not emitted)
			ev.Mark = exchange.Mark{Symbol: s.symbol, Mark: raw, Time: t}
		}
	default:
		*ev = exchange.Event{Kind: st.kind, Time: t, Venue: s.venue, Symbol: s.symbol}
	}
	if s.q.n == 0 {
		err = s.fill()
	}
	return raw, rawF, err
}

// fill reads the next bar and queues its events (and a suspend/resume pair before it after a gap, or a final
// suspend at the end of the data).
func (s *klineSource) fill() error {
	for !s.done {
		line, err := s.lr.next()
		if errors.Is(err, io.EOF) {
			s.done = true
			if s.didTrade { // no more data: the market goes dark where the next bar was due
				s.q.push(step{ns: s.traded + s.interval, kind: exchange.EventSuspend})
			}
			return nil
		}
		if err != nil {
			s.done = true
			return err
		}
		if s.lr.first {
			if isHeader(line) {
				if s.cols, err = headerCols(fields(s.f, line)); err != nil {
					s.done = true
					return s.lr.errorf("%v", err)
				}
				continue
			}
			s.cols = archiveCols
		}
		b := &s.cur
		if err := s.parse(line, b); err != nil {
			s.done = true
			return s.lr.errorf("%v", err)
		}
		if s.havePrev {
			switch {
			case b.open <= s.prevOpen:
				s.done = true
				return s.lr.errorf("bar at %s is not after the previous bar at %s", fmtNanos(b.open), fmtNanos(s.prevOpen))
			case b.open < s.prevOpen+s.interval:
				s.done = true
				return s.lr.errorf("bar at %s is closer than the %s interval to the previous bar at %s",
					fmtNanos(b.open), time.Duration(s.interval), fmtNanos(s.prevOpen))
			}
		}
		s.prevOpen, s.havePrev = b.open, true
		if b.vol.IsZero() && s.interval >= int64(time.Hour) {
			// No trade in an hour or more: its prices only repeat the last one (an outage, as a rule). It
			// counts as missing, so nothing is valued or traded at a price nobody paid. A shorter bar without
			// a trade is routine in a thin market and keeps the last price.
			continue
		}
		q := s.interval / 4
		first := int8(0) // the bar's first point replayed
		if s.didTrade {
			if expected := s.traded + s.interval; b.open > expected { // a gap: no prices in between, never invented
				market := "spot klines"
				if s.venue == exchange.Futures {
					market = "perp klines"
				}
				s.missing = append(s.missing, Gap{Symbol: s.symbol, Market: market,
					From: time.Unix(0, expected).UTC(), To: time.Unix(0, b.open).UTC()})
				// The market comes back at the bar's close: the open after an outage can be the last price
				// from before it (the shipped spot data reopens 2021-08-13 06:00 at the 01:00 bar's close,
				// 0.9% under the perp), and its extremes follow from that print.
				s.q.push(step{ns: expected, kind: exchange.EventSuspend})
				if s.venue == exchange.Futures { // a settlement at the bar's open is still paid at that open
					s.q.push(step{ns: b.open, kind: settleMark, pt: 0})
				}
				s.q.push(step{ns: b.open + 3*q, kind: exchange.EventResume})
				first = 3
			}
		}
		s.traded, s.didTrade = b.open, true
		// The four points: O→L→H→C for a bullish bar (close ≥ open), O→H→L→C otherwise.
		s.pts = [4]*num{&b.o, &b.l, &b.h, &b.c}
		if b.cf < b.of {
			s.pts[1], s.pts[2] = &b.h, &b.l
		}
		// Only the open and the close are tradable quotes: they are the two prices whose time is known, the
		// same instant in both markets. The extremes happened at unknown, different moments in the spot and
		// perp bars; quoting both legs there would invent basis. The perp's extremes still move its mark
		// (liquidation and risk must see the wicks), as mark-only events.
		for i := first; i < 4; i++ {
			kind := exchange.EventQuote
			if i == 1 || i == 2 {
				if s.venue != exchange.Futures {
					continue
				}
				kind = exchange.EventMark
			}
			s.q.push(step{ns: b.open + int64(i)*q, kind: kind, pt: i})
		}
		return nil
	}
	return nil
}

func (s *klineSource) parse(line []byte, b *bar) error {
	s.f = fieldsN(s.f, line, s.cols.n)
	if len(s.f) < s.cols.n {
		return fmt.Errorf("%d columns, want at least %d", len(s.f), s.cols.n)
	}
	t, err := parseInt(s.f[s.cols.openTime])
	if err != nil {
		return fmt.Errorf("open_time: %v", err)
	}
	b.open = epochNanos(t)
	for _, x := range []struct {
		name string
		col  int
		n    *num
		f    *float64
	}{{"open", s.cols.open, &b.o, &b.of}, {"high", s.cols.high, &b.h, &b.hf}, {"low", s.cols.low, &b.l, &b.lf}, {"close", s.cols.close, &b.c, &b.cf}} {
		n, err := parseNum(s.f[x.col])
		if err != nil {
			return fmt.Errorf("%s: %v", x.name, err)
		}
		if !n.positive() {
			return fmt.Errorf("%s price %s is not positive", x.name, s.f[x.col])
		}
		*x.n, *x.f = n, n.float()
	}
	if b.lf > b.hf || b.of > b.hf || b.cf > b.hf || b.of < b.lf || b.cf < b.lf {
		return fmt.Errorf("prices are inconsistent (open %s high %s low %s close %s)",
			s.f[s.cols.open], s.f[s.cols.high], s.f[s.cols.low], s.f[s.cols.close])
	}
	v, err := parseNum(s.f[s.cols.volume])
	if err != nil {
		return fmt.Errorf("volume: %v", err)
	}
	if v.big == nil && v.m < 0 || v.big != nil && v.big.IsNegative() {
		return fmt.Errorf("volume %s is negative", s.f[s.cols.volume])
	}
	b.vol = s.slab.num(v)
	return nil
}

// price returns the decimals for point pt of the current bar. Only the close is remembered (one memo write
// per bar keeps the GC's write barriers down); the next bar's open reuses it when equal.
func (s *klineSource) price(pt int8) memoPrice {
	n := *s.pts[pt]
	if pt == 0 && n.big == nil && s.memo.ok && s.memo.m == n.m && s.memo.e == n.e {
		return s.memo
	}
	raw := s.pr.raw(n, &s.slab)
	bid, ask := s.pr.bidAsk(n, raw, &s.slab)
	mp := memoPrice{m: n.m, e: n.e, ok: n.big == nil, raw: raw, bid: bid, ask: ask, f: n.float()}
	if pt == 3 {
		s.memo = mp
	}
	return mp
}

func fmtNanos(ns int64) string { return time.Unix(0, ns).UTC().Format("2006-01-02 15:04:05.000") }
