package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/pkg/accounting"
)

func hours(n int) time.Duration { return time.Duration(n) * time.Hour }

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.10g, want %.10g (±%g)", what, got, want, tol)
	}
}

func book(capital string, equities ...string) Book {
	b := Book{Capital: d(capital)}
	for i, e := range equities {
		b.Samples = append(b.Samples, Sample{Time: t0.Add(hours(i)), Equity: d(e)})
	}
	return b
}

func TestDrawdown(t *testing.T) {
	run := Run{Strategy: book("100", "100", "110", "105", "120", "90", "95", "130")}
	m := Compute(run).Strategy
	if !m.MaxDrawdown.Equal(d("30")) {
		t.Errorf("max drawdown = %s, want 30 (120 → 90)", m.MaxDrawdown)
	}
	near(t, "max drawdown %", m.MaxDrawdownPct, 0.25, 1e-12)
	if !m.DrawdownPeak.Equal(t0.Add(hours(3))) || !m.DrawdownTrough.Equal(t0.Add(hours(4))) {
		t.Errorf("drawdown peak %v trough %v, want +3h and +4h", m.DrawdownPeak, m.DrawdownTrough)
	}

	// The peak is seeded with the capital: losing right after the start is a drawdown.
	m = Compute(Run{Strategy: book("100", "98", "99", "101")}).Strategy
	if !m.MaxDrawdown.Equal(d("2")) {
		t.Errorf("max drawdown = %s, want 2 (capital 100 → 98)", m.MaxDrawdown)
	}
	near(t, "max drawdown %", m.MaxDrawdownPct, 0.02, 1e-12)

	// The absolute and the relative maximum can come from different episodes: 200 → 100 is 100 (50%),
	// 1000 → 900 is 100 (10%), 2000 → 1700 is 300 (15%): 300 and 50%.
	m = Compute(Run{Strategy: book("200", "100", "1000", "900", "2000", "1700")}).Strategy
	if !m.MaxDrawdown.Equal(d("300")) {
		t.Errorf("max drawdown = %s, want 300", m.MaxDrawdown)
	}
	near(t, "max drawdown %", m.MaxDrawdownPct, 0.5, 1e-12)

	// Never below the peak: no drawdown.
	m = Compute(Run{Strategy: book("100", "100", "101", "102")}).Strategy
	if !m.MaxDrawdown.IsZero() || m.MaxDrawdownPct != 0 || !m.DrawdownPeak.IsZero() {
		t.Errorf("drawdown on a rising curve: %s %g %v", m.MaxDrawdown, m.MaxDrawdownPct, m.DrawdownPeak)
	}
}

func TestSharpeAndAPR(t *testing.T) {
	// Daily equities 1000 → 1010 → 1030.2 → 1009.596 → 1019.69196: returns +1%, +2%, −2%, +1%.
	// mean 0.005; deviations .005 .015 −.025 .005; Σ² = 9e-4; sample variance 3e-4; sd = 0.0173205081.
	// Sharpe = 0.005 / 0.0173205081 × √365 = 5.51513; volatility = 0.0173205081 × √365 = 0.330907.
	b := Book{Capital: d("1000")}
	daily := []string{"1000", "1010", "1030.2", "1009.596", "1019.69196"}
	for k, e := range daily {
		b.Samples = append(b.Samples, Sample{Time: t0.Add(hours(24 * k)), Equity: d(e)})
		if k < len(daily)-1 { // intra-day noise the daily grid must not see
			b.Samples = append(b.Samples, Sample{Time: t0.Add(hours(24*k + 12)), Equity: d("500")})
		}
	}
	// A trailing part-day: ignored by the returns, but it is the final equity.
	b.Samples = append(b.Samples, Sample{Time: t0.Add(hours(4*24 + 3)), Equity: d("1022.5")})
	run := Run{Meta: Meta{Start: t0, End: t0.Add(hours(4*24 + 6))}, Strategy: b}
	m := Compute(run).Strategy
	if m.DailyReturns != 4 {
		t.Fatalf("daily returns = %d, want 4", m.DailyReturns)
	}
	near(t, "Sharpe", m.Sharpe, 0.005/math.Sqrt(3e-4)*math.Sqrt(365), 1e-9)
	near(t, "Sharpe (by hand)", m.Sharpe, 5.515130, 1e-5)
	near(t, "volatility", m.Volatility, math.Sqrt(3e-4)*math.Sqrt(365), 1e-12)
	near(t, "days", m.Days, 4.25, 1e-12)
	if !m.NetPnL.Equal(d("22.5")) || !m.FinalEquity.Equal(d("1022.5")) {
		t.Errorf("net PnL %s final %s, want 22.5 and 1022.5", m.NetPnL, m.FinalEquity)
	}
	near(t, "return", m.Return, 0.0225, 1e-15)
	near(t, "APR", m.APR, 0.0225*365/4.25, 1e-12)
	near(t, "CAGR", m.CAGR, math.Pow(1.0225, 365/4.25)-1, 1e-9)

	// APR over 73 days: +1% → 5%.
	run = Run{Meta: Meta{Start: t0, End: t0.Add(hours(73 * 24))}, Strategy: book("10000", "10000", "10100")}
	m = Compute(run).Strategy
	near(t, "APR 73 days", m.APR, 0.05, 1e-12)

	// Fewer than two returns: Sharpe undefined, reported as 0.
	m = Compute(Run{Strategy: book("100", "100", "101")}).Strategy
	if m.Sharpe != 0 || m.DailyReturns != 0 {
		t.Errorf("Sharpe over 1 hour = %g (%d returns), want 0", m.Sharpe, m.DailyReturns)
	}
	// Constant growth: zero volatility, Sharpe 0 rather than infinite.
	b = Book{Capital: d("100")}
	for k := 0; k <= 3; k++ {
		b.Samples = append(b.Samples, Sample{Time: t0.Add(hours(24 * k)), Equity: d("100")})
	}
	m = Compute(Run{Strategy: b}).Strategy
	if m.Sharpe != 0 || m.Volatility != 0 || m.DailyReturns != 3 {
		t.Errorf("flat curve: Sharpe %g vol %g returns %d", m.Sharpe, m.Volatility, m.DailyReturns)
	}
}

// TestWeeklySharpeAndAutocorrelation: daily returns alternating +1% and −0.5% for 28 days: their lag-1
// autocorrelation is −(n−1)/n = −27/28 (each deviation is followed by its opposite); the weekly grid sees 4
// returns, alternately 1.01⁴·0.995³ − 1 and 1.01³·0.995⁴ − 1, annualised with √(365/7).
func TestWeeklySharpeAndAutocorrelation(t *testing.T) {
	b := Book{Capital: d("1000")}
	eq := d("1000")
	b.Samples = append(b.Samples, Sample{Time: t0, Equity: eq})
	for k := 1; k <= 28; k++ {
		r := d("1.01")
		if k%2 == 0 {
			r = d("0.995")
		}
		eq = eq.Mul(r)
		b.Samples = append(b.Samples, Sample{Time: t0.Add(hours(24 * k)), Equity: eq})
	}
	m := Compute(Run{Meta: Meta{Start: t0, End: t0.Add(hours(28 * 24))}, Strategy: b}).Strategy
	if m.DailyReturns != 28 || m.WeeklyReturns != 4 {
		t.Fatalf("%d daily and %d weekly returns, want 28 and 4", m.DailyReturns, m.WeeklyReturns)
	}
	near(t, "lag-1 autocorrelation", m.DailyAutocorr, -27.0/28, 1e-9)
	w1, w2 := math.Pow(1.01, 4)*math.Pow(0.995, 3)-1, math.Pow(1.01, 3)*math.Pow(0.995, 4)-1
	mean := (w1 + w2) / 2
	sd := math.Sqrt(4 * ((w1 - mean) * (w1 - mean)) / 3) // four returns, two of each: Σ² = 4·((w1 − w2)/2)²
	near(t, "weekly Sharpe", m.SharpeWeekly, mean/sd*math.Sqrt(365.0/7), 1e-9)

	// Under two weeks: no weekly ratio (n/a in the text), the daily one stands.
	m = Compute(Run{Meta: Meta{Start: t0, End: t0.Add(hours(10 * 24))}, Strategy: b}).Strategy
	if m.WeeklyReturns != 1 || m.SharpeWeekly != 0 {
		t.Errorf("10 days: %d weekly returns, Sharpe %g; want 1 and 0", m.WeeklyReturns, m.SharpeWeekly)
	}
	var out strings.Builder
	if err := WriteText(&out, Run{Meta: Meta{Start: t0, End: t0.Add(hours(10 * 24))}, Strategy: b},
		Compute(Run{Meta: Meta{Start: t0, End: t0.Add(hours(10 * 24))}, Strategy: b})); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`Sharpe \(weekly, √\(365/7\)\)\s+n/a`).MatchString(out.String()) {
		t.Errorf("a 10-day report's weekly Sharpe should read n/a:\n%s", out.String())
	}
}

func TestTimeInMarketAndComponents(t *testing.T) {
	// Samples every hour over [0h, 10h); a position at 2h, 3h, 4h and 9h (the last lasts until End) → 4h/10h.
	b := Book{Capital: d("1000")}
	for h := 0; h < 10; h++ {
		s := Sample{Time: t0.Add(hours(h)), Equity: d("1000"), Notional: decimal.Zero}
		if h >= 2 && h <= 4 || h == 9 {
			s.Notional = d("900")
		}
		b.Samples = append(b.Samples, s)
	}
	last := &b.Samples[9]
	last.Equity, last.Funding, last.Fees, last.Interest = d("1012.5"), d("20"), d("6"), d("0.5")
	b.Markers = []Marker{
		{Time: t0.Add(hours(2)), Kind: MarkOpen}, {Time: t0.Add(hours(5)), Kind: MarkClose},
		{Time: t0.Add(hours(5)), Kind: MarkRotate}, {Time: t0.Add(hours(9)), Kind: MarkOpen},
		{Time: t0.Add(hours(9)), Kind: MarkTopup}, {Time: t0.Add(hours(9)), Kind: MarkTopup},
	}
	b.Pairs = []accounting.PairPnL{{NetPnL: d("5")}, {NetPnL: d("7.25")}}
	run := Run{Meta: Meta{Start: t0, End: t0.Add(hours(10))}, Strategy: b}
	m := Compute(run).Strategy
	near(t, "time in market", m.TimeInMarket, 0.4, 1e-12)
	// basis = net − funding + fees + interest = 12.5 − 20 + 6 + 0.5 = −1.
	if !m.BasisPnL.Equal(d("-1")) || !m.NetPnL.Equal(d("12.5")) {
		t.Errorf("basis PnL %s net %s, want −1 and 12.5", m.BasisPnL, m.NetPnL)
	}
	if sum := m.Funding.Sub(m.Fees).Sub(m.Interest).Add(m.BasisPnL); !sum.Equal(m.NetPnL) {
		t.Errorf("components add to %s, net is %s", sum, m.NetPnL)
	}
	if !m.PairsNetPnL.Equal(d("12.25")) {
		t.Errorf("pairs net PnL %s, want 12.25", m.PairsNetPnL)
	}
	if m.Pairs != 2 || m.Rotations != 1 || m.Markers[MarkTopup] != 2 {
		t.Errorf("pairs %d rotations %d topups %d", m.Pairs, m.Rotations, m.Markers[MarkTopup])
	}
	// A window narrower than the samples: only [2h, 6h] counts.
	run.Meta.Start, run.Meta.End = t0.Add(hours(2)), t0.Add(hours(6))
	near(t, "time in market (window)", Compute(run).Strategy.TimeInMarket, 0.75, 1e-12)
}

func TestRiskExtremes(t *testing.T) {
	var r RiskExtremes
	r.ObserveLiqDistance(t0, "A", 1, 0.3)
	r.ObserveLiqDistance(t0.Add(time.Hour), "B", 2, 0.12)
	r.ObserveLiqDistance(t0.Add(2*time.Hour), "C", 3, 0.2)
	r.ObserveLiqDistance(t0.Add(3*time.Hour), "D", 4, math.NaN())
	r.ObserveHedgeDrift(t0, "A", 1, 0.001)
	r.ObserveHedgeDrift(t0.Add(time.Hour), "B", 2, -0.004)
	r.ObserveHedgeDrift(t0.Add(2*time.Hour), "C", 3, 0.002)
	r.ObserveMarginRatio(t0, "", 0.1)
	r.ObserveMarginRatio(t0.Add(time.Hour), "", 0.4)
	if r.LiqDistance.Value != 0.12 || r.LiqDistance.Symbol != "B" || r.HedgeDrift.Value != 0.004 ||
		r.HedgeDrift.PairID != 2 || r.MarginRatio.Value != 0.4 {
		t.Errorf("extremes: %+v", r)
	}
	if (RiskExtremes{}).LiqDistance.Observed() {
		t.Error("an empty extreme reports observed")
	}
}

func TestBaselineAndEmpty(t *testing.T) {
	run := synthRun(24*30, 1)
	s := Compute(run)
	if s.Baseline == nil || s.Baseline.Name != "static hedge BTCUSDT" {
		t.Fatalf("baseline metrics missing: %+v", s.Baseline)
	}
	near(t, "baseline time in market", s.Baseline.TimeInMarket, 1, 1e-12)
	if s.Baseline.Pairs != 1 {
		t.Errorf("baseline pairs = %d", s.Baseline.Pairs)
	}
	if s.Strategy.Days != 30 {
		t.Errorf("days = %g", s.Strategy.Days)
	}
	// An empty run computes without panicking and writes every output.
	var empty Run
	es := Compute(empty)
	if es.Baseline != nil || es.Strategy.APR != 0 {
		t.Errorf("empty run: %+v", es)
	}
	for name, write := range writers() {
		if err := write(io.Discard, empty, es); err != nil {
			t.Errorf("%s of an empty run: %v", name, err)
		}
	}
}

func writers() map[string]func(io.Writer, Run, Summary) error {
	return map[string]func(io.Writer, Run, Summary) error{
		"json": WriteJSON, "text": WriteText,
		"html": func(w io.Writer, r Run, s Summary) error { return WriteHTML(w, r, s, ChartOptions{}) },
		"png":  func(w io.Writer, r Run, s Summary) error { return WritePNG(w, r, s, ChartOptions{}) },
	}
}

func sameFloat(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

func TestJSONRoundTrip(t *testing.T) {
	run := synthRun(24*20, 2)
	run.Meta.Notes = []string{"fees: taker 0.1% spot, 0.05% perp"}
	run.Strategy.Risk.ObserveMarginRatio(t0.Add(time.Hour), "", 0.21)
	run.Baseline.Pairs = nil // as carry's static hedge: no per-pair accounts
	run.Meta.Gaps = []Gap{{Symbol: "BTCUSDT", Market: "funding", From: t0.Add(hours(8)), To: t0.Add(hours(40))}}
	// A reverse pair: its borrow interest, quantities and unpriced fees must survive the round trip too.
	run.Strategy.Pairs = append(run.Strategy.Pairs, accounting.PairPnL{PairID: 99, Symbol: "ETHUSDT", Direction: "reverse",
		State: "closed", SpotQty: d("0.00000599"), PerpQty: d("0.001"), Funding: d("-1.5"), Fees: d("0.2"), Interest: d("0.27"),
		BasisPnL: d("3"), NetPnL: d("1.03"), Valued: true, UnpricedFees: 1})
	sum := Compute(run)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, run, sum); err != nil {
		t.Fatal(err)
	}
	first := buf.String()
	if strings.Contains(first, "NaN") {
		t.Fatal("NaN in JSON")
	}
	if strings.Contains(first, "data gap") {
		t.Error("the gaps' notes are derived (Meta.NoteLines), not stored")
	}
	if !strings.Contains(first, `"equity":"`) || !strings.Contains(first, `"net_pnl":"`) {
		t.Fatal("amounts are not strings")
	}
	if !strings.Contains(first, `"basis":null`) {
		t.Error("an unknown basis is not null")
	}
	got, gotSum, err := ReadJSON(strings.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	compareBooks(t, "strategy", &run.Strategy, &got.Strategy)
	if got.Baseline == nil {
		t.Fatal("baseline lost")
	}
	compareBooks(t, "baseline", run.Baseline, got.Baseline)
	if !got.Meta.Start.Equal(run.Meta.Start) || !got.Meta.End.Equal(run.Meta.End) ||
		!reflect.DeepEqual(got.Meta.Symbols, run.Meta.Symbols) || !reflect.DeepEqual(got.Meta.Notes, run.Meta.Notes) ||
		len(got.Meta.Gaps) != 1 || got.Meta.Gaps[0].Market != "funding" || !got.Meta.Gaps[0].To.Equal(t0.Add(hours(40))) {
		t.Errorf("meta: %+v", got.Meta)
	}
	// The summary read back equals the summary recomputed from the run read back.
	re := Compute(got)
	for _, pair := range [][2]Metrics{{sum.Strategy, gotSum.Strategy}, {sum.Strategy, re.Strategy},
		{*sum.Baseline, *gotSum.Baseline}} {
		a, b := pair[0], pair[1]
		if !a.NetPnL.Equal(b.NetPnL) || !a.MaxDrawdown.Equal(b.MaxDrawdown) || !a.Funding.Equal(b.Funding) ||
			a.Sharpe != b.Sharpe || a.SharpeWeekly != b.SharpeWeekly || a.WeeklyReturns != b.WeeklyReturns ||
			a.DailyAutocorr != b.DailyAutocorr || a.APR != b.APR || a.TimeInMarket != b.TimeInMarket || a.Pairs != b.Pairs ||
			!reflect.DeepEqual(a.Markers, b.Markers) || a.WorstLiqDistance != b.WorstLiqDistance ||
			!a.DrawdownTrough.Equal(b.DrawdownTrough) || a.PairsAccounted != b.PairsAccounted || !a.PairsNetPnL.Equal(b.PairsNetPnL) {
			t.Errorf("summary differs:\n%+v\n%+v", a, b)
		}
	}
	// The pairs' cross-check exists for the strategy only: the baseline keeps no per-pair accounts.
	if !gotSum.Strategy.PairsAccounted || gotSum.Baseline.PairsAccounted || !strings.Contains(first, `"pairs_net_pnl":null`) {
		t.Errorf("pairs accounted: strategy %v, baseline %v", gotSum.Strategy.PairsAccounted, gotSum.Baseline.PairsAccounted)
	}
	// Writing what was read gives the same bytes: the format is stable.
	buf.Reset()
	if err := WriteJSON(&buf, got, gotSum); err != nil {
		t.Fatal(err)
	}
	if buf.String() != first {
		t.Error("JSON → read → JSON changed the document")
	}
	if _, _, err := ReadJSON(strings.NewReader(`{"format":"other"}`)); err == nil {
		t.Error("a foreign format was accepted")
	}
	if _, _, err := ReadJSON(strings.NewReader(`{"format":"` + Format + `","strategy":{"capital":"x"}}`)); err == nil {
		t.Error("a bad decimal was accepted")
	}
}

func compareBooks(t *testing.T, name string, a, b *Book) {
	t.Helper()
	if a.Name != b.Name || !a.Capital.Equal(b.Capital) || len(a.Samples) != len(b.Samples) ||
		len(a.Markers) != len(b.Markers) || len(a.Pairs) != len(b.Pairs) || a.Risk != b.Risk {
		t.Fatalf("%s: book header differs", name)
	}
	for i := range a.Samples {
		x, y := a.Samples[i], b.Samples[i]
		if !x.Time.Equal(y.Time) || !x.Equity.Equal(y.Equity) || !x.Funding.Equal(y.Funding) || !x.Fees.Equal(y.Fees) ||
			!x.Interest.Equal(y.Interest) || !x.BasisPnL.Equal(y.BasisPnL) || !x.Notional.Equal(y.Notional) ||
			x.Symbol != y.Symbol || !sameFloat(x.Basis, y.Basis) || !sameFloat(x.FundingRate, y.FundingRate) ||
			x.FundingHours != y.FundingHours {
			t.Fatalf("%s: sample %d differs:\n%+v\n%+v", name, i, x, y)
		}
	}
	for i := range a.Markers {
		x, y := a.Markers[i], b.Markers[i]
		if !x.Time.Equal(y.Time) || x.Kind != y.Kind || x.Symbol != y.Symbol || x.To != y.To || x.PairID != y.PairID ||
			x.Direction != y.Direction || !x.Amount.Equal(y.Amount) || x.Reason != y.Reason {
			t.Fatalf("%s: marker %d differs:\n%+v\n%+v", name, i, x, y)
		}
	}
	for i := range a.Pairs {
		x, y := a.Pairs[i], b.Pairs[i]
		if x.PairID != y.PairID || x.Symbol != y.Symbol || x.Direction != y.Direction || x.State != y.State ||
			!x.Funding.Equal(y.Funding) || !x.Fees.Equal(y.Fees) || !x.BasisPnL.Equal(y.BasisPnL) ||
			!x.NetPnL.Equal(y.NetPnL) || !x.Notional.Equal(y.Notional) || x.Valued != y.Valued ||
			!x.Interest.Equal(y.Interest) || !x.SpotQty.Equal(y.SpotQty) || !x.PerpQty.Equal(y.PerpQty) ||
			x.UnpricedFees != y.UnpricedFees {
			t.Fatalf("%s: pair %d differs:\n%+v\n%+v", name, i, x, y)
		}
	}
}

func TestText(t *testing.T) {
	run := synthRun(24*60, 3)
	run.Baseline.Pairs = nil // as carry's static hedge: no per-pair accounts
	run.Meta.Gaps = []Gap{
		{Symbol: "BTCUSDT", Market: "spot klines", From: t0.Add(hours(3)), To: t0.Add(hours(4))},
		{Symbol: "BTCUSDT", Market: "perp klines", From: t0.Add(hours(24)), To: t0.Add(hours(96))},
		{Symbol: "BTCUSDT", Market: "spot klines", From: t0.Add(hours(100)), To: t0.Add(hours(104))},
	}
	sum := Compute(run)
	var buf bytes.Buffer
	if err := WriteText(&buf, run, sum); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	t.Log("\n" + out)
	for _, want := range []string{"strategy", "static hedge BTCUSDT", "net PnL", "funding earned", "APR (simple)",
		"max drawdown", "Sharpe (daily, √365)", "time in market", "worst liq. distance", "pairs of strategy"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q", want)
		}
	}
	// The gaps, summed per market after the notes, and the one of a day or more on its own line.
	for _, want := range []string{
		"data gaps: BTCUSDT spot klines missing 2 times, 5h in all; the longest 4h from 2021-01-05 04:00",
		"data gaps: BTCUSDT perp klines missing 1 times, 3d in all; the longest 3d from 2021-01-02 00:00",
		"data gap: BTCUSDT perp klines missing 2021-01-02 00:00 → 2021-01-05 00:00 (3d; no prices: the market is suspended, nothing trades)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q", want)
		}
	}
	if strings.Count(out, "data gap: ") != 1 {
		t.Error("a gap shorter than a day has a line of its own")
	}
	// The baseline has no per-pair accounts: its cross-check is n/a, not a 0.00 that reads like a failure.
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "Σ pair net PnL") && !strings.HasSuffix(strings.TrimSpace(l), "n/a") {
			t.Errorf("baseline pairs check: %q", l)
		}
	}
	// The two value columns are aligned: every summary row has the same length.
	lines := strings.Split(out, "\n")
	var width int
	for _, l := range lines {
		if strings.HasPrefix(l, "  net PnL") || strings.HasPrefix(l, "  APR (simple)") || strings.HasPrefix(l, "  time in market") {
			if n := runeLen(l); width == 0 {
				width = n
			} else if n != width {
				t.Errorf("misaligned row %q (%d runes, want %d)", l, n, width)
			}
		}
	}
	if width == 0 {
		t.Error("summary rows not found")
	}
	if got := money(d("-1234567.005"), true); got != "-1,234,567.01" {
		t.Errorf("money = %q", got)
	}
	if got := money(d("0.001"), true); got != "0.00" {
		t.Errorf("money = %q", got)
	}
	if got := money(d("-0.001"), true); got != "0.00" {
		t.Errorf("money = %q", got)
	}
	if got := money(d("999.5"), true); got != "+999.50" {
		t.Errorf("money = %q", got)
	}
}

func TestHTML(t *testing.T) {
	run := synthRun(24*90, 4)
	// A three-day gap is shaded with a hover title; a one-hour one is a hairline at this scale, left out.
	run.Meta.Gaps = []Gap{{Symbol: "BTCUSDT", Market: "perp klines", From: t0.Add(hours(24 * 40)), To: t0.Add(hours(24 * 43))},
		{Symbol: "BTCUSDT", Market: "spot klines", From: t0.Add(hours(24 * 50)), To: t0.Add(hours(24*50 + 1))}}
	run.Strategy.Markers = append(run.Strategy.Markers, Marker{Time: t0.Add(hours(24 * 80)), Kind: MarkHalt,
		Reason: `operator said "stop" <now> & then`})
	sum := Compute(run)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, run, sum, ChartOptions{}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	writeOut(t, "report.html", buf.Bytes())

	// Self-contained: no script, no external resource.
	lower := strings.ToLower(page)
	for _, bad := range []string{"<script", "src=", "href=", "@import", "url(", "<link"} {
		if strings.Contains(lower, bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
	if n := strings.Count(page, "http"); n != strings.Count(page, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Errorf("HTML mentions http %d times beyond the SVG namespace", n)
	}
	// Well-formed: every element closes in order (HTML void elements aside).
	checkBalanced(t, page)
	// The SVG alone is strict XML.
	i, j := strings.Index(page, "<svg"), strings.LastIndex(page, "</svg>")
	if i < 0 || j < i {
		t.Fatal("no inline SVG")
	}
	svg := page[i : j+len("</svg>")]
	if !strings.Contains(svg, "<title>BTCUSDT perp klines missing 2021-02-10 00:00 → 2021-02-13 00:00</title>") || !strings.Contains(svg, "data gap") ||
		strings.Contains(svg, "spot klines missing") {
		t.Error("the chart does not shade the three-day gap alone, with its title and a legend")
	}
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
	}
	// It contains every series, the markers with their hover titles, and the summary.
	for _, id := range []string{"equity-strategy", "equity-baseline", "capital", "funding-strategy",
		"funding-baseline", "fees-strategy", "basis", "funding-rate"} {
		if !strings.Contains(page, `data-series="`+id+`"`) {
			t.Errorf("series %s missing from the chart", id)
		}
	}
	for _, want := range []string{"<title>", " open BTCUSDT pair 1 carry", "rotate BTCUSDT → ETHUSDT",
		"operator said &#34;stop&#34; &lt;now&gt; &amp; then", "Summary", "static hedge BTCUSDT", "Definitions"} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	// The equity polyline spans the plot: its first and last x are at the plot's edges.
	k := strings.Index(page, `data-series="equity-strategy" points="`)
	pts := page[k+len(`data-series="equity-strategy" points="`):]
	pts = pts[:strings.Index(pts, `"`)]
	n := strings.Count(pts, " ") + 1
	if n < 200 || n > 4*DefaultWidth+8 {
		t.Errorf("equity polyline has %d points (2160 samples decimated to ≤ 4 per pixel column)", n)
	}
}

// checkBalanced parses the page leniently as HTML and checks the element nesting.
func checkBalanced(t *testing.T, page string) {
	t.Helper()
	void := map[string]bool{"meta": true, "br": true, "img": true, "link": true, "hr": true, "input": true}
	dec := xml.NewDecoder(strings.NewReader(page))
	dec.Strict = false
	dec.Entity = xml.HTMLEntity
	var stack []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("HTML does not parse: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if !void[e.Name.Local] {
				stack = append(stack, e.Name.Local)
			}
		case xml.EndElement:
			if void[e.Name.Local] {
				continue
			}
			if len(stack) == 0 || stack[len(stack)-1] != e.Name.Local {
				t.Fatalf("</%s> closes %v", e.Name.Local, stack)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		t.Fatalf("unclosed elements: %v", stack)
	}
}

// writeOut keeps an output for a person to look at when CARRY_REPORT_OUT names a directory.
func writeOut(t *testing.T, name string, data []byte) {
	dir := os.Getenv("CARRY_REPORT_OUT")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", filepath.Join(dir, name))
}

func TestPNG(t *testing.T) {
	run := synthRun(24*365, 5)
	run.Meta.Gaps = []Gap{{Symbol: "BTCUSDT", Market: "perp klines", From: t0.Add(hours(24 * 200)), To: t0.Add(hours(24 * 206))}}
	sum := Compute(run)
	for _, size := range []ChartOptions{{}, {Width: 900, Height: 640}} {
		var buf bytes.Buffer
		if err := WritePNG(&buf, run, sum, size); err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("PNG does not decode: %v", err)
		}
		w, h := size.size()
		if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
			t.Fatalf("PNG is %dx%d, want %dx%d", b.Dx(), b.Dy(), w, h)
		}
		// The strategy's and the baseline's lines, the open markers and the in-market shading are drawn.
		colours := map[string]color.RGBA{"strategy": colStrategy, "baseline": colBaseline,
			"open marker": markerColors[MarkOpen], "shading": colInMarket, "basis": colBasis, "data gap": colGap}
		counts := countColors(img, colours)
		for name := range colours {
			if counts[name] < 20 {
				t.Errorf("%v: %d pixels of the %s colour", size, counts[name], name)
			}
		}
		if counts["data gap"] < 2000 { // the legend's swatch is a few hundred; the six-day band through the panels thousands
			t.Errorf("%v: %d pixels of the gap shading", size, counts["data gap"])
		}
		writeOut(t, fmt.Sprintf("report-%dx%d.png", w, h), buf.Bytes())
	}
}

// countColors counts, in one pass, the pixels of each colour (exact RGB match).
func countColors(img image.Image, cs map[string]color.RGBA) map[string]int {
	out := map[string]int{}
	rgba, ok := img.(*image.RGBA)
	if !ok {
		b := img.Bounds()
		rgba = image.NewRGBA(b)
		draw.Draw(rgba, b, img, b.Min, draw.Src)
	}
	want := map[[3]uint8]string{}
	for name, c := range cs {
		want[[3]uint8{c.R, c.G, c.B}] = name
	}
	for i := 0; i+3 < len(rgba.Pix); i += 4 {
		if name, ok := want[[3]uint8{rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2]}]; ok {
			out[name]++
		}
	}
	return out
}

func TestTicks(t *testing.T) {
	ticks, dec := niceTicks(9870, 10240, 5)
	if dec != 0 || ticks[0] != 9900 || ticks[len(ticks)-1] != 10200 {
		t.Errorf("ticks %v dec %d", ticks, dec)
	}
	if _, dec := niceTicks(-0.3, 1.2, 6); dec != 2 { // step 0.25
		t.Errorf("decimals for step 0.25 = %d", dec)
	}
	if got := formatTick(-12345.5, 1); got != "−12,345.5" {
		t.Errorf("formatTick = %q", got)
	}
	tt, layout := timeTicks(t0, t0.AddDate(2, 0, 0), 14)
	if layout != "2006-01" || len(tt) < 4 || len(tt) > 14 || tt[0].Day() != 1 {
		t.Errorf("two years: %d ticks %v layout %s", len(tt), tt, layout)
	}
	tt, layout = timeTicks(t0, t0.Add(36*time.Hour), 10)
	if layout != "01-02 15:04" || len(tt) > 10 {
		t.Errorf("36 hours: %v %s", tt, layout)
	}
	tt, layout = timeTicks(t0, t0.AddDate(0, 0, 20), 10)
	if layout != "2006-01-02" || len(tt) > 10 {
		t.Errorf("20 days: %v %s", tt, layout)
	}
}

func TestClipAndProject(t *testing.T) {
	lines := clipY([]point{{0, 5}, {10, 15}, {20, 25}, {30, -5}, {40, 5}}, 0, 20)
	// In from 5 to 15, out at 25 (cut at 20), back through the band to −5 (cut 20 → 0), in again at 5.
	if len(lines) != 3 {
		t.Fatalf("clip: %v", lines)
	}
	// Decimation keeps the extremes of each pixel column.
	s := &series{ts: []float64{0, 0.1, 0.2, 0.3, 1.5}, vs: []float64{5, 9, 1, 5, 5}}
	p := &panel{y0: 0, y1: 10, lo: 0, hi: 10}
	got := project(s, func(x float64) float64 { return x }, p)
	if len(got) != 1 || len(got[0]) != 5 {
		t.Fatalf("project: %v", got)
	}
	if got[0][1].y != 1 || got[0][2].y != 9 { // value 9 → y 1, value 1 → y 9, in time order
		t.Errorf("extremes out of order: %v", got[0])
	}
	// NaN breaks the line.
	s = &series{ts: []float64{0, 1, 2, 3}, vs: []float64{1, math.NaN(), 2, 3}}
	if got := project(s, func(x float64) float64 { return x * 10 }, p); len(got) != 2 {
		t.Errorf("NaN did not break the line: %v", got)
	}
}

func TestGlyphs(t *testing.T) {
	// Every character the chart draws exists in the compiled-in font (no tofu boxes in the PNG).
	fc := face(12, false)
	for _, r := range "−·–→Σ√%()+,.0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" {
		idx, err := fc.Face.GlyphIndex(nil, r)
		if err != nil || idx == 0 {
			t.Errorf("glyph %q missing", r)
		}
	}
}

// TestRenderSpeed renders a two-year hourly run; the chart must take well under a second (without the race
// detector, which slows it about tenfold). The benchmarks give the precise figures.
func TestRenderSpeed(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("short or race")
	}
	run := synthRun(2*365*24, 6) // two years hourly: 17,520 samples per book
	sum := Compute(run)
	for name, write := range writers() {
		start := time.Now()
		if err := write(io.Discard, run, sum); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		t.Logf("%s of %d samples: %v", name, len(run.Strategy.Samples), took)
		if (name == "png" || name == "html") && took > time.Second {
			t.Errorf("%s took %v", name, took)
		}
	}
}

func BenchmarkCompute(b *testing.B) {
	run := synthRun(2*365*24, 6)
	for b.Loop() {
		Compute(run)
	}
}

func BenchmarkWritePNG(b *testing.B) {
	run := synthRun(2*365*24, 6)
	sum := Compute(run)
	for b.Loop() {
		if err := WritePNG(io.Discard, run, sum, ChartOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteHTML(b *testing.B) {
	run := synthRun(2*365*24, 6)
	sum := Compute(run)
	for b.Loop() {
		if err := WriteHTML(io.Discard, run, sum, ChartOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteJSON(b *testing.B) {
	run := synthRun(2*365*24, 6)
	sum := Compute(run)
	for b.Loop() {
		if err := WriteJSON(io.Discard, run, sum); err != nil {
			b.Fatal(err)
		}
	}
}
