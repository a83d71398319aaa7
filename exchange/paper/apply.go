package paper

import (
	"github.com/carry-trading/carry/exchange"
)

// Apply feeds one market event to the venue: quotes (per venue and symbol), marks, funding settlements,
// suspend/resume. ev is only read, never kept. It is cheap when the account holds nothing in the event's
// market: a map lookup and a copy. With a position, a mark is compared with the position's liquidation price;
// a quote that reaches a resting LIMIT_MAKER order fills it; a settlement pays the position. While anything
// is borrowed on margin, every event first charges the hour boundaries its time (or the clock, if later) has
// passed, and a spot quote re-checks the margin level (margin.go).
func (v *Venue) Apply(ev *exchange.Event) {
	if v.loanNext.Load() != 0 { // something is borrowed: hourly interest, margin level (margin.go)
		v.marginBeforeApply(ev)
	}
	switch ev.Kind {
	case exchange.EventQuote:
		v.mu.Lock()
		m, k := v.marketFor(ev.Venue, ev.Symbol)
		q := &ev.Quote
		m.bid, m.ask, m.has = q.Bid, q.Ask, true
		if m.bidQty != q.BidQty {
			m.bidQty = q.BidQty
		}
		if m.askQty != q.AskQty {
			m.askQty = q.AskQty
		}
		if m.hasTime = !q.Time.IsZero(); m.hasTime {
			m.ns = q.Time.UnixNano()
		}
		if len(v.st.resting) > 0 && v.broken == nil {
			if _, ok := v.st.resting[k]; ok {
				v.matchResting(k, m)
			}
		}
		v.mu.Unlock()
	case exchange.EventMark:
		v.mu.Lock()
		ps := v.perpFor(ev.Symbol)
		mk := &ev.Mark
		ps.mark, ps.hasMark = mk.Mark, true
		if ps.index != mk.Index {
			ps.index = mk.Index
		}
		if ps.est != mk.EstimatedRate {
			ps.est = mk.EstimatedRate
		}
		if ps.hasNext = !mk.NextFundingTime.IsZero(); ps.hasNext {
			ps.nextNs = mk.NextFundingTime.UnixNano()
		}
		if ps.hasMT = !mk.Time.IsZero(); ps.hasMT {
			ps.markNs = mk.Time.UnixNano()
		}
		if p := ps.pos; p != nil && p.isOpen {
			ps.markF = mk.Mark.InexactFloat64()
			v.checkLiquidation(ps)
		}
		v.mu.Unlock()
	case exchange.EventFunding:
		v.mu.Lock()
		v.settle(ev)
		v.mu.Unlock()
	case exchange.EventSuspend, exchange.EventResume:
		v.mu.Lock()
		m, _ := v.marketFor(ev.Venue, ev.Symbol)
		m.suspended = ev.Kind == exchange.EventSuspend
		v.mu.Unlock()
	}
	if v.loanNext.Load() != 0 {
		v.marginAfterApply(ev)
	}
}

// marketFor returns the market of a venue and symbol, creating it; the last one per venue is cached so a
// single-symbol replay skips the map.
func (v *Venue) marketFor(venue exchange.Venue, symbol string) (*market, mkey) {
	k := mkey{venue, symbol}
	i := venueIndex(venue)
	if i >= 0 {
		if c := &v.mcache[i]; c.m != nil && c.symbol == symbol {
			return c.m, k
		}
	}
	m := v.markets[k]
	if m == nil {
		m = &market{venue: venue, symbol: symbol}
		v.markets[k] = m
	}
	if i >= 0 {
		v.mcache[i] = marketCache{symbol: symbol, m: m}
	}
	return m, k
}

// perpFor returns a symbol's perp market data, with the same one-entry cache.
func (v *Venue) perpFor(symbol string) *perpState {
	if c := &v.pcache; c.ps != nil && c.symbol == symbol {
		return c.ps
	}
	ps := v.perpState(symbol)
	v.pcache = perpCache{symbol: symbol, ps: ps}
	return ps
}

type marketCache struct {
	symbol string
	m      *market
}

type perpCache struct {
	symbol string
	ps     *perpState
}

func venueIndex(v exchange.Venue) int {
	switch v {
	case exchange.Spot:
		return 0
	case exchange.Futures:
		return 1
	case exchange.Margin:
		return 2
	}
	return -1
}
