// Package guard puts the risk module behind the engine: it keeps the risk monitor's trigger prices current
// (one decimal comparison per mark), rebuilds the account snapshot from the venue only when something
// changed, turns risk actions into executor operations, records every action, note and refusal as a risk
// event, supplies the executor's pre-trade check, and holds the account's trading state.
package guard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/clock"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/risk"
	"github.com/carry-trading/carry/strategy"
	"github.com/carry-trading/carry/strategy/executor"
	"github.com/carry-trading/carry/strategy/pair"
)

// Venue is the account data risk reads.
type Venue interface {
	Positions(ctx context.Context) ([]exchange.Position, error)
	FuturesAccount(ctx context.Context) (exchange.FuturesAccount, error)
	Balances(ctx context.Context, venue exchange.Venue) ([]exchange.Balance, error)
}

// Events records risk events (implemented by *store.Store).
type Events interface {
	RecordRiskEvent(ctx context.Context, e store.RiskEvent) (int64, bool, error)
	risk.StateWriter
}

// Pairs lists the live pairs (the engine's cache).
type Pairs func() []pair.Pair

// Guard implements strategy.Guard and strategy.Trading.
type Guard struct {
	rules    *risk.Rules
	mon      *risk.Monitor
	venue    Venue
	events   Events
	clock    clock.Clock
	log      zerolog.Logger
	account  int64
	quote    string
	leverage int
	markets  map[string]risk.Market
	pairs    Pairs
	sw       *risk.Switch
	alert    func(executor.Alert)
	onReport func(risk.Report)
	price    func(symbol string) decimal.Decimal

	mu    sync.Mutex // the executor's legs call PreTrade concurrently
	dirty bool
	snap  snapshot
}

// snapshot is the account as last read from the venue.
type snapshot struct {
	positions  []exchange.Position
	futures    exchange.FuturesAccount
	spot       map[string]decimal.Decimal
	margin     []exchange.Balance         // the cross-margin wallet (reverse carry); empty when unused
	marginFree map[string]decimal.Decimal // its free balances by asset, for the pre-trade book
}

// Config builds a Guard.
type Config struct {
	Rules    *risk.Rules
	Venue    Venue
	Events   Events
	Clock    clock.Clock
	Log      zerolog.Logger
	Account  int64
	Quote    string
	Leverage int
	Markets  map[string]risk.Market
	Pairs    Pairs
	Status   risk.Status // the persisted trading state at start-up
	Alert    func(executor.Alert)
	// OnReport sees every evaluation (metrics, risk snapshots); optional.
	OnReport func(risk.Report)
	// Price is the spot mid of a symbol (values cross-margin assets); zero when unknown.
	Price func(symbol string) decimal.Decimal
}

// New creates a guard.
func New(c Config) (*Guard, error) {
	sw, err := risk.NewSwitch(c.Account, c.Status)
	if err != nil {
		return nil, err
	}
	if c.Alert == nil {
		c.Alert = func(executor.Alert) {}
	}
	return &Guard{rules: c.Rules, mon: risk.NewMonitor(c.Rules, risk.MonitorOptions{}), venue: c.Venue, events: c.Events,
		clock: c.Clock, log: c.Log, account: c.Account, quote: c.Quote, leverage: c.Leverage, markets: c.Markets,
		pairs: c.Pairs, sw: sw, alert: c.Alert, onReport: c.OnReport, price: c.Price, dirty: true}, nil
}

// SetPairs names the function listing live pairs (the engine, once it exists).
func (g *Guard) SetPairs(p Pairs) { g.pairs = p }

// Current is the account's trading state.
func (g *Guard) Current() string { return string(g.sw.State()) }

// Set changes the trading state through risk's transition table and persists it.
func (g *Guard) Set(ctx context.Context, to, by, reason string, at time.Time) error {
	ch, err := g.sw.Set(ctx, g.events, risk.State(to), risk.Actor(by), reason, at)
	if err != nil {
		return err
	}
	g.log.Warn().Str("from", string(ch.From)).Str("to", string(ch.To)).Str("by", by).Str("reason", reason).Msg("trading state changed")
	if to == strategy.StateHalted {
		g.alert(executor.Alert{Severity: "critical", Kind: "halt", Message: fmt.Sprintf("account halted by %s: %s", by, reason)})
	}
	return nil
}

// OnPrice feeds marks to the monitor; true when a trigger was crossed or the account changed.
func (g *Guard) OnPrice(ev *exchange.Event) bool {
	if ev.Kind != exchange.EventMark {
		return g.dirty
	}
	if g.mon.Mark(ev.Symbol, ev.Mark.Mark) {
		// A crossed trigger: read the account again before judging it — past the liquidation trigger (which
		// lies beyond every action's) the venue may already have closed the position.
		g.Changed()
		return true
	}
	return g.dirty
}

// Changed marks the snapshot stale: positions or wallets moved.
func (g *Guard) Changed() {
	g.mu.Lock()
	g.dirty = true
	g.mu.Unlock()
	g.mon.Invalidate()
}

// refresh re-reads the account from the venue when it changed.
func (g *Guard) refresh(ctx context.Context) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.dirty {
		return false, nil
	}
	pos, err := g.venue.Positions(ctx)
	if err != nil {
		return false, fmt.Errorf("risk: reading positions: %w", err)
	}
	fut, err := g.venue.FuturesAccount(ctx)
	if err != nil {
		return false, fmt.Errorf("risk: reading the futures account: %w", err)
	}
	bals, err := g.venue.Balances(ctx, exchange.Spot)
	if err != nil {
		return false, fmt.Errorf("risk: reading spot balances: %w", err)
	}
	spot := make(map[string]decimal.Decimal, len(bals))
	for _, b := range bals {
		spot[b.Asset] = b.Free
	}
	var margin []exchange.Balance
	if _, lends := g.venue.(exchange.Borrowing); lends {
		if margin, err = g.venue.Balances(ctx, exchange.Margin); err != nil {
			return false, fmt.Errorf("risk: reading cross-margin balances: %w", err)
		}
	}
	marginFree := make(map[string]decimal.Decimal, len(margin))
	for _, b := range margin {
		marginFree[b.Asset] = b.Free
	}
	g.snap = snapshot{positions: pos, futures: fut, spot: spot, margin: margin, marginFree: marginFree}
	g.dirty = false
	return true, nil
}

// Evaluate assesses the account and returns the actions to carry out now.
func (g *Guard) Evaluate(ctx context.Context, pairs []pair.Pair) ([]strategy.RiskAction, error) {
	changed, err := g.refresh(ctx)
	if err != nil {
		return nil, err
	}
	var rep risk.Report
	if changed || g.mon.Dirty() {
		rep, err = g.mon.Reset(risk.Input{Time: g.clock.Now(), State: g.sw.State(), Wallet: g.snap.futures.WalletBalance,
			SpotQuoteFree: g.snap.spot[g.quote], Positions: g.snap.positions, Pairs: pairs, Markets: g.markets, CrossMargin: g.crossMargin()})
	} else {
		rep, err = g.mon.Evaluate(g.clock.Now())
	}
	if err != nil {
		return nil, err
	}
	if g.onReport != nil {
		g.onReport(rep)
	}
	for _, n := range rep.Notes {
		g.record(ctx, store.RiskEvent{AccountID: g.account, PairID: n.PairID, Symbol: n.Symbol, Kind: string(n.Kind),
			Severity: n.Severity(), Actor: "risk", Detail: n.Reason, Numbers: n.Numbers, At: g.clock.Now()})
		if n.Kind == risk.NoteDivergence {
			g.alert(executor.Alert{Severity: "warning", Kind: "liquidation_divergence", Symbol: n.Symbol, PairID: n.PairID, Message: n.Reason})
		}
	}
	out := make([]strategy.RiskAction, 0, len(rep.Actions))
	mismatched := g.mismatches(pairs)
	for _, p := range pairs {
		if why, ok := mismatched[p.ID]; ok {
			out = append(out, strategy.RiskAction{Kind: strategy.RiskReconcile, PairID: p.ID, Symbol: p.Symbol, Reason: why})
		}
	}
	for _, a := range rep.Actions {
		if _, ok := mismatched[a.PairID]; ok && a.PairID != 0 {
			continue // reconciled first: its quantities are not what the venue holds
		}
		ra, ok := g.translate(a, pairs)
		if !ok {
			continue
		}
		g.record(ctx, store.RiskEvent{AccountID: g.account, PairID: a.PairID, Symbol: a.Symbol, Kind: string(a.Kind),
			Severity: a.Severity(), Actor: "risk", Detail: a.Reason, Amount: a.Amount, Qty: a.NewTarget, Numbers: a.Numbers, At: g.clock.Now()})
		if a.Kind != risk.ActionHedge {
			g.alert(executor.Alert{Severity: a.Severity(), Kind: "liquidation_distance", Symbol: a.Symbol, PairID: a.PairID, Message: a.Reason})
		}
		out = append(out, ra)
	}
	return out, nil
}

// crossMargin is the cross-margin wallet with prices, for the margin-level rungs; nil when it is unused.
func (g *Guard) crossMargin() *risk.CrossMargin {
	g.mu.Lock()
	defer g.mu.Unlock()
	used := false
	for _, b := range g.snap.margin {
		used = used || b.Borrowed.IsPositive() || b.Interest.IsPositive()
	}
	if !used {
		return nil
	}
	prices := map[string]decimal.Decimal{}
	for _, b := range g.snap.margin {
		if b.Asset != g.quote && g.price != nil {
			prices[b.Asset] = g.price(b.Asset + g.quote)
		}
	}
	return &risk.CrossMargin{Balances: g.snap.margin, Prices: prices}
}

// mismatches finds open pairs the venue contradicts: a perp leg its position does not match, or a
// reverse pair whose loan it no longer shows (a margin liquidation repays it on its own).
func (g *Guard) mismatches(pairs []pair.Pair) map[int64]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	held := map[string]decimal.Decimal{}
	for _, pos := range g.snap.positions {
		held[pos.Symbol] = pos.Qty
	}
	borrowed := map[string]decimal.Decimal{}
	for _, b := range g.snap.margin {
		borrowed[b.Asset] = b.Borrowed
	}
	out := map[int64]string{}
	for _, p := range pairs {
		if p.State != pair.Open {
			continue
		}
		m, ok := g.markets[p.Symbol]
		if !ok {
			continue
		}
		want := p.PerpQty.Neg()
		if p.Direction == pair.Reverse {
			want = p.PerpQty
		}
		if have := held[p.Symbol]; have.Sub(want).Abs().GreaterThanOrEqual(m.Perp.StepSize) {
			out[p.ID] = fmt.Sprintf("the venue holds a %s perp position of %s, pair %d holds %s", p.Symbol, have, p.ID, want)
			continue
		}
		if p.Direction == pair.Reverse && g.snap.margin != nil {
			if owed := borrowed[m.Spot.Base]; owed.Add(m.Spot.StepSize).LessThan(p.SpotQty) {
				out[p.ID] = fmt.Sprintf("the venue shows %s %s borrowed, pair %d sold %s", owed, m.Spot.Base, p.ID, p.SpotQty)
			}
		}
	}
	return out
}

// translate maps a risk action onto the executor's operations.
func (g *Guard) translate(a risk.Action, pairs []pair.Pair) (strategy.RiskAction, bool) {
	ra := strategy.RiskAction{PairID: a.PairID, Symbol: a.Symbol, Reason: a.Reason}
	switch a.Kind {
	case risk.ActionTopup:
		if (a.Transfer != exchange.SpotToFutures && a.Transfer != exchange.SpotToMargin) || a.Isolated {
			g.log.Error().Str("transfer", string(a.Transfer)).Bool("isolated", a.Isolated).Msg("risk asked for a top-up carry cannot do yet; skipped")
			return ra, false
		}
		ra.Kind, ra.Amount, ra.Transfer = strategy.RiskTopup, a.Amount, a.Transfer
	case risk.ActionDeleverage:
		ra.Kind, ra.Target = strategy.RiskDeleverage, a.NewTarget
	case risk.ActionFlatten:
		ra.Kind = strategy.RiskFlatten
	case risk.ActionHalt:
		ra.Kind = strategy.RiskHalt
	case risk.ActionHedge:
		if len(a.Orders) != 1 {
			return ra, false
		}
		o := a.Orders[0]
		p, ok := pairByID(pairs, a.PairID)
		if !ok {
			return ra, false
		}
		grow := o.Side == p.Direction.SpotSide()
		if o.Leg == pair.LegPerp {
			grow = o.Side == p.Direction.PerpSide()
		}
		ra.Kind, ra.Leg, ra.Grow, ra.Qty = strategy.RiskAdjust, o.Leg, grow, o.Qty
	default:
		return ra, false
	}
	if ra.PairID == 0 && (ra.Kind == strategy.RiskDeleverage || ra.Kind == strategy.RiskFlatten) {
		g.log.Error().Str("symbol", a.Symbol).Str("reason", a.Reason).Msg("risk wants to act on a position no pair explains; an operator must close it")
		g.alert(executor.Alert{Severity: "critical", Kind: "unexplained_position", Symbol: a.Symbol, Message: a.Reason})
		return ra, false
	}
	return ra, true
}

// PreTrade is the executor's pre-trade check: risk's limits against the current snapshot. A refusal is
// recorded as a risk event with its reason.
func (g *Guard) PreTrade(ctx context.Context, req exchange.OrderRequest, ref decimal.Decimal, reduces bool) error {
	if _, err := g.refresh(ctx); err != nil {
		return err
	}
	m, ok := g.markets[req.Symbol]
	if !ok {
		return exchange.Rejected(exchange.RejectRisk, 0, "%s is not a configured market", req.Symbol)
	}
	in := m.Spot
	if req.Venue == exchange.Futures {
		in = m.Perp
	}
	book := g.book()
	err := g.rules.PreTrade(book, risk.OrderCheck{Order: req, Instrument: in, Price: ref, Origin: risk.Origin(executor.OriginOf(ctx))})
	if err != nil {
		var rej *exchange.RejectError
		if errors.As(err, &rej) {
			g.record(ctx, store.RiskEvent{AccountID: g.account, Symbol: req.Symbol, Kind: store.RiskEventRefused, Severity: store.SeverityWarning,
				Actor: executor.OriginOf(ctx), Detail: rej.Reason, Qty: req.Qty, At: g.clock.Now()})
		}
	}
	return err
}

func (g *Guard) book() *risk.Book {
	g.mu.Lock()
	defer g.mu.Unlock()
	b := &risk.Book{State: g.sw.State(), SpotFree: g.snap.spot, MarginFree: g.snap.marginFree, FuturesAvailable: g.snap.futures.AvailableBalance,
		FuturesMarginBalance: g.snap.futures.MarginBalance, Symbols: map[string]risk.Exposure{}}
	for sym := range g.markets { // every tradable symbol is set up at the configured leverage
		b.Symbols[sym] = risk.Exposure{Leverage: g.leverage}
	}
	var pairs []pair.Pair
	if g.pairs != nil {
		pairs = g.pairs()
	}
	for _, p := range pairs {
		e := b.Symbols[p.Symbol]
		e.Spot = p.SpotQty
		if p.Direction == pair.Reverse {
			e.Spot = e.Spot.Neg()
		}
		e.Leverage = g.leverage
		b.Symbols[p.Symbol] = e
	}
	for _, pos := range g.snap.positions {
		e := b.Symbols[pos.Symbol]
		e.Perp, e.Price, e.Leverage = pos.Qty, pos.MarkPrice, g.leverage
		b.Symbols[pos.Symbol] = e
	}
	return b
}

func (g *Guard) record(ctx context.Context, e store.RiskEvent) {
	if _, _, err := g.events.RecordRiskEvent(ctx, e); err != nil {
		g.log.Error().Err(err).Str("kind", e.Kind).Msg("recording a risk event failed")
	}
}

func pairByID(pairs []pair.Pair, id int64) (pair.Pair, bool) {
	for _, p := range pairs {
		if p.ID == id {
			return p, true
		}
	}
	return pair.Pair{}, false
}
