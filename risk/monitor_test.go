package risk_test

import (
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/risk"
	"github.com/carry-trading/carry/strategy/pair"
)

func TestMonitorFiresAtTheTriggerOnly(t *testing.T) {
	r := newRules(t, nil)
	in := atDistance(t, "1", "0.35") // LP 81,000; the top-up trigger is 81,000 / 1.30 = 62,307.6923…
	in.Positions[0].MarkPrice = d("60000.00")
	mon := risk.NewMonitor(r, risk.MonitorOptions{})
	rep, err := mon.Reset(in)
	if err != nil || len(rep.Actions) != 0 {
		t.Fatalf("reset: %v %v", kinds(rep), err)
	}
	adv, fav, ok := mon.Triggers("BTCUSDT")
	if !ok || !adv.Round(4).Equal(d("62307.6923")) || !fav.IsZero() {
		t.Fatalf("triggers %s / %s; want 62,307.6923 adverse and no favorable on rung none", adv, fav)
	}
	for _, c := range []struct {
		mark string
		want bool
	}{
		{"61000.00", false},
		{"62307.68", false},
		{"55000.00", false}, // far on the safe side: nothing to re-arm on rung none
		{"62307.69", true},  // rounded toward the mark: fires no later than the exact price (here a cent early)
	} {
		if got := mon.Mark("BTCUSDT", d(c.mark)); got != c.want {
			t.Fatalf("mark %s: evaluate %v; want %v", c.mark, got, c.want)
		}
	}
	if !mon.Mark("BTCUSDT", d("60000.00")) {
		t.Fatal("once crossed, the monitor must ask for an evaluation until it gets one")
	}
	if rep, _ := mon.Evaluate(t0); len(rep.Actions) != 0 {
		t.Fatalf("at 60,000 nothing is due: %v", kinds(rep))
	}
	if mon.Mark("ETHUSDT", d("3000")) {
		t.Fatal("a symbol without a position asked for an evaluation")
	}
	if !mon.Mark("BTCUSDT", d("62500.00")) {
		t.Fatal("crossing the top-up trigger did not fire")
	}
	rep, err = mon.Evaluate(t0)
	if err != nil || len(actionsOf(rep, risk.ActionTopup)) != 1 {
		t.Fatalf("after the crossing: %v %v; want a top-up", kinds(rep), err)
	}
	// On the top-up rung the favorable trigger re-arms it when the price falls back; the adverse one is the
	// deleverage trigger: 81,000 / 1.20 = 67,500.
	adv, fav, _ = mon.Triggers("BTCUSDT")
	if !adv.Equal(d("67500")) || !fav.Round(4).Equal(d("62307.6923")) {
		t.Fatalf("triggers on the top-up rung: %s / %s", adv, fav)
	}
	if mon.Mark("BTCUSDT", d("63000.00")) || !mon.Mark("BTCUSDT", d("62000.00")) {
		t.Fatal("favorable trigger")
	}
}

func TestMonitorMarkExponents(t *testing.T) {
	r := newRules(t, nil)
	in := atDistance(t, "1", "0.35")
	mon := risk.NewMonitor(r, risk.MonitorOptions{})
	if _, err := mon.Reset(in); err != nil {
		t.Fatal(err)
	}
	// The exact trigger is 62,307.692307692…; rounded down to each mark's exponent it fires no later:
	// at 8 decimals 62,307.69230768 is below it and 62,307.69230769 (a hair early) fires; at one decimal
	// the trigger is 62,307.6, at none 62,307.
	for _, c := range []struct {
		mark string
		want bool
	}{
		{"62307.69230768", false}, {"62307.69230769", true}, {"62307.5", false}, {"62307.6", true},
		{"62306", false}, {"62307", true}, {"62307.70", true},
	} {
		mon.Invalidate()
		if _, err := mon.Evaluate(t0); err != nil {
			t.Fatal(err)
		}
		in := mon.Input()
		in.Positions[0].MarkPrice = d("60000")
		if _, err := mon.Reset(in); err != nil {
			t.Fatal(err)
		}
		if got := mon.Mark("BTCUSDT", d(c.mark)); got != c.want {
			t.Fatalf("mark %s (exponent %d): %v; want %v", c.mark, d(c.mark).Exponent(), got, c.want)
		}
	}
}

// A settlement that charges the wallet moves the triggers closer: after Reset with the new wallet, a mark
// that was safe crosses.
func TestMonitorFundingMovesTriggers(t *testing.T) {
	r := newRules(t, nil)
	// Short 1 at 50,000, cross wallet 20,000: LP = 70,050 / 1.005 = 69,701.49; top-up trigger ÷ 1.3 = 53,616.53.
	in := risk.Input{State: risk.Active, Wallet: d("20000"), SpotQuoteFree: d("100000"), Markets: markets("BTCUSDT"),
		Positions: []exchange.Position{short("BTCUSDT", "1", "50000", "50000")}}
	mon := risk.NewMonitor(r, risk.MonitorOptions{})
	if _, err := mon.Reset(in); err != nil {
		t.Fatal(err)
	}
	before, _, _ := mon.Triggers("BTCUSDT")
	if mon.Mark("BTCUSDT", d("53580")) {
		t.Fatal("53,580 is below the trigger before funding")
	}
	// Funding at −0.2% on 50,000 charges the short 100: the wallet is 19,900, LP 69,601.99, trigger 53,539.99.
	in = mon.Input()
	in.Wallet = in.Wallet.Add(exchange.FundingAmount(in.Positions[0].Qty, d("50000"), d("-0.002")))
	if !in.Wallet.Equal(d("19900")) {
		t.Fatalf("wallet after funding %s", in.Wallet)
	}
	rep, err := mon.Reset(in)
	if err != nil {
		t.Fatal(err)
	}
	// Now on the top-up rung, the top-up trigger is the favorable (re-arm) one.
	_, after, _ := mon.Triggers("BTCUSDT")
	if !after.LessThan(before) || !after.Round(2).Equal(d("53539.99")) {
		t.Fatalf("top-up trigger %s → %s: funding out of margin must bring it closer, to 53,539.99", before, after)
	}
	if len(actionsOf(rep, risk.ActionTopup)) != 1 {
		t.Fatalf("at 53,580 after funding the distance is %s: want a top-up, got %v", rep.Positions[0].Distance, kinds(rep))
	}
}

// The monitor never misses a rung: random walks of three marks (two sharing the cross wallet, one
// isolated), with a funding charge now and then; after every mark a brute-force full evaluation says
// whether any position's distance rung or any pool's ratio rung rose above what the monitor last
// evaluated — and then the monitor must have asked for an evaluation.
func TestMonitorNeverMissesACrossing(t *testing.T) {
	r := newRules(t, nil)
	seeds, steps := []uint64{1, 2, 3, 4}, 10000
	if testing.Short() {
		seeds, steps = seeds[:1], 3000
	}
	for _, seed := range seeds {
		rng := rand.New(rand.NewPCG(seed, 99))
		steep := market("XYZUSDT", "XYZ")
		steep.Brackets = []exchange.Bracket{{Floor: d("0"), Cap: d("1000"), MMR: d("0.05"), Cum: d("0")},
			{Floor: d("1000"), Cap: d("0"), MMR: d("0.2"), Cum: d("150")}}
		mk := markets("BTCUSDT", "ETHUSDT", "SOLUSDT")
		mk["XYZUSDT"] = steep
		start := risk.Input{State: risk.Active, Wallet: d("30000"), SpotQuoteFree: d("0"), Markets: mk,
			Positions: []exchange.Position{
				short("BTCUSDT", "1", "60000", "60000.00"),
				short("ETHUSDT", "15", "3000", "3000.00"),
				long("XYZUSDT", "500", "20", "20.0000"),
				isolated(short("SOLUSDT", "100", "100", "100.000"), "4000"),
			},
			Pairs: []pair.Pair{openPair(1, "BTCUSDT", "1", "1", "1")}}
		mon := risk.NewMonitor(r, risk.MonitorOptions{})
		if _, err := mon.Reset(start); err != nil {
			t.Fatal(err)
		}
		places := map[string]int32{"BTCUSDT": 2, "ETHUSDT": 2, "XYZUSDT": 4, "SOLUSDT": 3}
		syms := []string{"BTCUSDT", "ETHUSDT", "XYZUSDT", "SOLUSDT"}
		evals, rises := 0, 0
		for step := range steps {
			if step%997 == 996 { // a funding settlement charges the cross wallet
				in := mon.Input()
				in.Wallet = in.Wallet.Sub(d("150"))
				if _, err := mon.Reset(in); err != nil {
					t.Fatal(err)
				}
			}
			i := rng.IntN(len(syms))
			sym := syms[i]
			cur := mon.Input().Positions[i].MarkPrice
			move := decimal.NewFromFloat(1 + rng.NormFloat64()*0.006)
			px := cur.Mul(move).Round(places[sym])
			fired := mon.Mark(sym, px)
			in := mon.Input()
			truth, err := r.Evaluate(&in)
			if err != nil {
				t.Fatal(err)
			}
			last := mon.Last()
			rose := false
			for k, p := range truth.Positions {
				if p.Level > last.Positions[k].Level || truth.Pools[p.Pool].Level > last.Pools[last.Positions[k].Pool].Level {
					rose = true
				}
			}
			if rose {
				rises++
				if !fired {
					t.Fatalf("seed %d step %d: %s → %s raised a rung and the monitor did not fire\ntruth %+v\nlast %+v",
						seed, step, sym, px, truth.Positions, last.Positions)
				}
			}
			if fired {
				evals++
				rep, err := mon.Evaluate(t0)
				if err != nil {
					t.Fatal(err)
				}
				if rep.Level() >= risk.LevelFlatten { // start over, like a flattened account
					if _, err := mon.Reset(start); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		if rises < 10 {
			t.Fatalf("seed %d: only %d rung rises in %d steps; the walk does not exercise the ladder", seed, rises, steps)
		}
		t.Logf("seed %d: %d marks, %d rung rises, %d full evaluations (%.1f%%)", seed, steps, rises, evals, 100*float64(evals)/float64(steps))
	}
}

func TestMonitorHandlesSurviveReset(t *testing.T) {
	r := newRules(t, nil)
	in := atDistance(t, "1", "0.35")
	mon := risk.NewMonitor(r, risk.MonitorOptions{})
	eth := mon.Handle("ETHUSDT") // registered before any position exists
	btc := mon.Handle("BTCUSDT")
	if mon.Handle("BTCUSDT") != btc {
		t.Fatal("a second Handle call gave another handle")
	}
	if _, err := mon.Reset(in); err != nil {
		t.Fatal(err)
	}
	if mon.MarkHandle(eth, d("3000")) || mon.MarkHandle(btc, d("62000")) || !mon.MarkHandle(btc, d("62400")) {
		t.Fatal("handles after the first reset")
	}
	// The account gains an ETH position: the old handles now point at the new watches.
	in.Positions = append(in.Positions, short("ETHUSDT", "10", "3000", "3000"))
	in.Markets["ETHUSDT"] = market("ETHUSDT", "ETH")
	if _, err := mon.Reset(in); err != nil {
		t.Fatal(err)
	}
	adv, _, _ := mon.Triggers("ETHUSDT")
	if mon.MarkHandle(eth, d("3000.5")) || !mon.MarkHandle(eth, adv.Add(d("1"))) {
		t.Fatalf("ETH handle after the reset (trigger %s)", adv)
	}
}
