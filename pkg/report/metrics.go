package report

import (
	"math"
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/pkg/accounting"
)

// Summary is the metrics of a run: the strategy's and, when a baseline was run, the baseline's.
type Summary struct {
	Strategy Metrics
	Baseline *Metrics
}

// Metrics are the figures of one book. The package doc defines each one exactly.
type Metrics struct {
	Name string
	// Start and End are the span every annualised figure uses; Days = (End − Start) in days of 24 hours.
	Start, End time.Time
	Days       float64
	// Money, in the quote asset.
	Capital     decimal.Decimal
	FinalEquity decimal.Decimal
	Funding     decimal.Decimal // received, cumulative (negative: paid)
	Fees        decimal.Decimal // paid, positive
	Interest    decimal.Decimal // borrow interest paid, positive
	BasisPnL    decimal.Decimal // NetPnL − Funding + Fees + Interest
	NetPnL      decimal.Decimal // FinalEquity − Capital
	// PairsNetPnL is Σ of the per-pair net PnL (accounting.Total), a cross-check of NetPnL; PairsAccounted is
	// false for a book without per-pair accounts (the static-hedge baseline, or a run that traded nothing),
	// which has nothing to check.
	PairsNetPnL    decimal.Decimal
	PairsAccounted bool
	// Return is NetPnL ÷ Capital; APR = Return × 365 / Days (simple, not compounded); FundingAPR is the
	// same for Funding alone; CAGR = (FinalEquity ÷ Capital)^(365/Days) − 1.
	Return     float64
	APR        float64
	FundingAPR float64
	CAGR       float64
	// MaxDrawdown is the largest fall of equity below its running peak, in the quote asset (positive);
	// MaxDrawdownPct the largest such fall as a fraction of that peak. DrawdownPeak and DrawdownTrough
	// date the absolute one.
	MaxDrawdown    decimal.Decimal
	MaxDrawdownPct float64
	DrawdownPeak   time.Time
	DrawdownTrough time.Time
	// Sharpe = mean ÷ sample standard deviation of the daily returns × √365 (risk-free rate 0);
	// Volatility = that standard deviation × √365; DailyReturns counts the returns used.
	Sharpe       float64
	Volatility   float64
	DailyReturns int
	// A carry book's daily returns follow one another (a held pair earns much the same each day), and √365
	// then overstates the annual figure: SharpeWeekly is the same ratio from weekly returns (× √(365/7)),
	// and DailyAutocorr the lag-1 autocorrelation of the daily returns, which says how far apart to expect
	// the two.
	SharpeWeekly  float64
	WeeklyReturns int
	DailyAutocorr float64
	// TimeInMarket is the fraction of the span with a non-zero notional.
	TimeInMarket float64
	// Pairs counts pairs opened (open markers); Rotations counts rotate markers.
	Pairs     int
	Rotations int
	// Markers counts the markers of each kind.
	Markers map[MarkerKind]int
	// The worst risk figures (copied from the book).
	WorstLiqDistance Extreme
	WorstHedgeDrift  Extreme
	WorstMarginRatio Extreme
}

// Compute computes the summary of a run.
func Compute(run Run) Summary {
	s := Summary{Strategy: computeBook(run, &run.Strategy, "strategy")}
	if run.Baseline != nil {
		m := computeBook(run, run.Baseline, "baseline")
		s.Baseline = &m
	}
	return s
}

const daysPerYear = 365

func computeBook(run Run, b *Book, defName string) Metrics {
	start, end := run.span(b)
	m := Metrics{Name: b.name(defName), Start: start, End: end, Capital: b.Capital, FinalEquity: b.Capital,
		Markers: map[MarkerKind]int{}}
	if end.After(start) {
		m.Days = end.Sub(start).Hours() / 24
	}
	samples := window(b.Samples, start, end)
	if n := len(samples); n > 0 {
		last := samples[n-1]
		m.FinalEquity, m.Funding, m.Fees, m.Interest = last.Equity, last.Funding, last.Fees, last.Interest
	}
	m.NetPnL = m.FinalEquity.Sub(m.Capital)
	m.BasisPnL = m.NetPnL.Sub(m.Funding).Add(m.Fees).Add(m.Interest)
	m.PairsNetPnL, m.PairsAccounted = accounting.Total(b.Pairs).NetPnL, len(b.Pairs) > 0

	capital := m.Capital.InexactFloat64()
	if capital > 0 {
		m.Return = m.NetPnL.InexactFloat64() / capital
		if m.Days > 0 {
			m.APR = m.Return * daysPerYear / m.Days
			m.FundingAPR = m.Funding.InexactFloat64() / capital * daysPerYear / m.Days
			if final := m.FinalEquity.InexactFloat64(); final > 0 {
				m.CAGR = math.Pow(final/capital, daysPerYear/m.Days) - 1
			} else {
				m.CAGR = -1
			}
		}
	}

	m.MaxDrawdown, m.MaxDrawdownPct, m.DrawdownPeak, m.DrawdownTrough = drawdown(m.Capital, start, samples)
	returns := periodReturns(m.Capital, start, end, samples, 24*time.Hour)
	m.DailyReturns = len(returns)
	m.Sharpe, m.Volatility = sharpe(returns, daysPerYear)
	m.DailyAutocorr = autocorr1(returns)
	weekly := periodReturns(m.Capital, start, end, samples, 7*24*time.Hour)
	m.WeeklyReturns = len(weekly)
	m.SharpeWeekly, _ = sharpe(weekly, daysPerYear/7.0)
	m.TimeInMarket = timeInMarket(start, end, samples)

	for _, mk := range b.Markers {
		m.Markers[mk.Kind]++
	}
	m.Pairs, m.Rotations = m.Markers[MarkOpen], m.Markers[MarkRotate]
	m.WorstLiqDistance, m.WorstHedgeDrift, m.WorstMarginRatio = b.Risk.LiqDistance, b.Risk.HedgeDrift,
		b.Risk.MarginRatio
	return m
}

// window returns the samples with start ≤ Time ≤ end (all of them when the bounds are zero).
func window(samples []Sample, start, end time.Time) []Sample {
	lo := 0
	if !start.IsZero() {
		lo = sort.Search(len(samples), func(i int) bool { return !samples[i].Time.Before(start) })
	}
	hi := len(samples)
	if !end.IsZero() {
		hi = sort.Search(len(samples), func(i int) bool { return samples[i].Time.After(end) })
	}
	if hi < lo {
		return nil
	}
	return samples[lo:hi]
}

// drawdown walks the equity curve with the running peak seeded by the capital at start.
func drawdown(capital decimal.Decimal, start time.Time, samples []Sample) (abs decimal.Decimal, pct float64,
	peakAt, troughAt time.Time) {
	peak, peakTime := capital, start
	for _, s := range samples {
		if s.Equity.GreaterThan(peak) {
			peak, peakTime = s.Equity, s.Time
			continue
		}
		dd := peak.Sub(s.Equity)
		if dd.GreaterThan(abs) {
			abs, peakAt, troughAt = dd, peakTime, s.Time
		}
		if p := peak.InexactFloat64(); p > 0 {
			if f := dd.InexactFloat64() / p; f > pct {
				pct = f
			}
		}
	}
	return abs, pct, peakAt, troughAt
}

// periodReturns samples the equity curve every period from start (the equity at start is the capital; at
// each later grid time, the last sample at or before it) and returns the simple returns between grid
// points. A trailing part-period is left out; a non-positive equity ends the series.
func periodReturns(capital decimal.Decimal, start, end time.Time, samples []Sample, period time.Duration) []float64 {
	if !end.After(start) {
		return nil
	}
	n := int(end.Sub(start) / period)
	out := make([]float64, 0, n)
	prev := capital.InexactFloat64()
	j := -1 // index of the last sample at or before the grid time
	for k := 1; k <= n; k++ {
		t := start.Add(time.Duration(k) * period)
		for j+1 < len(samples) && !samples[j+1].Time.After(t) {
			j++
		}
		cur := capital.InexactFloat64()
		if j >= 0 {
			cur = samples[j].Equity.InexactFloat64()
		}
		if prev <= 0 {
			break
		}
		out = append(out, cur/prev-1)
		prev = cur
	}
	return out
}

// sharpe returns the annualised Sharpe ratio and volatility of returns over periods of which a year has
// perYear (× √perYear, risk-free 0, sample standard deviation). Both are 0 with fewer than two returns;
// Sharpe is 0 with zero volatility.
func sharpe(r []float64, perYear float64) (sr, vol float64) {
	n := len(r)
	if n < 2 {
		return 0, 0
	}
	mean := meanOf(r)
	var ss float64
	for _, x := range r {
		ss += (x - mean) * (x - mean)
	}
	sd := math.Sqrt(ss / float64(n-1))
	vol = sd * math.Sqrt(perYear)
	if sd == 0 || sd < 1e-15*math.Abs(mean) {
		return 0, vol
	}
	return mean / sd * math.Sqrt(perYear), vol
}

// autocorr1 is the lag-1 autocorrelation of a series: Σ (r_k − m)(r_k−1 − m) ÷ Σ (r_k − m)², m its mean;
// 0 with fewer than three values or none varying.
func autocorr1(r []float64) float64 {
	if len(r) < 3 {
		return 0
	}
	mean := meanOf(r)
	var num, den float64
	for i, x := range r {
		den += (x - mean) * (x - mean)
		if i > 0 {
			num += (x - mean) * (r[i-1] - mean)
		}
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// meanOf is the arithmetic mean of a non-empty series.
func meanOf(r []float64) float64 {
	var sum float64
	for _, x := range r {
		sum += x
	}
	return sum / float64(len(r))
}

// timeInMarket is the fraction of [start, end) covered by samples with a non-zero notional; each sample
// stands for the time until the next one (the last, until end).
func timeInMarket(start, end time.Time, samples []Sample) float64 {
	if !end.After(start) {
		return 0
	}
	var in time.Duration
	for i, s := range samples {
		if s.Notional.IsZero() {
			continue
		}
		until := end
		if i+1 < len(samples) && samples[i+1].Time.Before(end) {
			until = samples[i+1].Time
		}
		from := s.Time
		if from.Before(start) {
			from = start
		}
		if until.After(from) {
			in += until.Sub(from)
		}
	}
	return float64(in) / float64(end.Sub(start))
}
