// Package signals keeps, per symbol, what the policy decides on: the latest spot and perp quotes, the basis
// between them, and funding — last settled, the running period's estimate, the interval (read from the data,
// never assumed), cap/floor, and an exponentially smoothed expectation.
//
// Signals are screening numbers: they are kept as float64 because they are recomputed on every market
// event for a whole universe (see BenchmarkUniverseTick). Nothing here is sent to a venue or stored; order
// quantities and prices are computed in decimal from the quotes the Book keeps alongside.
package signals

import (
	"math"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// Symbol holds one symbol's market state and funding signals.
type Symbol struct {
	Name string

	// Latest quotes (decimal, for sizing and pricing orders) and their float mids (for screening).
	Spot, Perp               exchange.Quote
	SpotBid, SpotAsk         float64
	PerpBid, PerpAsk         float64
	SpotSuspended            bool
	PerpSuspended            bool
	SpotUpdated, PerpUpdated time.Time

	Mark          float64
	Index         float64
	EstimatedRate float64 // the running period's estimate (per interval)
	NextFunding   time.Time

	// IntervalHours is the settlement interval: from funding info or from the data; 0 = unknown (no trading).
	IntervalHours int
	Cap, Floor    float64 // funding bounds; 0,0 = unknown

	LastRate    float64 // last settled rate
	LastSettled time.Time
	Smoothed    float64 // EMA of settled rates
	Settlements int     // settlements seen

	// The decimals the floats above were converted from: a replay passes the same value again in most
	// events (a bar opens at the previous close; a mark repeats the index and the estimate).
	spotBid, spotAsk, perpBid, perpAsk, mark, index, est floatMemo
}

// floatMemo is a decimal's float conversion, redone only for another decimal value. Decimals are immutable
// and the memo keeps its own alive, so the same (pointer, exponent) pair is always the same number.
type floatMemo struct {
	d decimal.Decimal
	f float64
}

func (m *floatMemo) of(d decimal.Decimal) float64 {
	if d != m.d {
		m.d, m.f = d, d.InexactFloat64()
	}
	return m.f
}

// Params shape the smoothed expectation.
type Params struct {
	// SmoothingSettlements is the EMA span N (alpha = 2/(N+1)).
	SmoothingSettlements int
	// EstimateWeight weighs the running estimate against the smoothed settled rate (0..1).
	EstimateWeight float64
}

// Tradable reports whether both markets have live quotes and the funding interval is known.
func (s *Symbol) Tradable() bool {
	return !s.SpotSuspended && !s.PerpSuspended && s.SpotBid > 0 && s.PerpBid > 0 && s.IntervalHours > 0
}

// Basis is (perp mid − spot mid) / spot mid.
func (s *Symbol) Basis() float64 {
	sm := (s.SpotBid + s.SpotAsk) / 2
	if sm == 0 {
		return 0
	}
	return ((s.PerpBid+s.PerpAsk)/2 - sm) / sm
}

// EntryBasis is the basis a carry pair captures on entry: perp sold at the bid, spot bought at the ask.
// For reverse it is the basis paid: spot sold at the bid, perp bought at the ask.
func (s *Symbol) EntryBasis(reverse bool) float64 {
	if reverse {
		if s.SpotBid == 0 {
			return 0
		}
		return (s.PerpAsk - s.SpotBid) / s.SpotBid
	}
	if s.SpotAsk == 0 {
		return 0
	}
	return (s.PerpBid - s.SpotAsk) / s.SpotAsk
}

// ExitBasis is the basis a carry pair pays on exit: perp bought at the ask, spot sold at the bid (reverse:
// perp sold at the bid, spot bought at the ask).
func (s *Symbol) ExitBasis(reverse bool) float64 {
	if reverse {
		if s.SpotAsk == 0 {
			return 0
		}
		return (s.PerpBid - s.SpotAsk) / s.SpotAsk
	}
	if s.SpotBid == 0 {
		return 0
	}
	return (s.PerpAsk - s.SpotBid) / s.SpotBid
}

// ExpectedRate is the rate expected per settlement: the running estimate blended with the smoothed
// settled history, clamped to cap/floor when known.
func (s *Symbol) ExpectedRate(p Params) float64 {
	var r float64
	switch {
	case s.Settlements == 0:
		r = s.EstimatedRate
	case s.Mark == 0 && s.EstimatedRate == 0:
		r = s.Smoothed
	default:
		r = p.EstimateWeight*s.EstimatedRate + (1-p.EstimateWeight)*s.Smoothed
	}
	if s.Cap != 0 || s.Floor != 0 {
		r = math.Max(s.Floor, math.Min(s.Cap, r))
	}
	return r
}

// SettlementsPerYear from the real interval; 0 when the interval is unknown.
func (s *Symbol) SettlementsPerYear() float64 {
	if s.IntervalHours <= 0 {
		return 0
	}
	return 24 * 365 / float64(s.IntervalHours)
}

// NextSettlement is the next funding time after now: the venue's when known, else the next interval boundary.
func (s *Symbol) NextSettlement(now time.Time) time.Time {
	if s.NextFunding.After(now) {
		return s.NextFunding
	}
	if s.IntervalHours <= 0 {
		return time.Time{}
	}
	step := time.Duration(s.IntervalHours) * time.Hour
	return now.Truncate(step).Add(step)
}

// Book is the signals of a universe, indexed by symbol.
type Book struct {
	params  Params
	symbols map[string]*Symbol
	order   []*Symbol
}

// NewBook creates signals for the given symbols.
func NewBook(symbols []string, p Params) *Book {
	b := &Book{params: p, symbols: make(map[string]*Symbol, len(symbols))}
	for _, name := range symbols {
		s := &Symbol{Name: name}
		b.symbols[name] = s
		b.order = append(b.order, s)
	}
	return b
}

// Params returns the smoothing parameters.
func (b *Book) Params() Params { return b.params }

// Get returns a symbol's signals, or nil when it is not in the universe.
func (b *Book) Get(symbol string) *Symbol { return b.symbols[symbol] }

// All returns every symbol in universe order.
func (b *Book) All() []*Symbol { return b.order }

// SetFundingInfo records a symbol's interval and bounds (from the venue's funding info).
func (b *Book) SetFundingInfo(fi exchange.FundingInfo) {
	s := b.symbols[fi.Symbol]
	if s == nil {
		return
	}
	if fi.IntervalHours > 0 {
		s.IntervalHours = fi.IntervalHours
	}
	s.Cap, s.Floor = fi.Cap.InexactFloat64(), fi.Floor.InexactFloat64()
}

// Seed applies a symbol's settled funding history (oldest first) as if each settlement had been seen: the
// smoothed rate, the last rate, the interval. Settlements at or before the last one already seen are
// skipped, so seeding twice, or after live settlements, changes nothing. It returns how many it applied.
func (b *Book) Seed(symbol string, history []exchange.FundingRate) int {
	s := b.symbols[symbol]
	if s == nil {
		return 0
	}
	n := 0
	for i := range history {
		if f := &history[i]; f.Time.After(s.LastSettled) {
			b.settle(s, f)
			n++
		}
	}
	return n
}

// Apply updates the signals with one market event. It reports whether the symbol's signals changed.
func (b *Book) Apply(ev *exchange.Event) bool {
	s := b.symbols[ev.Symbol]
	if s == nil {
		return false
	}
	switch ev.Kind {
	case exchange.EventQuote:
		q := &ev.Quote
		venue := ev.Venue
		if venue == "" {
			venue = q.Venue
		}
		if venue == exchange.Futures {
			s.Perp, s.PerpBid, s.PerpAsk, s.PerpUpdated = *q, s.perpBid.of(q.Bid), s.perpAsk.of(q.Ask), ev.Time
		} else {
			s.Spot, s.SpotBid, s.SpotAsk, s.SpotUpdated = *q, s.spotBid.of(q.Bid), s.spotAsk.of(q.Ask), ev.Time
		}
	case exchange.EventMark:
		m := &ev.Mark
		s.Mark, s.Index, s.EstimatedRate = s.mark.of(m.Mark), s.index.of(m.Index), s.est.of(m.EstimatedRate)
		if !m.NextFundingTime.IsZero() {
			s.NextFunding = m.NextFundingTime
		}
	case exchange.EventFunding:
		b.settle(s, &ev.Funding)
	case exchange.EventSuspend, exchange.EventResume:
		suspended := ev.Kind == exchange.EventSuspend
		if ev.Venue == exchange.Futures {
			s.PerpSuspended = suspended
		} else {
			s.SpotSuspended = suspended
		}
	default:
		return false
	}
	return true
}

func (b *Book) settle(s *Symbol, f *exchange.FundingRate) {
	rate := f.Rate.InexactFloat64()
	// The interval comes from the data: the settlement's own field, else the spacing of settlements.
	if f.IntervalHours > 0 {
		s.IntervalHours = f.IntervalHours
	} else if !s.LastSettled.IsZero() {
		if h := int(math.Round(f.Time.Sub(s.LastSettled).Hours())); h == 1 || h == 2 || h == 4 || h == 8 {
			s.IntervalHours = h
		}
	}
	n := b.params.SmoothingSettlements
	if n < 1 {
		n = 1
	}
	alpha := 2 / float64(n+1)
	if s.Settlements == 0 {
		s.Smoothed = rate
	} else {
		s.Smoothed += alpha * (rate - s.Smoothed)
	}
	s.Settlements++
	s.LastRate, s.LastSettled = rate, f.Time
	if s.IntervalHours > 0 {
		s.NextFunding = f.Time.Truncate(time.Hour).Add(time.Duration(s.IntervalHours) * time.Hour)
	}
}
