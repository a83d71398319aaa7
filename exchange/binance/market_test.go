package binance_test

import (
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance"
	"github.com/carry-trading/carry/exchange/binance/fakebinance"
)

func TestMarketDataOverREST(t *testing.T) {
	srv := startFake(t, fakebinance.Options{})
	c := newClient(t, fakeConfig(srv))
	ctx := ctxT(t, 20*time.Second)

	spot, err := c.Instrument(ctx, exchange.Spot, "BTCUSDT")
	must(t, err)
	eq(t, "spot tick", spot.TickSize, d("0.01"))
	eq(t, "spot step", spot.StepSize, d("0.00001"))
	eq(t, "spot min notional", spot.MinNotional, d("5"))
	perp, err := c.Instrument(ctx, exchange.Futures, "BTCUSDT")
	must(t, err)
	eq(t, "perp tick", perp.TickSize, d("0.1"))
	eq(t, "perp step", perp.StepSize, d("0.001"))
	eq(t, "perp min notional", perp.MinNotional, d("50"))
	// Cached: a second lookup sends nothing.
	before := len(srv.Requests("/fapi/v1/exchangeInfo"))
	_, err = c.Instrument(ctx, exchange.Futures, "ETHUSDT")
	must(t, err)
	if n := len(srv.Requests("/fapi/v1/exchangeInfo")); n != before {
		t.Errorf("futures exchangeInfo fetched %d more times; it is cached", n-before)
	}
	if _, err := c.Instrument(ctx, exchange.Spot, "NOPEUSDT"); !errors.Is(err, exchange.ErrNotFound) {
		t.Errorf("unknown spot symbol: %v, want ErrNotFound", err)
	}
	if _, err := c.Instrument(ctx, exchange.Futures, "NOPEUSDT"); !errors.Is(err, exchange.ErrNotFound) {
		t.Errorf("unknown perp: %v, want ErrNotFound", err)
	}
	all, err := c.Instruments(ctx, exchange.Spot)
	must(t, err)
	if len(all) != 3 {
		t.Errorf("spot instruments: %d, want 3", len(all))
	}

	q, err := c.Quote(ctx, exchange.Spot, "BTCUSDT")
	must(t, err)
	eq(t, "spot bid", q.Bid, d("60000"))
	eq(t, "spot ask", q.Ask, d("60000.01"))
	eq(t, "spot ask qty", q.AskQty, d("2"))
	q, err = c.Quote(ctx, exchange.Futures, "BTCUSDT")
	must(t, err)
	eq(t, "perp bid", q.Bid, d("60010"))
	eq(t, "perp bid qty", q.BidQty, d("5"))
	if q.Venue != exchange.Futures || q.Time.IsZero() {
		t.Errorf("perp quote %+v", q)
	}

	next := time.Now().Add(3 * time.Hour).Truncate(time.Second)
	must(t, srv.SetMark("BTCUSDT", d("60123.4"), d("60100"), d("0.00025"), next))
	m, err := c.Mark(ctx, "BTCUSDT")
	must(t, err)
	eq(t, "mark", m.Mark, d("60123.4"))
	eq(t, "index", m.Index, d("60100"))
	eq(t, "estimate", m.EstimatedRate, d("0.00025"))
	if !m.NextFundingTime.Equal(next) {
		t.Errorf("next funding %s, want %s", m.NextFundingTime, next)
	}
	marks, err := c.Marks(ctx)
	must(t, err)
	if len(marks) < 800 {
		t.Errorf("all marks: %d", len(marks))
	}

	w := c.UsedWeight()
	if w.Spot1M <= 0 || w.Futures1M <= 0 || !w.SpotBlocked.IsZero() || !w.FutureBlocked.IsZero() {
		t.Errorf("used weight %+v: Binance's X-MBX-USED-WEIGHT-1M headers are not read", w)
	}

	fi, err := c.FundingInfo(ctx, "BTCUSDT")
	must(t, err)
	if fi.IntervalHours != 8 || !fi.Cap.Equal(d("0.003")) || !fi.Floor.Equal(d("-0.003")) {
		t.Errorf("BTCUSDT funding info %+v", fi)
	}
	fi, err = c.FundingInfo(ctx, "LPTUSDT")
	must(t, err)
	if fi.IntervalHours != 4 || !fi.Cap.Equal(d("0.02")) {
		t.Errorf("LPTUSDT funding info %+v", fi)
	}
	// A perpetual fundingInfo omits is on the defaults.
	fi, err = c.FundingInfo(ctx, "NOTLISTEDUSDT")
	must(t, err)
	if fi.IntervalHours != 8 || !fi.Cap.Equal(d("0.02")) || !fi.Floor.Equal(d("-0.02")) {
		t.Errorf("omitted symbol funding info %+v", fi)
	}
}

func TestFundingRatesPagesPastAThousandRows(t *testing.T) {
	srv := startFake(t, fakebinance.Options{})
	c := newClient(t, fakeConfig(srv))
	ctx := ctxT(t, 20*time.Second)
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 2500
	times := make([]int64, n)
	rates := make([]decimal.Decimal, n)
	for i := range times {
		times[i] = start.Add(time.Duration(i)*8*time.Hour).UnixMilli() + int64(i%3) // Binance's ms jitter
		rates[i] = decimal.New(int64(i), -8)
	}
	srv.AddFundingRates("BTCUSDT", times, rates, d("42000"))
	before := len(srv.Requests("/fapi/v1/fundingRate"))
	from, to := start.Add(8*time.Hour), start.Add(2400*8*time.Hour) // rows 1 … 2399
	rs, err := c.FundingRates(ctx, "BTCUSDT", from, to)
	must(t, err)
	if len(rs) != 2399 {
		t.Fatalf("got %d rows, want 2399", len(rs))
	}
	eq(t, "first rate", rs[0].Rate, d("0.00000001"))
	eq(t, "last rate", rs[len(rs)-1].Rate, d("0.00002399"))
	for i, r := range rs {
		if r.IntervalHours != 8 || r.Symbol != "BTCUSDT" || !r.MarkPrice.Equal(d("42000")) {
			t.Fatalf("row %d: %+v", i, r)
		}
		if i > 0 && !r.Time.After(rs[i-1].Time) {
			t.Fatalf("row %d out of order", i)
		}
	}
	if pages := len(srv.Requests("/fapi/v1/fundingRate")) - before; pages != 3 {
		t.Errorf("%d requests, want 3 pages of ≤ 1000", pages)
	}
}

func TestPublicModeServesMarketDataAndRefusesSignedCalls(t *testing.T) {
	srv := startFake(t, fakebinance.Options{})
	cfg := fakeConfig(srv)
	cfg.APIKey, cfg.APISecret = "", ""
	c := newClient(t, cfg)
	ctx := ctxT(t, 10*time.Second)
	if !c.Public() {
		t.Fatal("a client without a key is public")
	}
	if _, err := c.Quote(ctx, exchange.Futures, "BTCUSDT"); err != nil {
		t.Fatalf("public quote: %v", err)
	}
	// Paper mode's live data: the market feed needs no key.
	f, err := c.MarketFeed(ctx, []string{"BTCUSDT"})
	must(t, err)
	nextWhere(t, f, 5*time.Second, "a streamed mark", nil, is(exchange.EventMark, exchange.Futures, "BTCUSDT"))
	f.Close()
	if _, err := c.Balances(ctx, exchange.Spot); !errors.Is(err, binance.ErrNoCredentials) {
		t.Errorf("balances: %v, want ErrNoCredentials", err)
	}
	_, err = c.PlaceOrder(ctx, exchange.OrderRequest{ClientID: "pub-1", Venue: exchange.Spot, Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Market, Qty: d("0.001")})
	if !exchange.IsRejected(err) {
		t.Errorf("order without a key: %v, want a rejection (nothing sent)", err)
	}
	if _, err := c.UserData(ctx); !errors.Is(err, binance.ErrNoCredentials) {
		t.Errorf("user data: %v", err)
	}
	if err := c.CheckAccount(ctx); !errors.Is(err, binance.ErrRefused) || !errors.Is(err, binance.ErrNoCredentials) {
		t.Errorf("check account: %v", err)
	}
	if n := len(srv.Requests("/api/v3/order")) + len(srv.Requests("/api/v3/account")); n != 0 {
		t.Errorf("%d signed requests reached Binance without a key", n)
	}
	// Half a key is a configuration error.
	cfg.APIKey = "only-the-key"
	if _, err := binance.New(cfg, testLogger()); err == nil {
		t.Error("a key without a secret must be refused")
	}
}

func TestConfigNeverShowsTheSecret(t *testing.T) {
	cfg := binance.Config{APIKey: "KEY-abcdef", APISecret: "SECRET-123456"}
	for _, s := range []string{cfg.String(), cfg.GoString(), fmtAll(cfg)} {
		if containsAny(s, "KEY-abcdef", "SECRET-123456") {
			t.Fatalf("secret in %q", s)
		}
	}
	c, err := binance.New(binance.Config{SpotWSURL: "wss://example.com/stream"}, testLogger())
	if err == nil || c != nil {
		t.Error("a spot websocket URL without /ws must be refused")
	}
}
