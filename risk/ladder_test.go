package risk_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/config"
	"github.com/carry-trading/carry/risk"
	"github.com/carry-trading/carry/strategy/pair"
)

// atDistance is an account holding one hedged carry pair of qty BTC (short perp at 60,000, marked there)
// whose cross wallet puts the liquidation price exactly dist above the mark.
func atDistance(t *testing.T, qty, dist string) risk.Input {
	t.Helper()
	pos := short("BTCUSDT", qty, "60000", "60000")
	lp := d("60000").Mul(decimal.NewFromInt(1).Add(d(dist)))
	wb, err := risk.WalletForLiquidation(lp, exchange.LiquidationInput{Qty: pos.Qty, EntryPrice: pos.EntryPrice, Brackets: exchange.DefaultBrackets()})
	if err != nil {
		t.Fatal(err)
	}
	return risk.Input{Time: t0, State: risk.Active, Wallet: wb, SpotQuoteFree: d("1000000"), Markets: markets("BTCUSDT"),
		Positions: []exchange.Position{pos}, Pairs: []pair.Pair{openPair(7, "BTCUSDT", qty, qty, qty)}}
}

func TestLadderOrderingAndDisabledActions(t *testing.T) {
	off := func(levels ...string) func(*config.RiskConfig) {
		return func(c *config.RiskConfig) {
			for _, l := range levels {
				switch l {
				case "topup":
					c.Actions.Topup = false
				case "deleverage":
					c.Actions.Deleverage = false
				case "flatten":
					c.Actions.Flatten = false
				case "halt":
					c.Actions.Halt = false
				}
			}
		}
	}
	cases := []struct {
		name     string
		dist     string
		disabled []string
		state    risk.State
		want     []risk.ActionKind
		skipped  []risk.Level
	}{
		{"healthy", "0.35", nil, risk.Active, nil, nil},
		{"topup rung", "0.25", nil, risk.Active, []risk.ActionKind{risk.ActionTopup}, nil},
		{"deleverage rung", "0.15", nil, risk.Active, []risk.ActionKind{risk.ActionDeleverage}, nil},
		{"flatten rung", "0.08", nil, risk.Active, []risk.ActionKind{risk.ActionFlatten}, nil},
		{"halt rung: flatten, then halt", "0.04", nil, risk.Active, []risk.ActionKind{risk.ActionFlatten, risk.ActionHalt}, nil},
		// A disabled action does not escalate: with top-up off, the top-up rung does nothing (no deleverage
		// before deleverage_distance is reached).
		{"topup off does not escalate", "0.25", []string{"topup"}, risk.Active, nil, []risk.Level{risk.LevelTopup}},
		{"deleverage off falls back to topup", "0.15", []string{"deleverage"}, risk.Active, []risk.ActionKind{risk.ActionTopup}, []risk.Level{risk.LevelDeleverage}},
		{"flatten off falls back to deleverage, no halt yet", "0.08", []string{"flatten"}, risk.Active, []risk.ActionKind{risk.ActionDeleverage}, []risk.Level{risk.LevelFlatten}},
		{"flatten and deleverage off", "0.08", []string{"flatten", "deleverage"}, risk.Active, []risk.ActionKind{risk.ActionTopup},
			[]risk.Level{risk.LevelFlatten, risk.LevelDeleverage}},
		{"halt off", "0.04", []string{"halt"}, risk.Active, []risk.ActionKind{risk.ActionFlatten}, []risk.Level{risk.LevelHalt}},
		{"flatten off at halt", "0.04", []string{"flatten"}, risk.Active, []risk.ActionKind{risk.ActionDeleverage, risk.ActionHalt}, []risk.Level{risk.LevelFlatten}},
		{"everything off", "0.04", []string{"topup", "deleverage", "flatten", "halt"}, risk.Active, nil,
			[]risk.Level{risk.LevelFlatten, risk.LevelDeleverage, risk.LevelTopup, risk.LevelHalt}},
		{"already halted: no second halt", "0.04", nil, risk.Halted, []risk.ActionKind{risk.ActionFlatten}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRules(t, off(c.disabled...))
			in := atDistance(t, "1", c.dist)
			in.State = c.state
			rep := evaluate(t, r, in)
			got := kinds(rep)
			if !slices.Equal(got, append([]risk.ActionKind{}, c.want...)) {
				t.Fatalf("actions %v; want %v\n%+v", got, c.want, rep.Actions)
			}
			var skipped []risk.Level
			for _, n := range notesOf(rep, risk.NoteSkipped) {
				skipped = append(skipped, n.Level)
				if !strings.Contains(n.Reason, n.Level.ConfigKey()+" is off") {
					t.Fatalf("skipped note does not name the switch: %s", n.Reason)
				}
			}
			if !slices.Equal(skipped, c.skipped) {
				t.Fatalf("skipped %v; want %v", skipped, c.skipped)
			}
			for _, a := range rep.Actions {
				if !strings.Contains(a.Reason, "liquidation") || !strings.Contains(a.Reason, "60,000.00") {
					t.Fatalf("%s reason lacks the numbers: %s", a.Kind, a.Reason)
				}
			}
			if lvl := rep.Level(); (lvl == risk.LevelNone) != (c.dist == "0.35") {
				t.Fatalf("report level %s at distance %s", lvl, c.dist)
			}
		})
	}
}

// verifyTopup recomputes every position with the wallet topped up by amount: each must be at least at the
// target distance, and one cent less must leave one of them short of it (the amount is the smallest).
func verifyTopup(t *testing.T, r *risk.Rules, in risk.Input, a risk.Action, target decimal.Decimal) {
	t.Helper()
	with := func(x decimal.Decimal) risk.Report {
		in := in
		in.Positions = slices.Clone(in.Positions)
		if a.Isolated {
			for i := range in.Positions {
				if in.Positions[i].Symbol == a.Symbol {
					in.Positions[i].IsolatedWallet = in.Positions[i].IsolatedWallet.Add(x)
				}
			}
		} else {
			in.Wallet = in.Wallet.Add(x)
		}
		return evaluate(t, r, in)
	}
	after := with(a.Amount)
	short := false
	for _, p := range after.Positions {
		if p.Isolated != a.Isolated {
			continue
		}
		if p.Distance.LessThan(target) {
			t.Fatalf("after a top-up of %s, %s is %s from its liquidation; want ≥ %s", a.Amount, p.Symbol, p.Distance, target)
		}
	}
	for _, p := range with(a.Amount.Sub(d("0.01"))).Positions {
		if p.Isolated == a.Isolated && p.Distance.LessThan(target) {
			short = true
		}
	}
	if !short {
		t.Fatalf("a top-up of %s − 0.01 already reaches %s: the amount is not the smallest", a.Amount, target)
	}
}

func TestTopupBringsDistanceToTarget(t *testing.T) {
	r := newRules(t, nil)
	target := defaults(t).TopupTargetDistance
	t.Run("cross short", func(t *testing.T) {
		in := atDistance(t, "1", "0.25")
		rep := evaluate(t, r, in)
		ups := actionsOf(rep, risk.ActionTopup)
		if len(ups) != 1 || ups[0].Transfer != exchange.SpotToFutures || ups[0].Asset != "USDT" || ups[0].Isolated || ups[0].Symbol != "" {
			t.Fatalf("top-ups %+v; want one cross transfer spot → futures", ups)
		}
		// Closed form by hand: LP* = 60,000 × 1.45 = 87,000 (bracket 0.5%/50): WB* = 87,000 × 1.005 − 50 − 60,000
		// = 27,385; the wallet at 25% is 75,000 × 1.005 − 60,050 = 15,325 → 12,060.
		if !ups[0].Amount.Equal(d("12060")) {
			t.Fatalf("amount %s; want 12,060", ups[0].Amount)
		}
		if !strings.Contains(ups[0].Reason, "12,060.00 USDT") || !strings.Contains(ups[0].Reason, "87,000.00") {
			t.Fatalf("reason lacks the numbers: %s", ups[0].Reason)
		}
		verifyTopup(t, r, in, ups[0], target)
	})
	t.Run("isolated short", func(t *testing.T) {
		in := atDistance(t, "1", "0.25")
		in.Positions[0] = isolated(in.Positions[0], in.Wallet.String())
		in.Wallet = d("0")
		rep := evaluate(t, r, in)
		ups := actionsOf(rep, risk.ActionTopup)
		if len(ups) != 1 || !ups[0].Isolated || ups[0].Symbol != "BTCUSDT" || ups[0].PairID != 7 {
			t.Fatalf("top-ups %+v; want one into BTCUSDT's isolated margin", ups)
		}
		verifyTopup(t, r, in, ups[0], target)
	})
	t.Run("reverse-carry long", func(t *testing.T) {
		pos := long("BTCUSDT", "1", "60000", "60000")
		wb, _ := risk.WalletForLiquidation(d("45000"), exchange.LiquidationInput{Qty: pos.Qty, EntryPrice: pos.EntryPrice, Brackets: exchange.DefaultBrackets()})
		in := risk.Input{State: risk.Active, Wallet: wb, SpotQuoteFree: d("1000000"), Markets: markets("BTCUSDT"), Positions: []exchange.Position{pos}}
		rep := evaluate(t, r, in)
		ups := actionsOf(rep, risk.ActionTopup)
		if len(ups) != 1 {
			t.Fatalf("actions %v; want one top-up", kinds(rep))
		}
		verifyTopup(t, r, in, ups[0], target)
	})
	t.Run("two cross positions share one transfer", func(t *testing.T) {
		in := atDistance(t, "1", "0.25")
		in.Positions = append(in.Positions, short("ETHUSDT", "20", "3000", "3000"))
		in.Markets["ETHUSDT"] = market("ETHUSDT", "ETH")
		rep := evaluate(t, r, in)
		ups := actionsOf(rep, risk.ActionTopup)
		if len(ups) != 1 {
			t.Fatalf("top-ups %d (%v); want one transfer for the cross pool", len(ups), kinds(rep))
		}
		verifyTopup(t, r, in, ups[0], target)
	})
	t.Run("target in a higher bracket", func(t *testing.T) {
		// Short 10 at 50,000 with LP 55,000 (notional 550k, bracket 0.5%/50). LP* = 72,500 → 725k is in the
		// 0.65%/950 bracket: the closed form must use that bracket.
		in := exchange.LiquidationInput{Qty: d("-10"), EntryPrice: d("50000"), Brackets: exchange.DefaultBrackets()}
		wb, err := risk.WalletForLiquidation(d("55000"), in)
		if err != nil {
			t.Fatal(err)
		}
		in.Wallet = wb
		x, err := risk.TopupForDistance(in, d("50000"), target, d("0.01"))
		if err != nil {
			t.Fatal(err)
		}
		in.Wallet = wb.Add(x)
		lp, _ := exchange.LiquidationPrice(in)
		if exchange.LiquidationDistance(lp, d("50000")).LessThan(target) {
			t.Fatalf("LP after %s is %s: short of the target", x, lp)
		}
		in.Wallet = wb.Add(x).Sub(d("0.01"))
		lp2, _ := exchange.LiquidationPrice(in)
		if !exchange.LiquidationDistance(lp2, d("50000")).LessThan(target) {
			t.Fatalf("a cent less still reaches the target: not minimal")
		}
		b0, _ := exchange.BracketFor(in.Brackets, d("550000"))
		b1, _ := exchange.BracketFor(in.Brackets, lp.Mul(d("10")))
		if b0.MMR.Equal(b1.MMR) {
			t.Fatalf("test set-up: the target LP %s did not leave the starting bracket", lp)
		}
		// Solving in the starting bracket would have been wrong by more than a cent.
		naive := d("72500").Mul(d("10").Mul(b0.MMR).Add(d("10"))).Sub(b0.Cum).Sub(d("500000")).Sub(wb)
		if naive.Sub(x).Abs().LessThan(d("1")) {
			t.Fatalf("bracket did not matter: naive %s vs %s", naive, x)
		}
	})
}

func TestTopupCappedByFreeSpotQuote(t *testing.T) {
	r := newRules(t, nil)
	in := atDistance(t, "1", "0.25")
	in.SpotQuoteFree = d("1000.005")
	rep := evaluate(t, r, in)
	ups := actionsOf(rep, risk.ActionTopup)
	if len(ups) != 1 || !ups[0].Amount.Equal(d("1000")) || len(notesOf(rep, risk.NoteTopupCapped)) != 1 {
		t.Fatalf("capped top-up: %+v, notes %+v", ups, rep.Notes)
	}
	if !strings.Contains(ups[0].Reason, "capped from 12,060.00") || strings.Contains(ups[0].Reason, "to bring") ||
		!strings.Contains(ups[0].Reason, "what the uncapped amount would reach") {
		t.Fatalf("reason does not say it was capped, and that its goal was the uncapped amount's: %s", ups[0].Reason)
	}
	in.SpotQuoteFree = d("0")
	rep = evaluate(t, r, in)
	if len(rep.Actions) != 0 || len(notesOf(rep, risk.NoteSkipped)) != 1 {
		t.Fatalf("no free quote: actions %v notes %+v; want no action and a skipped note (no escalation)", kinds(rep), rep.Notes)
	}
}

// The margin ratio has its own rungs: a high-MMR symbol can be on the top-up rung by its ratio while its
// liquidation is still far.
func TestMarginRatioRung(t *testing.T) {
	r := newRules(t, nil)
	steep := []exchange.Bracket{{Floor: d("0"), Cap: d("0"), MMR: d("0.25"), Cum: d("0"), MaxLeverage: 2}}
	m := market("XYZUSDT", "XYZ")
	m.Brackets = steep
	// Short 1 at 100, wallet 65: maintenance 25, ratio 25/65 = 38.46% ≥ 35%; LP = 165/1.25 = 132, 32% away.
	in := risk.Input{State: risk.Active, Wallet: d("65"), SpotQuoteFree: d("1000"), Markets: map[string]risk.Market{"XYZUSDT": m},
		Positions: []exchange.Position{short("XYZUSDT", "1", "100", "100")}}
	rep := evaluate(t, r, in)
	if rep.Positions[0].Level != risk.LevelNone || rep.Pools[0].Level != risk.LevelTopup {
		t.Fatalf("distance rung %s, ratio rung %s; want none and topup", rep.Positions[0].Level, rep.Pools[0].Level)
	}
	ups := actionsOf(rep, risk.ActionTopup)
	if len(ups) != 1 || !strings.Contains(ups[0].Reason, "margin ratio 38.46%") {
		t.Fatalf("top-ups %+v", ups)
	}
	// The ratio target: 35% × 30% / 45% = 23.33%: 25 / (65 + x) ≤ 0.2333 and not with a cent less.
	cfg := defaults(t)
	tgt := cfg.TopupMarginRatio.Mul(cfg.TopupDistance).DivRound(cfg.TopupTargetDistance, 8)
	ratio := func(x decimal.Decimal) decimal.Decimal { return risk.MarginRatio(d("25"), d("65").Add(x)) }
	if ratio(ups[0].Amount).GreaterThan(tgt) || !ratio(ups[0].Amount.Sub(d("0.01"))).GreaterThan(tgt) {
		t.Fatalf("top-up %s gives ratio %s; want the smallest reaching %s", ups[0].Amount, ratio(ups[0].Amount), tgt)
	}

	// A ratio rung applies to every position of the pool: two cross shorts, ratio ≥ 50% → both deleverage.
	in.Wallet = d("90")
	in.Positions = []exchange.Position{short("XYZUSDT", "1", "100", "100"), short("ABCUSDT", "1", "100", "100")}
	in.Markets["ABCUSDT"] = in.Markets["XYZUSDT"]
	rep = evaluate(t, r, in)
	if rep.Pools[0].Level != risk.LevelDeleverage || len(actionsOf(rep, risk.ActionDeleverage)) != 2 {
		t.Fatalf("ratio %s rung %s, actions %v; want deleverage of both", rep.Pools[0].MarginRatio, rep.Pools[0].Level, kinds(rep))
	}
}

func TestDeleverageOnCoarserStepKeepsHedge(t *testing.T) {
	r := newRules(t, nil) // deleverage_fraction 0.25
	cases := []struct {
		spot, perp string
		wantQty    string // "" when the pair is flattened instead
	}{
		{"0.10000989", "0.1", "0.025"}, // spot grossed up for the base fee: the dust stays, the hedge holds
		{"0.133", "0.133", "0.033"},    // 0.03325 floored to the 0.001 step
		{"0.003", "0.003", "0.001"},    // 0.00075 rounds to zero: raised to the smallest tradable quantity
		{"0.001", "0.001", ""},         // one step cannot be split: flatten
	}
	for _, c := range cases {
		in := atDistance(t, c.perp, "0.15")
		in.Pairs[0].SpotQty = d(c.spot)
		rep := evaluate(t, r, in)
		if c.wantQty == "" {
			if got := kinds(rep); !slices.Equal(got, []risk.ActionKind{risk.ActionFlatten}) {
				t.Fatalf("pair %s: actions %v; want a flatten", c.perp, got)
			}
			continue
		}
		dl := actionsOf(rep, risk.ActionDeleverage)
		if len(dl) != 1 || len(dl[0].Orders) != 2 {
			t.Fatalf("pair %s: %+v", c.perp, rep.Actions)
		}
		s, p := dl[0].Orders[0], dl[0].Orders[1]
		if s.Leg != pair.LegSpot || s.Venue != exchange.Spot || s.Side != exchange.Sell || !s.Qty.Equal(d(c.wantQty)) {
			t.Fatalf("pair %s: spot order %+v; want sell %s", c.perp, s, c.wantQty)
		}
		if p.Leg != pair.LegPerp || p.Side != exchange.Buy || !p.ReduceOnly || !p.Qty.Equal(s.Qty) {
			t.Fatalf("pair %s: perp order %+v; want reduce-only buy of the same %s", c.perp, p, s.Qty)
		}
		if !exchange.IsMultiple(s.Qty, d("0.001")) {
			t.Fatalf("quantity %s is not on the coarser step", s.Qty)
		}
		// The hedge after: both legs lose the same quantity, so the pair is still within the band.
		after := in.Pairs[0]
		after.SpotQty, after.PerpQty, after.TargetQty = after.SpotQty.Sub(s.Qty), after.PerpQty.Sub(p.Qty), dl[0].NewTarget
		if h := r.CheckHedge(after, in.Markets["BTCUSDT"], d("60000"), false); h.Drifted {
			t.Fatalf("pair %s after deleverage: %s", c.perp, h.Reason)
		}
	}
}

func TestReversePairOrders(t *testing.T) {
	r := newRules(t, nil)
	pos := long("BTCUSDT", "0.1", "60000", "60000")
	wb, _ := risk.WalletForLiquidation(d("51000"), exchange.LiquidationInput{Qty: pos.Qty, EntryPrice: pos.EntryPrice, Brackets: exchange.DefaultBrackets()})
	rev := openPair(3, "BTCUSDT", "0.1", "0.1", "0.1")
	rev.Direction = pair.Reverse
	in := risk.Input{State: risk.Active, Wallet: wb, Markets: markets("BTCUSDT"), Positions: []exchange.Position{pos}, Pairs: []pair.Pair{rev}}
	rep := evaluate(t, r, in) // 15% away: deleverage
	dl := actionsOf(rep, risk.ActionDeleverage)
	if len(dl) != 1 {
		t.Fatalf("actions %v", kinds(rep))
	}
	s, p := dl[0].Orders[0], dl[0].Orders[1]
	// Buying back 0.025 BTC to repay with a 0.1% fee in BTC: 0.025 / 0.999 rounded up to 0.00001 = 0.02503.
	if s.Venue != exchange.Margin || s.Side != exchange.Buy || s.SideEffect != exchange.AutoRepay || !s.Qty.Equal(d("0.02503")) {
		t.Fatalf("reverse spot order %+v", s)
	}
	if p.Side != exchange.Sell || !p.ReduceOnly || !p.Qty.Equal(d("0.025")) {
		t.Fatalf("reverse perp order %+v", p)
	}
}

func TestFlattenOrders(t *testing.T) {
	r := newRules(t, nil)
	in := atDistance(t, "0.1", "0.08")
	in.Pairs[0].SpotQty = d("0.10000989")
	rep := evaluate(t, r, in)
	fl := actionsOf(rep, risk.ActionFlatten)
	if len(fl) != 1 || len(fl[0].Orders) != 2 {
		t.Fatalf("%+v", rep.Actions)
	}
	// The spot leg sells what its step allows (0.00000989 BTC dust stays); the perp closes exactly.
	if !fl[0].Orders[0].Qty.Equal(d("0.1")) || !fl[0].Orders[1].Qty.Equal(d("0.1")) || !fl[0].Orders[1].ReduceOnly {
		t.Fatalf("flatten orders %+v", fl[0].Orders)
	}
	// A position no pair explains is closed on its own leg.
	in.Pairs = nil
	rep = evaluate(t, r, in)
	fl = actionsOf(rep, risk.ActionFlatten)
	if len(fl) != 1 || len(fl[0].Orders) != 1 || fl[0].Orders[0].Venue != exchange.Futures || !strings.Contains(fl[0].Reason, "no pair") {
		t.Fatalf("unexplained position: %+v", fl)
	}
}
