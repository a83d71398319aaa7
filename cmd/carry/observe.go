package main

import (
	"context"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/accounting"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/pkg/telemetry"
	"github.com/carry-trading/carry/strategy"
	"github.com/carry-trading/carry/strategy/executor"
	"github.com/carry-trading/carry/strategy/pair"
	"github.com/carry-trading/carry/strategy/policy"
)

// observer turns the engine's and the executor's observations into metrics and feed freshness. Its
// methods run on the event loop (OrderLatency also on the executor's leg goroutines); what other
// goroutines read (mids) is behind mu.
type observer struct {
	m       *telemetry.Metrics
	fresh   *telemetry.Freshness
	wall    bool // live data: freshness is wall time
	states  map[int64]pair.State
	symbols map[int64]string // the live pairs' symbols
	funding map[string]decimal.Decimal
	// pnlDue asks for a PnL refresh (a pair opened or closed, funding or a loan transaction was recorded, a
	// symbol's first prices came); nil when none runs. Set before the loop starts.
	pnlDue func()

	mu   sync.Mutex
	mids map[string]*[2]exchange.Quote // per symbol: the latest spot and perp quotes (live data only)
}

func newObserver(m *telemetry.Metrics, fresh *telemetry.Freshness, wall bool) *observer {
	return &observer{m: m, fresh: fresh, wall: wall, states: map[int64]pair.State{}, symbols: map[int64]string{}, funding: map[string]decimal.Decimal{},
		mids: map[string]*[2]exchange.Quote{}}
}

func (o *observer) OnEvent(ev *exchange.Event) {
	o.m.Events.Inc()
	if !o.wall {
		return
	}
	switch ev.Kind {
	case exchange.EventQuote, exchange.EventMark:
		v := ev.Venue
		if ev.Kind == exchange.EventMark {
			v = exchange.Futures
		}
		o.fresh.Saw(v, time.Now())
	}
	if ev.Kind == exchange.EventQuote && o.pnlDue != nil {
		o.saveQuote(ev)
	}
}

// saveQuote keeps the latest quote of each market for valuing open pairs (the PnL refresh).
func (o *observer) saveQuote(ev *exchange.Event) {
	i := 0
	if ev.Venue == exchange.Futures {
		i = 1
	}
	o.mu.Lock()
	q := o.mids[ev.Symbol]
	if q == nil {
		q = &[2]exchange.Quote{}
		o.mids[ev.Symbol] = q
	}
	first := !q[i].Valid() && q[1-i].Valid()
	q[i] = ev.Quote
	o.mu.Unlock()
	if first && o.pnlDue != nil {
		o.pnlDue() // both legs of the symbol have a price now: open pairs can be valued
	}
}

// prices returns a symbol's spot and perp mids from the feed (zero when not quoted yet). Safe from any
// goroutine.
func (o *observer) prices(symbol string) accounting.Prices {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.mids[symbol]
	if q == nil || !q[0].Valid() || !q[1].Valid() {
		return accounting.Prices{}
	}
	return accounting.Prices{Spot: q[0].Mid(), Perp: q[1].Mid()}
}

func (o *observer) OnPair(p pair.Pair) {
	if p.State == pair.Closed {
		delete(o.states, p.ID)
		delete(o.symbols, p.ID)
	} else {
		o.states[p.ID], o.symbols[p.ID] = p.State, p.Symbol
	}
	counts := map[pair.State]int{}
	for _, s := range o.states {
		counts[s]++
	}
	for _, s := range pair.AllStates() {
		if s != pair.Closed {
			o.m.Pairs.WithLabelValues(string(s)).Set(float64(counts[s]))
		}
	}
	if p.PerpQty.IsPositive() {
		o.m.HedgeRatio.WithLabelValues(p.Symbol).Set(p.SpotQty.Div(p.PerpQty).InexactFloat64())
	}
	if p.State == pair.Closed {
		o.clearRisk(p.Symbol)
	}
	if (p.State == pair.Closed || p.State == pair.Open) && o.pnlDue != nil {
		o.pnlDue() // fees paid (opened) or PnL realised (closed): publish it now rather than at the next period
	}
}

// clearRisk drops a symbol's risk series once no live pair holds it (risk evaluates only while pairs are
// live, so the last values would otherwise stay on the dashboard), and the account's when no pair is left.
func (o *observer) clearRisk(symbol string) {
	for id := range o.states {
		if o.symbols[id] == symbol {
			return
		}
	}
	o.m.HedgeRatio.DeleteLabelValues(symbol)
	o.m.LiqDistance.DeleteLabelValues(symbol)
	if len(o.states) == 0 {
		o.m.MarginRatio.Set(0)
		o.m.MarginLevel.Set(math.Inf(1))
	}
}

func (o *observer) OnFunding(p exchange.FundingPayment, _ int64) {
	o.funding[p.Symbol] = o.funding[p.Symbol].Add(p.Amount)
	o.m.FundingEarned.WithLabelValues(p.Symbol).Set(o.funding[p.Symbol].InexactFloat64())
	o.m.FundingPaymentsIn.Inc()
	if o.pnlDue != nil {
		o.pnlDue() // recorded: the PnL changed
	}
}

// OnLoan: a borrow, repayment or interest charge was recorded (after the pair's OnPair): the PnL changed.
func (o *observer) OnLoan(exchange.LoanTx, int64) {
	if o.pnlDue != nil {
		o.pnlDue()
	}
}

func (o *observer) OnDecision(policy.Decision) {}

func (o *observer) OnRisk(a strategy.RiskAction, err error) {
	if err != nil {
		o.m.Error(telemetry.ErrRiskAction)
	}
}

func (o *observer) OrderLatency(v exchange.Venue, d time.Duration) {
	o.m.OrderLatency.WithLabelValues(string(v)).Observe(d.Seconds())
}

func (o *observer) DispatchSkew(d time.Duration) { o.m.DispatchSkew.Observe(d.Seconds()) }

// OrderFailed counts an order the venue refused, that never reached it, or whose outcome stayed unknown
// (executor.FailureObserver).
func (o *observer) OrderFailed(exchange.Venue, string) { o.m.Error(telemetry.ErrOrder) }

var _ executor.FailureObserver = (*observer)(nil)

// pnlGauge keeps carry_pnl{symbol} equal to what `carry pnl --all` reports: every pair of the account,
// open and closed, accounted from Postgres's records (pkg/accounting), summed per symbol; open pairs valued at
// the feed's mids. It runs on its own goroutine, every period and soon after a pair opens or closes or
// funding or loan transactions are recorded, so the event loop never waits for it. A symbol whose open pairs
// cannot be valued yet (no quotes) keeps its last value; a symbol whose pairs are all closed keeps its
// realised PnL.
//
// A refresh reads the account's pairs and all their records in four queries, however many pairs there are.
type pnlGauge struct {
	st      *store.Store
	acct    int64
	quote   string
	symbols []string // the universe: published (at 0) before their first pair
	gauge   *prometheus.GaugeVec
	prices  func(symbol string) accounting.Prices
	failed  func(error) // a refresh failed (counted as a database error)
	log     zerolog.Logger
	due     chan struct{}
	last    atomic.Int64 // how long the last refresh took, in ns (for the tests' timing log)
}

func newPNLGauge(s *system) *pnlGauge {
	return &pnlGauge{st: s.db.Store, acct: s.acct.ID, quote: s.cfg.Universe.QuoteAsset, symbols: s.symbols, gauge: s.metrics.PnL,
		prices: s.observer.prices, log: s.log, due: make(chan struct{}, 1),
		failed: func(err error) {
			s.metrics.Error(telemetry.ErrDatabase)
			s.log.Warn().Err(err).Msg("refreshing carry_pnl failed; will retry")
		}}
}

// Due asks for a refresh soon; it never blocks.
func (g *pnlGauge) Due() {
	select {
	case g.due <- struct{}{}:
	default:
	}
}

// run refreshes at once, then every period and whenever Due was called, until ctx ends.
func (g *pnlGauge) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := g.refresh(ctx); err != nil && ctx.Err() == nil {
			g.failed(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-g.due:
		}
	}
}

// refresh reads and accounts every pair and sets the gauge.
func (g *pnlGauge) refresh(ctx context.Context) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	pairs, err := g.st.Pairs(ctx, g.acct, time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	recs := pairRecords{}
	if err := recs.load(ctx, g.st, g.acct, 0); err != nil {
		return err
	}
	net, valued := map[string]decimal.Decimal{}, map[string]bool{}
	for _, sym := range g.symbols {
		net[sym], valued[sym] = decimal.Zero, true
	}
	prices := map[string]accounting.Prices{}
	for _, p := range pairs {
		if _, ok := valued[p.Symbol]; !ok {
			valued[p.Symbol] = true
		}
		px, ok := prices[p.Symbol]
		if !ok {
			px = g.prices(p.Symbol)
			prices[p.Symbol] = px
		}
		r := recs.account(p, px, baseOf(p.Symbol, g.quote), g.quote)
		net[p.Symbol] = net[p.Symbol].Add(r.NetPnL)
		// A closed pair's dust left unvalued is negligible; an open pair's legs are not.
		valued[p.Symbol] = valued[p.Symbol] && (r.Valued || p.State == pair.Closed)
	}
	for sym, v := range net {
		if valued[sym] {
			g.gauge.WithLabelValues(sym).Set(v.InexactFloat64())
		}
	}
	took := time.Since(start)
	g.last.Store(int64(took))
	g.log.Debug().Int("pairs", len(pairs)).Dur("took", took).Msg("carry_pnl refreshed")
	return nil
}

// envCrashpoint names a step at which the process kills itself with SIGKILL, as `kill -9` would: e.g.
// CARRYTEST_CRASHPOINT=open.after_first_leg, or open.after_first_leg@2 for the second time it is reached.
// The crash tests use it to stop the bot at every step of opening and closing.
const envCrashpoint = "CARRYTEST_CRASHPOINT"

func crashpoint() func(string) {
	spec := os.Getenv(envCrashpoint)
	if spec == "" {
		return nil
	}
	name, nthStr, _ := strings.Cut(spec, "@")
	nth := int64(1)
	if n, err := strconv.ParseInt(nthStr, 10, 64); err == nil && n > 0 {
		nth = n
	}
	var seen atomic.Int64
	return func(point string) {
		if point == name && seen.Add(1) == nth {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // never continue past the crash point
		}
	}
}
