package executor_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
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
	"github.com/carry-trading/carry/strategy/executor"
	"github.com/carry-trading/carry/strategy/pair"
)

var pg *pgtest.Server

// TestMain also checks, when the whole package ran, that the scenarios drove every legal transition of the
// pair state machine at least once.
func TestMain(m *testing.M) {
	code := pgtest.Run(m, &pg)
	if f := flag.Lookup("test.run"); code == 0 && (f == nil || f.Value.String() == "") {
		var missing []string
		for _, from := range pair.AllStates() {
			for _, to := range pair.Transitions(from) {
				if !seenTransitions.m[string(from)+"→"+string(to)] {
					missing = append(missing, string(from)+"→"+string(to))
				}
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: transitions never exercised by the executor scenarios: %v\n", missing)
			code = 1
		}
	}
	os.Exit(code)
}

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var t0 = time.Date(2021, 3, 1, 4, 0, 0, 0, time.UTC)

// rig is an executor on a paper venue over a real Postgres journal.
type rig struct {
	t      testing.TB
	st     *store.Store
	venue  *paper.Venue
	clock  *clock.Sim
	exec   *executor.Executor
	acct   store.Account
	alerts []executor.Alert
	mu     sync.Mutex
}

func newRig(t testing.TB, tweak func(*executor.Config)) *rig {
	t.Helper()
	st, _ := pg.NewStore(t)
	ctx := context.Background()
	acct, err := st.EnsureAccount(ctx, "exec", "paper")
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewSim(t0)
	venue, err := paper.New(ctx, paper.Config{
		Quote:       "USDT",
		Instruments: []exchange.Instrument{exchangetest.BTCSpot(), exchangetest.BTCPerp()},
		Fees: map[exchange.Venue]exchange.Fees{
			exchange.Spot:    {Maker: d("0.001"), Taker: d("0.001")},
			exchange.Futures: {Maker: d("0.0002"), Taker: d("0.0005")},
		},
		InitialBalances: map[exchange.Venue]map[string]decimal.Decimal{exchange.Spot: {"USDT": d("100000")}},
		DefaultLeverage: 2,
	}, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, st: st, venue: venue, clock: clk, acct: acct}
	r.prices("60000", "60010")
	cfg := executor.Config{OrderType: exchange.Market, IOCSlippage: d("0.001"), MaxUnhedged: 3 * time.Second,
		OrderTimeout: time.Second, MaxRepairAttempts: 3, QuoteAsset: "USDT", Leverage: 2, MarginBuffer: d("0.01")}
	if tweak != nil {
		tweak(&cfg)
	}
	r.exec = executor.New(cfg, venue, st, clk, zerolog.Nop(), acct, executor.Options{
		Alert: func(a executor.Alert) { r.mu.Lock(); r.alerts = append(r.alerts, a); r.mu.Unlock() },
	})
	r.exec.SetMarket("BTCUSDT", executor.Market{Spot: exchangetest.BTCSpot(), Perp: exchangetest.BTCPerp(),
		SpotFee: exchange.Fees{Maker: d("0.001"), Taker: d("0.001")}, PerpFee: exchange.Fees{Maker: d("0.0002"), Taker: d("0.0005")}})
	return r
}

// prices sets the spot and perp books around the given mids (one tick wide) and the mark.
func (r *rig) prices(spot, perp string) {
	r.clock.Advance(time.Second)
	now := r.clock.Now()
	s, p := d(spot), d(perp)
	r.venue.Apply(&exchange.Event{Kind: exchange.EventQuote, Time: now, Venue: exchange.Spot, Symbol: "BTCUSDT",
		Quote: exchange.Quote{Venue: exchange.Spot, Symbol: "BTCUSDT", Bid: s, BidQty: d("100"), Ask: s.Add(d("0.01")), AskQty: d("100"), Time: now}})
	r.venue.Apply(&exchange.Event{Kind: exchange.EventQuote, Time: now, Venue: exchange.Futures, Symbol: "BTCUSDT",
		Quote: exchange.Quote{Venue: exchange.Futures, Symbol: "BTCUSDT", Bid: p, BidQty: d("100"), Ask: p.Add(d("0.1")), AskQty: d("100"), Time: now}})
	r.venue.Apply(&exchange.Event{Kind: exchange.EventMark, Time: now, Symbol: "BTCUSDT",
		Mark: exchange.Mark{Symbol: "BTCUSDT", Mark: p, Index: s, Time: now}})
}

// venueLegs returns the venue's BTC spot balance and signed BTCUSDT perp position.
func (r *rig) venueLegs() (spot, perp decimal.Decimal) {
	ctx := context.Background()
	bals, err := r.venue.Balances(ctx, exchange.Spot)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, b := range bals {
		if b.Asset == "BTC" {
			spot = b.Total()
		}
	}
	pos, err := r.venue.Positions(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, p := range pos {
		if p.Symbol == "BTCUSDT" {
			perp = p.Qty
		}
	}
	return spot, perp
}

// path returns the pair's transitions as "from→to" strings.
func (r *rig) path(id int64) []string {
	log, err := r.st.Transitions(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	out := make([]string, len(log))
	for i, tr := range log {
		out[i] = fmt.Sprintf("%s→%s", tr.From, tr.To)
		seenTransitions.add(tr.From, tr.To)
	}
	return out
}

// checkInvariants: every client id is unique and was committed before it was sent (the venue knows no order
// the journal lacks), and the journal's quantities equal the venue's.
func (r *rig) checkInvariants(p pair.Pair) {
	r.t.Helper()
	ctx := context.Background()
	orders, err := r.st.PairOrders(ctx, p.ID)
	if err != nil {
		r.t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, o := range orders {
		if ids[o.ClientID] {
			r.t.Fatalf("client id %s recorded twice", o.ClientID)
		}
		ids[o.ClientID] = true
		if !o.Resolved() {
			r.t.Fatalf("order %s left unresolved (%s)", o.ClientID, o.Status)
		}
	}
	fills, err := r.st.Fills(ctx, r.acct.ID, p.ID)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, f := range fills {
		if !ids[f.ClientID] && !strings.HasPrefix(f.ClientID, "manual-") { // manual-: a trade made by hand in the test
			r.t.Fatalf("fill %s belongs to order %s that was never committed", f.TradeID, f.ClientID)
		}
	}
	spot, perp := r.venueLegs()
	if p.Direction == pair.Carry {
		if !spot.Equal(p.SpotQty) || !perp.Neg().Equal(p.PerpQty) {
			r.t.Fatalf("journal says spot %s perp %s; venue holds spot %s perp %s", p.SpotQty, p.PerpQty, spot, perp)
		}
	}
	// Hedged or flat: never naked beyond one coarse lot, except a halted pair (which alerted).
	if p.State != pair.Halted && p.SpotQty.Sub(p.PerpQty).Abs().GreaterThanOrEqual(d("0.001")) {
		r.t.Fatalf("pair %d is %s with legs spot %s perp %s: not hedged", p.ID, p.State, p.SpotQty, p.PerpQty)
	}
}

func (r *rig) alerted(kind string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.alerts {
		if a.Kind == kind {
			return true
		}
	}
	return false
}

// seenTransitions collects every transition the scenarios drove, to check the whole table is exercised.
var seenTransitions = &transitionSet{m: map[string]bool{}}

type transitionSet struct {
	mu sync.Mutex
	m  map[string]bool
}

func (s *transitionSet) add(from, to pair.State) {
	s.mu.Lock()
	s.m[string(from)+"→"+string(to)] = true
	s.mu.Unlock()
}

func want(t *testing.T, got []string, expect ...string) {
	t.Helper()
	if strings.Join(got, " ") != strings.Join(expect, " ") {
		t.Fatalf("transitions %v, want %v", got, expect)
	}
}

func TestOpenAndCloseHappyPath(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	p, err := r.exec.Open(ctx, "BTCUSDT", pair.Carry, d("0.1"), "test")
	if err != nil {
		t.Fatal(err)
	}
	if p.State != pair.Open || !p.PerpQty.Equal(d("0.1")) || !p.SpotQty.Equal(d("0.10000989")) {
		t.Fatalf("after open: %s spot %s perp %s (want open, 0.10000989 net spot from a 0.10011 buy, 0.1 perp)", p.State, p.SpotQty, p.PerpQty)
	}
	want(t, r.path(p.ID), "pending→opening", "opening→open")
	orders, _ := r.st.PairOrders(ctx, p.ID)
	if len(orders) != 2 || orders[0].ClientID != pair.ClientOrderID(r.acct.ClientPrefix, p.ID, 1, pair.LegSpot) || !orders[0].Qty.Equal(d("0.10011")) {
		t.Fatalf("open orders %+v", orders)
	}
	if !p.EntryBasis.IsPositive() {
		t.Fatalf("entry basis %s: perp sold above spot should be positive", p.EntryBasis)
	}
	r.checkInvariants(p)
	if skew := r.exec.LastDispatchSkew(); skew > 50*time.Millisecond {
		t.Fatalf("legs left %s apart", skew)
	}

	r.prices("61000", "61005")
	p, err = r.exec.Close(ctx, p.ID, "test close")
	if err != nil {
		t.Fatal(err)
	}
	if p.State != pair.Closed || !p.PerpQty.IsZero() {
		t.Fatalf("after close: %s perp %s", p.State, p.PerpQty)
	}
	want(t, r.path(p.ID), "pending→opening", "opening→open", "open→closing", "closing→closed")
	r.checkInvariants(p)
	// Dust below the spot step stays; the perp is flat.
	if spot, perp := r.venueLegs(); !perp.IsZero() || spot.GreaterThanOrEqual(d("0.00001")) {
		t.Fatalf("venue after close: spot %s perp %s", spot, perp)
	}
	if _, err := r.exec.Close(ctx, p.ID, "again"); err == nil {
		t.Fatal("closing a closed pair must fail")
	}
}

func TestPerpRejectedUnwindsSpot(t *testing.T) {
	r := newRig(t, nil)
	r.venue.Faults().RejectNext(exchange.Futures, -2019, "Margin is insufficient.")
	p, err := r.exec.Open(context.Background(), "BTCUSDT", pair.Carry, d("0.1"), "test")
	if err != nil {
		t.Fatal(err)
	}
	// The perp was refused for margin: retrying cannot help, so the spot leg is sold back.
	if p.State != pair.Closed {
		t.Fatalf("state %s, want closed", p.State)
	}
	want(t, r.path(p.ID), "pending→opening", "opening→repairing", "repairing→closed")
	r.checkInvariants(p)
	if !r.alerted("repair") {
		t.Fatal("a repair must alert")
	}
}

func TestSpotRejectedUnwindsPerp(t *testing.T) {
	r := newRig(t, nil)
	r.venue.Faults().RejectNext(exchange.Spot, -2010, "Account has insufficient balance for requested action.")
	p, err := r.exec.Open(context.Background(), "BTCUSDT", pair.Carry, d("0.1"), "test")
	if err != nil {
		t.Fatal(err)
	}
	if p.State != pair.Closed {
		t.Fatalf("state %s, want closed", p.State)
	}
	r.checkInvariants(p)
	orders, _ := r.st.PairOrders(context.Background(), p.ID)
	last := orders[len(orders)-1]
	if last.Venue != exchange.Futures || !last.ReduceOnly || last.Side != exchange.Buy {
		t.Fatalf("the unwind should be a reduce-only perp buy, got %+v", last.OrderRequest)
	}
}

func TestPartialPerpIsCompleted(t *testing.T) {
	r := newRig(t, nil)
	r.venue.Faults().PartialNext(exchange.Futures, 0.5)
	p, err := r.exec.Open(context.Background(), "BTCUSDT", pair.Carry, d("0.1"), "test")
	if err != nil {
		t.Fatal(err)
	}
	if p.State != pair.Open || !p.PerpQty.Equal(d("0.1")) {
		t.Fatalf("state %s perp %s, want open at 0.1", p.State, p.PerpQty)
	}
	want(t, r.path(p.ID), "pending→opening", "opening→repairing", "repairing→open")
	orders, _ := r.st.PairOrders(context.Background(), p.ID)
	if len(orders) != 3 || !orders[2].Qty.Equal(d("0.05")) || orders[2].Venue != exchange.Futures {
		t.Fatalf("want a 0.05 perp completion as the third order, got %d orders", len(orders))
	}
	r.checkInvariants(p)
}

func TestTimedOutOrderFoundFilled(t *testing.T) {
	r := newRig(t, nil)
	r.venue.Faults().TimeoutNext(exchange.Futures)
	p, err := r.exec.Open(context.Background(), "BTCUSDT", pair.Carry, d("0.1"), "test")
	if err != nil {
		t.Fatal(err)
	}
	// The order executed though its answer was lost: the query finds it, so no repair and no second order.
	if p.State != pair.Open {
		t.Fatalf("state %s", p.State)
	}
	want(t, r.path(p.ID), "pending→opening", "opening→open")
	orders, _ := r.st.PairOrders(context.Background(), p.ID)
	if len(orders) != 2 || orders[1].Status != string(exchange.StatusFilled) {
		t.Fatalf("orders %+v", orders)
	}
	r.checkInvariants(p)
}

func TestLostOrderIsRetriedWithANewID(t *testing.T) {
	r := newRig(t, nil)
	r.venue.Faults().LoseNext(exchange.Futures)
	p, err := r.exec.Open(context.Background(), "BTCUSDT", pair.Carry, d("0.1"), "test")
	if err != nil {
		t.Fatal(err)
	}
	if p.State != pair.Open || !p.PerpQty.Equal(d("0.1")) {
		t.Fatalf("state %s perp %s", p.State, p.PerpQty)
	}
	orders, _ := r.st.PairOrders(context.Background(), p.ID)
	if orders[1].Status != pair.StatusNotFound || orders[2].ClientID == orders[1].ClientID {
		t.Fatalf("the lost order must be NOT_FOUND and its replacement a new id: %+v", orders)
	}
	r.checkInvariants(p)
}

func TestBothLegsFail(t *testing.T) {
	r := newRig(t, nil)
	r.venue.Faults().RejectNext(exchange.Spot, -1013, "Filter failure: LOT_SIZE")
	r.venue.Faults().RejectNext(exchange.Futures, -2019, "Margin is insufficient.")
	p, err := r.exec.Open(context.Background(), "BTCUSDT", pair.Carry, d("0.1"), "test")
	if err != nil {
		t.Fatal(err)
	}
	if p.State != pair.Closed || !p.SpotQty.IsZero() || !p.PerpQty.IsZero() {
		t.Fatalf("state %s spot %s perp %s", p.State, p.SpotQty, p.PerpQty)
	}
	want(t, r.path(p.ID), "pending→opening", "opening→closed")
	r.checkInvariants(p)
}

func TestRepairThatFailsHalts(t *testing.T) {
	r := newRig(t, nil)
	// The perp is refused for margin; every spot order after the first (the unwind, then the flatten) is
	// refused too: the exposure cannot be removed, so the pair halts with an alert.
	var once sync.Once
	r.exec = executor.New(executor.Config{OrderType: exchange.Market, MaxUnhedged: 2 * time.Second, OrderTimeout: time.Second,
		MaxRepairAttempts: 2, QuoteAsset: "USDT", Leverage: 2, MarginBuffer: d("0.01")}, r.venue, r.st, r.clock, zerolog.Nop(), r.acct,
		executor.Options{
			Alert: func(a executor.Alert) { r.mu.Lock(); r.alerts = append(r.alerts, a); r.mu.Unlock() },
			Crashpoint: func(point string) {
				if point == "open.after_record" {
					once.Do(func() {
						for range 20 {
							r.venue.Faults().RejectNext(exchange.Spot, -1013, "Filter failure: NOTIONAL")
						}
					})
				}
			}})
	r.exec.SetMarket("BTCUSDT", executor.Market{Spot: exchangetest.BTCSpot(), Perp: exchangetest.BTCPerp(), SpotFee: exchange.Fees{Taker: d("0.001")}, PerpFee: exchange.Fees{Taker: d("0.0005")}})
	r.venue.Faults().RejectNext(exchange.Futures, -2019, "Margin is insufficient.")
	p, err := r.exec.Open(context.Background(), "BTCUSDT", pair.Carry, d("0.1"), "test")
	if !errors.Is(err, executor.ErrHalted) {
		t.Fatalf("want ErrHalted, got %v", err)
	}
	if p.State != pair.Halted {
		t.Fatalf("state %s, want halted", p.State)
	}
	path := r.path(p.ID)
	if path[len(path)-1] != "repairing→halted" {
		t.Fatalf("transitions %v", path)
	}
	if !r.alerted("halt") {
		t.Fatal("a halt must raise an alert")
	}
	if !strings.Contains(p.Reason, "FLATTEN FAILED") {
		t.Fatalf("the halt reason should say the flatten failed: %q", p.Reason)
	}
	r.checkInvariants(p)
}

func TestPartialCloseIsRepaired(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	p, err := r.exec.Open(ctx, "BTCUSDT", pair.Carry, d("0.2"), "test")
	if err != nil {
		t.Fatal(err)
	}
	r.venue.Faults().PartialNext(exchange.Spot, 0.5)
	p, err = r.exec.Close(ctx, p.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	if p.State != pair.Closed {
		t.Fatalf("state %s", p.State)
	}
	want(t, r.path(p.ID), "pending→opening", "opening→open", "open→closing", "closing→repairing", "repairing→closed")
	r.checkInvariants(p)
}

func TestReduceAndPartialReduce(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	p, err := r.exec.Open(ctx, "BTCUSDT", pair.Carry, d("0.3"), "test")
	if err != nil {
		t.Fatal(err)
	}
	p, err = r.exec.Reduce(ctx, p.ID, d("0.2"), "deleverage")
	if err != nil || p.State != pair.Open || !p.PerpQty.Equal(d("0.2")) {
		t.Fatalf("reduce: %v %s %s", err, p.State, p.PerpQty)
	}
	want(t, r.path(p.ID), "pending→opening", "opening→open", "open→closing", "closing→open")
	// Both legs of the next slice come back partially filled to the same level: another round finishes it.
	r.venue.Faults().PartialNext(exchange.Spot, 0.5)
	r.venue.Faults().PartialNext(exchange.Futures, 0.5)
	p, err = r.exec.Reduce(ctx, p.ID, d("0.1"), "slice")
	if err != nil || p.State != pair.Open || !p.PerpQty.Equal(d("0.1")) {
		t.Fatalf("partial reduce: %v %s %s", err, p.State, p.PerpQty)
	}
	path := r.path(p.ID)
	if path[len(path)-2] != "closing→closing" {
		t.Fatalf("want a second closing round: %v", path)
	}
	r.checkInvariants(p)
}

func TestHaltResumeAndHedge(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	p, err := r.exec.Open(ctx, "BTCUSDT", pair.Carry, d("0.1"), "test")
	if err != nil {
		t.Fatal(err)
	}
	if p, err = r.exec.Halt(ctx, p.ID, "operator"); err != nil || p.State != pair.Halted {
		t.Fatalf("halt: %v %s", err, p.State)
	}
	if p, err = r.exec.Resume(ctx, p.ID, "operator"); err != nil || p.State != pair.Open {
		t.Fatalf("resume: %v %s", err, p.State)
	}
	// Someone sells spot behind carry's back: the legs differ, the hedge buys it back.
	if _, err := r.venue.PlaceOrder(ctx, exchange.OrderRequest{ClientID: "manual-1", Venue: exchange.Spot, Symbol: "BTCUSDT",
		Side: exchange.Sell, Type: exchange.Market, Qty: d("0.01")}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.InsertFill(ctx, r.acct.ID, p.ID, exchange.Fill{Venue: exchange.Spot, Symbol: "BTCUSDT", TradeID: "manual-1",
		ClientID: "manual-1", Side: exchange.Sell, Qty: d("0.01"), Price: d("60000"), Fee: d("0.6"), FeeAsset: "USDT", Time: r.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if p, err = r.exec.Hedge(ctx, p.ID, "drift"); err != nil || p.State != pair.Open || !p.PerpQty.Equal(d("0.1")) {
		t.Fatalf("hedge: %v %s spot %s perp %s", err, p.State, p.SpotQty, p.PerpQty)
	}
	want(t, r.path(p.ID), "pending→opening", "opening→open", "open→halted", "halted→open", "open→repairing", "repairing→open")
	// Halted with no position closes; halted pairs can be unwound by an operator.
	p2, err := r.exec.Halt(ctx, p.ID, "operator")
	if err != nil {
		t.Fatal(err)
	}
	if p2, err = r.exec.Close(ctx, p2.ID, "operator unwind"); err != nil || p2.State != pair.Closed {
		t.Fatalf("unwind from halted: %v %s", err, p2.State)
	}
	r.path(p2.ID)
}

func TestPreTradeRefusalClosesPendingPair(t *testing.T) {
	r := newRig(t, nil)
	refuse := func(ctx context.Context, req exchange.OrderRequest, ref decimal.Decimal, reduces bool) error {
		if !reduces {
			return exchange.Rejected(exchange.RejectRisk, 0, "max_notional_total: over the limit")
		}
		return nil
	}
	exec := executor.New(executor.Config{MaxUnhedged: time.Second, OrderTimeout: time.Second, MaxRepairAttempts: 2, QuoteAsset: "USDT", Leverage: 2},
		r.venue, r.st, r.clock, zerolog.Nop(), r.acct, executor.Options{PreTrade: refuse})
	exec.SetMarket("BTCUSDT", executor.Market{Spot: exchangetest.BTCSpot(), Perp: exchangetest.BTCPerp(), SpotFee: exchange.Fees{Taker: d("0.001")}})
	p, err := exec.Open(context.Background(), "BTCUSDT", pair.Carry, d("0.1"), "test")
	if err != nil {
		t.Fatal(err)
	}
	if p.State != pair.Closed || !strings.Contains(p.Reason, "max_notional_total") {
		t.Fatalf("state %s reason %q", p.State, p.Reason)
	}
	want(t, r.path(p.ID), "pending→closed")
	if orders, _ := r.st.PairOrders(context.Background(), p.ID); len(orders) != 0 {
		t.Fatalf("a refused pair must send nothing: %+v", orders)
	}
}

func TestNotEnoughMoneyIsRefusedBeforeAnyOrder(t *testing.T) {
	r := newRig(t, nil)
	p, err := r.exec.Open(context.Background(), "BTCUSDT", pair.Carry, d("5"), "too big")
	if err != nil {
		t.Fatal(err)
	}
	if p.State != pair.Closed || !strings.Contains(p.Reason, "spot wallet") {
		t.Fatalf("state %s reason %q", p.State, p.Reason)
	}
	if orders, _ := r.st.PairOrders(context.Background(), p.ID); len(orders) != 0 {
		t.Fatal("nothing may be sent")
	}
}

func TestBothLegsPartialTakeAnotherOpeningRound(t *testing.T) {
	r := newRig(t, nil)
	r.venue.Faults().PartialNext(exchange.Spot, 0.5)
	r.venue.Faults().PartialNext(exchange.Futures, 0.5)
	p, err := r.exec.Open(context.Background(), "BTCUSDT", pair.Carry, d("0.1"), "test")
	if err != nil {
		t.Fatal(err)
	}
	if p.State != pair.Open || !p.PerpQty.Equal(d("0.1")) {
		t.Fatalf("state %s perp %s", p.State, p.PerpQty)
	}
	want(t, r.path(p.ID), "pending→opening", "opening→opening", "opening→open")
	r.checkInvariants(p)
}

// An order that stays unknown (lost, and the receive window has not passed) cannot be acted on: halt.
func TestUnknownOutcomeHalts(t *testing.T) {
	for _, phase := range []string{"open", "close"} {
		t.Run(phase, func(t *testing.T) {
			r := newRig(t, func(c *executor.Config) { c.RecvWindow = time.Hour; c.MaxUnhedged = 300 * time.Millisecond })
			ctx := context.Background()
			if phase == "open" {
				r.venue.Faults().LoseNext(exchange.Futures)
			}
			p, err := r.exec.Open(ctx, "BTCUSDT", pair.Carry, d("0.1"), "test")
			if phase == "close" {
				if err != nil || p.State != pair.Open {
					t.Fatalf("open: %v %s", err, p.State)
				}
				r.venue.Faults().LoseNext(exchange.Futures)
				p, err = r.exec.Close(ctx, p.ID, "test")
			}
			if !errors.Is(err, executor.ErrHalted) || p.State != pair.Halted || !strings.Contains(p.Reason, "unknown") {
				t.Fatalf("want halted on an unknown outcome: %v %s %q", err, p.State, p.Reason)
			}
			path := r.path(p.ID)
			from := map[string]string{"open": "opening→halted", "close": "closing→halted"}[phase]
			if path[len(path)-1] != from {
				t.Fatalf("transitions %v", path)
			}
			orders, _ := r.st.PairOrders(ctx, p.ID)
			if orders[len(orders)-1].Status != pair.StatusUnknown {
				t.Fatalf("the lost order must be recorded unknown: %+v", orders[len(orders)-1])
			}
		})
	}
}

func TestHaltedPairsResume(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	// A pending pair halted before anything was sent resumes to closed.
	p, err := r.st.CreatePair(ctx, pair.Pair{AccountID: r.acct.ID, Symbol: "BTCUSDT", Direction: pair.Carry, TargetQty: d("0.1"), CreatedAt: r.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if p, err = r.exec.Halt(ctx, p.ID, "operator"); err != nil || p.State != pair.Halted {
		t.Fatalf("halt pending: %v %s", err, p.State)
	}
	if p, err = r.exec.Resume(ctx, p.ID, "operator"); err != nil || p.State != pair.Closed {
		t.Fatalf("resume flat: %v %s", err, p.State)
	}
	want(t, r.path(p.ID), "pending→halted", "halted→closed")

	// A halted pair whose legs drifted is re-levelled on resume.
	p, err = r.exec.Open(ctx, "BTCUSDT", pair.Carry, d("0.1"), "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.exec.Halt(ctx, p.ID, "operator"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.venue.PlaceOrder(ctx, exchange.OrderRequest{ClientID: "manual-2", Venue: exchange.Futures, Symbol: "BTCUSDT",
		Side: exchange.Buy, Type: exchange.Market, Qty: d("0.02"), ReduceOnly: true}); err != nil {
		t.Fatal(err)
	}
	o, _ := r.venue.QueryOrder(ctx, exchange.Futures, "BTCUSDT", "manual-2")
	for _, f := range o.Fills {
		if _, err := r.st.InsertFill(ctx, r.acct.ID, p.ID, f); err != nil {
			t.Fatal(err)
		}
	}
	if p, err = r.exec.Resume(ctx, p.ID, "operator"); err != nil || p.State != pair.Open || !p.PerpQty.Equal(d("0.1")) {
		t.Fatalf("resume drifted: %v %s perp %s", err, p.State, p.PerpQty)
	}
	want(t, r.path(p.ID), "pending→opening", "opening→open", "open→halted", "halted→repairing", "repairing→open")
	r.checkInvariants(p)
}

// A close whose perp order is lost after the spot sold: the spot leg is down to dust below the perp's lot
// step, so the repair must take the perp all the way to zero, not "level" it with the dust.
func TestCloseRepairTakesThePerpToZeroNotToTheDust(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	p, err := r.exec.Open(ctx, "BTCUSDT", pair.Carry, d("0.055"), "test")
	if err != nil {
		t.Fatal(err)
	}
	r.venue.Faults().LoseNext(exchange.Futures)
	p, err = r.exec.Close(ctx, p.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	if p.State != pair.Closed || !p.PerpQty.IsZero() {
		t.Fatalf("state %s perp %s spot %s: want closed with no perp left", p.State, p.PerpQty, p.SpotQty)
	}
	want(t, r.path(p.ID), "pending→opening", "opening→open", "open→closing", "closing→repairing", "repairing→closed")
	r.checkInvariants(p)
}

// Reconcile adopts a perp trade the venue made on its own (here: one placed by hand) as the pair's fill once,
// without adopting carry's own trades again, and closes the rest: it levels the spot leg, then closes both
// (before, the close stopped after the repair and halted the pair, still holding both legs).
func TestReconcileAdoptsOnlyTradesCarryDidNotRecord(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	p, err := r.exec.Open(ctx, "BTCUSDT", pair.Carry, d("0.1"), "test")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := r.st.Fills(ctx, r.acct.ID, p.ID)
	if _, err := r.venue.PlaceOrder(ctx, exchange.OrderRequest{ClientID: "by-hand-1", Venue: exchange.Futures, Symbol: "BTCUSDT",
		Side: exchange.Buy, Type: exchange.Market, Qty: d("0.04"), ReduceOnly: true}); err != nil {
		t.Fatal(err)
	}
	p, err = r.exec.Reconcile(ctx, p.ID, "perp mismatch")
	if err != nil {
		t.Fatal(err, r.path(p.ID))
	}
	// The spot leg is levelled to the perp the venue left, then both close (a close goes on after a repair).
	want(t, r.path(p.ID), "pending→opening", "opening→open", "open→repairing", "repairing→closing", "closing→closed")
	after, _ := r.st.Fills(ctx, r.acct.ID, p.ID)
	byHand := 0
	for _, f := range after {
		if f.ClientID == "by-hand-1" {
			byHand++
			if !f.Qty.Equal(d("0.04")) || f.Venue != exchange.Futures {
				t.Fatalf("adopted fill %+v", f.Fill)
			}
		}
	}
	if byHand != 1 || len(after) <= len(before)+1 {
		t.Fatalf("fills before %d, after %d, by hand %d: want the hand trade adopted once and the rest closed", len(before), len(after), byHand)
	}
	if p.State != pair.Closed || !p.PerpQty.IsZero() || !r.alerted("liquidation") {
		t.Fatalf("after reconcile: %s spot %s perp %s, alerts %+v; want closed with a critical alert", p.State, p.SpotQty, p.PerpQty, r.alerts)
	}
	if spot, perp := r.venueLegs(); !perp.IsZero() || spot.GreaterThanOrEqual(d("0.00001")) {
		t.Fatalf("venue after reconcile: spot %s perp %s", spot, perp)
	}
}
