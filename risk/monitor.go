package risk

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// Monitor keeps risk off the hot path. Whenever the account changes (Reset) or an evaluation runs, it
// precomputes for every position the mark prices at which the ladder's next threshold would be crossed —
// its trigger prices — so that a mark update (Mark) is one decimal comparison against the nearest trigger,
// and a full evaluation runs only when a trigger is crossed or the account changed.
//
// Per position it keeps two bounds:
//   - the adverse trigger: the nearest of the next rung's liquidation-distance price (LP ÷ (1 + d) for a
//     short, LP ÷ (1 − d) for a long), the next rung's margin-ratio price (PriceAtMarginRatio) and, in a
//     cross pool shared with other positions, the edge of its drift box (below);
//   - the favorable trigger, present only once a rung is reached (to re-arm the ladder when the price comes
//     back) or for a long in a shared pool (see below). A short on rung none has just the adverse one.
//
// Cross positions share the wallet, so one symbol's move shifts every other position's liquidation price.
// The monitor gives each position of a shared pool a drift box of ±CrossDrift around its mark and computes
// every other position's triggers with it at the worst point of its box. Each position's contribution to
// the others' equity-minus-maintenance is concave in its price (the maintenance rate only grows with the
// notional), so the worst point is an edge; for a short it is always the upper edge, so the box needs only
// its adverse side, and a long's lower side matters unless a bracket's rate exceeds the margin-ratio
// thresholds (far away: its favorable trigger). While every mark stays inside its box, no threshold can be
// crossed unseen. If the box makes a trigger already crossed, the box is shrunk (÷4, three times).
//
// Triggers are rounded toward the mark to the exponent of the marks received (Binance sends a fixed number
// of decimals), so the comparison is between decimals of equal exponent (≈11 ns, no allocation) and fires no
// later than the exact price would; a mark with another exponent re-rounds the triggers once.
//
// The monitor does not retry: if an action fails and the price stays within the band, nothing fires until
// the account changes (Reset) or Invalidate is called. It belongs to the account's event loop (one goroutine).
type Monitor struct {
	rules   *Rules
	drift   decimal.Decimal
	in      Input
	index   map[string]int // symbol → watches index
	symbols []string       // symbols[i] is watches[i]'s: scanned when there are few
	watches []watch
	// Handles: handles[symbol] is a slot; slots[slot] the watch index (−1: no position).
	handles     map[string]Handle
	slots       []int
	slotSymbols []string
	dirty       bool
	last        Report
}

// MonitorOptions tune a monitor.
type MonitorOptions struct {
	// CrossDrift is the half-width of each shared-pool position's drift box, as a fraction of its mark
	// (default 0.02). Wider boxes re-evaluate less often but put the triggers nearer.
	CrossDrift decimal.Decimal
}

type watch struct {
	pos   int  // index into in.Positions and last.Positions
	short bool // adverse is up
	exp   int32
	// adverse and favorable at exponent exp; the exact values they are rounded from.
	adverse, favorable           decimal.Decimal
	exactAdverse, exactFavorable decimal.Decimal
	hasAdverse, hasFavorable     bool
}

// NewMonitor returns a monitor over the rules. Call Reset with the account before the first Mark.
func NewMonitor(r *Rules, opts MonitorOptions) *Monitor {
	if !opts.CrossDrift.IsPositive() {
		opts.CrossDrift = decimal.New(2, -2)
	}
	return &Monitor{rules: r, drift: opts.CrossDrift, index: map[string]int{}, handles: map[string]Handle{}, dirty: true}
}

// Reset takes a new account snapshot (positions, wallets, pairs changed: a fill, a funding settlement, a
// transfer), evaluates it and recomputes the triggers. The monitor keeps its own copy of the positions.
func (m *Monitor) Reset(in Input) (Report, error) {
	pos := make([]exchange.Position, 0, len(in.Positions))
	for _, p := range in.Positions {
		if !p.Qty.IsZero() {
			pos = append(pos, p)
		}
	}
	in.Positions = pos
	m.in = in
	clear(m.index)
	m.watches, m.symbols = m.watches[:0], m.symbols[:0]
	for i, p := range pos {
		m.index[p.Symbol] = len(m.watches)
		m.symbols = append(m.symbols, p.Symbol)
		m.watches = append(m.watches, watch{pos: i, short: p.Qty.IsNegative(), exp: p.MarkPrice.Exponent()})
	}
	for h, s := range m.slotSymbols {
		m.slots[h] = m.watchIndex(s)
	}
	return m.Evaluate(in.Time)
}

// Mark records a new mark price of symbol and reports whether a full evaluation is due: a trigger was
// crossed, or the account changed since the last evaluation. Marks of symbols without a position are ignored.
func (m *Monitor) Mark(symbol string, mark decimal.Decimal) bool {
	return m.mark(m.find(symbol), mark)
}

// Handle names a symbol for MarkHandle, skipping the symbol lookup on the hot path. A handle stays valid
// across Resets (the symbol may have a position or not).
type Handle int

// Handle returns symbol's handle, registering it on first use.
func (m *Monitor) Handle(symbol string) Handle {
	if h, ok := m.handles[symbol]; ok {
		return h
	}
	h := Handle(len(m.slots))
	m.handles[symbol] = h
	m.slots = append(m.slots, m.watchIndex(symbol))
	m.slotSymbols = append(m.slotSymbols, symbol)
	return h
}

// MarkHandle is Mark for a symbol named by its handle.
func (m *Monitor) MarkHandle(h Handle, mark decimal.Decimal) bool {
	var w *watch
	if i := m.slots[h]; i >= 0 {
		w = &m.watches[i]
	}
	return m.mark(w, mark)
}

func (m *Monitor) watchIndex(symbol string) int {
	if i, ok := m.index[symbol]; ok {
		return i
	}
	return -1
}

func (m *Monitor) mark(w *watch, mark decimal.Decimal) bool {
	if w == nil {
		return m.dirty
	}
	m.in.Positions[w.pos].MarkPrice = mark
	if m.dirty {
		return true
	}
	if e := mark.Exponent(); e != w.exp {
		w.rescale(e)
	}
	if w.hasAdverse {
		c := mark.Cmp(w.adverse)
		if (w.short && c >= 0) || (!w.short && c <= 0) {
			m.dirty = true
			return true
		}
	}
	if w.hasFavorable {
		c := mark.Cmp(w.favorable)
		if (w.short && c < 0) || (!w.short && c > 0) {
			m.dirty = true
			return true
		}
	}
	return false
}

// find returns symbol's watch: a linear scan for the few symbols an account holds (cheaper than hashing),
// the map beyond that.
func (m *Monitor) find(symbol string) *watch {
	if len(m.symbols) <= 8 {
		for i, s := range m.symbols {
			if s == symbol {
				return &m.watches[i]
			}
		}
		return nil
	}
	i, ok := m.index[symbol]
	if !ok {
		return nil
	}
	return &m.watches[i]
}

// Invalidate makes the next Mark ask for an evaluation (after a failed action, or on a timer).
func (m *Monitor) Invalidate() { m.dirty = true }

// Dirty reports whether an evaluation is due.
func (m *Monitor) Dirty() bool { return m.dirty }

// Evaluate runs a full evaluation with the latest marks and recomputes the triggers.
func (m *Monitor) Evaluate(at time.Time) (Report, error) {
	if !at.IsZero() {
		m.in.Time = at
	}
	rep, err := m.rules.Evaluate(&m.in)
	if err != nil {
		m.dirty = true
		return Report{}, err
	}
	if err := m.triggers(&rep); err != nil {
		m.dirty = true
		return Report{}, fmt.Errorf("risk monitor: %w", err)
	}
	m.last = rep
	m.dirty = false
	return rep, nil
}

// Last is the report of the last evaluation.
func (m *Monitor) Last() Report { return m.last }

// Input is a copy of the monitor's current view of the account (with the latest marks).
func (m *Monitor) Input() Input {
	in := m.in
	in.Positions = slices.Clone(m.in.Positions)
	return in
}

// Triggers returns symbol's exact trigger prices: adverse (the next rung) and favorable (re-arm); a zero
// price means none.
func (m *Monitor) Triggers(symbol string) (adverse, favorable decimal.Decimal, ok bool) {
	i, ok := m.index[symbol]
	if !ok {
		return decimal.Zero, decimal.Zero, false
	}
	w := m.watches[i]
	return w.exactAdverse, w.exactFavorable, true
}

// rescale rounds the exact triggers to exponent e, toward the mark (so they fire no later).
func (w *watch) rescale(e int32) {
	w.exp = e
	if w.hasAdverse {
		w.adverse = atExp(w.exactAdverse, e, !w.short) // short: floor; long: ceil
	}
	if w.hasFavorable {
		w.favorable = atExp(w.exactFavorable, e, w.short) // short: ceil; long: floor
	}
}

// atExp rounds d to a decimal with exponent exactly e, up or down.
func atExp(d decimal.Decimal, e int32, up bool) decimal.Decimal {
	s := d.Shift(-e)
	if up {
		s = s.Ceil()
	} else {
		s = s.Floor()
	}
	return decimal.NewFromBigInt(s.BigInt(), e)
}

// triggers recomputes every watch from the report.
func (m *Monitor) triggers(rep *Report) error {
	if len(rep.Positions) != len(m.watches) {
		return errors.New("positions and watches disagree")
	}
	for pi := range rep.Pools {
		pl := &rep.Pools[pi]
		shared := !pl.Isolated && len(pl.Positions) > 1
		drift := decimal.Zero
		if shared {
			drift = m.drift
		}
		for try := 0; ; try++ {
			crossed, err := m.poolTriggers(rep, pl, shared, drift)
			if err != nil {
				return err
			}
			if !crossed || !shared || try == 3 {
				break
			}
			drift = drift.Div(decimal.NewFromInt(4))
		}
	}
	return nil
}

// poolTriggers sets the triggers of one pool's positions; crossed reports an adverse trigger already at or
// beyond its mark (the box is too wide for how close the pool is to a threshold).
func (m *Monitor) poolTriggers(rep *Report, pl *PoolRisk, shared bool, drift decimal.Decimal) (crossed bool, err error) {
	r := m.rules
	ratios := []decimal.Decimal{one}
	for l := LevelTopup; l <= LevelFlatten; l++ {
		t, _ := r.ratioThreshold(l)
		ratios = append(ratios, t)
	}
	// worst[k][ri]: position k's lowest contribution r·UPNL − MM over its box, for ratios[ri]; actual[k][ri]
	// the contribution at its mark.
	n := len(pl.Positions)
	worst := make([][]decimal.Decimal, n)
	actual := make([][]decimal.Decimal, n)
	sumWorst := make([]decimal.Decimal, len(ratios))
	sumActual := make([]decimal.Decimal, len(ratios))
	for k, i := range pl.Positions {
		pr := rep.Positions[i]
		br := m.in.Markets[pr.Symbol].Brackets
		worst[k] = make([]decimal.Decimal, len(ratios))
		actual[k] = make([]decimal.Decimal, len(ratios))
		lo, hi := pr.Mark.Mul(one.Sub(drift)), pr.Mark.Mul(one.Add(drift))
		mmLo, err := exchange.MaintenanceMargin(pr.Qty.Abs().Mul(lo), br)
		if err != nil {
			return false, err
		}
		mmHi, err := exchange.MaintenanceMargin(pr.Qty.Abs().Mul(hi), br)
		if err != nil {
			return false, err
		}
		upLo, upHi := exchange.UnrealizedPnL(pr.Qty, pr.EntryPrice, lo), exchange.UnrealizedPnL(pr.Qty, pr.EntryPrice, hi)
		for ri, ratio := range ratios {
			worst[k][ri] = decimal.Min(ratio.Mul(upLo).Sub(mmLo), ratio.Mul(upHi).Sub(mmHi))
			actual[k][ri] = ratio.Mul(pr.Unrealized).Sub(pr.Maintenance)
			sumWorst[ri] = sumWorst[ri].Add(worst[k][ri])
			sumActual[ri] = sumActual[ri].Add(actual[k][ri])
		}
	}
	for k, i := range pl.Positions {
		pr := rep.Positions[i]
		w := &m.watches[i]
		short := pr.Qty.IsNegative()
		br := m.in.Markets[pr.Symbol].Brackets
		// others returns the formula input with the other positions' contribution for ratios[ri] folded into
		// OtherMaintenance (the solvers only use the combination ratio·UPNL1 − TMM1).
		others := func(ri int, worstCase bool) exchange.LiquidationInput {
			c := sumActual[ri].Sub(actual[k][ri])
			if worstCase {
				c = sumWorst[ri].Sub(worst[k][ri])
			}
			return exchange.LiquidationInput{Qty: pr.Qty, EntryPrice: pr.EntryPrice, Wallet: pl.Wallet,
				OtherMaintenance: c.Neg(), Brackets: br}
		}
		var adverse, favorable []decimal.Decimal
		if next := pr.Level + 1; pr.Level < LevelHalt {
			lp, err := exchange.LiquidationPrice(others(0, true))
			if err == nil {
				adverse = append(adverse, distanceTrigger(lp, r.distanceThreshold(next), short))
			} else if !errors.Is(err, exchange.ErrNoLiquidation) {
				return false, fmt.Errorf("trigger of %s: %w", pr.Symbol, err)
			}
		}
		if pl.Level < LevelFlatten {
			p, ok, err := PriceAtMarginRatio(ratios[pl.Level+1], others(int(pl.Level)+1, true))
			if err != nil {
				return false, fmt.Errorf("trigger of %s: %w", pr.Symbol, err)
			}
			if ok {
				adverse = append(adverse, p)
			}
		}
		if shared {
			if short {
				adverse = append(adverse, pr.Mark.Mul(one.Add(drift)))
			} else {
				adverse = append(adverse, pr.Mark.Mul(one.Sub(drift)))
				if f, ok := longFarBound(pr.Qty, br, ratios[1]); ok {
					favorable = append(favorable, f)
				}
			}
		}
		if pr.Level > LevelNone {
			favorable = append(favorable, distanceTrigger(pr.Liquidation, r.distanceThreshold(pr.Level), short))
		}
		if pl.Level > LevelNone {
			p, ok, err := PriceAtMarginRatio(ratios[pl.Level], others(int(pl.Level), false))
			if err != nil {
				return false, fmt.Errorf("trigger of %s: %w", pr.Symbol, err)
			}
			if ok {
				favorable = append(favorable, p)
			}
		}
		// The adverse trigger is the nearest on the adverse side: the lowest above a short's mark, the
		// highest below a long's. The favorable one the nearest on the other side.
		w.short = short
		w.exactAdverse, w.hasAdverse = nearest(adverse, !short)
		w.exactFavorable, w.hasFavorable = nearest(favorable, short)
		if w.hasAdverse && ((short && w.exactAdverse.LessThanOrEqual(pr.Mark)) || (!short && w.exactAdverse.GreaterThanOrEqual(pr.Mark))) {
			crossed = true
		}
		w.rescale(m.in.Positions[w.pos].MarkPrice.Exponent())
	}
	return crossed, nil
}

// distanceTrigger is the mark at which the distance to lp equals d: lp ÷ (1 + d) below a short's
// liquidation price, lp ÷ (1 − d) above a long's.
func distanceTrigger(lp, d decimal.Decimal, short bool) decimal.Decimal {
	if short {
		return lp.DivRound(one.Add(d), 10)
	}
	return lp.DivRound(one.Sub(d), 10)
}

// nearest picks the minimum (wantMax false) or maximum of ps.
func nearest(ps []decimal.Decimal, wantMax bool) (decimal.Decimal, bool) {
	if len(ps) == 0 {
		return decimal.Zero, false
	}
	best := ps[0]
	for _, p := range ps[1:] {
		if (wantMax && p.GreaterThan(best)) || (!wantMax && p.LessThan(best)) {
			best = p
		}
	}
	return best, true
}

// longFarBound is the price at which a long's notional enters the first bracket whose maintenance rate
// reaches minRatio: beyond it a rising long could lower the others' margin, so its box closes there.
func longFarBound(qty decimal.Decimal, brackets []exchange.Bracket, minRatio decimal.Decimal) (decimal.Decimal, bool) {
	for _, b := range brackets {
		if b.MMR.GreaterThanOrEqual(minRatio) {
			return b.Floor.DivRound(qty.Abs(), 10), true
		}
	}
	return decimal.Zero, false
}
