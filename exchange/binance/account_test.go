package binance_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance"
	"github.com/carry-trading/carry/exchange/binance/fakebinance"
)

func TestAccountReads(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{})
	c := newClient(t, fakeConfig(srv))
	ctx := ctxT(t, 10*time.Second)

	bals, err := c.Balances(ctx, exchange.Spot)
	must(t, err)
	got := map[string]exchange.Balance{}
	for _, b := range bals {
		got[b.Asset] = b
	}
	if len(bals) != 2 || !got["USDT"].Free.Equal(d("300000")) || !got["BTC"].Free.Equal(d("1")) {
		t.Errorf("spot balances %+v", bals)
	}
	must(t, srv.SetPosition("BTCUSDT", d("-0.5"), d("60000")))
	must(t, srv.SetMark("BTCUSDT", d("61000"), d("61000"), d("0.0001"), time.Time{}))
	fb, err := c.Balances(ctx, exchange.Futures)
	must(t, err)
	// wallet 50000; upnl -500; initial margin 0.5×61000/20 = 1525 → available 47975.
	if len(fb) != 1 || !fb[0].Total().Equal(d("50000")) || !fb[0].Free.Equal(d("47975")) {
		t.Errorf("futures balances %+v", fb)
	}
	acc, err := c.FuturesAccount(ctx)
	must(t, err)
	eq(t, "wallet", acc.WalletBalance, d("50000"))
	eq(t, "upnl", acc.UnrealizedPnL, d("-500"))
	eq(t, "margin balance", acc.MarginBalance, d("49500"))
	eq(t, "maintenance (30500 × 0.4%)", acc.MaintenanceMargin, d("122"))
	eq(t, "available", acc.AvailableBalance, d("47975"))
	eq(t, "margin ratio", acc.MarginRatio(), d("122").DivRound(d("49500"), 8))

	ps, err := c.Positions(ctx)
	must(t, err)
	if len(ps) != 1 {
		t.Fatalf("positions %+v", ps)
	}
	p := ps[0]
	eq(t, "qty", p.Qty, d("-0.5"))
	eq(t, "entry", p.EntryPrice, d("60000"))
	eq(t, "mark", p.MarkPrice, d("61000"))
	eq(t, "upnl", p.UnrealizedPnL, d("-500"))
	if p.Leverage != 20 || p.Isolated || !p.LiquidationPrice.IsPositive() {
		t.Errorf("position %+v", p)
	}

	brs, err := c.LeverageBrackets(ctx, "BTCUSDT")
	must(t, err)
	want := exchange.DefaultBrackets()
	if len(brs) != len(want) {
		t.Fatalf("%d brackets", len(brs))
	}
	for i := range want {
		if !brs[i].Floor.Equal(want[i].Floor) || !brs[i].Cap.Equal(want[i].Cap) || !brs[i].MMR.Equal(want[i].MMR) ||
			!brs[i].Cum.Equal(want[i].Cum) || brs[i].MaxLeverage != want[i].MaxLeverage {
			t.Errorf("bracket %d: %+v, want %+v", i, brs[i], want[i])
		}
	}
	// Floats in the library, exact decimals here: 0.0065 is 0.0065, not 0.006500000000000000298.
	if brs[2].MMR.String() != "0.0065" {
		t.Errorf("MMR prints %s", brs[2].MMR)
	}

	fees, err := c.Commission(ctx, exchange.Spot, "BTCUSDT")
	must(t, err)
	if !fees.Maker.Equal(d("0.001")) || !fees.Taker.Equal(d("0.001")) {
		t.Errorf("spot fees %+v", fees)
	}
	fees, err = c.Commission(ctx, exchange.Futures, "BTCUSDT")
	must(t, err)
	if !fees.Maker.Equal(d("0.0002")) || !fees.Taker.Equal(d("0.0005")) {
		t.Errorf("futures fees %+v", fees)
	}
}

func TestSetupSymbol(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{})
	c := newClient(t, fakeConfig(srv))
	ctx := ctxT(t, 10*time.Second)
	srv.SetPositionMode(true) // hedge mode: must be switched
	must(t, c.SetupSymbol(ctx, "BTCUSDT", 3, true))
	st := srv.State()
	if st.DualSide {
		t.Error("still in hedge mode")
	}
	// Again: Binance answers "no need to change" (-4059, -4046), which is success.
	must(t, c.SetupSymbol(ctx, "BTCUSDT", 3, true))
	must(t, c.SetupSymbol(ctx, "BTCUSDT", 2, false))
	_, err := c.PlaceOrder(ctx, order("setup-1", exchange.Futures, exchange.Sell, exchange.Market, "0.01", ""))
	must(t, err)
	ps, err := c.Positions(ctx)
	must(t, err)
	if len(ps) != 1 || ps[0].Leverage != 2 || ps[0].Isolated {
		t.Errorf("positions %+v", ps)
	}
	// Changing the margin type with a position open is refused, and says what to do.
	err = c.SetupSymbol(ctx, "BTCUSDT", 2, true)
	if err == nil || !strings.Contains(err.Error(), "close the BTCUSDT position") {
		t.Errorf("margin type change with a position: %v", err)
	}
	// Hedge mode with positions cannot be switched: a clear error.
	srv.SetPositionMode(true)
	err = c.SetupSymbol(ctx, "BTCUSDT", 2, false)
	if err == nil || !strings.Contains(err.Error(), "one-way") {
		t.Errorf("hedge mode with positions: %v", err)
	}
}

func TestTransfersAndLostTransferResolution(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{})
	cfg := fakeConfig(srv)
	cfg.HTTPTimeout = 300 * time.Millisecond
	c := newClient(t, cfg)
	ctx := ctxT(t, 10*time.Second)
	since := time.Now().Add(-time.Second)

	tr, err := c.Transfer(ctx, exchange.TransferRequest{Kind: exchange.SpotToFutures, Asset: "USDT", Amount: d("1000")})
	must(t, err)
	if tr.TranID == "" || tr.Kind != exchange.SpotToFutures {
		t.Errorf("transfer %+v", tr)
	}
	eq(t, "spot USDT", srv.Balance(exchange.Spot, "USDT").Free, d("299000"))
	eq(t, "futures USDT", srv.Balance(exchange.Futures, "USDT").Free, d("51000"))

	_, err = c.Transfer(ctx, exchange.TransferRequest{Kind: exchange.SpotToFutures, Asset: "USDT", Amount: d("1000000")})
	if !exchange.IsRejected(err) {
		t.Errorf("transfer beyond the balance: %v", err)
	}
	// The answer is lost but the transfer happened: resolve it from the history.
	must(t, srv.InjectFault(fakebinance.Fault{Kind: fakebinance.FaultTimeout, Method: "POST", Path: "/sapi/v1/asset/transfer", Execute: true, Times: 1}))
	_, err = c.Transfer(ctx, exchange.TransferRequest{Kind: exchange.FuturesToSpot, Asset: "USDT", Amount: d("250.5")})
	requireUnknown(t, err)
	back, err := c.Transfers(ctx, exchange.FuturesToSpot, since)
	must(t, err)
	if len(back) != 1 || !back[0].Amount.Equal(d("250.5")) || back[0].Asset != "USDT" || back[0].TranID == "" {
		t.Errorf("history %+v", back)
	}
	out, err := c.Transfers(ctx, exchange.SpotToFutures, since)
	must(t, err)
	if len(out) != 1 || out[0].TranID != tr.TranID {
		t.Errorf("history %+v", out)
	}
	// Paging: 230 transfers come back in 3 pages of 100, oldest first.
	for i := 0; i < 229; i++ {
		_, err := c.Transfer(ctx, exchange.TransferRequest{Kind: exchange.SpotToMargin, Asset: "USDT", Amount: decimal.NewFromInt(int64(i + 1))})
		must(t, err)
	}
	_, err = c.Transfer(ctx, exchange.TransferRequest{Kind: exchange.SpotToMargin, Asset: "USDT", Amount: d("1000")})
	must(t, err)
	many, err := c.Transfers(ctx, exchange.SpotToMargin, since)
	must(t, err)
	if len(many) != 230 {
		t.Fatalf("got %d transfers, want 230", len(many))
	}
	total := decimal.Zero
	for i, m := range many {
		total = total.Add(m.Amount)
		if i > 0 && m.Time.Before(many[i-1].Time) {
			t.Fatal("not oldest first")
		}
	}
	eq(t, "sum", total, d("27335")) // 1+…+229 + 1000
	if c.UsedWeight().SAPIIP1M <= 0 {
		t.Error("X-SAPI-USED-IP-WEIGHT-1M not read")
	}
	eq(t, "margin wallet", srv.Balance(exchange.Margin, "USDT").Free, d("27335"))
}

func TestFundingPayments(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{})
	c := newClient(t, fakeConfig(srv))
	ctx := ctxT(t, 10*time.Second)
	since := time.Now().Add(-time.Minute)
	must(t, srv.SetPosition("BTCUSDT", d("-0.5"), d("60000")))
	s, err := srv.Settle("BTCUSDT", d("0.0001"), d("60000"))
	must(t, err)
	// binance.md: short 0.5 BTC, mark 60,000, +0.01% → the short receives 3.00 USDT.
	pays, err := c.FundingPayments(ctx, "BTCUSDT", since)
	must(t, err)
	if len(pays) != 1 {
		t.Fatalf("payments %+v", pays)
	}
	p := pays[0]
	eq(t, "amount", p.Amount, d("3"))
	if p.TranID == "" || p.TranID != formatInt(s.TranID) || p.Symbol != "BTCUSDT" || p.Asset != "USDT" {
		t.Errorf("payment %+v (settled %+v)", p, s)
	}
	eq(t, "wallet after funding", srv.Balance(exchange.Futures, "USDT").Free, d("50003"))

	// Paging by time: 2,500 rows, five of them sharing the timestamp that straddles a page boundary.
	base := time.Now().Add(-30 * 24 * time.Hour).Truncate(time.Millisecond)
	ids := map[string]bool{}
	for i := 0; i < 2500; i++ {
		at := base.Add(time.Duration(i) * time.Minute)
		if i >= 997 && i < 1002 {
			at = base.Add(997 * time.Minute)
		}
		ids[formatInt(srv.AddFundingIncome("ETHUSDT", d("0.01"), at))] = true
	}
	all, err := c.FundingPayments(ctx, "", base)
	must(t, err)
	if len(all) != 2501 {
		t.Fatalf("got %d payments, want 2501", len(all))
	}
	seen := map[string]bool{}
	for i, p := range all {
		if seen[p.TranID] {
			t.Fatalf("tranId %s twice", p.TranID)
		}
		seen[p.TranID] = true
		if i > 0 && p.Time.Before(all[i-1].Time) {
			t.Fatal("not oldest first")
		}
	}
	for id := range ids {
		if !seen[id] {
			t.Fatalf("tranId %s missing", id)
		}
	}
	eth, err := c.FundingPayments(ctx, "ETHUSDT", base.Add(2000*time.Minute))
	must(t, err)
	if len(eth) != 500 {
		t.Errorf("ETHUSDT since row 2000: %d", len(eth))
	}
}

func TestCheckAccount(t *testing.T) {
	ctx := ctxT(t, 20*time.Second)
	t.Run("a good key passes and hedge mode is switched", func(t *testing.T) {
		srv := fundedFake(t, fakebinance.Options{})
		srv.SetPositionMode(true)
		c := newClient(t, fakeConfig(srv))
		must(t, c.CheckAccount(ctx))
		if srv.State().DualSide {
			t.Error("hedge mode left on")
		}
	})
	refused := func(t *testing.T, srv *fakebinance.Server, cfg binance.Config, hints ...string) {
		t.Helper()
		err := newClient(t, cfg).CheckAccount(ctx)
		if !errors.Is(err, binance.ErrRefused) {
			t.Fatalf("got %v, want a refusal", err)
		}
		for _, h := range hints {
			if !strings.Contains(err.Error(), h) {
				t.Errorf("%q does not say %q", err, h)
			}
		}
	}
	t.Run("a key that can withdraw is refused", func(t *testing.T) {
		srv := fundedFake(t, fakebinance.Options{})
		p := fakebinance.DefaultPermissions()
		p.EnableWithdrawals = true
		srv.SetPermissions(p)
		refused(t, srv, fakeConfig(srv), "WITHDRAW", "withdrawals disabled", "CARRY_ACCOUNT_API_KEY")
	})
	t.Run("a key without futures is refused", func(t *testing.T) {
		srv := fundedFake(t, fakebinance.Options{})
		p := fakebinance.DefaultPermissions()
		p.EnableFutures = false
		srv.SetPermissions(p)
		refused(t, srv, fakeConfig(srv), "Enable Futures")
	})
	t.Run("a bad signature is refused", func(t *testing.T) {
		srv := fundedFake(t, fakebinance.Options{})
		cfg := fakeConfig(srv)
		cfg.APISecret = "wrong"
		refused(t, srv, cfg, "CARRY_ACCOUNT_API_SECRET", "whitelist")
	})
	t.Run("a skewed clock is refused", func(t *testing.T) {
		srv := fundedFake(t, fakebinance.Options{})
		srv.SetTimeOffset(-3 * time.Second)
		refused(t, srv, fakeConfig(srv), "chrony", "off Binance")
	})
	t.Run("a check that cannot complete is not a refusal", func(t *testing.T) {
		for _, f := range []fakebinance.Fault{
			{Kind: fakebinance.FaultStatus, Path: "/sapi/v1/account/apiRestrictions", Status: 503},
			{Kind: fakebinance.FaultDrop, Path: "/sapi/v1/account/apiRestrictions"},
			{Kind: fakebinance.FaultStatus, Path: "/fapi/v1/accountConfig", Status: 502},
		} {
			srv := fundedFake(t, fakebinance.Options{})
			must(t, srv.InjectFault(f))
			err := newClient(t, fakeConfig(srv)).CheckAccount(ctx)
			if err == nil || errors.Is(err, binance.ErrRefused) || !strings.Contains(err.Error(), "could not complete") {
				t.Errorf("%s on %s: got %v, want an ordinary error (a restart retries it), not a refusal", f.Kind, f.Path, err)
			}
		}
	})
	t.Run("hedge mode with positions is refused", func(t *testing.T) {
		srv := fundedFake(t, fakebinance.Options{})
		must(t, srv.SetPosition("BTCUSDT", d("0.1"), d("60000")))
		srv.SetPositionMode(true)
		refused(t, srv, fakeConfig(srv), "one-way")
	})
}
