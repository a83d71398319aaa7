package strategy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/exchangetest"
	"github.com/carry-trading/carry/exchange/paper"
	"github.com/carry-trading/carry/pkg/clock"
	"github.com/carry-trading/carry/pkg/pgtest"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/strategy"
	"github.com/carry-trading/carry/strategy/executor"
	"github.com/carry-trading/carry/strategy/pair"
	"github.com/carry-trading/carry/strategy/policy"
	"github.com/carry-trading/carry/strategy/signals"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m, &pg)) }

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var t0 = time.Date(2021, 3, 1, 4, 0, 0, 0, time.UTC)

var (
	spotFee = exchange.Fees{Maker: d("0.001"), Taker: d("0.001")}
	perpFee = exchange.Fees{Maker: d("0.0002"), Taker: d("0.0005")}
)

// testPolicy is the rigs' policy (Signals is set from the rig's book).
var testPolicy = policy.Config{EntryAPR: 0.10, ExitAPR: 0.02, ExitSettlements: 3, MaxBreakeven: 72 * time.Hour,
	Holding: 720 * time.Hour, RotationMinGainAPR: 0.05, SettlementGuard: 15 * time.Minute, EarlyExitProfit: 0.002,
	Costs:   policy.Costs{SpotFee: 0.001, PerpFee: 0.0005, Slippage: 0.0002},
	Capital: d("10000"), PerSymbolMax: d("5000"), Reserve: d("0.1"), Leverage: 2}

// rig is the engine of one account on a paper venue, a simulated clock and a real Postgres, fed by a
// scripted source — the object graph cmd/carry builds for a backtest, minus risk and the recorder.
type rig struct {
	t      *testing.T
	st     *store.Store
	acct   store.Account
	venue  *paper.Venue
	engine *strategy.Engine
	alerts []executor.Alert
	// What the engine was built from, for a restart: the policy is rebuilt from polCfg (its memory is lost).
	cfg    strategy.Config
	deps   strategy.Deps
	polCfg policy.Config
}

// newRig builds the rig; tweaks may change the engine's configuration and collaborators before it starts.
func newRig(t *testing.T, tweaks ...func(*strategy.Config, *strategy.Deps)) *rig {
	t.Helper()
	st, _ := pg.NewStore(t)
	ctx := context.Background()
	acct, err := st.EnsureAccount(ctx, "engine", "backtest")
	if err != nil {
		t.Fatal(err)
	}
	sim := clock.NewSim(t0)
	venue, err := paper.New(ctx, paper.Config{Quote: "USDT", Instruments: []exchange.Instrument{exchangetest.BTCSpot(), exchangetest.BTCPerp()},
		Fees:            map[exchange.Venue]exchange.Fees{exchange.Spot: spotFee, exchange.Futures: perpFee},
		InitialBalances: map[exchange.Venue]map[string]decimal.Decimal{exchange.Spot: {"USDT": d("10000")}},
		DefaultLeverage: 2}, sim, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := venue.SetupSymbol(ctx, "BTCUSDT", 2, false); err != nil {
		t.Fatal(err)
	}
	book := signals.NewBook([]string{"BTCUSDT"}, signals.Params{SmoothingSettlements: 9, EstimateWeight: 0.5})
	book.SetFundingInfo(exchange.FundingInfo{Symbol: "BTCUSDT", IntervalHours: 8, Cap: d("0.003"), Floor: d("-0.003")})
	exec := executor.New(executor.Config{OrderType: exchange.Market, IOCSlippage: d("0.001"), MaxUnhedged: 3 * time.Second,
		OrderTimeout: time.Second, MaxRepairAttempts: 3, QuoteAsset: "USDT", Leverage: 2, MarginBuffer: d("0.002")},
		venue, st, sim, zerolog.Nop(), acct, executor.Options{})
	exec.SetMarket("BTCUSDT", executor.Market{Spot: exchangetest.BTCSpot(), Perp: exchangetest.BTCPerp(), SpotFee: spotFee, PerpFee: perpFee})
	polCfg := testPolicy
	polCfg.Signals = book.Params()
	pol := policy.New(polCfg)
	r := &rig{t: t, st: st, acct: acct, venue: venue, polCfg: polCfg}
	cfg := strategy.Config{EvalInterval: time.Minute, QuoteAsset: "USDT", Leverage: 2}
	deps := strategy.Deps{Exec: exec, Book: book, Policy: pol, Store: st, Funding: venue, Sink: venue, Clock: sim, Sim: sim,
		Log: zerolog.Nop(), Alert: func(a executor.Alert) { r.alerts = append(r.alerts, a) }}
	for _, tw := range tweaks {
		tw(&cfg, &deps)
	}
	r.engine, r.cfg, r.deps = strategy.New(cfg, deps), cfg, deps
	if err := r.engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// script is a Source of fixed events; before, when set, runs before the event at its index is returned
// (index len(events) is the end of the stream).
type script struct {
	events []exchange.Event
	next   int
	before map[int]func()
}

func (s *script) Next(ctx context.Context) (exchange.Event, error) {
	if f := s.before[s.next]; f != nil {
		f()
	}
	if err := ctx.Err(); err != nil {
		return exchange.Event{}, err
	}
	if s.next == len(s.events) {
		return exchange.Event{}, io.EOF
	}
	s.next++
	return s.events[s.next-1], nil
}

func quote(at time.Time, v exchange.Venue, bid, ask string) exchange.Event {
	return exchange.Event{Kind: exchange.EventQuote, Time: at, Venue: v, Symbol: "BTCUSDT",
		Quote: exchange.Quote{Venue: v, Symbol: "BTCUSDT", Bid: d(bid), BidQty: d("50"), Ask: d(ask), AskQty: d("50"), Time: at}}
}

// mark carries a running funding estimate; 0.001 per 8 h is about 110%/yr, far above the entry threshold.
func mark(at time.Time, px, estimate string) exchange.Event {
	return exchange.Event{Kind: exchange.EventMark, Time: at, Venue: exchange.Futures, Symbol: "BTCUSDT",
		Mark: exchange.Mark{Symbol: "BTCUSDT", Mark: d(px), Index: d(px), EstimatedRate: d(estimate), Time: at,
			NextFundingTime: time.Date(2021, 3, 1, 8, 0, 0, 0, time.UTC)}}
}

func (r *rig) pairs() []pair.Pair {
	r.t.Helper()
	ps, err := r.st.Pairs(context.Background(), r.acct.ID, time.Time{}, time.Time{})
	if err != nil {
		r.t.Fatal(err)
	}
	return ps
}

// The policy decides only once every event of an instant has been applied: a bar's spot and perp quotes
// share a timestamp and arrive one after the other. Deciding after the perp quote alone would pair the new
// perp price with the old spot one — a +3.4% basis that does not exist, "earned" by buying spot at a price
// that is already gone.
func TestEngineDecidesOnCompleteInstants(t *testing.T) {
	r := newRig(t)
	t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	src := &script{events: []exchange.Event{
		quote(t0, exchange.Spot, "60000", "60000.01"), quote(t0, exchange.Futures, "60030", "60030.1"), mark(t0, "60030", "0"),
		// The jump, all at t1: the estimate, the perp, then the spot.
		mark(t1, "62030", "0.001"), quote(t1, exchange.Futures, "62030", "62030.1"), quote(t1, exchange.Spot, "62000", "62000.01"),
		quote(t2, exchange.Spot, "62000", "62000.01"), quote(t2, exchange.Futures, "62030", "62030.1"),
	}}
	if err := r.engine.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	ps := r.pairs()
	if len(ps) != 1 {
		t.Fatalf("%d pairs, want 1 opened at t1", len(ps))
	}
	p := ps[0]
	if p.State != pair.Open || p.Direction != pair.Carry {
		t.Fatalf("pair %s %s, want open carry", p.State, p.Direction)
	}
	// Entry at t1's prices on both legs: basis ≈ +0.05%, never the −3% of a half-applied instant.
	if b := p.EntryBasis.InexactFloat64(); b < 0 || b > 0.001 {
		t.Errorf("entry basis %s, want the complete instant's ≈ 0.0005", p.EntryBasis)
	}
	if p.EntrySpotPrice.LessThan(d("62000")) || p.EntryPerpPrice.LessThan(d("62000")) {
		t.Errorf("entry prices spot %s perp %s, want t1's (≈ 62000 and 62030)", p.EntrySpotPrice, p.EntryPerpPrice)
	}
	if !p.OpenedAt.Equal(t1) && !p.OpenedAt.After(t1) {
		t.Errorf("opened at %s, want at or after t1 %s", p.OpenedAt, t1)
	}
}

// A stop request (SIGTERM cancels Run's context) stops opening at once: the decision for the instant in
// progress must not open a pair, whether the stop ends the stream or arrives in the middle of a step.
func TestEngineOpensNothingAfterAStopRequest(t *testing.T) {
	events := func() []exchange.Event {
		return []exchange.Event{
			quote(t0, exchange.Spot, "60000", "60000.01"), mark(t0, "60030", "0.001"), quote(t0, exchange.Futures, "60030", "60030.1"),
			quote(t0.Add(time.Hour), exchange.Spot, "60000", "60000.01"), // begins the next instant: t0 is decided
		}
	}
	for _, tc := range []struct {
		name string
		src  func(cancel context.CancelFunc) strategy.Source
	}{
		// The stream ends with the cancellation: Run flushes t0 as it returns.
		{"stream ends", func(cancel context.CancelFunc) strategy.Source {
			return &script{events: events(), before: map[int]func(){3: cancel}}
		}},
		// The signal lands while the next instant's first event is delivered: the step that decides t0 runs
		// with the context already cancelled.
		{"mid-step", func(cancel context.CancelFunc) strategy.Source {
			return &cancelOnDeliver{script: &script{events: events()}, at: 3, cancel: cancel}
		}},
		// No stop: the same data opens a pair (the test can fail).
		{"no stop", func(context.CancelFunc) strategy.Source { return &script{events: events()} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := r.engine.Run(ctx, tc.src(cancel)); err != nil {
				t.Fatal(err)
			}
			want := 0
			if tc.name == "no stop" {
				want = 1
			}
			if ps := r.pairs(); len(ps) != want {
				t.Fatalf("%d pairs, want %d", len(ps), want)
			}
		})
	}
}

// cancelOnDeliver cancels the context as it returns event index at (a signal arriving mid-step).
type cancelOnDeliver struct {
	*script
	at     int
	cancel context.CancelFunc
}

func (c *cancelOnDeliver) Next(ctx context.Context) (exchange.Event, error) {
	i := c.script.next
	ev, err := c.script.Next(ctx)
	if err == nil && i == c.at {
		c.cancel()
	}
	return ev, err
}

func settle(at time.Time, rate string) exchange.Event {
	return exchange.Event{Kind: exchange.EventFunding, Time: at, Venue: exchange.Futures, Symbol: "BTCUSDT",
		Funding: exchange.FundingRate{Symbol: "BTCUSDT", Rate: d(rate), MarkPrice: d("62030"), IntervalHours: 8, Time: at}}
}

// A settlement that charges a held pair alerts once (funding flipped against it), and once more, as info,
// when funding pays it again; settlements that keep paying or keep charging do not repeat the alert.
func TestEngineAlertsOnFundingFlips(t *testing.T) {
	r := newRig(t)
	var logs bytes.Buffer
	r.engine.Log = zerolog.New(&logs)
	t1 := t0.Add(time.Hour)
	at := func(h int) time.Time {
		return time.Date(2021, 3, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(h) * time.Hour)
	}
	src := &script{events: []exchange.Event{
		quote(t0, exchange.Spot, "62000", "62000.01"), quote(t0, exchange.Futures, "62030", "62030.1"), mark(t0, "62030", "0.001"),
		quote(t1, exchange.Spot, "62000", "62000.01"), quote(t1, exchange.Futures, "62030", "62030.1"), // the pair opens at t0
		settle(at(0), "0.0001"),   // pays: no alert
		settle(at(8), "-0.0002"),  // flips: warning
		settle(at(16), "-0.0001"), // still charged: nothing new
		settle(at(24), "0.0003"),  // pays again: info
	}}
	if err := r.engine.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	ps := r.pairs()
	if len(ps) != 1 {
		t.Fatalf("%d pairs, want 1", len(ps))
	}
	if len(r.alerts) != 2 {
		t.Fatalf("alerts %+v, want a flip and a recovery", r.alerts)
	}
	flip, back := r.alerts[0], r.alerts[1]
	if flip.Kind != "funding_flip" || flip.Severity != "warning" || flip.PairID != ps[0].ID || flip.Symbol != "BTCUSDT" ||
		!strings.Contains(flip.Message, "-0.0200%") {
		t.Errorf("flip alert %+v", flip)
	}
	if back.Kind != "funding_flip" || back.Severity != "info" || !strings.Contains(back.Message, "0.0300%") {
		t.Errorf("recovery alert %+v", back)
	}
	// The log lines follow the alerts' severity (a backtest prints warnings: a recovery is not one).
	var levels []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `"message":"funding flip"`) {
			var rec struct{ Level string }
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Fatal(err)
			}
			levels = append(levels, rec.Level)
		}
	}
	if strings.Join(levels, " ") != "warn info" {
		t.Errorf("funding flip log levels %v, want warn then info", levels)
	}
}

// fundingSpy wraps the venue's funding income: it records where each read starts and fails the next fail
// reads of one symbol (a settlement's; the periodic sync reads every symbol at once).
type fundingSpy struct {
	strategy.FundingSource
	fail   int
	sinces []time.Time
}

func (f *fundingSpy) FundingPayments(ctx context.Context, symbol string, since time.Time) ([]exchange.FundingPayment, error) {
	f.sinces = append(f.sinces, since)
	if f.fail > 0 && symbol != "" {
		f.fail--
		return nil, errors.New("injected: income history unavailable")
	}
	return f.FundingSource.FundingPayments(ctx, symbol, since)
}

// With a periodic sync (live mode), a funding read that fails at a settlement is a warning, not the end
// of the loop, and the next sync records the payment; reads start where the last one ended (less the
// overlap), not at the newest payment, which could be months old.
func TestEngineFundingSyncSurvivesAFailureAndStartsWhereItStopped(t *testing.T) {
	var spy *fundingSpy
	r := newRig(t, func(c *strategy.Config, d *strategy.Deps) {
		c.FundingSyncEvery = time.Hour
		spy = &fundingSpy{FundingSource: d.Funding}
		d.Funding = spy
	})
	t1 := t0.Add(time.Hour)
	s0 := time.Date(2021, 3, 1, 8, 0, 0, 0, time.UTC)
	spy.sinces = nil
	src := &script{events: []exchange.Event{
		quote(t0, exchange.Spot, "62000", "62000.01"), quote(t0, exchange.Futures, "62030", "62030.1"), mark(t0, "62030", "0.001"),
		quote(t1, exchange.Spot, "62000", "62000.01"), quote(t1, exchange.Futures, "62030", "62030.1"),
		settle(s0, "0.0001"), // the read here fails
		quote(s0.Add(time.Minute), exchange.Spot, "62000", "62000.01"),
		quote(s0.Add(2*time.Hour), exchange.Spot, "62000", "62000.01"),
		quote(s0.Add(5*time.Hour), exchange.Spot, "62000", "62000.01"),
	}, before: map[int]func(){5: func() { spy.fail = 1 }}}
	if err := r.engine.Run(context.Background(), src); err != nil {
		t.Fatalf("the loop stopped: %v", err)
	}
	ps := r.pairs()
	if len(ps) != 1 {
		t.Fatalf("%d pairs", len(ps))
	}
	recs, err := r.st.FundingPayments(context.Background(), r.acct.ID, ps[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || !recs[0].Time.Equal(s0) || !recs[0].Amount.IsPositive() {
		t.Fatalf("funding records %+v, want the settlement at %s recorded by a later sync", recs, s0)
	}
	// Before any payment exists, reads still start where the previous read ended (less the overlap), not at
	// the beginning of the account's history; and they never move back.
	for i, since := range spy.sinces {
		if since.IsZero() {
			t.Fatalf("read %d walks the whole history (reads: %v)", i, spy.sinces)
		}
		if i > 0 && since.Before(spy.sinces[i-1]) {
			t.Errorf("read %d starts at %s, before the previous read's %s", i, since, spy.sinces[i-1])
		}
	}
	if len(spy.sinces) < 3 {
		t.Fatalf("only %d reads: %v", len(spy.sinces), spy.sinces)
	}
}

// The count of settlements a pair's carry spent below the exit threshold survives a restart: two bad
// settlements before it and one after close the pair (exit_settlements 3). With the count lost, the restarted
// bot would hold it for three more.
func TestEngineExitCounterSurvivesARestart(t *testing.T) {
	r := newRig(t, func(_ *strategy.Config, deps *strategy.Deps) { deps.ExitCounts = deps.Store.(*store.Store) })
	ctx := context.Background()
	at := func(h int) time.Time {
		return time.Date(2021, 3, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(h) * time.Hour)
	}
	// Settlements at the −0.3% floor: 0.5 × 0.1% estimate + 0.5 × −0.3% ≈ −110%/yr held, far below 2%.
	before := &script{events: []exchange.Event{
		quote(t0, exchange.Spot, "62000", "62000.01"), quote(t0, exchange.Futures, "62030", "62030.1"), mark(t0, "62030", "0.001"),
		quote(t0.Add(time.Hour), exchange.Spot, "62000", "62000.01"), quote(t0.Add(time.Hour), exchange.Futures, "62030", "62030.1"),
		settle(at(0), "-0.003"), settle(at(8), "-0.003"),
		quote(at(9), exchange.Spot, "62000", "62000.01"), quote(at(9), exchange.Futures, "62030", "62030.1"),
	}}
	if err := r.engine.Run(ctx, before); err != nil {
		t.Fatal(err)
	}
	ps := r.pairs()
	if len(ps) != 1 || ps[0].State != pair.Open {
		t.Fatalf("pairs %+v, want one open (two bad settlements of three)", ps)
	}
	counts, err := r.st.BelowExitCounts(ctx, r.acct.ID)
	if err != nil || counts[ps[0].ID] != 2 {
		t.Fatalf("recorded exit counters %v (%v), want pair %d at 2", counts, err, ps[0].ID)
	}

	// A restart: a new engine and policy on the same account and venue.
	deps := r.deps
	deps.Policy = policy.New(r.polCfg)
	restarted := strategy.New(r.cfg, deps)
	if err := restarted.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if n := deps.Policy.BelowExit(ps[0].ID); n != 2 {
		t.Fatalf("restarted policy counts %d settlements below the exit threshold, want 2", n)
	}
	after := &script{events: []exchange.Event{
		settle(at(16), "-0.003"),
		quote(at(17), exchange.Spot, "62000", "62000.01"), quote(at(17), exchange.Futures, "62030", "62030.1"),
	}}
	if err := restarted.Run(ctx, after); err != nil {
		t.Fatal(err)
	}
	ps = r.pairs()
	if len(ps) != 1 || ps[0].State != pair.Closed || !strings.Contains(ps[0].Reason, "below exit threshold") {
		t.Fatalf("pairs %+v, want the pair closed for its third settlement below the exit threshold", ps)
	}
}

// loanSpy counts the loan-history reads and where each starts.
type loanSpy struct{ sinces []time.Time }

func (l *loanSpy) LoanHistory(_ context.Context, _ string, since time.Time) ([]exchange.LoanTx, error) {
	l.sinces = append(l.sinces, since)
	return nil, nil
}

// The loan history is read only when carry may owe (reverse carry on, a reverse pair, or a loan recorded);
// settlements at one instant read it once, at the end of the instant; a restart reads from the newest
// recorded transaction (less the overlap), not from the start of the venue's history.
func TestEngineReadsLoansOnlyWhenItMayOweAndOncePerInstant(t *testing.T) {
	s0 := time.Date(2021, 3, 1, 8, 0, 0, 0, time.UTC)
	twoSettlements := func() *script {
		return &script{events: []exchange.Event{settle(s0, "0.0001"), settle(s0, "0.0001"),
			quote(s0.Add(time.Minute), exchange.Spot, "62000", "62000.01")}}
	}
	off := &loanSpy{}
	r := newRig(t, func(_ *strategy.Config, d *strategy.Deps) { d.Loans = off })
	if err := r.engine.Run(context.Background(), twoSettlements()); err != nil {
		t.Fatal(err)
	}
	if len(off.sinces) != 0 {
		t.Fatalf("reverse carry off, nothing borrowed: %d loan reads, want none", len(off.sinces))
	}

	on := &loanSpy{}
	r = newRig(t, func(_ *strategy.Config, d *strategy.Deps) {
		reverse := testPolicy
		reverse.Reverse = true
		d.Policy, d.Loans = policy.New(reverse), on
	})
	if len(on.sinces) != 1 || !on.sinces[0].IsZero() {
		t.Fatalf("start with no loan recorded: reads %v, want one from the beginning", on.sinces)
	}
	if err := r.engine.Run(context.Background(), twoSettlements()); err != nil {
		t.Fatal(err)
	}
	if len(on.sinces) != 2 {
		t.Fatalf("two settlements at one instant: %d reads after start, want 1 (%v)", len(on.sinces)-1, on.sinces)
	}

	// A restart of an account with a loan on record reads from that record, less the overlap.
	at := s0.Add(-24 * time.Hour)
	if _, err := r.st.InsertLoanTx(context.Background(), r.acct.ID, 0, exchange.LoanTx{TranID: "b1", Asset: "BTC", Kind: exchange.LoanBorrow,
		Amount: d("0.1"), Time: at}); err != nil {
		t.Fatal(err)
	}
	again := &loanSpy{}
	r.deps.Loans = again
	if err := strategy.New(r.cfg, r.deps).Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(again.sinces) != 1 || again.sinces[0].IsZero() || again.sinces[0].After(at) || at.Sub(again.sinces[0]) > 3*time.Hour {
		t.Fatalf("restart with a loan recorded at %s: reads %v, want one starting shortly before it", at, again.sinces)
	}
}
