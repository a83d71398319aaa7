package paper_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/paper"
)

// Snapshot is everything a restart must preserve, printed with decimals normalised.
type Snapshot struct {
	Spot, Futures, Margin []exchange.Balance
	Positions             []exchange.Position
	Account               exchange.FuturesAccount
	Orders                []exchange.Order
	Funding               []exchange.FundingPayment
	Transfers             []exchange.Transfer
	Liquidations          []paper.Liquidation
}

func snapshot(t testing.TB, v *paper.Venue, orders [][3]string) string {
	t.Helper()
	ctx := context.Background()
	var s Snapshot
	var err error
	must := func(e error) {
		if e != nil {
			t.Fatal(e)
		}
	}
	s.Spot, err = v.Balances(ctx, exchange.Spot)
	must(err)
	s.Futures, err = v.Balances(ctx, exchange.Futures)
	must(err)
	s.Margin, err = v.Balances(ctx, exchange.Margin)
	must(err)
	s.Positions, err = v.Positions(ctx)
	must(err)
	s.Account, err = v.FuturesAccount(ctx)
	must(err)
	for _, o := range orders {
		q, err := v.QueryOrder(ctx, exchange.Venue(o[0]), o[1], o[2])
		must(err)
		s.Orders = append(s.Orders, q)
	}
	s.Funding, err = v.FundingPayments(ctx, "", time.Time{})
	must(err)
	s.Transfers, err = v.Transfers(ctx, "", time.Time{})
	must(err)
	s.Liquidations = v.Liquidations()
	return fmt.Sprintf("%+v", s)
}

// RunScenario trades, settles funding, transfers, sets up and liquidates on v; it returns the orders to query.
func RunScenario(t testing.TB, v *paper.Venue) [][3]string {
	ctx := context.Background()
	quote(v, exchange.Spot, "BTCUSDT", "60000", "60000.01")
	quote(v, exchange.Futures, "BTCUSDT", "60010", "60010.1")
	quote(v, exchange.Futures, "ETHUSDT", "2000", "2000.01")
	mark(v, "BTCUSDT", "60010")
	mark(v, "ETHUSDT", "2000")
	if _, err := v.Transfer(ctx, exchange.TransferRequest{Kind: exchange.SpotToFutures, Asset: "USDT", Amount: d("10000")}); err != nil {
		t.Fatal(err)
	}
	if err := v.SetupSymbol(ctx, "ETHUSDT", 10, true); err != nil {
		t.Fatal(err)
	}
	place(t, v, market("spot-buy", exchange.Spot, "BTCUSDT", exchange.Buy, "0.10011"))
	place(t, v, market("perp-sell", exchange.Futures, "BTCUSDT", exchange.Sell, "0.1"))
	place(t, v, market("eth-long", exchange.Futures, "ETHUSDT", exchange.Buy, "2"))
	maker := exchange.OrderRequest{ClientID: "maker", Venue: exchange.Spot, Symbol: "BTCUSDT", Side: exchange.Sell, Type: exchange.LimitMaker, Qty: d("0.05"), Price: d("61000")}
	place(t, v, maker)
	maker.ClientID, maker.Price = "maker-2", d("62000")
	place(t, v, maker)
	funding(v, "BTCUSDT", t0.Add(time.Hour+2*time.Millisecond), "0.0001", "60020.5")
	funding(v, "ETHUSDT", t0.Add(time.Hour+2*time.Millisecond), "-0.0003", "1990")
	quote(v, exchange.Spot, "BTCUSDT", "61000", "61000.02") // fills the first maker order
	if _, err := v.Transfer(ctx, exchange.TransferRequest{Kind: exchange.SpotToMargin, Asset: "USDT", Amount: d("5")}); err != nil {
		t.Fatal(err)
	}
	place(t, v, market("perp-cover", exchange.Futures, "BTCUSDT", exchange.Buy, "0.03"))
	mark(v, "ETHUSDT", "1700") // liquidates the isolated ETH long (10x)
	if len(v.Liquidations()) != 1 {
		t.Fatalf("scenario: ETH long not liquidated: %+v", v.Liquidations())
	}
	liq := v.Liquidations()[0].ClientID
	mark(v, "BTCUSDT", "60100")
	return [][3]string{{"spot", "BTCUSDT", "spot-buy"}, {"futures", "BTCUSDT", "perp-sell"}, {"futures", "ETHUSDT", "eth-long"},
		{"spot", "BTCUSDT", "maker"}, {"spot", "BTCUSDT", "maker-2"}, {"futures", "BTCUSDT", "perp-cover"}, {"futures", "ETHUSDT", liq}}
}

func TestRestartFromTheJournalRebuildsTheAccount(t *testing.T) {
	j := &paper.MemJournal{}
	v1, _ := newVenue(t, config(), j)
	orders := RunScenario(t, v1)
	before := snapshot(t, v1, orders)

	// A new venue on the same journal, with different initial balances (ignored: the journal has them).
	cfg := config()
	cfg.InitialBalances = nil
	v2, _ := newVenue(t, cfg, j)
	// Market data is not journaled: the feed brings it again.
	mark(v2, "BTCUSDT", "60100")
	mark(v2, "ETHUSDT", "1700")
	after := snapshot(t, v2, orders)
	if before != after {
		t.Fatalf("restart changed the account:\nbefore %s\nafter  %s", before, after)
	}
	// The restored venue keeps trading with the same id sequences as the first would have.
	quote(v1, exchange.Futures, "BTCUSDT", "60000", "60000.1")
	quote(v2, exchange.Futures, "BTCUSDT", "60000", "60000.1")
	o2 := place(t, v2, market("next", exchange.Futures, "BTCUSDT", exchange.Sell, "0.01"))
	if o2.VenueOrderID == "" || o2.Fills[0].TradeID == "" {
		t.Fatalf("ids %+v", o2)
	}
	// The restored maker order is still resting and fills on the restored venue.
	quote(v2, exchange.Spot, "BTCUSDT", "62000", "62000.01")
	q, err := v2.QueryOrder(context.Background(), exchange.Spot, "BTCUSDT", "maker-2")
	if err != nil || q.Status != exchange.StatusFilled {
		t.Fatalf("restored maker order: %+v %v", q, err)
	}
}

// Same inputs, same outputs.
func TestDeterminism(t *testing.T) {
	v1, _ := newVenue(t, config(), &paper.MemJournal{})
	v2, _ := newVenue(t, config(), nil)
	o1, o2 := RunScenario(t, v1), RunScenario(t, v2)
	if !reflect.DeepEqual(o1, o2) {
		t.Fatalf("different orders: %v / %v", o1, o2)
	}
	if s1, s2 := snapshot(t, v1, o1), snapshot(t, v2, o2); s1 != s2 {
		t.Fatalf("different state:\n%s\n%s", s1, s2)
	}
}

func TestJournalFailureMeansTheOrderDidNotHappen(t *testing.T) {
	ctx := context.Background()
	j := &paper.MemJournal{}
	v, _ := newVenue(t, config(), j)
	quote(v, exchange.Spot, "BTCUSDT", "60000", "60000.01")
	j.FailNext(errors.New("disk full"))
	_, err := v.PlaceOrder(ctx, market("b", exchange.Spot, "BTCUSDT", exchange.Buy, "0.01"))
	if err == nil || exchange.IsRejected(err) || !errors.Is(err, paper.ErrJournal) {
		t.Fatalf("want an unknown-outcome journal error, got %v", err)
	}
	// Until recovered, the venue does not pretend to know.
	if _, err := v.QueryOrder(ctx, exchange.Spot, "BTCUSDT", "b"); !errors.Is(err, paper.ErrJournal) {
		t.Fatalf("query while broken: %v", err)
	}
	if err := v.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := v.QueryOrder(ctx, exchange.Spot, "BTCUSDT", "b"); !errors.Is(err, exchange.ErrNotFound) {
		t.Fatalf("the order whose append failed exists: %v", err)
	}
	eq(t, "USDT", balance(t, v, exchange.Spot, "USDT").Free, d("100000"))
	place(t, v, market("b", exchange.Spot, "BTCUSDT", exchange.Buy, "0.01"))
	if j.Len() != 2 {
		t.Fatalf("journal has %d entries, want deposit + order", j.Len())
	}
}
