package exchange

import (
	"errors"
	"testing"

	"github.com/shopspring/decimal"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestFundingAmountVectors(t *testing.T) {
	cases := []struct {
		name            string
		qty, mark, rate string
		want            string
	}{
		{"short 0.5 BTC at 60k, +0.01% receives 3", "-0.5", "60000", "0.0001", "3"},
		{"long pays the same", "0.5", "60000", "0.0001", "-3"},
		{"negative rate: short pays", "-0.5", "60000", "-0.0001", "-3"},
		// A short ETHUSDT position worth 23.10 USDT at 0.01%: qty × mark = 23.10.
		{"23.10 USDT short at 0.01% receives 0.00231", "-0.01", "2310", "0.0001", "0.00231"},
	}
	for _, c := range cases {
		got := FundingAmount(d(c.qty), d(c.mark), d(c.rate))
		if !got.Equal(d(c.want)) {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}

func TestSpotBuyGrossUp(t *testing.T) {
	cases := []struct{ net, fee, step, want string }{
		{"0.100", "0.001", "0.00001", "0.10011"}, // binance.md example
		{"10", "0.001", "0.0001", "10.0101"},
		{"1", "0", "0.001", "1"},
		{"0.00999", "0.001", "0.00001", "0.01"},
	}
	for _, c := range cases {
		got := SpotBuyGrossUp(d(c.net), d(c.fee), d(c.step))
		if !got.Equal(d(c.want)) {
			t.Errorf("gross-up %s at %s step %s: got %s, want %s", c.net, c.fee, c.step, got, c.want)
		}
		keep := decimal.NewFromInt(1).Sub(d(c.fee))
		if got.Mul(keep).LessThan(d(c.net)) {
			t.Errorf("gross-up %s leaves %s net, below target %s", got, got.Mul(keep), c.net)
		}
		if smaller := got.Sub(d(c.step)); smaller.Mul(keep).GreaterThanOrEqual(d(c.net)) {
			t.Errorf("gross-up %s is not minimal: %s would do", got, smaller)
		}
	}
	// The worked example leaves 0.10000989 net.
	if net := d("0.10011").Mul(d("0.999")); !net.Equal(d("0.10000989")) {
		t.Fatalf("net after fee = %s", net)
	}
}

func TestRounding(t *testing.T) {
	cases := []struct {
		fn          string
		q, step, ok string
	}{
		{"floor", "1.23456", "0.001", "1.234"},
		{"floor", "0.0009", "0.001", "0"},
		{"floor", "-1.2345", "0.001", "-1.234"},
		{"floor", "7", "5", "5"},
		{"ceil", "1.2341", "0.001", "1.235"},
		{"ceil", "1.234", "0.001", "1.234"},
		{"round", "60000.05", "0.1", "60000.1"},
		{"round", "60000.04", "0.1", "60000"},
		{"round", "64138.69293478", "0.01", "64138.69"},
		{"round", "2.5", "5", "5"},
	}
	for _, c := range cases {
		var got decimal.Decimal
		switch c.fn {
		case "floor":
			got = FloorToStep(d(c.q), d(c.step))
		case "ceil":
			got = CeilToStep(d(c.q), d(c.step))
		case "round":
			got = RoundToTick(d(c.q), d(c.step))
		}
		if !got.Equal(d(c.ok)) {
			t.Errorf("%s(%s, %s) = %s, want %s", c.fn, c.q, c.step, got, c.ok)
		}
	}
}

func TestCoarserStep(t *testing.T) {
	cases := []struct{ a, b, want string }{
		{"0.00001", "0.001", "0.001"},
		{"0.001", "0.00001", "0.001"},
		{"0.01", "0.01", "0.01"},
		{"0.4", "0.6", "1.2"},
		{"0", "0.001", "0.001"},
	}
	for _, c := range cases {
		if got := CoarserStep(d(c.a), d(c.b)); !got.Equal(d(c.want)) {
			t.Errorf("CoarserStep(%s, %s) = %s, want %s", c.a, c.b, got, c.want)
		}
	}
}

func btcSpot() Instrument {
	return Instrument{Venue: Spot, Symbol: "BTCUSDT", Base: "BTC", Quote: "USDT", Trading: true,
		TickSize: d("0.01"), StepSize: d("0.00001"), MinQty: d("0.00001"), MaxQty: d("9000"), MinNotional: d("5"), MinNotionalMarket: true}
}

func btcPerp() Instrument {
	return Instrument{Venue: Futures, Symbol: "BTCUSDT", Base: "BTC", Quote: "USDT", Trading: true,
		TickSize: d("0.10"), StepSize: d("0.001"), MinQty: d("0.001"), MaxQty: d("1000"), MarketStep: d("0.001"), MarketMax: d("120"), MinNotional: d("100")}
}

func TestPairQuantity(t *testing.T) {
	q, err := PairQuantity(d("0.123456"), btcSpot(), btcPerp(), d("60000"))
	if err != nil || !q.Equal(d("0.123")) {
		t.Fatalf("pair qty = %s, %v; want 0.123 (coarser step 0.001)", q, err)
	}
	// 0.001 BTC at 60,000 = 60 USDT: below the perp's 100 minimum notional.
	if _, err := PairQuantity(d("0.0015"), btcSpot(), btcPerp(), d("60000")); err == nil {
		t.Fatal("a pair below the perp min notional must be refused")
	} else if !IsRejected(err) {
		t.Fatalf("min notional refusal should be a filter rejection, got %v", err)
	}
	if _, err := PairQuantity(d("0.0004"), btcSpot(), btcPerp(), d("60000")); err == nil {
		t.Fatal("a pair below one lot must be refused")
	}
}

func TestCheckFilters(t *testing.T) {
	perp := btcPerp()
	ok := OrderRequest{Venue: Futures, Symbol: "BTCUSDT", Side: Sell, Type: Market, Qty: d("0.01")}
	if err := CheckFilters(perp, ok, d("60000")); err != nil {
		t.Fatalf("valid order refused: %v", err)
	}
	bad := []struct {
		name string
		req  OrderRequest
	}{
		{"off step", OrderRequest{Type: Market, Qty: d("0.0105")}},
		{"below min notional", OrderRequest{Type: Market, Qty: d("0.001")}},
		{"above market max", OrderRequest{Type: Market, Qty: d("121")}},
		{"off tick", OrderRequest{Type: LimitIOC, Qty: d("0.01"), Price: d("60000.05")}},
		{"no price", OrderRequest{Type: LimitIOC, Qty: d("0.01")}},
		{"zero qty", OrderRequest{Type: Market}},
	}
	for _, b := range bad {
		err := CheckFilters(perp, b.req, d("60000"))
		var rej *RejectError
		if !errors.As(err, &rej) || rej.Kind != RejectFilter {
			t.Errorf("%s: want a filter rejection, got %v", b.name, err)
		}
	}
	// Reduce-only futures orders are exempt from the minimum notional.
	if err := CheckFilters(perp, OrderRequest{Type: Market, Qty: d("0.001"), ReduceOnly: true}, d("60000")); err != nil {
		t.Fatalf("reduce-only below min notional must pass: %v", err)
	}
}

func TestLiquidationPriceVectors(t *testing.T) {
	// binance.md worked example: isolated short 1 BTC at 60,000, 12,000 wallet, MMR 0.5% cum 50.
	lp, err := LiquidationPrice(LiquidationInput{Qty: d("-1"), EntryPrice: d("60000"), Wallet: d("12000"), Brackets: DefaultBrackets()})
	if err != nil {
		t.Fatal(err)
	}
	if got := lp.Round(2); !got.Equal(d("71691.54")) {
		t.Fatalf("LP = %s, want 71691.54", got)
	}
	// At that price maintenance margin equals the margin balance: 308.46.
	mm, _ := MaintenanceMargin(lp, DefaultBrackets())
	balance := d("12000").Add(UnrealizedPnL(d("-1"), d("60000"), lp))
	if mm.Round(2).String() != "308.46" || balance.Round(2).String() != "308.46" {
		t.Fatalf("at LP maintenance %s and balance %s, want 308.46 both", mm.Round(2), balance.Round(2))
	}

	// Bracket re-solve: 10 BTC short at 60,000 (600k notional, bracket 3: 0.65%/950) with 60,000 wallet:
	// LP is solved in bracket 3 first; the notional at LP (~654k) stays in bracket 3.
	lp, err = LiquidationPrice(LiquidationInput{Qty: d("-10"), EntryPrice: d("60000"), Wallet: d("60000"), Brackets: DefaultBrackets()})
	if err != nil {
		t.Fatal(err)
	}
	want := d("660950").Div(d("10.065")) // (60000 + 950 + 600000) / (10×0.0065 + 10)
	if !lp.Round(2).Equal(want.Round(2)) {
		t.Fatalf("LP = %s, want %s", lp.Round(2), want.Round(2))
	}

	// A short of 0.8 BTC at 60,000 (48k notional, bracket 1: 0.4%) with a large wallet: LP's notional is
	// far above 50k, so the first solution is in the wrong bracket and must be re-solved in bracket 2.
	lp, err = LiquidationPrice(LiquidationInput{Qty: d("-0.8"), EntryPrice: d("60000"), Wallet: d("20000"), Brackets: DefaultBrackets()})
	if err != nil {
		t.Fatal(err)
	}
	want = d("68050").Div(d("0.804")) // (20000 + 50 + 48000) / (0.8×0.005 + 0.8)
	if !lp.Round(2).Equal(want.Round(2)) {
		t.Fatalf("re-solved LP = %s, want %s", lp.Round(2), want.Round(2))
	}

	// A long with a wallet larger than its notional cannot be liquidated.
	if _, err := LiquidationPrice(LiquidationInput{Qty: d("1"), EntryPrice: d("100"), Wallet: d("200"), Brackets: DefaultBrackets()}); !errors.Is(err, ErrNoLiquidation) {
		t.Fatalf("fully covered long: want ErrNoLiquidation, got %v", err)
	}
}

func TestBuildBracketsMatchesSnapshot(t *testing.T) {
	snap := DefaultBrackets()
	floors, caps, mmrs, levs := []decimal.Decimal{}, []decimal.Decimal{}, []decimal.Decimal{}, []int{}
	for _, b := range snap {
		floors, caps, mmrs, levs = append(floors, b.Floor), append(caps, b.Cap), append(mmrs, b.MMR), append(levs, b.MaxLeverage)
	}
	for i, b := range BuildBrackets(floors, caps, mmrs, levs) {
		if !b.Cum.Equal(snap[i].Cum) {
			t.Errorf("bracket %d: cum %s, snapshot %s", i, b.Cum, snap[i].Cum)
		}
	}
}

func TestMarginRatio(t *testing.T) {
	a := FuturesAccount{MarginBalance: d("1000"), MaintenanceMargin: d("250")}
	if !a.MarginRatio().Equal(d("0.25")) {
		t.Fatalf("margin ratio = %s", a.MarginRatio())
	}
	if !(FuturesAccount{MaintenanceMargin: d("1")}).MarginRatio().Equal(d("1")) {
		t.Fatal("no margin balance with maintenance due is a ratio of 1 (liquidation)")
	}
}
