package risk_test

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/risk"
)

// poolAt is the maintenance margin and margin balance of a pool when position i is marked at price and the
// others stay at their marks: at the liquidation price the two are equal (margin ratio 1).
func poolAt(t *testing.T, pos []exchange.Position, i int, price, wallet decimal.Decimal) (mm, mb decimal.Decimal) {
	t.Helper()
	mb = wallet
	for j, p := range pos {
		m := p.MarkPrice
		if j == i {
			m = price
		}
		x, err := exchange.MaintenanceMargin(p.Qty.Abs().Mul(m), exchange.DefaultBrackets())
		if err != nil {
			t.Fatal(err)
		}
		mm = mm.Add(x)
		mb = mb.Add(p.Qty.Mul(m.Sub(p.EntryPrice)))
	}
	return mm, mb
}

func TestLiquidationPriceVectors(t *testing.T) {
	r := newRules(t, nil)
	cases := []struct {
		name      string
		positions []exchange.Position
		wallet    string // cross wallet
		symbol    string
		wantLP    string // rounded to cents
		wantMMAt  string // maintenance = margin balance at LP, rounded to cents ("" to skip)
		bracketAt string // the MMR of the bracket the LP's notional lands in
	}{
		// binance.md: isolated 1 BTC short at 60,000 with 12,000 isolated wallet, MMR 0.5% cum 50 →
		// LP = 72,050 / 1.005 = 71,691.54; at LP maintenance = margin balance = 308.46.
		{"isolated short (binance.md)", []exchange.Position{isolated(short("BTCUSDT", "1", "60000", "60000"), "12000")}, "0",
			"BTCUSDT", "71691.54", "308.46", "0.005"},
		// Same position in cross with nothing else: WB is the cross wallet, TMM1 = UPNL1 = 0.
		{"cross short alone", []exchange.Position{short("BTCUSDT", "1", "60000", "60000")}, "12000", "BTCUSDT", "71691.54", "308.46", "0.005"},
		// Entry notional 49,000 is in bracket 1 (0.4%, cum 0): LP = 51,000/10.04 = 5,079.68 → notional
		// 50,796.8 is in bracket 2 → re-solve with 0.5%/50: 51,050/10.05 = 5,079.60.
		{"bracket re-solve short 1→2", []exchange.Position{isolated(short("BTCUSDT", "10", "4900", "4900"), "2000")}, "0",
			"BTCUSDT", "5079.60", "203.98", "0.005"},
		// Long 10 at 5,100 (bracket 2): (2,000 + 50 − 51,000)/(0.05 − 10) = 4,919.60 → notional 49,196 is
		// bracket 1 → (2,000 − 51,000)/(0.04 − 10) = 4,919.68.
		{"bracket re-solve long 2→1", []exchange.Position{isolated(long("BTCUSDT", "10", "5100", "5100"), "2000")}, "0",
			"BTCUSDT", "4919.68", "196.79", "0.004"},
		// Cross with another position: ETH short 10 at 3,000 marked 3,100 → TMM1 = 31,000 × 0.4% = 124,
		// UPNL1 = −1,000. BTC: (20,000 − 124 − 1,000 + 50 + 60,000)/1.005 = 78,926/1.005 = 78,533.33.
		{"cross with TMM1/UPNL1", []exchange.Position{short("BTCUSDT", "1", "60000", "61000"), short("ETHUSDT", "10", "3000", "3100")}, "20000",
			"BTCUSDT", "78533.33", "466.67", "0.005"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := risk.Input{Wallet: d(c.wallet), Positions: c.positions, Markets: markets("BTCUSDT", "ETHUSDT"), State: risk.Active}
			rep := evaluate(t, r, in)
			var pr risk.PositionRisk
			idx := -1
			for i, p := range rep.Positions {
				if p.Symbol == c.symbol {
					pr, idx = p, i
				}
			}
			if idx < 0 {
				t.Fatalf("no %s in the report", c.symbol)
			}
			if got := pr.Liquidation.Round(2); !got.Equal(d(c.wantLP)) {
				t.Fatalf("LP = %s; want %s", pr.Liquidation, c.wantLP)
			}
			b, _ := exchange.BracketFor(exchange.DefaultBrackets(), pr.Qty.Abs().Mul(pr.Liquidation))
			if !b.MMR.Equal(d(c.bracketAt)) {
				t.Fatalf("LP notional is in the %s bracket; want %s", b.MMR, c.bracketAt)
			}
			// At the LP the pool's maintenance margin equals its margin balance.
			wallet := d(c.wallet)
			if pr.Isolated {
				wallet = c.positions[idx].IsolatedWallet
				mm, _ := exchange.MaintenanceMargin(pr.Qty.Abs().Mul(pr.Liquidation), exchange.DefaultBrackets())
				mb := wallet.Add(exchange.UnrealizedPnL(pr.Qty, pr.EntryPrice, pr.Liquidation))
				if !mm.Round(2).Equal(d(c.wantMMAt)) || !mb.Round(2).Equal(d(c.wantMMAt)) {
					t.Fatalf("at LP: maintenance %s, margin balance %s; want both %s", mm, mb, c.wantMMAt)
				}
				return
			}
			mm, mb := poolAt(t, c.positions, idx, pr.Liquidation, wallet)
			if !mm.Round(2).Equal(d(c.wantMMAt)) || !mb.Round(2).Equal(d(c.wantMMAt)) {
				t.Fatalf("at LP: pool maintenance %s, margin balance %s; want both %s", mm, mb, c.wantMMAt)
			}
		})
	}
}

func TestMarginRatioAndDistance(t *testing.T) {
	r := newRules(t, nil)
	// Cross: BTC short 1 @ 60,000 marked 61,000 (MM 61,000×0.5% − 50 = 255, UPNL −1,000), ETH short 10 @
	// 3,000 marked 3,100 (MM 124, UPNL −1,000), wallet 20,000 → ratio 379 / 18,000 = 2.1056%.
	in := risk.Input{Wallet: d("20000"), State: risk.Active, Markets: markets("BTCUSDT", "ETHUSDT"),
		Positions: []exchange.Position{short("BTCUSDT", "1", "60000", "61000"), short("ETHUSDT", "10", "3000", "3100")}}
	rep := evaluate(t, r, in)
	if len(rep.Pools) != 1 {
		t.Fatalf("pools = %d; want the one cross pool", len(rep.Pools))
	}
	pl := rep.Pools[0]
	if !pl.Maintenance.Equal(d("379")) || !pl.MarginBalance.Equal(d("18000")) || !pl.MarginRatio.Equal(d("0.02105556")) {
		t.Fatalf("pool = maintenance %s, balance %s, ratio %s; want 379, 18,000, 0.02105556", pl.Maintenance, pl.MarginBalance, pl.MarginRatio)
	}
	// Distance of BTC: (78,533.33 − 61,000) / 61,000 = 28.74% → the top-up rung (≤ 30%).
	btc := rep.Positions[0]
	if !btc.Distance.Round(4).Equal(d("0.2874")) || btc.Level != risk.LevelTopup {
		t.Fatalf("BTC distance %s level %s; want 0.2874, topup", btc.Distance, btc.Level)
	}
	// An isolated position is its own pool: 308.46-ish maintenance against its own wallet.
	in.Positions = append(in.Positions, isolated(short("SOLUSDT", "100", "20", "20"), "500"))
	in.Markets["SOLUSDT"] = market("SOLUSDT", "SOL")
	rep = evaluate(t, r, in)
	if len(rep.Pools) != 2 || !rep.Pools[1].Isolated || rep.Pools[1].Symbol != "SOLUSDT" {
		t.Fatalf("pools = %+v; want cross then isolated SOLUSDT", rep.Pools)
	}
	// SOL: notional 2,000 × 0.4% = 8 ÷ 500 = 1.6%.
	if !rep.Pools[1].MarginRatio.Equal(d("0.016")) || !rep.Pools[0].MarginRatio.Equal(d("0.02105556")) {
		t.Fatalf("isolated ratio %s, cross ratio %s", rep.Pools[1].MarginRatio, rep.Pools[0].MarginRatio)
	}
}

// Funding paid out of margin moves the liquidation price: the evaluation takes the wallet after the
// settlement, and the liquidation price of a short drops by the charge ÷ (1 + MMR).
func TestFundingMovesLiquidationPrice(t *testing.T) {
	r := newRules(t, nil)
	pos := []exchange.Position{short("BTCUSDT", "1", "60000", "60000")}
	before := risk.Input{Wallet: d("12000"), Positions: pos, Markets: markets("BTCUSDT"), State: risk.Active}
	rb := evaluate(t, r, before)

	// A settlement at −0.05% charges the short: −(−1) × 60,000 × −0.0005 = −30.
	charge := exchange.FundingAmount(pos[0].Qty, d("60000"), d("-0.0005"))
	if !charge.Equal(d("-30")) {
		t.Fatalf("funding = %s; want −30", charge)
	}
	after := before
	after.Wallet = before.Wallet.Add(charge)
	ra := evaluate(t, r, after)

	lb, la := rb.Positions[0].Liquidation, ra.Positions[0].Liquidation
	if !la.LessThan(lb) {
		t.Fatalf("LP after funding %s is not closer than %s", la, lb)
	}
	// Linear in the wallet: the move is the charge ÷ (|q|·MMR + |q|) = 30 / 1.005.
	if move := lb.Sub(la).Round(6); !move.Equal(d("30").DivRound(d("1.005"), 6)) {
		t.Fatalf("LP moved by %s; want 30/1.005", move)
	}
	if !ra.Positions[0].Distance.LessThan(rb.Positions[0].Distance) {
		t.Fatalf("distance did not shrink: %s → %s", rb.Positions[0].Distance, ra.Positions[0].Distance)
	}
	// The exchange's LP after funding agrees; a stale one (from before the charge) is a divergence when it is
	// beyond the limit: 30 USDT moves the LP by 0.04%, inside 1%, so no note.
	after.Positions = []exchange.Position{pos[0]}
	after.Positions[0].LiquidationPrice = lb
	if n := notesOf(evaluate(t, r, after), risk.NoteDivergence); len(n) != 0 {
		t.Fatalf("a 0.04%% difference was reported as a divergence: %v", n)
	}
}

func TestDivergenceFromTheVenue(t *testing.T) {
	r := newRules(t, nil) // liquidation_divergence 1%
	p := short("BTCUSDT", "1", "60000", "60000")
	for _, c := range []struct {
		venue string
		want  bool
	}{{"71691.54", false}, {"71000", false}, {"70900", true}, {"72500", true}, {"0", false}} {
		p.LiquidationPrice = d(c.venue)
		rep := evaluate(t, r, risk.Input{Wallet: d("12000"), Positions: []exchange.Position{p}, Markets: markets("BTCUSDT"), State: risk.Active})
		pr := rep.Positions[0]
		if pr.Diverged != c.want || (len(notesOf(rep, risk.NoteDivergence)) == 1) != c.want {
			t.Fatalf("venue LP %s vs ours %s: diverged %v (%s); want %v", c.venue, pr.Liquidation, pr.Diverged, pr.Divergence, c.want)
		}
	}
}

// PriceAtMarginRatio at ratio 1 is the liquidation price; below 1 the pool's ratio at the returned price
// is the asked ratio.
func TestPriceAtMarginRatio(t *testing.T) {
	in := exchange.LiquidationInput{Qty: d("-1"), EntryPrice: d("60000"), Wallet: d("12000"), OtherMaintenance: d("124"),
		OtherUnrealized: d("-1000"), Brackets: exchange.DefaultBrackets()}
	lp, err := exchange.LiquidationPrice(in)
	if err != nil {
		t.Fatal(err)
	}
	p, ok, err := risk.PriceAtMarginRatio(d("1"), in)
	if err != nil || !ok || !p.Equal(lp) {
		t.Fatalf("price at ratio 1 = %s (%v, %v); want the LP %s", p, ok, err, lp)
	}
	for _, q := range []string{"-1", "-12", "3"} {
		in := in
		in.Qty = d(q)
		if in.Qty.IsPositive() {
			in.Wallet = d("60000")
		}
		for _, ratio := range []string{"0.35", "0.5", "0.7"} {
			p, ok, err := risk.PriceAtMarginRatio(d(ratio), in)
			if err != nil || !ok {
				t.Fatalf("qty %s ratio %s: %v %v", q, ratio, ok, err)
			}
			mm, _ := exchange.MaintenanceMargin(in.Qty.Abs().Mul(p), in.Brackets)
			mb := in.Wallet.Add(in.OtherUnrealized).Add(exchange.UnrealizedPnL(in.Qty, in.EntryPrice, p))
			got := mm.Add(in.OtherMaintenance).DivRound(mb, 6)
			if !got.Equal(d(ratio)) {
				t.Fatalf("qty %s: at %s the ratio is %s; want %s", q, p, got, ratio)
			}
		}
	}
}
