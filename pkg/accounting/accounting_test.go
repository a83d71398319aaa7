package accounting

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/strategy/pair"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestClosedCarryPair(t *testing.T) {
	// Buy 0.10011 BTC spot at 60,000 (fee 0.00010011 BTC), short 0.1 perp at 60,060 (fee 0.05% = 3.003);
	// three funding payments; close: sell 0.1 spot at 61,000 (fee 6.1 USDT), buy 0.1 perp at 61,010 (3.0505).
	fills := []exchange.Fill{
		{Venue: exchange.Spot, Side: exchange.Buy, Qty: d("0.10011"), Price: d("60000"), Fee: d("0.00010011"), FeeAsset: "BTC"},
		{Venue: exchange.Futures, Side: exchange.Sell, Qty: d("0.1"), Price: d("60060"), Fee: d("3.003"), FeeAsset: "USDT"},
		{Venue: exchange.Spot, Side: exchange.Sell, Qty: d("0.1"), Price: d("61000"), Fee: d("6.1"), FeeAsset: "USDT"},
		{Venue: exchange.Futures, Side: exchange.Buy, Qty: d("0.1"), Price: d("61010"), Fee: d("3.0505"), FeeAsset: "USDT"},
	}
	funding := []exchange.FundingPayment{{Amount: d("0.6")}, {Amount: d("0.61")}, {Amount: d("-0.05")}}
	p := pair.Pair{ID: 1, Symbol: "BTCUSDT", Direction: pair.Carry, State: pair.Closed}
	got := Compute(p, fills, funding, nil, Prices{Spot: d("61000"), Perp: d("61010")}, "BTC", "USDT")

	// Dust left: 0.10011 − 0.00010011 − 0.1 = 0.00000989 BTC, valued at 61,000 = 0.6032900.
	if !got.SpotQty.Equal(d("0.00000989")) || !got.PerpQty.IsZero() {
		t.Fatalf("holdings %s / %s", got.SpotQty, got.PerpQty)
	}
	cash := d("-6006.6").Add(d("6006")).Add(d("6100")).Sub(d("6.1")).Sub(d("6101")).Sub(d("3.003")).Sub(d("3.0505"))
	net := cash.Add(d("0.00000989").Mul(d("61000"))).Add(d("1.16"))
	if !got.NetPnL.Equal(net) {
		t.Fatalf("net %s, want %s", got.NetPnL, net)
	}
	fees := d("0.00010011").Mul(d("60000")).Add(d("3.003")).Add(d("6.1")).Add(d("3.0505"))
	if !got.Fees.Equal(fees) || !got.Funding.Equal(d("1.16")) {
		t.Fatalf("fees %s (want %s), funding %s", got.Fees, fees, got.Funding)
	}
	if !got.BasisPnL.Equal(net.Sub(d("1.16")).Add(fees)) {
		t.Fatalf("basis %s", got.BasisPnL)
	}
	// Sanity: spot gained 1000×0.1, perp lost 950×0.1; basis PnL ≈ 5 plus the dust's and fee's price effects.
	if got.BasisPnL.Sub(d("5")).Abs().GreaterThan(d("1")) {
		t.Fatalf("basis PnL %s is not about 5", got.BasisPnL)
	}
}

func TestOpenPairNeedsPrices(t *testing.T) {
	fills := []exchange.Fill{
		{Venue: exchange.Spot, Side: exchange.Buy, Qty: d("1"), Price: d("100"), Fee: d("0.001"), FeeAsset: "BTC"},
		{Venue: exchange.Futures, Side: exchange.Sell, Qty: d("1"), Price: d("101"), Fee: d("0.0505"), FeeAsset: "USDT"},
	}
	p := pair.Pair{ID: 2, Direction: pair.Carry, State: pair.Open}
	if got := Compute(p, fills, nil, nil, Prices{}, "BTC", "USDT"); got.Valued {
		t.Fatal("an open pair without prices cannot be valued")
	}
	got := Compute(p, fills, nil, nil, Prices{Spot: d("110"), Perp: d("110")}, "BTC", "USDT")
	// cash = −100 + 101 − 0.0505; holdings = 0.999×110 − 1×110 = −0.11; net = 0.8395
	if !got.Valued || !got.NetPnL.Equal(d("0.8395")) {
		t.Fatalf("net %s valued %v", got.NetPnL, got.Valued)
	}
}

func TestReversePairPaysItsInterest(t *testing.T) {
	// Borrow and sell 1 BTC at 100; interest 0.003 BTC over the hold; buy back 1.003 (grossed up for the 0.1%
	// fee: 1.00401 bought, 0.00100401 fee) at 90 and repay. The perp long: bought at 101, sold at 91.
	fills := []exchange.Fill{
		{Venue: exchange.Margin, Side: exchange.Sell, Qty: d("1"), Price: d("100"), Fee: d("0.1"), FeeAsset: "USDT"},
		{Venue: exchange.Futures, Side: exchange.Buy, Qty: d("1"), Price: d("101"), Fee: d("0.0505"), FeeAsset: "USDT"},
		{Venue: exchange.Margin, Side: exchange.Buy, Qty: d("1.00401"), Price: d("90"), Fee: d("0.00100401"), FeeAsset: "BTC"},
		{Venue: exchange.Futures, Side: exchange.Sell, Qty: d("1"), Price: d("91"), Fee: d("0.0455"), FeeAsset: "USDT"},
	}
	loans := []exchange.LoanTx{{Kind: exchange.LoanBorrow, Asset: "BTC", Amount: d("1")}, {Kind: exchange.LoanInterest, Asset: "BTC", Amount: d("0.003")},
		{Kind: exchange.LoanRepay, Asset: "BTC", Amount: d("1.003")}}
	p := pair.Pair{ID: 3, Direction: pair.Reverse, State: pair.Closed}
	got := Compute(p, fills, nil, loans, Prices{Spot: d("90"), Perp: d("91")}, "BTC", "USDT")
	// cash: +100 − 0.1 − 101 − 0.0505 − 90.3609 + 91 − 0.0455 = −0.5569; the bought-back BTC all went to the
	// loan (1 + 0.003 interest, the fee took 0.00100401): nothing held except 0.00000599 dust at 90.
	if !got.SpotQty.Equal(d("0.00000599")) {
		t.Fatalf("spot left %s", got.SpotQty)
	}
	want := d("-0.5569").Add(d("0.00000599").Mul(d("90")))
	if !got.NetPnL.Equal(want) || !got.Interest.Equal(d("0.27")) {
		t.Fatalf("net %s (want %s), interest %s (want 0.27)", got.NetPnL, want, got.Interest)
	}
}
