// Package strategy is carry's event loop for one account: market events in, decisions out. It applies each
// event to the paper venue (when simulating), the signals and the risk guard; records funding when a
// settlement passes; evaluates the policy; and has the paired executor carry decisions out. It is the same
// object graph in backtest, paper and live mode — only the Source, the venue and the clock differ, and they
// are chosen by cmd/carry.
//
// The loop is a single goroutine: strategy code takes no locks. Executor operations run synchronously in
// the loop (both legs of a round go out concurrently inside the executor), and they run to completion even
// when the loop's context is cancelled, so a SIGTERM never leaves a repair half done.
package strategy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/clock"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/strategy/executor"
	"github.com/carry-trading/carry/strategy/pair"
	"github.com/carry-trading/carry/strategy/policy"
	"github.com/carry-trading/carry/strategy/signals"
)

// Source is a stream of market events: a replay, or a live feed. Next returns io.EOF at the end.
type Source interface {
	Next(ctx context.Context) (exchange.Event, error)
}

// EventReader is a Source that can also write the next event into the caller's value (a replay): Run then
// reads with it, which saves copying every event through return values.
type EventReader interface {
	Read(ctx context.Context, ev *exchange.Event) error
}

// MarketSink receives every market event before the strategy sees it (the paper venue).
type MarketSink interface {
	Apply(ev *exchange.Event)
}

// FundingSource lists what the account was really paid.
type FundingSource interface {
	FundingPayments(ctx context.Context, symbol string, since time.Time) ([]exchange.FundingPayment, error)
}

// Store is the persistence the loop needs beyond the executor's journal.
type Store interface {
	LivePairs(ctx context.Context, accountID int64) ([]pair.Pair, error)
	// ClosedSince lists the pairs closed at or after since.
	ClosedSince(ctx context.Context, accountID int64, since time.Time) ([]pair.Pair, error)
	InsertFunding(ctx context.Context, accountID, pairID int64, p exchange.FundingPayment) (bool, error)
	PairAt(ctx context.Context, accountID int64, symbol string, at time.Time) (int64, error)
	LastFundingTime(ctx context.Context, accountID int64) (time.Time, error)
	// LastLoanTime is the time of the account's newest recorded loan transaction (zero when none).
	LastLoanTime(ctx context.Context, accountID int64) (time.Time, error)
	InsertLoanTx(ctx context.Context, accountID, pairID int64, tx exchange.LoanTx) (bool, error)
}

// LoanSource lists borrows, repayments and interest (venues that lend: reverse carry).
type LoanSource interface {
	LoanHistory(ctx context.Context, asset string, since time.Time) ([]exchange.LoanTx, error)
}

// ExitCounter keeps the policy's count of settlements below the exit threshold per live pair across
// restarts (paper and live; a backtest never restarts).
type ExitCounter interface {
	BelowExitCounts(ctx context.Context, accountID int64) (map[int64]int, error)
	SetBelowExit(ctx context.Context, pairID int64, n int) error
}

// Guard is the risk module as the loop uses it.
type Guard interface {
	// OnPrice sees every quote and mark; it must be cheap. True means a full evaluation is due now.
	OnPrice(ev *exchange.Event) bool
	// Changed says positions or wallets changed, so trigger prices must be recomputed.
	Changed()
	// Evaluate assesses the account and returns what to do now, most severe first.
	Evaluate(ctx context.Context, pairs []pair.Pair) ([]RiskAction, error)
}

// RiskAction is one thing the risk guard wants done.
type RiskAction struct {
	Kind   RiskKind
	PairID int64
	Symbol string
	Amount decimal.Decimal // topup: quote amount to move
	// Transfer is where a top-up goes: spot → futures (the default) or spot → cross margin (reverse carry).
	Transfer exchange.TransferKind
	Target   decimal.Decimal // deleverage: the pair's new quantity
	Leg      pair.Leg        // adjust: the leg to correct
	Grow     bool            // adjust: grow (true) or shrink the leg
	Qty      decimal.Decimal // adjust: base quantity
	Reason   string
}

// RiskKind names a risk action.
type RiskKind string

// Risk actions, least severe first.
const (
	RiskAdjust     RiskKind = "adjust"     // a corrective order on one leg (hedge drift)
	RiskTopup      RiskKind = "topup"      // move quote asset from spot to futures margin
	RiskDeleverage RiskKind = "deleverage" // reduce both legs together
	RiskFlatten    RiskKind = "flatten"    // close the pair
	RiskHalt       RiskKind = "halt"       // halt the account: no new orders
	// RiskReconcile: the venue's perp position and the pair's disagree (a liquidation, an auto-deleverage):
	// adopt the venue's trades and close what is left.
	RiskReconcile RiskKind = "reconcile"
)

// Observer follows the loop (backtest report, metrics). Methods must be cheap.
type Observer interface {
	// OnEvent sees each event before the venue and the signals apply it, after the decisions of the
	// instant before: a valuation there is the state at the end of that instant, every price of one moment.
	OnEvent(ev *exchange.Event)
	OnPair(p pair.Pair)
	OnFunding(p exchange.FundingPayment, pairID int64)
	OnLoan(tx exchange.LoanTx, pairID int64)
	OnDecision(d policy.Decision)
	OnRisk(a RiskAction, err error)
}

// Config tunes the loop.
type Config struct {
	EvalInterval time.Duration
	QuoteAsset   string
	Leverage     int
	// FundingSyncEvery re-reads funding income this often even without a settlement event (live: income
	// appears with a delay). Zero: only on settlements.
	FundingSyncEvery time.Duration
}

// Deps are the loop's collaborators. Sink, Guard, Observer and Sim are optional.
type Deps struct {
	Exec     *executor.Executor
	Book     *signals.Book
	Policy   *policy.Policy
	Store    Store
	Funding  FundingSource
	Loans    LoanSource // nil when the venue does not lend
	Sink     MarketSink
	Guard    Guard
	Observer Observer
	Clock    clock.Clock
	Sim      *clock.Sim // set in backtests: the loop moves it to each event's time
	Log      zerolog.Logger
	State    Trading
	Commands CommandSource
	// Alert, when set, receives the loop's own alerts (a funding flip against a held pair).
	Alert func(executor.Alert)
	// ExitCounts, when set, persists the exit counters (nil: they start from zero at each start).
	ExitCounts ExitCounter
}

// OpenCooldown is how long a symbol is left alone after an open that got nothing (refused, not filled).
const OpenCooldown = time.Hour

// Engine is the loop of one account.
type Engine struct {
	cfg Config
	Deps

	pairs       map[int64]pair.Pair // live pairs
	blocked     map[string]string   // symbols with an unexplained venue position
	nextEval    time.Time
	lastSync    time.Time
	fundingAt   map[string]time.Time // newest payment recorded per symbol
	cooldown    map[string]time.Time // no new open on the symbol before this (after an open that got nothing)
	lastTranID  map[string]string    // the newest funding payment recorded per symbol
	heldCache   []policy.Held        // the policy's view of e.pairs; nil when stale
	loansAt     time.Time            // newest loan transaction recorded
	loansSynced time.Time            // loan history read up to here (less syncOverlap)
	loansDue    bool                 // a settlement happened: read the loan history at the end of the instant
	// fundingSynced: per symbol, funding income read up to here (less syncOverlap).
	fundingSynced map[string]time.Time
	lastRefresh   time.Time // last periodic risk refresh (ticks)
	events        int64
	runCtx        context.Context // Run's context: once it ends (SIGTERM), nothing new opens
	instant       time.Time       // the timestamp of the events being applied
	riskDue       bool            // a risk trigger fired during the instant
	evalDue       bool            // market data changed during the instant
	started       time.Time       // wall time Start ran

	blockedScratch map[string]bool // evaluate's set of symbols not to open, reused between calls
	// charged: the pairs whose last settlement charged them (funding flipped against the position).
	charged map[int64]bool
	// savedBelow: the exit counter last recorded per live pair (ExitCounts).
	savedBelow map[int64]int
}

// New creates the loop.
func New(cfg Config, deps Deps) *Engine {
	if deps.State == nil {
		deps.State = &MemoryTrading{State: StateActive}
	}
	return &Engine{cfg: cfg, Deps: deps, pairs: map[int64]pair.Pair{}, blocked: map[string]string{}, fundingAt: map[string]time.Time{},
		cooldown: map[string]time.Time{}, lastTranID: map[string]string{}, charged: map[int64]bool{},
		fundingSynced: map[string]time.Time{}, savedBelow: map[int64]int{}}
}

// Events is how many events the loop has processed.
func (e *Engine) Events() int64 { return e.events }

// Pairs returns the live pairs in id order (iteration order must not depend on a map: backtests are
// deterministic).
func (e *Engine) Pairs() []pair.Pair {
	out := make([]pair.Pair, 0, len(e.pairs))
	for _, p := range e.pairs {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Blocked returns the symbols recovery blocked, with why.
func (e *Engine) Blocked() map[string]string { return e.blocked }

// Start recovers every live pair against the venue. It must run before the first event.
func (e *Engine) Start(ctx context.Context) error {
	e.started = time.Now()
	rec, err := e.Exec.Recover(ctx)
	if err != nil {
		return err
	}
	for sym, why := range rec.Blocked {
		e.blocked[sym] = why
	}
	if err := e.reloadPairs(ctx); err != nil {
		return err
	}
	if e.ExitCounts != nil {
		counts, err := e.ExitCounts.BelowExitCounts(ctx, e.Exec.Account().ID)
		if err != nil {
			return err
		}
		for id, n := range counts {
			if _, live := e.pairs[id]; live {
				e.Policy.Restore(id, n)
				e.savedBelow[id] = n
			}
		}
	}
	// The re-entry cooldowns outlive a restart: they follow from the pairs closed recently.
	now := e.Clock.Now()
	recent, err := e.Store.ClosedSince(ctx, e.Exec.Account().ID, now.Add(-48*time.Hour))
	if err != nil {
		return err
	}
	for _, p := range recent {
		if !p.OpenedAt.IsZero() {
			if until := p.ClosedAt.Add(e.reentryWait(p.Symbol)); until.After(now) && until.After(e.cooldown[p.Symbol]) {
				e.cooldown[p.Symbol] = until
			}
		}
	}
	last, err := e.Store.LastFundingTime(ctx, e.Exec.Account().ID)
	if err != nil {
		return err
	}
	for _, s := range e.Book.All() {
		e.fundingAt[s.Name] = last
	}
	lastLoan, err := e.Store.LastLoanTime(ctx, e.Exec.Account().ID)
	if err != nil {
		return err
	}
	if !lastLoan.IsZero() {
		// Read the loan history from the newest record (less the venue's reporting delay), not from the
		// start of the venue's history.
		e.loansSynced = lastLoan.Add(-syncOverlap)
	}
	// Recovery may have finished operations the records do not show yet (a repayment, a settlement paid
	// while the bot was down): bring funding and loans up to date before anything new.
	if err := e.syncFunding(ctx, ""); err != nil {
		return err
	}
	if err := e.syncLoans(ctx); err != nil {
		return err
	}
	e.lastSync = e.Clock.Now() // both were just read: the periodic sync starts from here
	e.Log.Info().Int("live_pairs", len(e.pairs)).Int("resumed", len(rec.Resumed)).Int("halted", len(rec.Halted)).
		Int("blocked_symbols", len(rec.Blocked)).Msg("recovery done")
	if e.Guard != nil {
		e.Guard.Changed()
	}
	return nil
}

// Run processes events until the source ends (io.EOF: returns nil) or ctx is cancelled (returns nil after
// the operation in progress completes). Start must have been called.
func (e *Engine) Run(ctx context.Context, src Source) error {
	// Operations outlive a cancelled ctx: a repair must finish before the process stops.
	opCtx := context.WithoutCancel(ctx)
	// A stop request is seen at once, even in the middle of a step: no open starts after it.
	e.runCtx = ctx
	defer func() { e.runCtx = nil }()
	// One event value for the whole run: Step and its callees take a pointer and keep none, and a value
	// declared per iteration would be a heap allocation per event.
	var ev exchange.Event
	var err error
	reader, _ := src.(EventReader)
	for {
		if reader != nil {
			err = reader.Read(ctx, &ev)
		} else {
			ev, err = src.Next(ctx)
		}
		if err != nil {
			if ctx.Err() != nil {
				// Stopping (SIGTERM): the last instant's risk actions still run, but nothing new opens
				// (stopRequested holds until Run returns).
				return e.Flush(opCtx)
			}
			if errors.Is(err, io.EOF) {
				return e.Flush(opCtx)
			}
			return fmt.Errorf("reading market events: %w", err)
		}
		if err := e.Step(opCtx, &ev); err != nil {
			return err
		}
		if ctx.Err() != nil {
			// Stopping right after a step: the instant's risk actions still run, nothing new opens.
			return e.Flush(opCtx)
		}
	}
}

// Step processes one event. Decisions (risk actions, the policy) wait until every event of an instant has
// been applied: several events share a timestamp (the spot and perp quotes of a bar, a settlement), and
// deciding after the first would pair one leg's new price with the other's old one. They run when the next
// instant begins, on a clock tick, or at the end of the stream (Flush).
func (e *Engine) Step(ctx context.Context, ev *exchange.Event) error {
	if !e.instant.IsZero() && ev.Time.After(e.instant) {
		if err := e.Flush(ctx); err != nil {
			return err
		}
	}
	if !ev.Time.IsZero() {
		e.instant = ev.Time
	}
	e.events++
	if e.Sim != nil && !ev.Time.IsZero() {
		e.Sim.Set(ev.Time)
	}
	if e.Observer != nil {
		e.Observer.OnEvent(ev) // before it is applied: the venue and the book still hold the instant before
	}
	if e.Sink != nil && ev.Kind != exchange.EventTick {
		e.Sink.Apply(ev)
	}
	e.Book.Apply(ev)
	switch ev.Kind {
	case exchange.EventFunding:
		if err := e.syncFunding(ctx, ev.Symbol); err != nil {
			if err := e.syncFailed("funding", err); err != nil {
				return err
			}
		}
		e.loansDue = true // once for all the settlements of the instant (interest is charged hourly)
		e.Policy.OnSettlement(e.Book, ev.Symbol, e.held())
		e.saveExitCounts(ctx, ev.Symbol)
		e.checkFlip(&ev.Funding)
	case exchange.EventQuote, exchange.EventMark:
		if e.Guard != nil && len(e.pairs) > 0 && e.Guard.OnPrice(ev) {
			e.riskDue = true
		}
		// The policy trades on quotes: a mark alone (a perp's intra-bar extreme in a replay) is no price to
		// trade at, and its funding estimate is seen at the next quote.
		e.evalDue = e.evalDue || ev.Kind == exchange.EventQuote
	case exchange.EventTick:
		e.evalDue = true
		if e.Guard != nil && len(e.pairs) > 0 && ev.Time.Sub(e.lastRefresh) >= time.Minute {
			// Re-read the account now and then: the venue can change it on its own (liquidation, ADL, a
			// trade by hand), and in live mode no price crossing may come first.
			e.lastRefresh = ev.Time
			e.Guard.Changed()
			e.riskDue = true
		}
		if err := e.Flush(ctx); err != nil {
			return err
		}
		if e.Commands != nil {
			if err := e.runCommands(ctx); err != nil {
				// The queue is read again on the next tick; the loop keeps the pairs hedged meanwhile.
				e.Log.Warn().Err(err).Msg("reading operator commands failed; will retry")
			}
		}
	}
	return nil
}

// Flush makes the decisions due for the instant just completed: risk actions first, then the policy.
func (e *Engine) Flush(ctx context.Context) error {
	now := e.Clock.Now()
	if e.cfg.FundingSyncEvery > 0 && now.Sub(e.lastSync) >= e.cfg.FundingSyncEvery {
		e.lastSync = now
		if err := e.syncFunding(ctx, ""); err != nil {
			e.Log.Warn().Err(err).Msg("funding sync failed; will retry")
		}
		if err := e.syncLoans(ctx); err != nil {
			e.Log.Warn().Err(err).Msg("loan sync failed; will retry")
		}
		e.loansDue = false
	}
	if e.loansDue {
		e.loansDue = false
		if err := e.syncLoans(ctx); err != nil {
			if err := e.syncFailed("loan", err); err != nil {
				return err
			}
		}
	}
	if e.riskDue {
		e.riskDue = false
		if err := e.runRisk(ctx); err != nil {
			return err
		}
	}
	if e.evalDue && !now.Before(e.nextEval) && e.anyTradable() {
		e.evalDue = false
		e.nextEval = now.Add(e.cfg.EvalInterval)
		return e.evaluate(ctx, now)
	}
	return nil
}

// anyTradable: some symbol has both legs quoted and a known funding interval (until then an evaluation
// would decide nothing and only delay the first real one by an interval).
func (e *Engine) anyTradable() bool {
	for _, s := range e.Book.All() {
		if s.Tradable() {
			return true
		}
	}
	return false
}

// evaluate asks the policy and carries its decisions out.
func (e *Engine) evaluate(ctx context.Context, now time.Time) error {
	st := e.State.Current()
	if st == StateHalted || e.stopRequested() {
		return nil
	}
	if e.blockedScratch == nil {
		e.blockedScratch = map[string]bool{}
	}
	blocked := e.blockedScratch
	clear(blocked)
	for s := range e.blocked {
		blocked[s] = true
	}
	for s, until := range e.cooldown {
		if now.Before(until) {
			blocked[s] = true
		} else {
			delete(e.cooldown, s)
		}
	}
	decisions := e.Policy.Decide(now, e.Book, e.held(), blocked)
	for _, d := range decisions {
		if e.Observer != nil {
			e.Observer.OnDecision(d)
		}
		switch d.Action {
		case policy.Close:
			p, err := e.Exec.Close(ctx, d.PairID, d.Reason)
			if err := e.afterOp(ctx, p, err); err != nil {
				return err
			}

		case policy.Open:
			if st != StateActive || e.stopRequested() {
				continue
			}
			qty, err := e.Exec.SizeFor(ctx, d.Symbol, d.Direction, d.Capital)
			if err != nil {
				e.Log.Debug().Str("symbol", d.Symbol).Err(err).Msg("opportunity too small to trade")
				continue
			}
			p, err := e.Exec.Open(ctx, d.Symbol, d.Direction, qty, d.Reason)
			if errors.Is(err, store.ErrSymbolBusy) {
				continue
			}
			if p.State == pair.Closed {
				// Refused or nothing filled: do not try the symbol again at once.
				e.cooldown[d.Symbol] = now.Add(OpenCooldown)
				e.Log.Info().Str("symbol", d.Symbol).Str("reason", p.Reason).Dur("cooldown", OpenCooldown).Msg("open did not happen; cooling down")
			}
			if err := e.afterOp(ctx, p, err); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkFlip alerts when a settlement charges a held pair whose previous settlement paid it (a pair is
// opened to be paid, so its first charge is a flip too), and again when funding pays it once more.
func (e *Engine) checkFlip(f *exchange.FundingRate) {
	if f.Rate.IsZero() {
		return
	}
	for _, p := range e.held() { // in id order: deterministic alerts
		if p.Symbol != f.Symbol || p.State != pair.Open {
			continue
		}
		charged := f.Rate.IsNegative()
		if p.Direction == pair.Reverse {
			charged = !charged
		}
		if charged == e.charged[p.PairID] {
			continue
		}
		e.charged[p.PairID] = charged
		side := "short"
		if p.Direction == pair.Reverse {
			side = "long"
		}
		pct := f.Rate.Mul(decimal.NewFromInt(100)).StringFixed(4)
		a := executor.Alert{Severity: "warning", Kind: "funding_flip", Symbol: p.Symbol, PairID: p.PairID,
			Message: fmt.Sprintf("funding flipped against pair %d: %s settled at %s%% per %dh, which the %s perp now pays; "+
				"the policy closes it if the carry stays below the exit threshold for %d settlements", p.PairID, p.Symbol, pct,
				f.IntervalHours, side, e.Policy.ExitSettlements())}
		if !charged {
			a.Severity = "info"
			a.Message = fmt.Sprintf("funding pays pair %d again: %s settled at %s%% per %dh", p.PairID, p.Symbol, pct, f.IntervalHours)
		}
		lvl := e.Log.Warn() // the log follows the alert: a flip back to paying is news, not a warning
		if !charged {
			lvl = e.Log.Info()
		}
		lvl.Str("symbol", p.Symbol).Int64("pair", p.PairID).Str("rate", f.Rate.String()).Bool("charged", charged).Msg("funding flip")
		if e.Alert != nil {
			e.Alert(a)
		}
	}
}

// reentryWait is how long a symbol rests after a pair on it closed: one funding interval (8h when unknown).
func (e *Engine) reentryWait(symbol string) time.Duration {
	if s := e.Book.Get(symbol); s != nil && s.IntervalHours > 0 {
		return time.Duration(s.IntervalHours) * time.Hour
	}
	return 8 * time.Hour
}

// saveExitCounts records the exit counters of symbol's live pairs that changed at a settlement. A failed
// write is logged and retried at the next settlement: until then a restart would resume from the older count.
func (e *Engine) saveExitCounts(ctx context.Context, symbol string) {
	if e.ExitCounts == nil {
		return
	}
	for _, h := range e.held() {
		n := e.Policy.BelowExit(h.PairID)
		if h.Symbol != symbol || n == e.savedBelow[h.PairID] {
			continue
		}
		if err := e.ExitCounts.SetBelowExit(ctx, h.PairID, n); err != nil {
			e.Log.Warn().Err(err).Int64("pair", h.PairID).Msg("exit counter not recorded; retried at the next settlement")
			continue
		}
		e.savedBelow[h.PairID] = n
	}
}

// afterOp updates the live-pair cache after an executor operation. A halted pair is not an engine error
// (the executor alerted); a journal or venue failure is.
func (e *Engine) afterOp(ctx context.Context, p pair.Pair, err error) error {
	e.heldCache = nil
	if p.ID != 0 {
		if p.State == pair.Closed {
			delete(e.pairs, p.ID)
			delete(e.charged, p.ID)
			delete(e.savedBelow, p.ID)
			e.Policy.Forget(p.ID)
			// No re-entry on the symbol within one funding interval of any close (the policy's, risk's or an
			// operator's unwind): a close is not undone by the next tick.
			if !p.OpenedAt.IsZero() {
				e.cooldown[p.Symbol] = e.Clock.Now().Add(e.reentryWait(p.Symbol))
			}
		} else {
			e.pairs[p.ID] = p
		}
		if e.Observer != nil {
			e.Observer.OnPair(p)
		}
	}
	if e.Guard != nil {
		e.Guard.Changed()
	}
	if p.Direction == pair.Reverse {
		if lerr := e.syncLoans(ctx); lerr != nil {
			e.Log.Warn().Err(lerr).Msg("recording loan transactions failed; will retry")
		}
	}
	if err != nil && !errors.Is(err, executor.ErrHalted) {
		if exchange.IsRejected(err) {
			e.Log.Warn().Err(err).Msg("operation refused")
			return nil
		}
		return err
	}
	return nil
}

// runRisk evaluates the account and carries out the guard's actions.
func (e *Engine) runRisk(ctx context.Context) error {
	actions, err := e.Guard.Evaluate(ctx, e.Pairs())
	if err != nil {
		e.Log.Error().Err(err).Msg("risk evaluation failed")
		return nil
	}
	ctx = executor.WithOrigin(ctx, "risk")
	for _, a := range actions {
		var p pair.Pair
		var opErr error
		switch a.Kind {
		case RiskAdjust:
			p, opErr = e.Exec.Adjust(ctx, a.PairID, a.Leg, a.Grow, a.Qty, a.Reason)
		case RiskTopup:
			kind := a.Transfer
			if kind == "" {
				kind = exchange.SpotToFutures
			}
			opErr = e.Exec.Transfer(ctx, a.PairID, kind, e.cfg.QuoteAsset, a.Amount, a.Reason)
		case RiskDeleverage:
			p, opErr = e.Exec.Reduce(ctx, a.PairID, a.Target, a.Reason)
		case RiskFlatten:
			p, opErr = e.Exec.Close(ctx, a.PairID, a.Reason)
		case RiskReconcile:
			p, opErr = e.Exec.Reconcile(ctx, a.PairID, a.Reason)
		case RiskHalt:
			if e.State.Current() != StateHalted {
				opErr = e.State.Set(ctx, StateHalted, "risk", a.Reason, e.Clock.Now())
			}
		}
		if e.Observer != nil {
			e.Observer.OnRisk(a, opErr)
		}
		line := e.Log.Info().Str("action", string(a.Kind))
		if a.PairID != 0 { // a top-up of the cross wallet concerns no one pair
			line = line.Int64("pair", a.PairID)
		}
		if a.Symbol != "" {
			line = line.Str("symbol", a.Symbol)
		}
		line.Str("reason", a.Reason).AnErr("error", opErr).Msg("risk action")
		if err := e.afterOp(ctx, p, opErr); err != nil {
			e.Log.Error().Err(err).Str("action", string(a.Kind)).Msg("risk action failed")
		}
	}
	return nil
}

// syncFailed decides what a failed funding or loan sync at a settlement means: with a periodic re-sync (live
// mode, where the venue's records arrive late anyway) it is a warning and the next sync catches up; without
// one (a backtest, paper) nothing would retry it, and the records would stay short, so the loop stops.
func (e *Engine) syncFailed(what string, err error) error {
	if e.cfg.FundingSyncEvery <= 0 {
		return err
	}
	e.Log.Warn().Err(err).Msgf("%s sync at a settlement failed; the periodic sync will catch up", what)
	e.lastSync = time.Time{} // at the next flush
	return nil
}

// syncFunding records the funding payments the venue reports since the last one recorded (all symbols
// when symbol is ""), each attributed to the pair that held the symbol at that time.
func (e *Engine) syncFunding(ctx context.Context, symbol string) error {
	from := func(sym string) time.Time { return later(e.fundingAt[sym], e.fundingSynced[sym]) }
	since := from(symbol)
	if symbol == "" {
		since = time.Time{}
		for i, s := range e.Book.All() {
			if t := from(s.Name); i == 0 || t.Before(since) {
				since = t
			}
		}
	}
	started := e.Clock.Now()
	pays, err := e.Funding.FundingPayments(ctx, symbol, since)
	if err != nil {
		return fmt.Errorf("reading funding income: %w", err)
	}
	acct := e.Exec.Account().ID
	for _, p := range pays {
		if p.TranID == e.lastTranID[p.Symbol] {
			continue // the boundary payment of the previous sync
		}
		pairID, ok := e.livePairAt(p.Symbol, p.Time)
		if !ok {
			if pairID, err = e.Store.PairAt(ctx, acct, p.Symbol, p.Time); err != nil {
				return err
			}
		}
		isNew, err := e.Store.InsertFunding(ctx, acct, pairID, p)
		if err != nil {
			return err
		}
		// Funding paid out of margin moves the liquidation price closer: risk must re-read the account. A
		// payment received only moves it away, which leaves the trigger prices on the safe side until the
		// next re-read.
		if isNew && p.Amount.IsNegative() && e.Guard != nil {
			e.Guard.Changed()
		}
		if !p.Time.Before(e.fundingAt[p.Symbol]) {
			e.fundingAt[p.Symbol], e.lastTranID[p.Symbol] = p.Time, p.TranID
		}
		if isNew && e.Observer != nil {
			e.Observer.OnFunding(p, pairID)
		}
	}
	// Everything read is recorded: synced up to the start of this read, less the venue's reporting delay.
	// The next read starts there, not at the newest payment (which for a symbol no longer held could be
	// months old, and every read would walk the months again).
	mark := started.Add(-syncOverlap)
	for _, s := range e.Book.All() {
		if symbol == "" || s.Name == symbol {
			e.fundingSynced[s.Name] = later(e.fundingSynced[s.Name], mark)
		}
	}
	return nil
}

// syncLoans records the venue's borrows, repayments and interest charges since the last one recorded, each
// attributed to the reverse pair that held the borrowed asset then. Nothing is read while carry has never
// borrowed and cannot (reverse carry off, no reverse pair).
func (e *Engine) syncLoans(ctx context.Context) error {
	if e.Loans == nil || !e.mayOwe() {
		return nil
	}
	started := e.Clock.Now()
	txs, err := e.Loans.LoanHistory(ctx, "", later(e.loansAt, e.loansSynced))
	if err != nil {
		return fmt.Errorf("reading loan history: %w", err)
	}
	acct := e.Exec.Account().ID
	symbolOf := map[string]string{} // borrowed asset → the universe symbol trading it
	for _, s := range e.Book.All() {
		if m, ok := e.Exec.Market(s.Name); ok {
			symbolOf[m.Spot.Base] = s.Name
		}
	}
	for _, tx := range txs {
		symbol, ok := symbolOf[tx.Asset]
		if !ok {
			symbol = tx.Asset + e.cfg.QuoteAsset
		}
		pairID, live := e.livePairAt(symbol, tx.Time)
		if !live {
			if pairID, err = e.Store.PairAt(ctx, acct, symbol, tx.Time); err != nil {
				return fmt.Errorf("attributing %s %s %s: %w", tx.Kind, tx.Amount, tx.Asset, err)
			}
		}
		isNew, err := e.Store.InsertLoanTx(ctx, acct, pairID, tx)
		if err != nil {
			return err
		}
		if tx.Time.After(e.loansAt) {
			e.loansAt = tx.Time
		}
		if isNew && e.Observer != nil {
			e.Observer.OnLoan(tx, pairID)
		}
	}
	e.loansSynced = later(e.loansSynced, started.Add(-syncOverlap)) // everything read is recorded
	return nil
}

// mayOwe: carry may have borrowed (reverse carry on, a reverse pair live, or a loan transaction recorded).
func (e *Engine) mayOwe() bool {
	if e.Policy.Reverse() || !e.loansAt.IsZero() || !e.loansSynced.IsZero() {
		return true
	}
	for _, p := range e.pairs {
		if p.Direction == pair.Reverse {
			return true
		}
	}
	return false
}

// syncOverlap is how far back of the last read a funding or loan sync starts again: records can appear at
// the venue some time after the event (the inserts are idempotent, so overlap only costs a re-read).
const syncOverlap = 2 * time.Hour

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// livePairAt finds the live pair that held symbol at t, from the cache.
func (e *Engine) livePairAt(symbol string, t time.Time) (int64, bool) {
	for _, p := range e.pairs {
		if p.Symbol == symbol && !p.CreatedAt.After(t) {
			return p.ID, true
		}
	}
	return 0, false
}

// held is the live pairs as the policy sees them (cached until a pair changes).
func (e *Engine) held() []policy.Held {
	if e.heldCache != nil {
		return e.heldCache
	}
	out := make([]policy.Held, 0, len(e.pairs))
	for _, p := range e.Pairs() {
		out = append(out, policy.Held{PairID: p.ID, Symbol: p.Symbol, Direction: p.Direction, State: p.State,
			EntryBasis: p.EntryBasis.InexactFloat64(), Capital: policy.CapitalFor(p.TargetQty.Mul(p.EntrySpotPrice), e.cfg.Leverage)})
	}
	e.heldCache = out
	return out
}

func (e *Engine) reloadPairs(ctx context.Context) error {
	live, err := e.Store.LivePairs(ctx, e.Exec.Account().ID)
	if err != nil {
		return err
	}
	e.heldCache = nil
	e.pairs = make(map[int64]pair.Pair, len(live))
	for _, p := range live {
		e.pairs[p.ID] = p
	}
	return nil
}

// stopRequested: Run's context has ended (the decision in progress must not open anything).
func (e *Engine) stopRequested() bool { return e.runCtx != nil && e.runCtx.Err() != nil }
