package risk_test

import (
	"strings"
	"testing"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/risk"
	"github.com/carry-trading/carry/strategy/pair"
)

func TestHedgeDriftCorrections(t *testing.T) {
	r := newRules(t, nil) // band 1%; BTC-like steps: spot 0.00001, perp 0.001 (coarser)
	m := market("BTCUSDT", "BTC")
	cases := []struct {
		name               string
		dir                pair.Direction
		spot, perp, target string
		price              string
		shrinkOnly         bool
		drifted            bool
		want               *risk.LegOrder // nil: no order
	}{
		// Spot bought 0.10011 at 0.1% fee in BTC → 0.10000989 net against 0.100 short: ratio 1.0001.
		{name: "base fee dust, grossed up", spot: "0.10000989", perp: "0.1", target: "0.1"},
		// Spot bought 0.1 with the fee in BTC → 0.0999 net: ratio 0.999, inside the band.
		{name: "base fee not grossed up", spot: "0.0999", perp: "0.1", target: "0.1"},
		// 0.0029 against 0.003: 3.3% off, but only 0.0001 apart, less than one 0.001 step: never traded.
		{name: "beyond band within one step", spot: "0.0029", perp: "0.003", target: "0.003"},
		// The spot buy filled 0.04 of 0.1; the perp matches the target: buy the missing 0.06, grossed up:
		// 0.06 / 0.999 = 0.0600600… → 0.06007 on the 0.00001 step (0.06006 × 0.999 would leave 0.05999994).
		{name: "partial spot fill", spot: "0.04", perp: "0.1", target: "0.1", drifted: true,
			want: &risk.LegOrder{Leg: pair.LegSpot, Venue: exchange.Spot, Side: exchange.Buy, Qty: d("0.06007")}},
		// The perp filled 0.04 of 0.1: complete it.
		{name: "partial perp fill", spot: "0.1", perp: "0.04", target: "0.1", drifted: true,
			want: &risk.LegOrder{Leg: pair.LegPerp, Venue: exchange.Futures, Side: exchange.Sell, Qty: d("0.06")}},
		// Same, but the account is reducing: shrink the larger leg instead.
		{name: "partial perp fill while reducing", spot: "0.1", perp: "0.04", target: "0.1", shrinkOnly: true, drifted: true,
			want: &risk.LegOrder{Leg: pair.LegSpot, Venue: exchange.Spot, Side: exchange.Sell, Qty: d("0.06")}},
		// Neither leg at the target: ambiguous, shrink the larger.
		{name: "ambiguous spot larger", spot: "0.07", perp: "0.05", target: "0.1", drifted: true,
			want: &risk.LegOrder{Leg: pair.LegSpot, Venue: exchange.Spot, Side: exchange.Sell, Qty: d("0.02")}},
		{name: "ambiguous perp larger", spot: "0.05", perp: "0.08", target: "0.1", drifted: true,
			want: &risk.LegOrder{Leg: pair.LegPerp, Venue: exchange.Futures, Side: exchange.Buy, Qty: d("0.03"), ReduceOnly: true}},
		// The perp lags by 0.0012: growing it by 0.001 is 60 USDT < the 100 minimum, so the spot is sold instead.
		{name: "preferred leg below min notional", spot: "0.1", perp: "0.0988", target: "0.1", drifted: true,
			want: &risk.LegOrder{Leg: pair.LegSpot, Venue: exchange.Spot, Side: exchange.Sell, Qty: d("0.0012")}},
		// At 1,000 neither 0.0015 spot (1.5 USDT) nor 0.002 perp (2 USDT) clears a minimum: reported, no order.
		{name: "neither leg can trade", spot: "0.0045", perp: "0.003", target: "0.003", price: "1000", drifted: true},
		// Reverse: 0.1 owed (the target), perp long only 0.05: buy the perp up.
		{name: "reverse partial perp", dir: pair.Reverse, spot: "0.1", perp: "0.05", target: "0.1", drifted: true,
			want: &risk.LegOrder{Leg: pair.LegPerp, Venue: exchange.Futures, Side: exchange.Buy, Qty: d("0.05")}},
		// Reverse ambiguous with more owed than hedged: buy back 0.03 and repay, grossed up for the fee
		// (0.03 / 0.999 = 0.030030… → 0.03004).
		{name: "reverse ambiguous", dir: pair.Reverse, spot: "0.08", perp: "0.05", target: "0.1", drifted: true,
			want: &risk.LegOrder{Leg: pair.LegSpot, Venue: exchange.Margin, Side: exchange.Buy, SideEffect: exchange.AutoRepay, Qty: d("0.03004")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := openPair(1, "BTCUSDT", c.spot, c.perp, c.target)
			if c.dir != "" {
				p.Direction = c.dir
			}
			px := "60000"
			if c.price != "" {
				px = c.price
			}
			h := r.CheckHedge(p, m, d(px), c.shrinkOnly)
			if h.Drifted != c.drifted {
				t.Fatalf("drifted %v (ratio %s, diff %s); want %v", h.Drifted, h.Ratio, h.Diff, c.drifted)
			}
			if c.want == nil {
				if h.Correction != nil {
					t.Fatalf("correction %+v; want none", *h.Correction)
				}
				if c.drifted && !strings.Contains(h.Reason, "no corrective order") {
					t.Fatalf("reason %q does not say why nothing is done", h.Reason)
				}
				return
			}
			if h.Correction == nil {
				t.Fatalf("no correction: %s", h.Reason)
			}
			got := *h.Correction
			if got.Leg != c.want.Leg || got.Venue != c.want.Venue || got.Side != c.want.Side || !got.Qty.Equal(c.want.Qty) ||
				got.ReduceOnly != c.want.ReduceOnly || got.SideEffect != c.want.SideEffect {
				t.Fatalf("correction %+v; want %+v\n%s", got, *c.want, h.Reason)
			}
			if !strings.Contains(h.Reason, "hedge ratio") || !strings.Contains(h.Reason, c.spot) {
				t.Fatalf("reason lacks the numbers: %s", h.Reason)
			}
		})
	}
}

// Evaluate issues hedge corrections for open pairs only, and not for a pair being deleveraged or flattened.
func TestEvaluateHedgeActions(t *testing.T) {
	r := newRules(t, nil)
	in := atDistance(t, "0.1", "0.40")
	in.Pairs[0].SpotQty = d("0.04")
	rep := evaluate(t, r, in)
	hs := actionsOf(rep, risk.ActionHedge)
	if len(hs) != 1 || hs[0].PairID != 7 || !hs[0].Orders[0].Qty.Equal(d("0.06007")) {
		t.Fatalf("hedge actions %+v", hs)
	}
	in.Pairs[0].State = pair.Opening // the executor's business while opening
	if rep := evaluate(t, r, in); len(rep.Actions) != 0 {
		t.Fatalf("opening pair got %v", kinds(rep))
	}
	in = atDistance(t, "0.1", "0.08")
	in.Pairs[0].SpotQty = d("0.04")
	if got := kinds(evaluate(t, r, in)); len(got) != 1 || got[0] != risk.ActionFlatten {
		t.Fatalf("a flattened pair also got %v", got)
	}
	// Uncorrectable drift becomes a note.
	in = atDistance(t, "0.003", "0.40")
	in.Pairs[0].SpotQty = d("0.0045")
	in.Positions[0].MarkPrice = d("1000")
	in.Positions[0].EntryPrice = d("1000")
	in.Wallet = d("100")
	rep = evaluate(t, r, in)
	if len(notesOf(rep, risk.NoteHedgeDrift)) != 1 || len(actionsOf(rep, risk.ActionHedge)) != 0 {
		t.Fatalf("notes %+v actions %v", rep.Notes, kinds(rep))
	}
}
