package policy

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/strategy/pair"
	"github.com/carry-trading/carry/strategy/signals"
)

// Config is the policy's part of the configuration, in screening units.
type Config struct {
	EntryAPR           float64
	ExitAPR            float64
	ExitSettlements    int
	MaxBreakeven       time.Duration
	Holding            time.Duration
	RotationMinGainAPR float64
	SettlementGuard    time.Duration
	EarlyExitProfit    float64
	Reverse            bool
	Costs              Costs
	Signals            signals.Params

	Capital      decimal.Decimal // total capital
	PerSymbolMax decimal.Decimal
	Reserve      decimal.Decimal // fraction kept free
	Leverage     int
}

// Held is a live pair as the policy sees it.
type Held struct {
	PairID     int64
	Symbol     string
	Direction  pair.Direction
	State      pair.State
	EntryBasis float64         // (perp − spot) / spot at entry, raw
	Capital    decimal.Decimal // capital the pair ties up
}

// Action is what a decision asks for.
type Action string

// Actions.
const (
	Open  Action = "open"
	Close Action = "close"
)

// Decision is one thing the policy wants done.
type Decision struct {
	Action    Action
	Symbol    string
	Direction pair.Direction
	PairID    int64           // for Close
	Capital   decimal.Decimal // for Open: capital to commit (spot notional = C·L/(L+1))
	Rotation  bool            // a close to free capital for a better symbol
	Reason    string
	Carry     Carry
}

// Policy decides entries, exits and rotations. It is used from the event loop only (not goroutine-safe).
type Policy struct {
	cfg   Config
	below map[int64]int // consecutive settlements below the exit threshold, per pair

	// Fixed by the configuration, computed once: Decide runs on every bar of a backtest.
	deployable decimal.Decimal // capital that may be committed: capital × (1 − reserve)
	minAlloc   decimal.Decimal // the smallest allocation worth a pair
	skip       map[string]bool // Decide's scratch set, reused between calls
	ranked     []Carry         // Decide's scratch ranking, reused between calls
}

// New creates a policy.
func New(cfg Config) *Policy {
	dep := cfg.Capital.Mul(decimal.NewFromInt(1).Sub(cfg.Reserve))
	if r := dep.Round(8); r.Equal(dep) {
		dep = r // the same value at the pairs' scale, so sums with it need no rescaling
	}
	return &Policy{cfg: cfg, below: map[int64]int{}, deployable: dep,
		// Below a tenth of the per-symbol cap a pair is not worth its fixed costs and filters.
		minAlloc: decimal.Min(cfg.PerSymbolMax, dep).Div(decimal.NewFromInt(10)), skip: map[string]bool{}}
}

// OnSettlement counts, for each held pair on symbol, whether its carry stayed below the exit threshold.
func (p *Policy) OnSettlement(book *signals.Book, symbol string, held []Held) {
	s := book.Get(symbol)
	if s == nil {
		return
	}
	for _, h := range held {
		if h.Symbol != symbol || h.State != pair.Open {
			continue
		}
		if HeldAPR(s, h.Direction, p.cfg.Costs, p.cfg.Signals) < p.cfg.ExitAPR {
			p.below[h.PairID]++
		} else {
			p.below[h.PairID] = 0
		}
	}
}

// Restore sets a pair's count of consecutive settlements below the exit threshold, as recorded before a
// restart.
func (p *Policy) Restore(pairID int64, below int) {
	if below > 0 {
		p.below[pairID] = below
	}
}

// Forget drops a closed pair's counters.
func (p *Policy) Forget(pairID int64) { delete(p.below, pairID) }

// ExitSettlements is how many consecutive settlements below the exit threshold close a pair.
func (p *Policy) ExitSettlements() int { return p.cfg.ExitSettlements }

// Reverse reports whether the policy may open reverse pairs (borrowing the spot leg).
func (p *Policy) Reverse() bool { return p.cfg.Reverse }

// BelowExit returns how many consecutive settlements a pair's carry has been below the exit threshold.
func (p *Policy) BelowExit(pairID int64) int { return p.below[pairID] }

// Rank prices every tradable symbol in its carry direction (reverse only when enabled and funding is
// negative), best net carry first. Symbols in skip are left out.
func (p *Policy) Rank(book *signals.Book, skip map[string]bool) []Carry {
	return p.rank(nil, book, skip)
}

// rank appends the ranking to out.
func (p *Policy) rank(out []Carry, book *signals.Book, skip map[string]bool) []Carry {
	for _, s := range book.All() {
		if skip[s.Name] || !s.Tradable() {
			continue
		}
		dir := pair.Carry
		if s.ExpectedRate(p.cfg.Signals) < 0 {
			if !p.cfg.Reverse {
				continue
			}
			dir = pair.Reverse
		}
		out = append(out, Price(s, dir, p.cfg.Costs, p.cfg.Signals, p.cfg.Holding))
	}
	slices.SortStableFunc(out, func(a, b Carry) int { return cmp.Compare(b.NetAPR, a.NetAPR) })
	return out
}

// Qualifies reports whether a priced carry meets the entry rules (threshold and break-even).
func (p *Policy) Qualifies(c Carry) bool {
	return c.NetAPR >= p.cfg.EntryAPR && c.BreakEven <= p.cfg.MaxBreakeven
}

// Decide returns what to do now. blocked symbols (unexplained venue positions, suspended) are not opened.
func (p *Policy) Decide(now time.Time, book *signals.Book, held []Held, blocked map[string]bool) []Decision {
	var out []Decision
	var closing map[int64]bool // nil until a pair closes: reads of a nil map are fine

	// Exits: persistent low carry, or an early basis profit.
	for _, h := range held {
		if h.State != pair.Open {
			continue
		}
		s := book.Get(h.Symbol)
		if s == nil || !s.Tradable() {
			continue
		}
		reason := ""
		if n := p.below[h.PairID]; n >= p.cfg.ExitSettlements {
			reason = fmt.Sprintf("carry below exit threshold %.2f%% for %d settlements (now %.2f%%/yr)",
				p.cfg.ExitAPR*100, n, HeldAPR(s, h.Direction, p.cfg.Costs, p.cfg.Signals)*100)
		} else if gain := p.earlyExitGain(s, h); gain >= p.cfg.EarlyExitProfit {
			if c := Price(s, h.Direction, p.cfg.Costs, p.cfg.Signals, p.cfg.Holding); !p.Qualifies(c) {
				reason = fmt.Sprintf("basis lets the pair close early: the trade's basis earns %.3f%% of notional after round-trip costs", gain*100)
			}
		}
		if reason == "" {
			continue
		}
		if p.paysSoon(now, s, h.Direction) {
			continue // never close just before a settlement that pays the position
		}
		out = append(out, Decision{Action: Close, Symbol: h.Symbol, Direction: h.Direction, PairID: h.PairID, Reason: reason})
		if closing == nil {
			closing = map[int64]bool{}
		}
		closing[h.PairID] = true
	}

	// Entries, best first, while capital lasts. The free capital is worked out at the first candidate that
	// qualifies (most evaluations have none).
	var free decimal.Decimal
	freeKnown := false
	skip := p.skip
	clear(skip)
	for _, h := range held {
		skip[h.Symbol] = true
	}
	for k, v := range blocked {
		skip[k] = skip[k] || v
	}
	ranked := p.rank(p.ranked[:0], book, skip)
	p.ranked = ranked
	for _, c := range ranked {
		if !p.Qualifies(c) {
			continue // a lower net carry may still qualify on break-even
		}
		s := book.Get(c.Symbol)
		if p.chargesSoon(now, s, c.Direction) {
			continue // never open just before a settlement that charges the position
		}
		if !freeKnown {
			free, freeKnown = p.deployable.Sub(capitalOf(held)), true
		}
		alloc := decimal.Min(p.cfg.PerSymbolMax, free)
		if !alloc.IsPositive() || alloc.LessThan(p.minAlloc) {
			// No free capital: consider rotating out of the weakest held pair.
			if d, ok := p.rotation(now, book, held, closing, c); ok {
				out = append(out, d)
			}
			break
		}
		free = free.Sub(alloc)
		out = append(out, Decision{Action: Open, Symbol: c.Symbol, Direction: c.Direction, Capital: alloc, Carry: c,
			Reason: fmt.Sprintf("net carry %.2f%%/yr (funding %.2f%%, basis %.2f%%, costs %.2f%%), break-even %s",
				c.NetAPR*100, c.FundingAPR*100, c.BasisAPR*100, c.CostAPR*100, fmtBreakEven(c.BreakEven))})
	}
	return out
}

// capitalOf is the capital the held pairs use.
func capitalOf(held []Held) decimal.Decimal {
	used := decimal.Zero
	for i, h := range held {
		if i == 0 {
			used = h.Capital
		} else {
			used = used.Add(h.Capital)
		}
	}
	return used
}

// rotation closes the weakest held pair when the candidate's gain over it outlasts the switching cost.
func (p *Policy) rotation(now time.Time, book *signals.Book, held []Held, closing map[int64]bool, cand Carry) (Decision, bool) {
	var worst *Held
	worstAPR := 0.0
	for i := range held {
		h := &held[i]
		if h.State != pair.Open || closing[h.PairID] {
			continue
		}
		s := book.Get(h.Symbol)
		if s == nil || !s.Tradable() {
			continue
		}
		apr := HeldAPR(s, h.Direction, p.cfg.Costs, p.cfg.Signals)
		if worst == nil || apr < worstAPR {
			worst, worstAPR = h, apr
		}
	}
	if worst == nil {
		return Decision{}, false
	}
	s := book.Get(worst.Symbol)
	years := p.cfg.Holding.Hours() / hoursPerYear
	exitCostAPR := (p.cfg.Costs.OneWay() + halfSpreads(s)) / years
	gain := cand.NetAPR - worstAPR - exitCostAPR
	if gain < p.cfg.RotationMinGainAPR || p.paysSoon(now, s, worst.Direction) {
		return Decision{}, false
	}
	return Decision{Action: Close, Symbol: worst.Symbol, Direction: worst.Direction, PairID: worst.PairID, Rotation: true,
		Reason: fmt.Sprintf("rotation to %s: %.2f%%/yr vs %.2f%%/yr held, gain %.2f%%/yr after switching costs",
			cand.Symbol, cand.NetAPR*100, worstAPR*100, gain*100)}, true
}

// earlyExitGain is what the trade's basis earns if the pair closes now, net of the whole round trip's costs
// (the entry's were paid too), as a fraction of notional. Funding is not counted: this is the basis alone.
func (p *Policy) earlyExitGain(s *signals.Symbol, h Held) float64 {
	reverse := h.Direction == pair.Reverse
	exit := s.ExitBasis(reverse)
	gain := h.EntryBasis - exit
	if reverse {
		gain = -gain
	}
	return gain - p.cfg.Costs.RoundTrip()
}

// chargesSoon: a settlement within the guard would charge a new position in dir.
func (p *Policy) chargesSoon(now time.Time, s *signals.Symbol, dir pair.Direction) bool {
	return p.withinGuard(now, s) && p.signedRate(s, dir) < 0
}

// paysSoon: a settlement within the guard would pay a held position in dir.
func (p *Policy) paysSoon(now time.Time, s *signals.Symbol, dir pair.Direction) bool {
	return p.withinGuard(now, s) && p.signedRate(s, dir) > 0
}

func (p *Policy) withinGuard(now time.Time, s *signals.Symbol) bool {
	next := s.NextSettlement(now)
	return !next.IsZero() && next.Sub(now) <= p.cfg.SettlementGuard
}

// signedRate is the running estimate as the position in dir sees it (positive = paid).
func (p *Policy) signedRate(s *signals.Symbol, dir pair.Direction) float64 {
	r := s.EstimatedRate
	if s.Mark == 0 && r == 0 {
		r = s.ExpectedRate(p.cfg.Signals)
	}
	if dir == pair.Reverse {
		return -r
	}
	return r
}

// SpotNotional is the spot leg's notional for capital c at leverage L: c·L/(L+1).
func SpotNotional(c decimal.Decimal, leverage int) decimal.Decimal {
	l := decimal.NewFromInt(int64(leverage))
	return c.Mul(l).DivRound(l.Add(decimal.NewFromInt(1)), 8)
}

// CapitalFor is the capital a spot notional n ties up at leverage L: n·(L+1)/L.
func CapitalFor(n decimal.Decimal, leverage int) decimal.Decimal {
	l := decimal.NewFromInt(int64(leverage))
	return n.Mul(l.Add(decimal.NewFromInt(1))).DivRound(l, 8)
}

func fmtBreakEven(d time.Duration) string {
	if d == Never {
		return "never"
	}
	return d.Round(time.Minute).String()
}
