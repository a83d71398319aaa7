package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/paper"
	"github.com/carry-trading/carry/pkg/clock"
)

func paperConfig() paper.Config {
	return paper.Config{
		Quote: "USDT",
		Instruments: []exchange.Instrument{
			{Venue: exchange.Spot, Symbol: "BTCUSDT", Base: "BTC", Quote: "USDT", Trading: true, TickSize: d("0.01"), StepSize: d("0.00001"),
				MinQty: d("0.00001"), MinNotional: d("5"), MinNotionalMarket: true},
			{Venue: exchange.Futures, Symbol: "BTCUSDT", Base: "BTC", Quote: "USDT", Trading: true, TickSize: d("0.1"), StepSize: d("0.001"),
				MinQty: d("0.001"), MinNotional: d("100"), MinNotionalMarket: true},
		},
		Fees: map[exchange.Venue]exchange.Fees{
			exchange.Spot:    {Maker: d("0.001"), Taker: d("0.001")},
			exchange.Futures: {Maker: d("0.0002"), Taker: d("0.0005")},
		},
		InitialBalances: map[exchange.Venue]map[string]decimal.Decimal{exchange.Spot: {"USDT": d("50000")}},
	}
}

func apply(v *paper.Venue, ev exchange.Event) { v.Apply(&ev) }

func quoteEv(venue exchange.Venue, bid, ask string, at time.Time) exchange.Event {
	return exchange.Event{Kind: exchange.EventQuote, Venue: venue, Symbol: "BTCUSDT", Time: at,
		Quote: exchange.Quote{Venue: venue, Symbol: "BTCUSDT", Bid: d(bid), BidQty: d("5"), Ask: d(ask), AskQty: d("5"), Time: at}}
}

func markEv(price string, at time.Time) exchange.Event {
	return exchange.Event{Kind: exchange.EventMark, Venue: exchange.Futures, Symbol: "BTCUSDT", Time: at, Mark: exchange.Mark{Symbol: "BTCUSDT", Mark: d(price), Time: at}}
}

// paperState prints everything a restart must keep, decimals normalised.
func paperState(t *testing.T, v *paper.Venue, orders []string) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, venue := range []exchange.Venue{exchange.Spot, exchange.Futures, exchange.Margin} {
		bs, err := v.Balances(ctx, venue)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "balances %s %+v\n", venue, bs)
	}
	ps, err := v.Positions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "positions %+v\n", ps)
	acct, _ := v.FuturesAccount(ctx)
	fmt.Fprintf(&b, "account %+v\n", acct)
	for _, id := range orders {
		venue, cid, _ := strings.Cut(id, "/")
		o, err := v.QueryOrder(ctx, exchange.Venue(venue), "BTCUSDT", cid)
		if err != nil {
			t.Fatalf("order %s: %v", id, err)
		}
		fmt.Fprintf(&b, "order %+v\n", o)
	}
	fs, _ := v.FundingPayments(ctx, "", time.Time{})
	tr, _ := v.Transfers(ctx, "", time.Time{})
	fmt.Fprintf(&b, "funding %+v\ntransfers %+v\n", fs, tr)
	return b.String()
}

// A paper venue restarted on its Postgres journal has the same balances, positions, orders (by client id),
// funding payments and transfers.
func TestPaperJournalRestart(t *testing.T) {
	st, _ := pg.NewStore(t)
	ctx := context.Background()
	acct, err := st.EnsureAccount(ctx, "paper-restart", "paper")
	if err != nil {
		t.Fatal(err)
	}
	j := st.PaperJournal(acct.ID)
	clk := clock.NewSim(t0)
	v1, err := paper.New(ctx, paperConfig(), clk, j)
	if err != nil {
		t.Fatal(err)
	}
	apply(v1, quoteEv(exchange.Spot, "60000", "60000.01", t0))
	apply(v1, quoteEv(exchange.Futures, "60010", "60010.1", t0))
	apply(v1, markEv("60010", t0))
	if _, err := v1.Transfer(ctx, exchange.TransferRequest{Kind: exchange.SpotToFutures, Asset: "USDT", Amount: d("15000")}); err != nil {
		t.Fatal(err)
	}
	if err := v1.SetupSymbol(ctx, "BTCUSDT", 4, false); err != nil {
		t.Fatal(err)
	}
	place := func(req exchange.OrderRequest) {
		t.Helper()
		if _, err := v1.PlaceOrder(ctx, req); err != nil {
			t.Fatalf("%s: %v", req.ClientID, err)
		}
	}
	place(exchange.OrderRequest{ClientID: "pj-spot", Venue: exchange.Spot, Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Market, Qty: d("0.20021")})
	place(exchange.OrderRequest{ClientID: "pj-perp", Venue: exchange.Futures, Symbol: "BTCUSDT", Side: exchange.Sell, Type: exchange.Market, Qty: d("0.2")})
	place(exchange.OrderRequest{ClientID: "pj-maker", Venue: exchange.Spot, Symbol: "BTCUSDT", Side: exchange.Sell, Type: exchange.LimitMaker, Qty: d("0.1"), Price: d("65000")})
	v1.Faults().TimeoutNext(exchange.Futures)
	if _, err := v1.PlaceOrder(ctx, exchange.OrderRequest{ClientID: "pj-timeout", Venue: exchange.Futures, Symbol: "BTCUSDT", Side: exchange.Sell, Type: exchange.Market, Qty: d("0.01")}); err == nil {
		t.Fatal("the timeout hook did not fire")
	}
	for i, rate := range []string{"0.0001", "0.00034573", "-0.00005"} {
		at := t0.Add(time.Duration(i+1)*8*time.Hour + time.Millisecond)
		apply(v1, exchange.Event{Kind: exchange.EventFunding, Venue: exchange.Futures, Symbol: "BTCUSDT", Time: at,
			Funding: exchange.FundingRate{Symbol: "BTCUSDT", Rate: d(rate), MarkPrice: d("60123.4"), IntervalHours: 8, Time: at}})
	}
	clk.Set(t0.Add(30 * time.Hour))
	if _, err := v1.Transfer(ctx, exchange.TransferRequest{Kind: exchange.FuturesToSpot, Asset: "USDT", Amount: d("1.25")}); err != nil {
		t.Fatal(err)
	}
	orders := []string{"spot/pj-spot", "futures/pj-perp", "spot/pj-maker", "futures/pj-timeout"}
	before := paperState(t, v1, orders)
	if fs, _ := v1.FundingPayments(ctx, "", time.Time{}); len(fs) != 3 {
		t.Fatalf("funding payments %+v", fs)
	}

	// Restart: a new venue on the same account's journal, read back from Postgres.
	v2, err := paper.New(ctx, paperConfig(), clock.NewSim(t0.Add(30*time.Hour)), st.PaperJournal(acct.ID))
	if err != nil {
		t.Fatal(err)
	}
	apply(v2, markEv("60010", t0)) // market data comes from the feed again
	if after := paperState(t, v2, orders); after != before {
		t.Fatalf("restart changed the account:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// The journal decimals are JSON strings.
	entries, err := j.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var order map[string]any
	for _, e := range entries {
		if e.Kind == paper.KindOrder {
			if err := json.Unmarshal(e.Payload, &order); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if _, ok := order["qty"].(string); !ok {
		t.Fatalf("qty is stored as %T, want a string: %v", order["qty"], order)
	}

	// Another account's journal is separate and starts with its own deposit.
	other, _ := st.EnsureAccount(ctx, "paper-other", "paper")
	v3, err := paper.New(ctx, paperConfig(), clk, st.PaperJournal(other.ID))
	if err != nil {
		t.Fatal(err)
	}
	if bs, _ := v3.Balances(ctx, exchange.Spot); len(bs) != 1 || !bs[0].Free.Equal(d("50000")) {
		t.Fatalf("new account balances %+v", bs)
	}
}

func TestPaperJournalAppendIsIdempotentAndRefusesConflicts(t *testing.T) {
	st, _ := pg.NewStore(t)
	ctx := context.Background()
	acct, _ := st.EnsureAccount(ctx, "paper-append", "paper")
	j := st.PaperJournal(acct.ID)
	e := paper.Entry{Seq: 1, Kind: paper.KindTransfer, Time: t0, Payload: json.RawMessage(`{"tran_id":"paper-tr-1","amount":"1.50"}`)}
	if err := j.Append(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(ctx, e); err != nil { // a retry
		t.Fatalf("retry: %v", err)
	}
	e2 := e
	e2.Payload = json.RawMessage(`{"tran_id":"paper-tr-1","amount":"2"}`)
	if err := j.Append(ctx, e2); err == nil || !strings.Contains(err.Error(), "different content") {
		t.Fatalf("conflicting entry: %v", err)
	}
	got, err := j.Load(ctx)
	if err != nil || len(got) != 1 || got[0].Seq != 1 || got[0].Kind != paper.KindTransfer || !got[0].Time.Equal(t0) {
		t.Fatalf("load %+v %v", got, err)
	}
	var p map[string]string
	if err := json.Unmarshal(got[0].Payload, &p); err != nil || p["amount"] != "1.50" {
		t.Fatalf("payload %s %v", got[0].Payload, err)
	}
}
