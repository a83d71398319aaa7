package report

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// row is one line of the summary table: a label and one cell per book.
type row struct {
	label string
	cells []string
	sub   bool // a component of the line above (indented)
}

// summaryRows is the summary table shared by the text and HTML reports.
func summaryRows(sum Summary, quote string) (header []string, rows []row) {
	books := []Metrics{sum.Strategy}
	if sum.Baseline != nil {
		books = append(books, *sum.Baseline)
	}
	for _, m := range books {
		header = append(header, m.Name)
	}
	add := func(label string, sub bool, f func(m Metrics) string) {
		r := row{label: label, sub: sub}
		for _, m := range books {
			r.cells = append(r.cells, f(m))
		}
		rows = append(rows, r)
	}
	add("capital ("+quote+")", false, func(m Metrics) string { return money(m.Capital, false) })
	add("final equity", false, func(m Metrics) string { return money(m.FinalEquity, false) })
	add("net PnL", false, func(m Metrics) string { return money(m.NetPnL, true) })
	add("funding earned", true, func(m Metrics) string { return money(m.Funding, true) })
	add("fees paid", true, func(m Metrics) string { return money(m.Fees.Neg(), true) })
	add("borrow interest", true, func(m Metrics) string { return money(m.Interest.Neg(), true) })
	add("basis PnL", true, func(m Metrics) string { return money(m.BasisPnL, true) })
	add("Σ pair net PnL (check)", false, func(m Metrics) string {
		if !m.PairsAccounted {
			return "n/a"
		}
		return money(m.PairsNetPnL, true)
	})
	add("return", false, func(m Metrics) string { return pct(m.Return, true) })
	add("APR (simple)", false, func(m Metrics) string { return pct(m.APR, true) })
	add("funding APR", false, func(m Metrics) string { return pct(m.FundingAPR, true) })
	add("CAGR", false, func(m Metrics) string { return pct(m.CAGR, true) })
	add("max drawdown", false, func(m Metrics) string {
		return money(m.MaxDrawdown, false) + " (" + pct(m.MaxDrawdownPct, false) + ")"
	})
	add("Sharpe (daily, √365)", false, func(m Metrics) string { return sharpeText(m.Sharpe, m.DailyReturns) })
	add("Sharpe (weekly, √(365/7))", false, func(m Metrics) string { return sharpeText(m.SharpeWeekly, m.WeeklyReturns) })
	add("autocorr. (daily, lag 1)", false, func(m Metrics) string {
		if m.DailyReturns < 3 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f", m.DailyAutocorr)
	})
	add("volatility (ann.)", false, func(m Metrics) string {
		if m.DailyReturns < 2 {
			return "n/a"
		}
		return pct(m.Volatility, false)
	})
	add("time in market", false, func(m Metrics) string { return pct(m.TimeInMarket, false) })
	add("pairs opened", false, func(m Metrics) string { return fmt.Sprint(m.Pairs) })
	add("rotations", false, func(m Metrics) string { return fmt.Sprint(m.Rotations) })
	add("risk actions", false, func(m Metrics) string {
		var parts []string
		for _, k := range MarkerKinds() {
			if k.Risk() && k != MarkLiquidation && m.Markers[k] > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", k, m.Markers[k]))
			}
		}
		if len(parts) == 0 {
			return "none"
		}
		return strings.Join(parts, ", ")
	})
	add("liquidations", false, func(m Metrics) string { return fmt.Sprint(m.Markers[MarkLiquidation]) })
	add("worst liq. distance", false, func(m Metrics) string { return extremeText(m.WorstLiqDistance) })
	add("worst hedge drift", false, func(m Metrics) string { return extremeText(m.WorstHedgeDrift) })
	add("worst margin ratio", false, func(m Metrics) string { return extremeText(m.WorstMarginRatio) })
	return header, rows
}

// WriteText writes the summary as an aligned table, the strategy beside the baseline, followed by the
// strategy's pairs.
func WriteText(w io.Writer, run Run, sum Summary) error {
	var b strings.Builder
	quote := run.quote()
	fmt.Fprintf(&b, "%s\n", run.title())
	if len(run.Meta.Symbols) > 0 {
		fmt.Fprintf(&b, "  symbols   %s\n", strings.Join(run.Meta.Symbols, ", "))
	}
	m := sum.Strategy
	fmt.Fprintf(&b, "  span      %s → %s UTC (%.1f days)\n", stamp(m.Start), stamp(m.End), m.Days)
	if run.Meta.Interval != "" || run.Meta.DataDir != "" {
		fmt.Fprintf(&b, "  data      %s %s\n", run.Meta.Interval, run.Meta.DataDir)
	}
	if run.Meta.Version != "" {
		fmt.Fprintf(&b, "  version   %s\n", run.Meta.Version)
	}
	for _, n := range run.Meta.NoteLines() {
		fmt.Fprintf(&b, "  %s\n", n)
	}
	b.WriteString("\n")

	header, rows := summaryRows(sum, quote)
	labelW := 0
	for _, r := range rows {
		labelW = max(labelW, runeLen(r.label)+2)
	}
	colW := make([]int, len(header))
	for i, h := range header {
		colW[i] = runeLen(h)
		for _, r := range rows {
			colW[i] = max(colW[i], runeLen(r.cells[i]))
		}
	}
	b.WriteString(pad("", labelW+2, false))
	for i, h := range header {
		b.WriteString("  " + pad(h, colW[i], true))
	}
	b.WriteString("\n")
	for _, r := range rows {
		label := r.label
		if r.sub {
			label = "  " + label
		}
		b.WriteString("  " + pad(label, labelW, false))
		for i, c := range r.cells {
			b.WriteString("  " + pad(c, colW[i], true))
		}
		b.WriteString("\n")
	}

	writePairs(&b, run.Strategy.name("strategy"), &run.Strategy)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("report: writing text: %w", err)
	}
	return nil
}

const maxTextPairs = 100

func writePairs(b *strings.Builder, name string, book *Book) {
	if len(book.Pairs) == 0 {
		return
	}
	fmt.Fprintf(b, "\npairs of %s (%d)\n", name, len(book.Pairs))
	cols := []string{"id", "symbol", "direction", "state", "funding", "fees", "basis PnL", "net PnL"}
	var table [][]string
	for i, p := range book.Pairs {
		if i == maxTextPairs {
			table = append(table, []string{"…", fmt.Sprintf("%d more in the JSON report", len(book.Pairs)-i)})
			break
		}
		table = append(table, []string{fmt.Sprint(p.PairID), p.Symbol, string(p.Direction), string(p.State),
			money(p.Funding, true), money(p.Fees.Neg(), true), money(p.BasisPnL, true), money(p.NetPnL, true)})
	}
	width := make([]int, len(cols))
	for i, c := range cols {
		width[i] = runeLen(c)
	}
	for _, r := range table {
		for i, c := range r {
			if len(r) == len(cols) {
				width[i] = max(width[i], runeLen(c))
			}
		}
	}
	line := func(r []string) {
		b.WriteString(" ")
		if len(r) != len(cols) {
			b.WriteString(" " + strings.Join(r, " ") + "\n")
			return
		}
		for i, c := range r {
			b.WriteString(" " + pad(c, width[i], i == 0 || i >= 4))
		}
		b.WriteString("\n")
	}
	line(cols)
	for _, r := range table {
		line(r)
	}
}

// --- formatting ---

func runeLen(s string) int { return utf8.RuneCountInString(s) }

func pad(s string, w int, right bool) string {
	n := w - runeLen(s)
	if n <= 0 {
		return s
	}
	if right {
		return strings.Repeat(" ", n) + s
	}
	return s + strings.Repeat(" ", n)
}

// money formats an amount with 2 decimals and thousands separators; signed adds "+" to positive amounts.
func money(d decimal.Decimal, signed bool) string {
	s := d.StringFixed(2)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
		if strings.Trim(s, "0.") == "" {
			sign = "" // -0.00
		}
	} else if signed && strings.Trim(s, "0.") != "" {
		sign = "+"
	}
	intPart, frac, _ := strings.Cut(s, ".")
	return sign + thousands(intPart) + "." + frac
}

func thousands(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	lead := len(digits) % 3
	if lead > 0 {
		b.WriteString(digits[:lead])
	}
	for i := lead; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// sharpeText is a Sharpe ratio from n returns: n/a from fewer than two.
func sharpeText(sr float64, n int) string {
	if n < 2 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", sr)
}

// pct formats a fraction as a percentage with 2 decimals.
func pct(f float64, signed bool) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "n/a"
	}
	if signed {
		return fmt.Sprintf("%+.2f%%", f*100)
	}
	return fmt.Sprintf("%.2f%%", f*100)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func extremeText(e Extreme) string {
	if !e.Observed() {
		return "n/a"
	}
	s := pct(e.Value, false) + " at " + stamp(e.Time)
	if e.Symbol != "" {
		s += " " + e.Symbol
	}
	return s
}
