package policy

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/strategy/pair"
	"github.com/carry-trading/carry/strategy/signals"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// 00:00:00.001 settlement; "now" is mid-period unless a test moves it.
var settle = time.Date(2021, 2, 1, 0, 0, 0, 1_000_000, time.UTC)
var now = settle.Add(4 * time.Hour)

func cfg() Config {
	return Config{
		EntryAPR: 0.10, ExitAPR: 0.02, ExitSettlements: 3, MaxBreakeven: 72 * time.Hour, Holding: 720 * time.Hour,
		RotationMinGainAPR: 0.05, SettlementGuard: 15 * time.Minute, EarlyExitProfit: 0.002,
		Costs:   Costs{SpotFee: 0.001, PerpFee: 0.0005, Slippage: 0.0002},
		Signals: signals.Params{SmoothingSettlements: 1, EstimateWeight: 0.5},
		Capital: d("10000"), PerSymbolMax: d("5000"), Reserve: d("0.1"), Leverage: 2,
	}
}

// market sets a symbol's quotes (mid, basis) and funding (settled = estimate = rate per 8h).
func market(b *signals.Book, sym string, mid, basis, rate float64, at time.Time) {
	spot := decimal.NewFromFloat(mid)
	perp := decimal.NewFromFloat(mid * (1 + basis))
	half := decimal.NewFromFloat(mid * 0.00005)
	ev := func(e exchange.Event) { e.Symbol = sym; e.Time = at; b.Apply(&e) }
	ev(exchange.Event{Kind: exchange.EventQuote, Venue: exchange.Spot, Quote: exchange.Quote{Bid: spot.Sub(half), Ask: spot.Add(half)}})
	ev(exchange.Event{Kind: exchange.EventQuote, Venue: exchange.Futures, Quote: exchange.Quote{Bid: perp.Sub(half), Ask: perp.Add(half)}})
	r := decimal.NewFromFloat(rate)
	ev(exchange.Event{Kind: exchange.EventFunding, Funding: exchange.FundingRate{Rate: r, Time: settle, IntervalHours: 8}})
	ev(exchange.Event{Kind: exchange.EventMark, Mark: exchange.Mark{Mark: perp, EstimatedRate: r, NextFundingTime: settle.Add(8 * time.Hour)}})
}

func TestPriceNetCarryAndBreakEven(t *testing.T) {
	b := signals.NewBook([]string{"BTCUSDT"}, cfg().Signals)
	market(b, "BTCUSDT", 50000, 0, 0.0003, now)
	c := Price(b.Get("BTCUSDT"), pair.Carry, cfg().Costs, cfg().Signals, 720*time.Hour)
	// Funding 0.03% × 1095 = 32.85%/yr. Round trip = 2×(0.1%+0.05%) + 4×0.02% = 0.38%.
	if math.Abs(c.FundingAPR-0.3285) > 1e-9 {
		t.Fatalf("funding APR %v", c.FundingAPR)
	}
	years := 720.0 / 8760
	wantCost := 0.0038 / years
	if math.Abs(c.CostAPR-wantCost) > 1e-9 {
		t.Fatalf("cost APR %v, want %v", c.CostAPR, wantCost)
	}
	// Zero mid basis: entry captures −(half spreads) and exit pays them again: −2 × 2 × 0.5bp = −0.0002.
	if math.Abs(c.BasisGain-(-0.0002)) > 1e-7 {
		t.Fatalf("basis gain %v", c.BasisGain)
	}
	if math.Abs(c.NetAPR-(c.FundingAPR+c.BasisAPR-c.CostAPR)) > 1e-12 {
		t.Fatalf("net APR does not add up: %+v", c)
	}
	// Break-even: (0.0038 + 0.0002) / (0.3285/8760 per hour) ≈ 106.7 h.
	wantBE := (0.0038 + 0.0002) / (0.3285 / 8760)
	if math.Abs(c.BreakEven.Hours()-wantBE) > 0.05 {
		t.Fatalf("break-even %v h, want %v h", c.BreakEven.Hours(), wantBE)
	}
	// Negative funding never pays back a carry pair.
	market(b, "BTCUSDT", 50000, 0, -0.0001, now)
	if c := Price(b.Get("BTCUSDT"), pair.Carry, cfg().Costs, cfg().Signals, 720*time.Hour); c.BreakEven != Never {
		t.Fatalf("break-even with negative funding: %v", c.BreakEven)
	}
	// A 4h symbol settles twice as often: the same rate is twice the APR.
	b2 := signals.NewBook([]string{"X"}, cfg().Signals)
	market(b2, "X", 1, 0, 0.0003, now)
	b2.SetFundingInfo(exchange.FundingInfo{Symbol: "X", IntervalHours: 4})
	if c := Price(b2.Get("X"), pair.Carry, cfg().Costs, cfg().Signals, 720*time.Hour); math.Abs(c.FundingAPR-0.657) > 1e-9 {
		t.Fatalf("4h funding APR %v", c.FundingAPR)
	}
}

func TestEntryRankingAndAllocation(t *testing.T) {
	b := signals.NewBook([]string{"AAAUSDT", "BBBUSDT", "CCCUSDT", "DDDUSDT"}, cfg().Signals)
	market(b, "AAAUSDT", 10, 0, 0.0005, now)  // ~54%/yr gross
	market(b, "BBBUSDT", 20, 0, 0.0010, now)  // ~109%/yr: best
	market(b, "CCCUSDT", 30, 0, 0.0001, now)  // ~11% gross, below entry after costs
	market(b, "DDDUSDT", 40, 0, 0.00046, now) // qualifies (break-even ~71h) but capital runs out
	p := New(cfg())
	ds := p.Decide(now, b, nil, nil)
	if len(ds) != 2 {
		t.Fatalf("want 2 opens (9,000 deployable / 5,000 cap), got %+v", ds)
	}
	if ds[0].Symbol != "BBBUSDT" || !ds[0].Capital.Equal(d("5000")) || ds[1].Symbol != "AAAUSDT" || !ds[1].Capital.Equal(d("4000")) {
		t.Fatalf("ranking/allocation wrong: %s %s, %s %s", ds[0].Symbol, ds[0].Capital, ds[1].Symbol, ds[1].Capital)
	}
	for _, dd := range ds {
		if dd.Action != Open || dd.Direction != pair.Carry || !strings.Contains(dd.Reason, "break-even") {
			t.Fatalf("decision %+v", dd)
		}
	}
	// 0.035%/8h nets ~33%/yr, far above the threshold, but needs ~91h to break even: not entered.
	market(b, "DDDUSDT", 40, 0, 0.00035, now)
	if ds := p.Decide(now, b, nil, map[string]bool{"BBBUSDT": true, "AAAUSDT": true}); len(ds) != 0 {
		t.Fatalf("entered past the break-even limit: %+v", ds)
	}
	market(b, "DDDUSDT", 40, 0, 0.00046, now)
	// A blocked symbol is skipped, so the next one takes its place.
	ds = p.Decide(now, b, nil, map[string]bool{"BBBUSDT": true})
	if ds[0].Symbol != "AAAUSDT" || ds[1].Symbol != "DDDUSDT" {
		t.Fatalf("with BBB blocked: %+v", ds)
	}
}

func TestNeverOpenBeforeAChargingSettlement(t *testing.T) {
	c := cfg()
	c.Reverse = true
	b := signals.NewBook([]string{"BTCUSDT"}, c.Signals)
	market(b, "BTCUSDT", 100, 0, -0.0010, now) // strongly negative: reverse carry qualifies
	p := New(c)
	if ds := p.Decide(now, b, nil, nil); len(ds) != 1 || ds[0].Direction != pair.Reverse {
		t.Fatalf("mid-period: want one reverse open, got %+v", ds)
	}
	// Funding flips positive just before the settlement: a new reverse pair would pay it.
	late := settle.Add(8*time.Hour - 5*time.Minute)
	b.Apply(&exchange.Event{Kind: exchange.EventMark, Symbol: "BTCUSDT", Time: late,
		Mark: exchange.Mark{Mark: d("100"), EstimatedRate: d("0.0001"), NextFundingTime: settle.Add(8 * time.Hour)}})
	if ds := p.Decide(late, b, nil, nil); len(ds) != 0 {
		t.Fatalf("opened %+v 5 minutes before a settlement that charges it", ds)
	}
	// Without reverse enabled, negative funding opens nothing at all.
	if ds := New(cfg()).Decide(now, b, nil, nil); len(ds) != 0 {
		t.Fatalf("reverse disabled but opened %+v", ds)
	}
}

func TestExitAfterNSettlementsButNotBeforeAPayingOne(t *testing.T) {
	b := signals.NewBook([]string{"BTCUSDT"}, cfg().Signals)
	market(b, "BTCUSDT", 100, 0, 0.00001, now) // ~1.1%/yr: below the 2% exit threshold
	held := []Held{{PairID: 7, Symbol: "BTCUSDT", Direction: pair.Carry, State: pair.Open, Capital: d("3000")}}
	p := New(cfg())
	for i := 1; i <= 2; i++ {
		p.OnSettlement(b, "BTCUSDT", held)
		if ds := p.Decide(now, b, held, nil); len(ds) != 0 {
			t.Fatalf("closed after %d settlements: %+v", i, ds)
		}
	}
	p.OnSettlement(b, "BTCUSDT", held)
	// 5 minutes before a settlement that still pays the position (+0.001%): wait for it.
	late := settle.Add(8*time.Hour - 5*time.Minute)
	if ds := p.Decide(late, b, held, nil); len(ds) != 0 {
		t.Fatalf("closed just before a paying settlement: %+v", ds)
	}
	ds := p.Decide(now, b, held, nil)
	if len(ds) != 1 || ds[0].Action != Close || ds[0].PairID != 7 || !strings.Contains(ds[0].Reason, "3 settlements") {
		t.Fatalf("want a close after 3 settlements below the threshold, got %+v", ds)
	}
	// A settlement above the threshold resets the count.
	market(b, "BTCUSDT", 100, 0, 0.0003, now)
	p.OnSettlement(b, "BTCUSDT", held)
	if p.BelowExit(7) != 0 {
		t.Fatalf("count not reset: %d", p.BelowExit(7))
	}
}

func TestEarlyExitOnBasis(t *testing.T) {
	b := signals.NewBook([]string{"BTCUSDT"}, cfg().Signals)
	// Entered at +1% basis; the basis collapsed to −0.5%: closing now books ~1.5% minus the round trip's costs.
	market(b, "BTCUSDT", 100, -0.005, 0.00005, now)
	held := []Held{{PairID: 3, Symbol: "BTCUSDT", Direction: pair.Carry, State: pair.Open, EntryBasis: 0.01, Capital: d("3000")}}
	ds := New(cfg()).Decide(now, b, held, nil)
	if len(ds) != 1 || ds[0].Action != Close || !strings.Contains(ds[0].Reason, "early") {
		t.Fatalf("want an early basis exit, got %+v", ds)
	}
	// With funding strong enough to enter now, the pair is kept.
	market(b, "BTCUSDT", 100, -0.005, 0.001, now)
	if ds := New(cfg()).Decide(now, b, held, nil); len(ds) != 0 {
		t.Fatalf("closed a pair worth entering: %+v", ds)
	}
}

func TestRotationOnlyWhenTheGainOutlastsTheSwitch(t *testing.T) {
	c := cfg()
	c.PerSymbolMax = d("9000")
	b := signals.NewBook([]string{"OLDUSDT", "NEWUSDT"}, c.Signals)
	market(b, "OLDUSDT", 10, 0, 0.0001, now) // held at ~11%/yr
	held := []Held{{PairID: 1, Symbol: "OLDUSDT", Direction: pair.Carry, State: pair.Open, Capital: d("9000")}}
	market(b, "NEWUSDT", 10, 0, 0.00025, now) // qualifies (~19% net) but not 5%/yr better after the switch
	if ds := New(c).Decide(now, b, held, nil); len(ds) != 0 {
		t.Fatalf("rotated for too small a gain: %+v", ds)
	}
	market(b, "NEWUSDT", 10, 0, 0.0010, now)
	ds := New(c).Decide(now, b, held, nil)
	if len(ds) != 1 || ds[0].Action != Close || !ds[0].Rotation || ds[0].PairID != 1 || !strings.Contains(ds[0].Reason, "NEWUSDT") {
		t.Fatalf("want a rotation out of OLDUSDT, got %+v", ds)
	}
}

func TestSpotNotionalAllocation(t *testing.T) {
	// C·L/(L+1): 9,000 at 2x → 6,000 spot notional and 3,000 futures margin.
	if got := SpotNotional(d("9000"), 2); !got.Equal(d("6000")) {
		t.Fatalf("spot notional %s", got)
	}
	if got := CapitalFor(d("6000"), 2); !got.Equal(d("9000")) {
		t.Fatalf("capital for 6000 notional %s", got)
	}
}

func TestEarlyExitCountsTheWholeRoundTrip(t *testing.T) {
	b := signals.NewBook([]string{"BTCUSDT"}, cfg().Signals)
	// Entered at +0.45% basis, now 0: the basis moved 0.45% (plus the spreads), more than the exit costs and
	// the 0.2% threshold together (0.19% + 0.2%), but not more than the round trip (0.38%) plus 0.2%.
	market(b, "BTCUSDT", 100, 0, 0.00005, now)
	held := []Held{{PairID: 4, Symbol: "BTCUSDT", Direction: pair.Carry, State: pair.Open, EntryBasis: 0.0045, Capital: d("3000")}}
	if ds := New(cfg()).Decide(now, b, held, nil); len(ds) != 0 {
		t.Fatalf("closed a trade whose basis does not cover its round trip: %+v", ds)
	}
	held[0].EntryBasis = 0.0062
	if ds := New(cfg()).Decide(now, b, held, nil); len(ds) != 1 {
		t.Fatalf("a basis gain over round trip + threshold must close early: %+v", ds)
	}
}
