package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// Feed is a replay: one time-ordered stream of events merged from several symbols' files. It is not safe for
// concurrent use (one event loop reads it).
type Feed struct {
	interval string
	heap     srcHeap
	all      []source
	syms     []*symState
	from     int64
	to       int64
	bounded  bool
	pend     pendingMark
	hasPend  bool
	err      error
	calls    uint64
	quotes   [2]int64       // quotes emitted: spot, perp
	last     exchange.Event // Next's event
}

// pendingMark is the mark that follows the perp quote just returned; its prices are the symbol's state
// (no pointers here, so queuing it costs no GC write barrier).
type pendingMark struct {
	ns   int64
	sym  int
	next int64
}

// symState is what the feed remembers per symbol to build marks and stamp settlements.
type symState struct {
	idx       int
	symbol    string
	spot      decimal.Decimal
	spotF     float64
	haveSpot  bool
	spotStale bool // the spot market is in a data gap
	mark      decimal.Decimal
	hours     int
	rateCap   float64
	rateFloor float64
	interest  float64
	est       estimator
}

// Open prepares a replay of dir. Nothing is read beyond the first rows; Next streams the rest.
func Open(dir string, opts Options) (*Feed, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("replay: data directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("replay: %s is not a directory", dir)
	}
	if err := checkSpread("spot", opts.SpotSpread); err != nil {
		return nil, err
	}
	if err := checkSpread("perp", opts.PerpSpread); err != nil {
		return nil, err
	}
	if !opts.From.IsZero() && !opts.To.IsZero() && !opts.From.Before(opts.To) {
		return nil, fmt.Errorf("replay: empty time range: from %s is not before to %s", opts.From, opts.To)
	}
	symbols, interval, err := resolve(dir, opts)
	if err != nil {
		return nil, err
	}
	ivDur, err := parseInterval(interval)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	f := &Feed{interval: interval}
	if !opts.From.IsZero() {
		f.from = opts.From.UnixNano()
	} else {
		f.from = -1 << 63
	}
	if !opts.To.IsZero() {
		f.to, f.bounded = opts.To.UnixNano(), true
	}
	for i, sym := range symbols {
		ss := &symState{idx: i, symbol: sym, hours: exchange.DefaultFundingInterval, rateCap: DefaultRateCap, interest: DefaultInterest}
		if h, ok := opts.FundingHours[sym]; ok {
			if h <= 0 || h > 24 {
				f.Close()
				return nil, fmt.Errorf("replay: funding interval of %s must be 1..24 hours, got %d", sym, h)
			}
			ss.hours = h
		}
		if c, ok := opts.RateCaps[sym]; ok {
			ss.rateCap = c
		}
		ss.rateFloor = -ss.rateCap
		if fl, ok := opts.RateFloors[sym]; ok {
			if fl > 0 {
				f.Close()
				return nil, fmt.Errorf("replay: funding floor of %s must be zero or negative, got %g", sym, fl)
			}
			ss.rateFloor = fl
		}
		if r, ok := opts.InterestRates[sym]; ok {
			ss.interest = r
		}
		f.syms = append(f.syms, ss)
		if err := f.addSymbol(dir, sym, i, interval, ivDur, opts, ss.hours); err != nil {
			f.Close()
			return nil, err
		}
	}
	f.heap.init()
	return f, nil
}

func checkSpread(name string, s decimal.Decimal) error {
	if s.IsNegative() || s.GreaterThanOrEqual(decimal.NewFromInt(1)) {
		return fmt.Errorf("replay: %s spread %s must be a fraction in [0, 1)", name, s)
	}
	return nil
}

// resolve picks the symbols and the kline interval.
func resolve(dir string, opts Options) ([]string, string, error) {
	found, bySymbol, err := discover(dir)
	if err != nil {
		return nil, "", fmt.Errorf("replay: %w", err)
	}
	symbols := opts.Symbols
	if len(symbols) == 0 {
		symbols = found
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range symbols {
		if !symbolRE.MatchString(s) {
			return nil, "", fmt.Errorf("replay: symbol %q is not a Binance symbol (upper-case letters and digits)", s)
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	interval := opts.Interval
	if interval == "" {
		// The interval of the chosen symbols' klines (other symbols' files do not matter); when they have
		// none, any interval in the directory, so that the missing file is what the error names.
		ivs := map[string]bool{}
		for _, s := range out {
			for _, iv := range bySymbol[s] {
				ivs[iv] = true
			}
		}
		if len(ivs) == 0 {
			for _, list := range bySymbol {
				for _, iv := range list {
					ivs[iv] = true
				}
			}
		}
		list := make([]string, 0, len(ivs))
		for iv := range ivs {
			list = append(list, iv)
		}
		sort.Strings(list)
		switch len(list) {
		case 0:
			return nil, "", fmt.Errorf("replay: no kline files (<SYMBOL>-spot-<interval>-*.csv) in %s", dir)
		case 1:
			interval = list[0]
		default:
			return nil, "", fmt.Errorf("replay: %s holds klines of %s at several intervals (%s): keep one interval of these symbols in the directory (move the other files elsewhere)",
				dir, strings.Join(out, ", "), strings.Join(list, ", "))
		}
	}
	if len(out) == 0 {
		return nil, "", fmt.Errorf("replay: no kline files (<SYMBOL>-spot-%s-*.csv) in %s", interval, dir)
	}
	return out, interval, nil
}

func (f *Feed) addSymbol(dir, sym string, idx int, interval string, ivDur time.Duration, opts Options, hours int) error {
	spotFiles, perpFiles, fundFiles, err := symbolFiles(dir, sym, interval)
	if err != nil {
		return err
	}
	add := func(src source, rank int, err error) error {
		f.all = append(f.all, src)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		if ns := src.head(); ns != exhausted {
			f.heap = append(f.heap, entry{ns: ns, rank: rank, sym: idx, src: src})
		}
		return nil
	}
	spot, err := newKlineSource(spotFiles, exchange.Spot, sym, ivDur, newPricer(opts.SpotSpread, opts.SpotTicks[sym]))
	if err := add(spot, rankSpot, err); err != nil {
		return err
	}
	perp, err := newKlineSource(perpFiles, exchange.Futures, sym, ivDur, newPricer(opts.PerpSpread, opts.PerpTicks[sym]))
	if err := add(perp, rankPerp, err); err != nil {
		return err
	}
	fund, err := newFundingSource(fundFiles, sym, hours)
	return add(fund, rankFunding, err)
}

// Next returns the next event, io.EOF after the last one (or at To), or an error naming the file and line of
// a corrupt row. After an error every call returns it again.
func (f *Feed) Next(ctx context.Context) (exchange.Event, error) {
	err := f.Read(ctx, &f.last) // into the feed's own value: a local one would escape, one allocation per event
	return f.last, err
}

// Read is Next writing the event into ev, which saves copying it through return values (a replay's event
// loop reads hundreds of thousands). On an error ev is the zero Event.
func (f *Feed) Read(ctx context.Context, ev *exchange.Event) error {
	if f.hasPend { // the mark of the perp quote just returned
		f.hasPend = false
		f.markEvent(ev)
		return nil
	}
	if f.err != nil {
		*ev = exchange.Event{}
		return f.err
	}
	if f.calls++; f.calls&1023 == 0 {
		if err := ctx.Err(); err != nil {
			*ev = exchange.Event{}
			return err
		}
	}
	for {
		if len(f.heap) == 0 {
			*ev = exchange.Event{}
			return io.EOF
		}
		top := &f.heap[0]
		ns := top.ns
		if f.bounded && ns >= f.to {
			f.heap = f.heap[:0]
			*ev = exchange.Event{}
			return io.EOF
		}
		raw, rawF, err := top.src.take(ev)
		emit := ns >= f.from && ev.Kind != settleMark
		if emit && ev.Kind == exchange.EventQuote {
			if ev.Venue == exchange.Futures {
				f.quotes[1]++
			} else {
				f.quotes[0]++
			}
		}
		f.observe(f.syms[top.sym], ns, ev, raw, rawF, emit)
		if err != nil {
			f.err = err
			f.heap = f.heap[:0]
			if emit {
				return nil // the next calls report the error, after the pending mark
			}
			*ev = exchange.Event{}
			return err
		}
		if top.ns = top.src.head(); top.ns == exhausted {
			last := len(f.heap) - 1
			f.heap[0] = f.heap[last]
			f.heap = f.heap[:last]
		}
		f.heap.down(0)
		if emit {
			return nil
		}
	}
}

// observe updates the per-symbol state with an event about to be emitted (or skipped before From): spot
// prices for the index, a perp quote's mark (queued to follow it), the mark stamped on a settlement.
func (f *Feed) observe(st *symState, ns int64, ev *exchange.Event, raw decimal.Decimal, rawF float64, emit bool) {
	switch ev.Kind {
	case exchange.EventQuote:
		if ev.Venue == exchange.Spot {
			st.spot, st.spotF, st.haveSpot = raw, rawF, true
			return
		}
		periodNs := int64(st.hours) * int64(time.Hour)
		if st.haveSpot && !st.spotStale && st.spotF > 0 {
			st.est.add(ns, periodNs, (rawF-st.spotF)/st.spotF)
		}
		st.mark = raw
		st.est.update(ns, periodNs, st.hours, st.interest, st.rateCap, st.rateFloor)
		if emit {
			f.pend = pendingMark{ns: ns, sym: st.idx, next: st.est.end}
			f.hasPend = true
		}
	case exchange.EventMark: // a perp extreme: the mark moves; it is not a premium sample (no spot price then)
		st.mark = raw
		ev.Mark.EstimatedRate, ev.Mark.NextFundingTime = st.est.last, time.Unix(0, st.est.end).UTC()
		if st.haveSpot {
			ev.Mark.Index = st.spot
		}
	case settleMark:
		st.mark = raw
	case exchange.EventFunding:
		ev.Funding.MarkPrice = st.mark
		if ev.Funding.IntervalHours > 0 {
			st.hours = ev.Funding.IntervalHours
		}
	case exchange.EventSuspend:
		if ev.Venue == exchange.Spot {
			st.spotStale = true
		}
	case exchange.EventResume:
		if ev.Venue == exchange.Spot {
			st.spotStale = false
		}
	}
}

// markEvent writes the pending mark into ev (all of it).
func (f *Feed) markEvent(ev *exchange.Event) {
	p := &f.pend
	st := f.syms[p.sym]
	t := time.Unix(0, p.ns).UTC()
	*ev = exchange.Event{Kind: exchange.EventMark, Time: t, Venue: exchange.Futures, Symbol: st.symbol,
		Mark: exchange.Mark{Symbol: st.symbol, Mark: st.mark, EstimatedRate: st.est.last, NextFundingTime: time.Unix(0, p.next).UTC(), Time: t}}
	if st.haveSpot {
		ev.Mark.Index = st.spot
	}
}

// Quotes is how many spot and perp quotes the replay has emitted so far: none of either at the end of a run
// means its range held nothing to trade (it fell in a gap of the data).
func (f *Feed) Quotes() (spot, perp int64) { return f.quotes[0], f.quotes[1] }

// Gaps returns the stretches of missing data read so far that overlap the replay's range, in the order of
// their start (markets with the same start in file order).
func (f *Feed) Gaps() []Gap {
	var out []Gap
	for _, s := range f.all {
		for _, g := range s.gaps() {
			if g.To.UnixNano() > f.from && (!f.bounded || g.From.UnixNano() < f.to) {
				out = append(out, g)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].From.Before(out[j].From) })
	return out
}

// Interval is the kline interval replayed ("1h", "4h"…): Options.Interval, or the only one the chosen
// symbols' klines have in the directory.
func (f *Feed) Interval() string { return f.interval }

// Close releases the files. The feed returns io.EOF afterwards.
func (f *Feed) Close() error {
	for _, s := range f.all {
		s.close()
	}
	f.heap = f.heap[:0]
	f.hasPend = false
	if f.err == nil {
		f.err = errClosed
	}
	return nil
}

var errClosed = fmt.Errorf("replay: feed is closed: %w", io.EOF)

// IsEOF reports the end of a replay (io.EOF, also after Close).
func IsEOF(err error) bool { return errors.Is(err, io.EOF) }
