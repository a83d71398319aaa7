package report

import (
	"fmt"
	"time"
)

// Gap is a stretch of missing data in one market: no bar or no funding settlement between From and To.
type Gap struct {
	Symbol string
	Market string // "spot klines", "perp klines", "funding"
	From   time.Time
	To     time.Time
}

func (g Gap) String() string {
	return fmt.Sprintf("%s %s missing %s → %s", g.Symbol, g.Market, g.From.UTC().Format("2006-01-02 15:04"),
		g.To.UTC().Format("2006-01-02 15:04"))
}

// NoteLines are the run's notes followed by what its gaps amount to: per symbol and market, how many and how
// long in all (an hour's bar missing here and there is common in Binance's archive), then each gap of a day
// or more on a line of its own.
func (m Meta) NoteLines() []string {
	type key struct{ symbol, market string }
	type tally struct {
		n              int
		total, longest time.Duration
		longestFrom    time.Time
	}
	out := append([]string(nil), m.Notes...)
	var order []key
	sums := map[key]*tally{}
	var long []string
	for _, g := range m.Gaps {
		k := key{g.Symbol, g.Market}
		t := sums[k]
		if t == nil {
			t = &tally{}
			sums[k] = t
			order = append(order, k)
		}
		d := g.To.Sub(g.From)
		t.n++
		t.total += d
		if d > t.longest {
			t.longest, t.longestFrom = d, g.From
		}
		if d >= 24*time.Hour {
			what := "no prices: the market is suspended, nothing trades"
			if g.Market == "funding" {
				what = "no settlement: no funding paid or charged"
			}
			long = append(long, fmt.Sprintf("data gap: %s (%s; %s)", g, fmtSpan(d), what))
		}
	}
	for _, k := range order {
		t := sums[k]
		out = append(out, fmt.Sprintf("data gaps: %s %s missing %d times, %s in all; the longest %s from %s",
			k.symbol, k.market, t.n, fmtSpan(t.total), fmtSpan(t.longest), t.longestFrom.UTC().Format("2006-01-02 15:04")))
	}
	return append(out, long...)
}

// fmtSpan writes a duration in days and hours ("3d 4h", "5h", "15m").
func fmtSpan(d time.Duration) string {
	days, rest := d/(24*time.Hour), d%(24*time.Hour)
	switch {
	case days > 0 && rest >= time.Hour:
		return fmt.Sprintf("%dd %dh", days, rest/time.Hour)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	default:
		return d.Round(time.Minute).String()
	}
}
