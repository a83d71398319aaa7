package report

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/pkg/accounting"
	"github.com/carry-trading/carry/strategy/pair"
)

var t0 = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// synthRun builds a deterministic hourly run of n hours: a strategy that enters while funding pays and
// leaves when it does not, with risk markers sprinkled in, and a static hedge held throughout.
func synthRun(n int, seed uint64) Run {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	capital := decimal.NewFromInt(10000)
	notional := decimal.NewFromInt(9000)
	feeRate := d("0.0008") // both legs, taker
	run := Run{Meta: Meta{Title: "carry backtest", Symbols: []string{"BTCUSDT"}, Interval: "1h",
		Start: t0, End: t0.Add(time.Duration(n) * time.Hour), Quote: "USDT", DataDir: "testdata", Version: "test"}}
	strat := Book{Name: "strategy", Capital: capital}
	base := Book{Name: "static hedge BTCUSDT", Capital: capital}

	basis, rate, smooth := 0.0003, 0.0001, 0.0001
	var sFund, sFees, sBasisPnL, bFund, bFees, bBasisPnL decimal.Decimal
	var in bool
	var entryBasis float64
	baseEntry := 0.0003
	pairID := int64(0)
	var cycleFund, cycleFees decimal.Decimal
	bFees = notional.Mul(feeRate) // the baseline's entry
	base.Markers = append(base.Markers, Marker{Time: t0, Kind: MarkOpen, Symbol: "BTCUSDT", PairID: 1,
		Direction: pair.Carry, Amount: notional, Reason: "static hedge"})
	for h := 0; h < n; h++ {
		t := t0.Add(time.Duration(h) * time.Hour)
		// Basis: mean-reverting around 3 bp with an occasional spike; funding drifts with regimes.
		basis += 0.15*(0.0003-basis) + rng.NormFloat64()*0.00012
		if rng.IntN(900) == 0 {
			basis += 0.004 * (rng.Float64() - 0.3)
		}
		settle := h%8 == 0
		if settle {
			regime := math.Sin(float64(h) / 700)
			rate = 0.0001 + 0.00012*regime + rng.NormFloat64()*0.00004
			smooth = 0.7*smooth + 0.3*rate
			pay := func(fund *decimal.Decimal) decimal.Decimal {
				amt := notional.Mul(decimal.NewFromFloat(rate)).Round(8)
				*fund = fund.Add(amt)
				return amt
			}
			pay(&bFund)
			if in {
				cycleFund = cycleFund.Add(pay(&sFund))
			}
			// Entries and exits happen at settlements.
			switch {
			case !in && smooth > 0.00008:
				in, entryBasis = true, basis
				pairID++
				fee := notional.Mul(feeRate)
				sFees, cycleFees, cycleFund = sFees.Add(fee), fee, decimal.Zero
				strat.Markers = append(strat.Markers, Marker{Time: t, Kind: MarkOpen, Symbol: "BTCUSDT", PairID: pairID,
					Direction: pair.Carry, Amount: notional, Reason: fmt.Sprintf("net carry %.1f%% APR", smooth*3*365*100)})
			case in && smooth < 0.00003:
				in = false
				fee := notional.Mul(feeRate)
				sFees, cycleFees = sFees.Add(fee), cycleFees.Add(fee)
				bp := notional.Mul(decimal.NewFromFloat(entryBasis - basis)).Round(8)
				strat.Markers = append(strat.Markers, Marker{Time: t, Kind: MarkClose, Symbol: "BTCUSDT", PairID: pairID,
					Direction: pair.Carry, Amount: notional, Reason: "carry below the exit threshold"})
				strat.Pairs = append(strat.Pairs, accounting.PairPnL{PairID: pairID, Symbol: "BTCUSDT",
					Direction: pair.Carry, State: pair.Closed, Funding: cycleFund, Fees: cycleFees, BasisPnL: bp,
					NetPnL: cycleFund.Sub(cycleFees).Add(bp), Valued: true})
				sBasisPnL = sBasisPnL.Add(bp)
				entryBasis = 0
			}
		}
		// Mark-to-market of the basis while in.
		open := decimal.Zero
		if in {
			open = notional.Mul(decimal.NewFromFloat(entryBasis - basis)).Round(8)
		}
		bOpen := notional.Mul(decimal.NewFromFloat(baseEntry - basis)).Round(8)
		sNotional := decimal.Zero
		if in {
			sNotional = notional
		}
		strat.Samples = append(strat.Samples, Sample{Time: t, Equity: capital.Add(sFund).Sub(sFees).Add(sBasisPnL).Add(open),
			Funding: sFund, Fees: sFees, BasisPnL: sBasisPnL.Add(open), Notional: sNotional, Symbol: "BTCUSDT",
			Basis: basis, FundingRate: rate, FundingHours: 8})
		base.Samples = append(base.Samples, Sample{Time: t, Equity: capital.Add(bFund).Sub(bFees).Add(bBasisPnL).Add(bOpen),
			Funding: bFund, Fees: bFees, BasisPnL: bBasisPnL.Add(bOpen), Notional: notional, Symbol: "BTCUSDT",
			Basis: basis, FundingRate: rate, FundingHours: 8})
		if h < 5 { // a data gap at the start: no basis known
			strat.Samples[h].Basis, base.Samples[h].Basis = NaN, NaN
		}
		if in {
			strat.Risk.ObserveLiqDistance(t, "BTCUSDT", pairID, 0.3+0.1*math.Sin(float64(h)/50))
			strat.Risk.ObserveHedgeDrift(t, "BTCUSDT", pairID, rng.NormFloat64()*0.001)
		}
		base.Risk.ObserveLiqDistance(t, "BTCUSDT", 1, 0.28+0.1*math.Sin(float64(h)/50))
		switch {
		case h == n/5:
			strat.Markers = append(strat.Markers, Marker{Time: t, Kind: MarkTopup, Symbol: "BTCUSDT", PairID: pairID,
				Amount: d("250"), Reason: "liquidation distance 11% < 12%"})
		case h == n/3:
			strat.Markers = append(strat.Markers, Marker{Time: t, Kind: MarkHedge, Symbol: "BTCUSDT", PairID: pairID,
				Reason: "hedge drift 0.6% > 0.5%"})
		case h == n/2:
			strat.Markers = append(strat.Markers, Marker{Time: t, Kind: MarkRotate, Symbol: "BTCUSDT", To: "ETHUSDT",
				PairID: pairID, Reason: "ETHUSDT +4% APR after costs"})
		case h == 2*n/3:
			strat.Markers = append(strat.Markers, Marker{Time: t, Kind: MarkDeleverage, Symbol: "BTCUSDT",
				PairID: pairID, Amount: d("3000"), Reason: "margin ratio 62%"})
		case h == 4*n/5:
			strat.Markers = append(strat.Markers, Marker{Time: t, Kind: MarkFlatten, Symbol: "BTCUSDT",
				PairID: pairID, Reason: "liquidation distance 4% < 5%"})
		}
	}
	if in { // still open at the end: valued at the last prices
		last := strat.Samples[len(strat.Samples)-1]
		bp := last.BasisPnL.Sub(sBasisPnL)
		strat.Pairs = append(strat.Pairs, accounting.PairPnL{PairID: pairID, Symbol: "BTCUSDT", Direction: pair.Carry,
			State: pair.Open, Funding: cycleFund, Fees: cycleFees, BasisPnL: bp, NetPnL: cycleFund.Sub(cycleFees).Add(bp),
			Notional: notional, Valued: true})
	}
	bl := base.Samples[len(base.Samples)-1]
	base.Pairs = []accounting.PairPnL{{PairID: 1, Symbol: "BTCUSDT", Direction: pair.Carry, State: pair.Open,
		Funding: bFund, Fees: bFees, BasisPnL: bl.BasisPnL, NetPnL: bl.Equity.Sub(capital), Notional: notional, Valued: true}}
	run.Strategy, run.Baseline = strat, &base
	return run
}
