package paper_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/paper"
)

// Funding vectors from binance.md, paid through the venue.
func TestFundingVectorsThroughTheVenue(t *testing.T) {
	cases := []struct {
		name, sym, qty, price, rate, want string
	}{
		{"short 0.5 BTC at 60,000, +0.01% receives 3.00", "BTCUSDT", "0.5", "60000", "0.0001", "3"},
		{"a 23.10 USDT short at 0.01% receives 0.00231", "ETHUSDT", "0.01", "2310", "0.0001", "0.00231"},
		{"negative rate: the short pays", "BTCUSDT", "0.5", "60000", "-0.0001", "-3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, _ := newVenue(t, config(), nil)
			quote(v, exchange.Futures, c.sym, c.price, c.price)
			mark(v, c.sym, c.price)
			o := place(t, v, market("short-1", exchange.Futures, c.sym, exchange.Sell, c.qty))
			if o.Status != exchange.StatusFilled {
				t.Fatalf("short: %+v", o)
			}
			before := balance(t, v, exchange.Futures, "USDT").Free
			at := t0.Add(time.Hour + time.Millisecond) // 08:00:00.001, with the archive's jitter
			funding(v, c.sym, at, c.rate, c.price)
			funding(v, c.sym, at, c.rate, c.price) // a repeated settlement is paid once
			pays, err := v.FundingPayments(context.Background(), "", time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if len(pays) != 1 {
				t.Fatalf("payments = %+v, want one", pays)
			}
			p := pays[0]
			eq(t, "amount", p.Amount, d(c.want))
			eq(t, "wallet change", balance(t, v, exchange.Futures, "USDT").Free.Sub(before), d(c.want))
			if p.TranID != paper.FundingTranID(c.sym, at) || p.TranID != "paper-"+c.sym+"-1614585600001" {
				t.Errorf("tranId = %q", p.TranID)
			}
			eq(t, "position qty", p.PositionQty, d(c.qty).Neg())
		})
	}
}

func TestFundingUsesTheLastMarkWhenTheEventHasNone(t *testing.T) {
	v, _ := newVenue(t, config(), nil)
	quote(v, exchange.Futures, "BTCUSDT", "60000", "60000")
	place(t, v, market("s", exchange.Futures, "BTCUSDT", exchange.Sell, "0.5"))
	mark(v, "BTCUSDT", "50000")
	funding(v, "BTCUSDT", t0.Add(time.Hour), "0.0001", "0")
	pays, _ := v.FundingPayments(context.Background(), "BTCUSDT", time.Time{})
	if len(pays) != 1 {
		t.Fatalf("payments %+v", pays)
	}
	eq(t, "amount at the last mark", pays[0].Amount, d("2.5"))
}

func TestFundingSkipsPositionsOpenedAfterTheSettlement(t *testing.T) {
	v, clk := newVenue(t, config(), nil)
	quote(v, exchange.Futures, "BTCUSDT", "60000", "60000")
	clk.Set(t0.Add(time.Hour))
	place(t, v, market("s", exchange.Futures, "BTCUSDT", exchange.Sell, "0.5"))
	funding(v, "BTCUSDT", t0.Add(time.Hour-time.Second), "0.0001", "60000") // late delivery of an earlier settlement
	if pays, _ := v.FundingPayments(context.Background(), "", time.Time{}); len(pays) != 0 {
		t.Fatalf("a position opened after the settlement was paid: %+v", pays)
	}
}

// binance.md: to hold ≥ 0.100 BTC net, buy 0.10011 at 0.1% → 0.10000989 net; the fee is charged in BTC.
func TestSpotBuyFeeInBase(t *testing.T) {
	v, _ := newVenue(t, config(), nil)
	quote(v, exchange.Spot, "BTCUSDT", "59999.99", "60000")
	qty := exchange.SpotBuyGrossUp(d("0.1"), d("0.001"), d("0.00001"))
	eq(t, "gross-up", qty, d("0.10011"))
	o := place(t, v, market("buy-1", exchange.Spot, "BTCUSDT", exchange.Buy, qty.String()))
	if o.Status != exchange.StatusFilled || len(o.Fills) != 1 {
		t.Fatalf("order %+v", o)
	}
	f := o.Fills[0]
	if f.FeeAsset != "BTC" {
		t.Errorf("fee asset %s, want BTC", f.FeeAsset)
	}
	eq(t, "fee", f.Fee, d("0.00010011"))
	eq(t, "net BTC", balance(t, v, exchange.Spot, "BTC").Free, d("0.10000989"))
	eq(t, "net base of the fill", f.NetBase("BTC"), d("0.10000989"))
	eq(t, "USDT", balance(t, v, exchange.Spot, "USDT").Free, d("100000").Sub(qty.Mul(d("60000"))))

	// Selling pays the fee in USDT: qty × price × rate.
	before := balance(t, v, exchange.Spot, "USDT").Free
	s := place(t, v, market("sell-1", exchange.Spot, "BTCUSDT", exchange.Sell, "0.1"))
	eq(t, "sell fee", s.Fills[0].Fee, d("0.1").Mul(d("59999.99")).Mul(d("0.001")))
	if s.Fills[0].FeeAsset != "USDT" {
		t.Errorf("sell fee asset %s", s.Fills[0].FeeAsset)
	}
	eq(t, "USDT after sell", balance(t, v, exchange.Spot, "USDT").Free, before.Add(d("5999.999")).Sub(d("5.999999")))
	eq(t, "BTC after sell", balance(t, v, exchange.Spot, "BTC").Free, d("0.00000989"))
}

func TestPerpFeeAndSlippage(t *testing.T) {
	cfg := config()
	cfg.Slippage = d("0.0001")
	v, _ := newVenue(t, cfg, nil)
	quote(v, exchange.Futures, "BTCUSDT", "10103.9", "10104")
	// Buy at ask × 1.0001 = 10105.0104 → rounded up to the 0.1 tick: 10105.1.
	o := place(t, v, market("b", exchange.Futures, "BTCUSDT", exchange.Buy, "1"))
	eq(t, "price", o.Fills[0].Price, d("10105.1"))
	eq(t, "fee", o.Fills[0].Fee, d("10105.1").Mul(d("0.0005")))
	// Sell at bid × 0.9999 = 10102.88961 → rounded down: 10102.8.
	o = place(t, v, market("s", exchange.Futures, "BTCUSDT", exchange.Sell, "1"))
	eq(t, "price", o.Fills[0].Price, d("10102.8"))
	eq(t, "realized", o.Fills[0].RealizedPnL, d("10102.8").Sub(d("10105.1")))
	// binance.md: taker 1 BTC at 10,104 → 5.052 USDT.
	v2, _ := newVenue(t, config(), nil)
	quote(v2, exchange.Futures, "BTCUSDT", "10103.9", "10104")
	o = place(t, v2, market("b", exchange.Futures, "BTCUSDT", exchange.Buy, "1"))
	eq(t, "fee at 10,104", o.Fills[0].Fee, d("5.052"))
}

// binance.md: isolated short 1 BTC at 60,000 with 12,000 isolated wallet (MMR 0.5%, cum 50) → 71,691.54.
func TestIsolatedLiquidation(t *testing.T) {
	v, _ := newVenue(t, config(), nil)
	ctx := context.Background()
	if err := v.SetupSymbol(ctx, "BTCUSDT", 5, true); err != nil {
		t.Fatal(err)
	}
	quote(v, exchange.Futures, "BTCUSDT", "60000", "60000.1")
	mark(v, "BTCUSDT", "60000")
	o := place(t, v, market("short", exchange.Futures, "BTCUSDT", exchange.Sell, "1"))
	eq(t, "fill price", o.Fills[0].Price, d("60000"))
	ps, err := v.Positions(ctx)
	if err != nil || len(ps) != 1 {
		t.Fatalf("positions %+v %v", ps, err)
	}
	p := ps[0]
	if !p.Isolated || p.Leverage != 5 {
		t.Fatalf("position %+v", p)
	}
	eq(t, "isolated wallet", p.IsolatedWallet, d("12000"))
	eq(t, "liquidation price", p.LiquidationPrice.Round(2), d("71691.54"))
	fee := d("60000").Mul(d("0.0005"))
	eq(t, "cross wallet", balance(t, v, exchange.Futures, "USDT").Free, d("20000").Sub(d("12000")).Sub(fee))

	for _, m := range []string{"65000", "71000", "71691.54"} { // below the liquidation price: nothing happens
		mark(v, "BTCUSDT", m)
		if l := v.Liquidations(); len(l) != 0 {
			t.Fatalf("liquidated at mark %s (liquidation price %s): %+v", m, p.LiquidationPrice, l)
		}
	}
	mark(v, "BTCUSDT", "71691.55")
	ls := v.Liquidations()
	if len(ls) != 1 {
		t.Fatalf("no liquidation at 71,691.55 (liquidation price %s)", p.LiquidationPrice)
	}
	l := ls[0]
	eq(t, "closed at the mark", l.Price, d("71691.55"))
	eq(t, "qty", l.Qty, d("1"))
	eq(t, "realized", l.RealizedPnL, d("60000").Sub(d("71691.55")))
	// At the liquidation price the margin left equals the maintenance margin: the clearance fee takes it.
	eq(t, "clearance fee", l.Fee, d("12000").Add(l.RealizedPnL))
	if ps, _ := v.Positions(ctx); len(ps) != 0 {
		t.Fatalf("position still open: %+v", ps)
	}
	// The isolated margin is lost: the wallet keeps what was never committed to the position.
	after := balance(t, v, exchange.Futures, "USDT")
	eq(t, "cross wallet after", after.Free, d("20000").Sub(d("12000")).Sub(fee))
	eq(t, "isolated wallets after", after.Locked, decimal.Zero)
	q, err := v.QueryOrder(ctx, exchange.Futures, "BTCUSDT", l.ClientID)
	if err != nil || q.Status != exchange.StatusFilled || len(q.Fills) != 1 || q.Fills[0].TradeID != l.TradeID {
		t.Fatalf("liquidation order %+v %v", q, err)
	}
}

func TestCrossLiquidationOfALonePosition(t *testing.T) {
	cfg := config()
	cfg.InitialBalances[exchange.Futures] = map[string]decimal.Decimal{"USDT": d("2000")}
	v, _ := newVenue(t, cfg, nil)
	ctx := context.Background()
	quote(v, exchange.Futures, "BTCUSDT", "30000", "30000")
	mark(v, "BTCUSDT", "30000")
	place(t, v, market("long", exchange.Futures, "BTCUSDT", exchange.Buy, "1"))
	ps, _ := v.Positions(ctx)
	lp := ps[0].LiquidationPrice
	// Long 1 at 30,000 on a 2000 − 15 (fee) wallet, bracket 0.4%/0: LP = (1985 − 30000)/(0.004 − 1).
	want := d("1985").Sub(d("30000")).DivRound(d("0.004").Sub(d("1")), 10)
	eq(t, "cross liquidation price", lp, want)
	above := lp.Add(d("0.01")).Round(2)
	mark(v, "BTCUSDT", above.String())
	if len(v.Liquidations()) != 0 {
		t.Fatalf("liquidated above the liquidation price %s", lp)
	}
	mark(v, "BTCUSDT", lp.Sub(d("0.01")).Round(2).String())
	if len(v.Liquidations()) != 1 {
		t.Fatalf("not liquidated below the liquidation price %s", lp)
	}
	acct, _ := v.FuturesAccount(ctx)
	if acct.WalletBalance.IsNegative() {
		t.Fatalf("wallet went negative: %s", acct.WalletBalance)
	}
}

func TestSeveralCrossPositionsLiquidateOnTheMarginRatio(t *testing.T) {
	cfg := config()
	cfg.InitialBalances[exchange.Futures] = map[string]decimal.Decimal{"USDT": d("3000")}
	v, _ := newVenue(t, cfg, nil)
	ctx := context.Background()
	quote(v, exchange.Futures, "BTCUSDT", "30000", "30000")
	quote(v, exchange.Futures, "ETHUSDT", "2000", "2000")
	mark(v, "BTCUSDT", "30000")
	mark(v, "ETHUSDT", "2000")
	place(t, v, market("b", exchange.Futures, "BTCUSDT", exchange.Buy, "1"))
	place(t, v, market("e", exchange.Futures, "ETHUSDT", exchange.Buy, "5"))
	// Walk BTC down; the account must be liquidated exactly when maintenance ≥ margin balance.
	for p := 30000; p > 20000; p -= 50 {
		acct, err := v.FuturesAccount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mark(v, "BTCUSDT", decimal.NewFromInt(int64(p)).String())
		liquidated := len(v.Liquidations()) > 0
		// What the account looked like at this mark, computed independently.
		wallet := acct.WalletBalance
		upnl := decimal.NewFromInt(int64(p)).Sub(d("30000")).Add(decimal.Zero)
		ethUpnl := decimal.Zero
		mb := wallet.Add(upnl).Add(ethUpnl)
		mmBTC, _ := exchange.MaintenanceMargin(decimal.NewFromInt(int64(p)), exchange.DefaultBrackets())
		mmETH, _ := exchange.MaintenanceMargin(d("10000"), exchange.DefaultBrackets())
		should := mmBTC.Add(mmETH).GreaterThanOrEqual(mb)
		if liquidated != should {
			t.Fatalf("at BTC %d: liquidated=%v, margin balance %s, maintenance %s", p, liquidated, mb, mmBTC.Add(mmETH))
		}
		if liquidated {
			if len(v.Liquidations()) != 2 {
				t.Fatalf("want both cross positions closed: %+v", v.Liquidations())
			}
			if ps, _ := v.Positions(ctx); len(ps) != 0 {
				t.Fatalf("positions left: %+v", ps)
			}
			return
		}
	}
	t.Fatal("never liquidated")
}

func TestOrderRules(t *testing.T) {
	ctx := context.Background()
	v, _ := newVenue(t, config(), nil)

	// Never quoted: rejected, and Quote says ErrNoQuote.
	_, err := v.PlaceOrder(ctx, market("a", exchange.Spot, "BTCUSDT", exchange.Buy, "0.001"))
	if !exchange.IsRejected(err) {
		t.Fatalf("order on an unquoted market: %v", err)
	}
	if _, err := v.Quote(ctx, exchange.Spot, "BTCUSDT"); !errors.Is(err, exchange.ErrNoQuote) {
		t.Fatalf("Quote before data: %v", err)
	}
	quote(v, exchange.Spot, "BTCUSDT", "60000", "60000.01")
	quote(v, exchange.Futures, "BTCUSDT", "60000", "60000.1")

	// Filters.
	var re *exchange.RejectError
	if _, err := v.PlaceOrder(ctx, market("f1", exchange.Spot, "BTCUSDT", exchange.Buy, "0.000015")); !errors.As(err, &re) || re.Kind != exchange.RejectFilter {
		t.Fatalf("off-step qty: %v", err)
	}
	if _, err := v.PlaceOrder(ctx, market("f2", exchange.Futures, "BTCUSDT", exchange.Buy, "0.001")); !errors.As(err, &re) || re.Kind != exchange.RejectFilter {
		t.Fatalf("below min notional: %v", err)
	}
	// Insufficient balance: -2010 spot, -2019 futures.
	if _, err := v.PlaceOrder(ctx, market("i1", exchange.Spot, "BTCUSDT", exchange.Buy, "2")); !errors.As(err, &re) || re.Code != -2010 || re.Kind != exchange.RejectInsufficient {
		t.Fatalf("spot insufficient: %v", err)
	}
	if _, err := v.PlaceOrder(ctx, market("i2", exchange.Spot, "BTCUSDT", exchange.Sell, "0.01")); !errors.As(err, &re) || re.Code != -2010 {
		t.Fatalf("spot sell without BTC: %v", err)
	}
	// 20,000 USDT at 20x covers 400,000 of notional; 7 BTC at 60,000 needs 21,000 + fee.
	if _, err := v.PlaceOrder(ctx, market("i3", exchange.Futures, "BTCUSDT", exchange.Buy, "7")); !errors.As(err, &re) || re.Code != -2019 || re.Kind != exchange.RejectInsufficient {
		t.Fatalf("futures insufficient margin: %v", err)
	}
	// Nothing happened.
	eq(t, "spot USDT", balance(t, v, exchange.Spot, "USDT").Free, d("100000"))
	if _, err := v.QueryOrder(ctx, exchange.Spot, "BTCUSDT", "i1"); !errors.Is(err, exchange.ErrNotFound) {
		t.Fatalf("a rejected order is queryable: %v", err)
	}

	// IOC below the ask expires with nothing filled; at the ask it fills.
	ioc := exchange.OrderRequest{ClientID: "ioc1", Venue: exchange.Spot, Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.LimitIOC, Qty: d("0.01"), Price: d("59999")}
	o := place(t, v, ioc)
	if o.Status != exchange.StatusExpired || !o.ExecutedQty.IsZero() {
		t.Fatalf("IOC below the ask: %+v", o)
	}
	ioc.ClientID, ioc.Price = "ioc2", d("60001")
	o = place(t, v, ioc)
	if o.Status != exchange.StatusFilled || !o.Fills[0].Price.Equal(d("60000.01")) {
		t.Fatalf("IOC above the ask fills at the ask: %+v", o)
	}

	// Duplicate client id.
	if _, err := v.PlaceOrder(ctx, ioc); !errors.As(err, &re) || re.Code != -2010 || re.Reason != "Duplicate order sent." {
		t.Fatalf("duplicate: %v", err)
	}

	// reduceOnly: rejected without a position, capped at it.
	ro := market("ro1", exchange.Futures, "BTCUSDT", exchange.Sell, "0.01")
	ro.ReduceOnly = true
	if _, err := v.PlaceOrder(ctx, ro); !errors.As(err, &re) || re.Code != -2022 {
		t.Fatalf("reduceOnly without position: %v", err)
	}
	place(t, v, market("open", exchange.Futures, "BTCUSDT", exchange.Buy, "0.005"))
	ro.ClientID = "ro2"
	o = place(t, v, ro)
	if !o.ExecutedQty.Equal(d("0.005")) || o.Status != exchange.StatusExpired {
		t.Fatalf("reduceOnly capped at the position: %+v", o)
	}
	if ps, _ := v.Positions(ctx); len(ps) != 0 {
		t.Fatalf("position left: %+v", ps)
	}

	// Suspended market: rejected and no quote.
	v.Apply(&exchange.Event{Kind: exchange.EventSuspend, Venue: exchange.Spot, Symbol: "BTCUSDT", Time: t0})
	if _, err := v.PlaceOrder(ctx, market("s1", exchange.Spot, "BTCUSDT", exchange.Buy, "0.001")); !errors.As(err, &re) || re.Kind != exchange.RejectNoLiquidity {
		t.Fatalf("order on a suspended market: %v", err)
	}
	if _, err := v.Quote(ctx, exchange.Spot, "BTCUSDT"); !errors.Is(err, exchange.ErrNoQuote) {
		t.Fatalf("Quote while suspended: %v", err)
	}
	v.Apply(&exchange.Event{Kind: exchange.EventResume, Venue: exchange.Spot, Symbol: "BTCUSDT", Time: t0})
	if _, err := v.Quote(ctx, exchange.Spot, "BTCUSDT"); err != nil {
		t.Fatalf("Quote after resume: %v", err)
	}
}

func TestLimitMakerRestsFillsAndCancels(t *testing.T) {
	ctx := context.Background()
	v, _ := newVenue(t, config(), nil)
	quote(v, exchange.Spot, "BTCUSDT", "60000", "60000.01")
	req := exchange.OrderRequest{ClientID: "mk1", Venue: exchange.Spot, Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.LimitMaker, Qty: d("0.1"), Price: d("60000.01")}
	var re *exchange.RejectError
	if _, err := v.PlaceOrder(ctx, req); !errors.As(err, &re) || re.Code != -2010 {
		t.Fatalf("crossing LIMIT_MAKER: %v", err)
	}
	req.Price = d("59000")
	o := place(t, v, req)
	if o.Status != exchange.StatusNew {
		t.Fatalf("resting: %+v", o)
	}
	usdt := balance(t, v, exchange.Spot, "USDT")
	eq(t, "locked", usdt.Locked, d("5900"))
	eq(t, "free", usdt.Free, d("94100"))
	quote(v, exchange.Spot, "BTCUSDT", "58999", "59000")
	o, err := v.QueryOrder(ctx, exchange.Spot, "BTCUSDT", "mk1")
	if err != nil || o.Status != exchange.StatusFilled || !o.Fills[0].Maker || !o.Fills[0].Price.Equal(d("59000")) {
		t.Fatalf("maker fill: %+v %v", o, err)
	}
	usdt = balance(t, v, exchange.Spot, "USDT")
	eq(t, "locked after fill", usdt.Locked, decimal.Zero)
	eq(t, "free after fill", usdt.Free, d("94100"))
	eq(t, "BTC", balance(t, v, exchange.Spot, "BTC").Free, d("0.0999"))

	req.ClientID, req.Price = "mk2", d("58000")
	place(t, v, req)
	c, err := v.CancelOrder(ctx, exchange.Spot, "BTCUSDT", "mk2")
	if err != nil || c.Status != exchange.StatusCanceled {
		t.Fatalf("cancel: %+v %v", c, err)
	}
	eq(t, "free after cancel", balance(t, v, exchange.Spot, "USDT").Free, d("94100"))
	if _, err := v.CancelOrder(ctx, exchange.Spot, "BTCUSDT", "mk1"); !errors.As(err, &re) || re.Code != -2011 {
		t.Fatalf("cancel of a filled order: %v", err)
	}
	if _, err := v.CancelOrder(ctx, exchange.Spot, "BTCUSDT", "nope"); !errors.Is(err, exchange.ErrNotFound) {
		t.Fatalf("cancel of an unknown order: %v", err)
	}
}

func TestTransfers(t *testing.T) {
	ctx := context.Background()
	v, _ := newVenue(t, config(), nil)
	tr, err := v.Transfer(ctx, exchange.TransferRequest{Kind: exchange.SpotToFutures, Asset: "USDT", Amount: d("1234.5")})
	if err != nil || tr.TranID != "paper-tr-1" {
		t.Fatalf("transfer %+v %v", tr, err)
	}
	eq(t, "spot", balance(t, v, exchange.Spot, "USDT").Free, d("98765.5"))
	eq(t, "futures", balance(t, v, exchange.Futures, "USDT").Free, d("21234.5"))
	if _, err := v.Transfer(ctx, exchange.TransferRequest{Kind: exchange.SpotToMargin, Asset: "USDT", Amount: d("100")}); err != nil {
		t.Fatal(err)
	}
	eq(t, "margin", balance(t, v, exchange.Margin, "USDT").Free, d("100"))
	var re *exchange.RejectError
	if _, err := v.Transfer(ctx, exchange.TransferRequest{Kind: exchange.FuturesToSpot, Asset: "USDT", Amount: d("21234.51")}); !errors.As(err, &re) || re.Kind != exchange.RejectInsufficient {
		t.Fatalf("over-transfer: %v", err)
	}
	// Futures margin in use cannot leave.
	quote(v, exchange.Futures, "BTCUSDT", "60000", "60000")
	place(t, v, market("l", exchange.Futures, "BTCUSDT", exchange.Buy, "1")) // 3,000 initial margin at 20x, 30 fee
	acct, _ := v.FuturesAccount(ctx)
	if _, err := v.Transfer(ctx, exchange.TransferRequest{Kind: exchange.FuturesToSpot, Asset: "USDT", Amount: acct.AvailableBalance.Add(d("0.01"))}); !exchange.IsRejected(err) {
		t.Fatalf("transfer beyond the available balance: %v", err)
	}
	all, _ := v.Transfers(ctx, "", time.Time{})
	only, _ := v.Transfers(ctx, exchange.SpotToFutures, time.Time{})
	if len(all) != 2 || len(only) != 1 || only[0].TranID != "paper-tr-1" {
		t.Fatalf("transfers %+v / %+v", all, only)
	}
}

func TestSetupSymbol(t *testing.T) {
	ctx := context.Background()
	v, _ := newVenue(t, config(), nil)
	if err := v.SetupSymbol(ctx, "BTCUSDT", 3, false); err != nil {
		t.Fatal(err)
	}
	if err := v.SetupSymbol(ctx, "BTCUSDT", 3, false); err != nil { // no need to change
		t.Fatal(err)
	}
	var re *exchange.RejectError
	if err := v.SetupSymbol(ctx, "BTCUSDT", 126, false); !errors.As(err, &re) {
		t.Fatalf("leverage 126: %v", err)
	}
	quote(v, exchange.Futures, "BTCUSDT", "60000", "60000")
	place(t, v, market("l", exchange.Futures, "BTCUSDT", exchange.Buy, "0.01"))
	if err := v.SetupSymbol(ctx, "BTCUSDT", 3, true); !errors.As(err, &re) || re.Code != -4048 {
		t.Fatalf("margin type change with a position: %v", err)
	}
	ps, _ := v.Positions(ctx)
	if ps[0].Leverage != 3 || ps[0].Isolated {
		t.Fatalf("position %+v", ps[0])
	}
}

// Both legs are sent concurrently by the executor.
func TestConcurrentLegs(t *testing.T) {
	ctx := context.Background()
	v, _ := newVenue(t, config(), nil)
	quote(v, exchange.Spot, "BTCUSDT", "60000", "60000.01")
	quote(v, exchange.Futures, "BTCUSDT", "60000", "60000.1")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(3)
		go func() {
			defer wg.Done()
			_, _ = v.PlaceOrder(ctx, market("s"+string(rune('a'+i)), exchange.Spot, "BTCUSDT", exchange.Buy, "0.01"))
		}()
		go func() {
			defer wg.Done()
			_, _ = v.PlaceOrder(ctx, market("p"+string(rune('a'+i)), exchange.Futures, "BTCUSDT", exchange.Sell, "0.01"))
		}()
		go func() {
			defer wg.Done()
			mark(v, "BTCUSDT", "60000")
			_, _ = v.Positions(ctx)
		}()
	}
	wg.Wait()
	eq(t, "BTC", balance(t, v, exchange.Spot, "BTC").Free, d("0.01").Mul(d("0.999")).Mul(d("20")))
	ps, _ := v.Positions(ctx)
	eq(t, "short", ps[0].Qty, d("-0.2"))
}

func TestConfigValidation(t *testing.T) {
	cfg := config()
	cfg.Slippage = d("-0.1")
	cfg.DefaultLeverage = 500
	cfg.Instruments = append(cfg.Instruments, cfg.Instruments[0])
	_, err := paper.New(context.Background(), cfg, nil, nil)
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, want := range []string{"slippage", "leverage", "twice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
