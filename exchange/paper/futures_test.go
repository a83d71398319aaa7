package paper_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

func TestPositionFlipAndWeightedEntry(t *testing.T) {
	ctx := context.Background()
	v, _ := newVenue(t, config(), nil)
	quote(v, exchange.Futures, "BTCUSDT", "100", "100")
	place(t, v, market("a", exchange.Futures, "BTCUSDT", exchange.Buy, "1"))
	quote(v, exchange.Futures, "BTCUSDT", "103", "103")
	place(t, v, market("b", exchange.Futures, "BTCUSDT", exchange.Buy, "2"))
	ps, _ := v.Positions(ctx)
	eq(t, "weighted entry", ps[0].EntryPrice, d("102")) // (100 + 206)/3
	quote(v, exchange.Futures, "BTCUSDT", "110", "110")
	o := place(t, v, market("c", exchange.Futures, "BTCUSDT", exchange.Sell, "4")) // close 3, open a 1 short
	eq(t, "realized on the close", o.Fills[0].RealizedPnL, d("24"))                // 3 × (110 − 102)
	ps, _ = v.Positions(ctx)
	eq(t, "flipped qty", ps[0].Qty, d("-1"))
	eq(t, "new entry", ps[0].EntryPrice, d("110"))
	// Wallet = 20,000 + 24 realized − fees (0.05% of each notional).
	fees := d("100").Add(d("206")).Add(d("440")).Mul(d("0.0005"))
	eq(t, "wallet", balance(t, v, exchange.Futures, "USDT").Free, d("20024").Sub(fees))
}

func TestIsolatedPartialCloseReleasesMargin(t *testing.T) {
	ctx := context.Background()
	v, _ := newVenue(t, config(), nil)
	if err := v.SetupSymbol(ctx, "BTCUSDT", 10, true); err != nil {
		t.Fatal(err)
	}
	quote(v, exchange.Futures, "BTCUSDT", "50000", "50000")
	place(t, v, market("open", exchange.Futures, "BTCUSDT", exchange.Sell, "0.4")) // 2,000 isolated margin
	ps, _ := v.Positions(ctx)
	eq(t, "isolated wallet", ps[0].IsolatedWallet, d("2000"))
	quote(v, exchange.Futures, "BTCUSDT", "49000", "49000")
	o := place(t, v, market("half", exchange.Futures, "BTCUSDT", exchange.Buy, "0.1"))
	eq(t, "realized", o.Fills[0].RealizedPnL, d("100"))
	ps, _ = v.Positions(ctx)
	eq(t, "isolated wallet after a quarter", ps[0].IsolatedWallet, d("1500"))
	fees := d("20000").Add(d("4900")).Mul(d("0.0005"))
	b := balance(t, v, exchange.Futures, "USDT")
	eq(t, "cross wallet", b.Free, d("20000").Sub(d("2000")).Add(d("500")).Add(d("100")).Sub(fees))
	eq(t, "isolated (locked)", b.Locked, d("1500"))
	eq(t, "wallet total", b.Total(), d("20100").Sub(fees))
}

func TestFuturesMakerReservesMargin(t *testing.T) {
	ctx := context.Background()
	v, _ := newVenue(t, config(), nil)
	quote(v, exchange.Futures, "BTCUSDT", "60000", "60000.1")
	before, _ := v.FuturesAccount(ctx)
	req := exchange.OrderRequest{ClientID: "fm", Venue: exchange.Futures, Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.LimitMaker, Qty: d("1"), Price: d("59000")}
	if o := place(t, v, req); o.Status != exchange.StatusNew {
		t.Fatalf("%+v", o)
	}
	acct, _ := v.FuturesAccount(ctx)
	eq(t, "reserved", before.AvailableBalance.Sub(acct.AvailableBalance), d("2950")) // 59,000 / 20
	var re *exchange.RejectError
	if _, err := v.PlaceOrder(ctx, exchange.OrderRequest{ClientID: "fm2", Venue: exchange.Futures, Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.LimitMaker, Qty: d("1"), Price: d("60000.1")}); !errors.As(err, &re) || re.Code != -5022 {
		t.Fatalf("crossing post-only: %v", err)
	}
	quote(v, exchange.Futures, "BTCUSDT", "58900", "59000")
	o, _ := v.QueryOrder(ctx, exchange.Futures, "BTCUSDT", "fm")
	if o.Status != exchange.StatusFilled || !o.Fills[0].Maker || !o.Fills[0].Fee.Equal(d("59000").Mul(d("0.0002"))) {
		t.Fatalf("maker fill %+v", o)
	}
	ps, _ := v.Positions(ctx)
	eq(t, "long", ps[0].Qty, d("1"))
	mark(v, "BTCUSDT", "59000")
	acct, _ = v.FuturesAccount(ctx)
	eq(t, "available after the fill", acct.AvailableBalance, d("20000").Sub(d("11.8")).Sub(d("2950")))
}

func TestMarketDataAccessors(t *testing.T) {
	ctx := context.Background()
	cfg := config()
	cfg.FundingInfo = map[string]exchange.FundingInfo{"ETHUSDT": {IntervalHours: 4, Cap: d("0.02"), Floor: d("-0.0075")}}
	v, _ := newVenue(t, cfg, nil)
	if _, err := v.Mark(ctx, "BTCUSDT"); !errors.Is(err, exchange.ErrNoQuote) {
		t.Fatalf("mark before data: %v", err)
	}
	next := t0.Add(time.Hour)
	v.Apply(&exchange.Event{Kind: exchange.EventMark, Symbol: "BTCUSDT", Time: t0,
		Mark: exchange.Mark{Symbol: "BTCUSDT", Mark: d("60000"), Index: d("59990"), EstimatedRate: d("0.0001"), NextFundingTime: next, Time: t0}})
	m, err := v.Mark(ctx, "BTCUSDT")
	if err != nil || !m.Mark.Equal(d("60000")) || !m.Index.Equal(d("59990")) || !m.EstimatedRate.Equal(d("0.0001")) || !m.NextFundingTime.Equal(next) || !m.Time.Equal(t0) {
		t.Fatalf("mark %+v %v", m, err)
	}
	quote(v, exchange.Spot, "BTCUSDT", "1", "2")
	q, err := v.Quote(ctx, exchange.Spot, "BTCUSDT")
	if err != nil || !q.Bid.Equal(d("1")) || !q.Ask.Equal(d("2")) || q.Venue != exchange.Spot || q.Symbol != "BTCUSDT" || !q.Time.Equal(t0) {
		t.Fatalf("quote %+v %v", q, err)
	}
	fi, _ := v.FundingInfo(ctx, "BTCUSDT")
	if fi.IntervalHours != 8 || !fi.Cap.Equal(d("0.003")) || !fi.Floor.Equal(d("-0.003")) {
		t.Fatalf("funding info %+v", fi)
	}
	if fi, _ := v.FundingInfo(ctx, "ETHUSDT"); fi.IntervalHours != 4 || !fi.Cap.Equal(d("0.02")) || !fi.Floor.Equal(d("-0.0075")) || fi.Symbol != "ETHUSDT" {
		t.Fatalf("configured interval, cap and floor %+v", fi)
	}
	v.Apply(&exchange.Event{Kind: exchange.EventFunding, Symbol: "BTCUSDT", Time: t0,
		Funding: exchange.FundingRate{Symbol: "BTCUSDT", Rate: d("0.0002"), IntervalHours: 4, Time: t0}})
	if fi, _ := v.FundingInfo(ctx, "BTCUSDT"); fi.IntervalHours != 4 {
		t.Fatalf("observed interval %+v", fi)
	}
	rates, _ := v.FundingRates(ctx, "BTCUSDT", t0, t0.Add(time.Second))
	if len(rates) != 1 || !rates[0].Rate.Equal(d("0.0002")) {
		t.Fatalf("rates %+v", rates)
	}
	if _, err := v.Instrument(ctx, exchange.Spot, "DOGEUSDT"); !errors.Is(err, exchange.ErrNotFound) {
		t.Fatalf("unknown instrument: %v", err)
	}
	fees, _ := v.Commission(ctx, exchange.Futures, "BTCUSDT")
	eq(t, "taker", fees.Taker, d("0.0005"))
	br, _ := v.LeverageBrackets(ctx, "BTCUSDT")
	if len(br) != len(exchange.DefaultBrackets()) || !br[1].Cum.Equal(decimal.NewFromInt(50)) {
		t.Fatalf("brackets %+v", br)
	}
}
