package report

import (
	"fmt"
	"html"
	"html/template"
	"image/color"
	"io"
	"strconv"
	"strings"
)

// --- SVG canvas ---

type svgCanvas struct {
	b   strings.Builder
	num []byte
}

func newSVG(w, h int) *svgCanvas {
	s := &svgCanvas{}
	fmt.Fprintf(&s.b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" `+
		`role="img" aria-label="backtest chart">`+"\n", w, h, w, h)
	s.b.WriteString(`<style>text{font-family:"Liberation Sans",Arial,Helvetica,sans-serif;white-space:pre}` +
		`g.mk:hover{opacity:.6}</style>` + "\n")
	return s
}

func (s *svgCanvas) f(v float64) {
	s.num = strconv.AppendFloat(s.num[:0], v, 'f', 1, 64)
	// "12.0" → "12": shorter documents, same picture.
	if n := len(s.num); n > 2 && s.num[n-1] == '0' && s.num[n-2] == '.' {
		s.num = s.num[:n-2]
	}
	s.b.Write(s.num)
}

func hexColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

func (s *svgCanvas) polyline(pts []point, st stroke, id string) {
	if len(pts) < 2 {
		return
	}
	s.b.WriteString(`<polyline fill="none" stroke="` + hexColor(st.c) + `" stroke-width="`)
	s.f(st.w)
	s.b.WriteString(`" stroke-linejoin="round"`)
	if len(st.dash) > 0 {
		s.b.WriteString(` stroke-dasharray="`)
		for i, d := range st.dash {
			if i > 0 {
				s.b.WriteByte(' ')
			}
			s.f(d)
		}
		s.b.WriteByte('"')
	}
	if id != "" {
		s.b.WriteString(` data-series="` + html.EscapeString(id) + `"`)
	}
	s.b.WriteString(` points="`)
	s.points(pts)
	s.b.WriteString("\"/>\n")
}

// points writes "x,y x,y …".
func (s *svgCanvas) points(pts []point) {
	for i, p := range pts {
		if i > 0 {
			s.b.WriteByte(' ')
		}
		s.f(p.x)
		s.b.WriteByte(',')
		s.f(p.y)
	}
}

func (s *svgCanvas) fillRect(x, y, w, h float64, c color.RGBA) {
	s.b.WriteString(`<rect x="`)
	s.f(x)
	s.b.WriteString(`" y="`)
	s.f(y)
	s.b.WriteString(`" width="`)
	s.f(w)
	s.b.WriteString(`" height="`)
	s.f(h)
	s.b.WriteString(`" fill="` + hexColor(c) + "\"/>\n")
}

func (s *svgCanvas) fillPolygon(pts []point, c color.RGBA) {
	s.b.WriteString(`<polygon fill="` + hexColor(c) + `" points="`)
	s.points(pts)
	s.b.WriteString("\"/>\n")
}

func (s *svgCanvas) text(x, y float64, str string, st textStyle) {
	s.b.WriteString(`<text x="`)
	s.f(x)
	s.b.WriteString(`" y="`)
	s.f(y)
	s.b.WriteString(`" font-size="`)
	s.f(st.size)
	s.b.WriteString(`" fill="` + hexColor(st.c) + `"`)
	switch st.anchor {
	case anchorMiddle:
		s.b.WriteString(` text-anchor="middle"`)
	case anchorEnd:
		s.b.WriteString(` text-anchor="end"`)
	}
	if st.bold {
		s.b.WriteString(` font-weight="bold"`)
	}
	s.b.WriteString(">" + html.EscapeString(str) + "</text>\n")
}

func (s *svgCanvas) beginTitle(t string) {
	s.b.WriteString(`<g class="mk"><title>` + html.EscapeString(t) + "</title>\n")
}

func (s *svgCanvas) endTitle() { s.b.WriteString("</g>\n") }

func (s *svgCanvas) close() string {
	s.b.WriteString("</svg>\n")
	return s.b.String()
}

// SVG returns the chart as a standalone SVG document (no scripts, no external fonts or images).
func SVG(run Run, sum Summary, opt ChartOptions) string {
	w, h := opt.size()
	cv := newSVG(w, h)
	drawChart(cv, w, h, run, sum)
	return cv.close()
}

// --- HTML page ---

const maxHTMLMarkers = 2000

// WriteHTML writes a self-contained HTML report: the summary table beside the baseline, the chart as inline
// SVG (hover a marker for its details), the markers, the pairs and the definitions. It loads nothing: no
// script, stylesheet, font or image comes from outside the file.
func WriteHTML(w io.Writer, run Run, sum Summary, opt ChartOptions) error {
	header, rows := summaryRows(sum, run.quote())
	page := htmlPage{
		Title:   run.title(),
		Symbols: strings.Join(run.Meta.Symbols, ", "),
		Span: fmt.Sprintf("%s → %s UTC (%.1f days)", stamp(sum.Strategy.Start), stamp(sum.Strategy.End),
			sum.Strategy.Days),
		Meta:  run.Meta,
		Head:  header,
		Chart: template.HTML(SVG(run, sum, opt)), //nolint:gosec // built by svgCanvas, every text escaped
		Quote: run.quote(),
	}
	for _, r := range rows {
		page.Rows = append(page.Rows, htmlRow{Label: r.label, Cells: r.cells, Sub: r.sub})
	}
	books := []*Book{&run.Strategy}
	if run.Baseline != nil {
		books = append(books, run.Baseline)
	}
	for i, b := range books {
		hb := htmlBook{Name: b.name([]string{"strategy", "baseline"}[i])}
		for j, m := range b.Markers {
			if j == maxHTMLMarkers {
				hb.MoreMarkers = len(b.Markers) - j
				break
			}
			hb.Markers = append(hb.Markers, htmlMarker{Time: m.Time.UTC().Format("2006-01-02 15:04"),
				Kind: string(m.Kind), Symbol: m.Symbol, To: m.To, PairID: m.PairID, Direction: string(m.Direction),
				Amount: amountOrBlank(m), Reason: m.Reason})
		}
		for _, p := range b.Pairs {
			hb.Pairs = append(hb.Pairs, htmlPair{ID: p.PairID, Symbol: p.Symbol, Direction: string(p.Direction),
				State: string(p.State), Funding: money(p.Funding, true), Fees: money(p.Fees.Neg(), true),
				Basis: money(p.BasisPnL, true), Net: money(p.NetPnL, true), Valued: p.Valued})
		}
		page.Books = append(page.Books, hb)
	}
	if err := pageTemplate.Execute(w, page); err != nil {
		return fmt.Errorf("report: writing HTML: %w", err)
	}
	return nil
}

func amountOrBlank(m Marker) string {
	if m.Amount.IsZero() {
		return ""
	}
	return money(m.Amount, false)
}

type htmlPage struct {
	Title, Symbols, Span, Quote string
	Meta                        Meta
	Head                        []string
	Rows                        []htmlRow
	Chart                       template.HTML
	Books                       []htmlBook
}

type htmlRow struct {
	Label string
	Cells []string
	Sub   bool
}

type htmlBook struct {
	Name        string
	Markers     []htmlMarker
	MoreMarkers int
	Pairs       []htmlPair
}

type htmlMarker struct {
	Time, Kind, Symbol, To, Direction, Amount, Reason string
	PairID                                            int64
}

type htmlPair struct {
	ID                                                  int64
	Symbol, Direction, State, Funding, Fees, Basis, Net string
	Valued                                              bool
}

var pageTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}{{if .Symbols}} · {{.Symbols}}{{end}}</title>
<style>
body{font-family:"Liberation Sans",Arial,Helvetica,sans-serif;color:#222;margin:24px auto;max-width:1480px;padding:0 16px;line-height:1.4}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px}
p.meta{color:#555;margin:2px 0}
table{border-collapse:collapse;font-size:13.5px}
th,td{padding:3px 10px;border-bottom:1px solid #e6e6e6;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
td.sub{padding-left:26px;color:#444}
thead th{border-bottom:2px solid #bbb}
td.l{text-align:left;white-space:normal}
figure{margin:18px 0;overflow-x:auto}
figure svg{max-width:100%;height:auto}
dl{font-size:13.5px}
dt{font-weight:bold;margin-top:6px}
dd{margin-left:18px}
details{margin:8px 0}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{if .Symbols}}<p class="meta">symbols: {{.Symbols}}</p>{{end}}
<p class="meta">span: {{.Span}}{{if .Meta.Interval}} · data: {{.Meta.Interval}} klines{{end}}{{if .Meta.DataDir}} from {{.Meta.DataDir}}{{end}}</p>
{{if .Meta.Version}}<p class="meta">carry {{.Meta.Version}}</p>{{end}}
{{range .Meta.NoteLines}}<p class="meta">{{.}}</p>{{end}}

<h2>Summary</h2>
<table class="summary">
<thead><tr><th></th>{{range .Head}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr><td{{if .Sub}} class="sub"{{end}}>{{.Label}}</td>{{range .Cells}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table>

<h2>Chart</h2>
<figure>
{{.Chart}}
<figcaption class="meta">Shaded: the strategy holds a position. Markers sit on the strategy's equity curve; hover one for its details. Dashed red lines: flatten, halt or liquidation.</figcaption>
</figure>

{{range .Books}}
<h2>Pairs · {{.Name}}</h2>
{{if .Pairs}}<table>
<thead><tr><th>pair</th><th>symbol</th><th>direction</th><th>state</th><th>funding</th><th>fees</th><th>basis PnL</th><th>net PnL</th></tr></thead>
<tbody>
{{range .Pairs}}<tr><td>{{.ID}}</td><td>{{.Symbol}}</td><td>{{.Direction}}</td><td>{{.State}}</td><td>{{.Funding}}</td><td>{{.Fees}}</td><td>{{.Basis}}</td><td>{{.Net}}{{if not .Valued}} (unvalued){{end}}</td></tr>
{{end}}</tbody>
</table>{{else}}<p class="meta">no pairs</p>{{end}}
<details{{if lt (len .Markers) 60}} open{{end}}>
<summary>Markers · {{.Name}} ({{len .Markers}}{{if .MoreMarkers}} + {{.MoreMarkers}} more in the JSON report{{end}})</summary>
{{if .Markers}}<table>
<thead><tr><th>time (UTC)</th><th>kind</th><th>symbol</th><th>pair</th><th>direction</th><th>amount ({{$.Quote}})</th><th>reason</th></tr></thead>
<tbody>
{{range .Markers}}<tr><td>{{.Time}}</td><td>{{.Kind}}</td><td>{{.Symbol}}{{if .To}} → {{.To}}{{end}}</td><td>{{if .PairID}}{{.PairID}}{{end}}</td><td>{{.Direction}}</td><td>{{.Amount}}</td><td class="l">{{.Reason}}</td></tr>
{{end}}</tbody>
</table>{{end}}
</details>
{{end}}

<h2>Definitions</h2>
<dl>
<dt>span</dt><dd>[start, end) of the run; days = (end − start) / 24 h. Every annualised figure uses it.</dd>
<dt>net PnL</dt><dd>final equity − capital, where equity values every wallet in the quote asset at the last prices (spot at the spot price, the perpetual at its mark).</dd>
<dt>funding earned, fees paid, borrow interest</dt><dd>cumulative over the run, from the recorded funding payments, fills and loan interest.</dd>
<dt>basis PnL</dt><dd>net PnL − funding + fees + interest: the price PnL of the two legs together (entry/exit basis, slippage, marking).</dd>
<dt>APR (simple)</dt><dd>net PnL ÷ capital × 365 ÷ days, not compounded. CAGR = (final equity ÷ capital)^(365 ÷ days) − 1. Funding APR is the APR of funding alone.</dd>
<dt>max drawdown</dt><dd>the largest fall of equity below its running peak (the peak starts at the capital), measured on the recorded samples; the percentage is that fall ÷ the peak it fell from, maximised separately.</dd>
<dt>Sharpe</dt><dd>daily returns r<sub>k</sub> = E(t<sub>k</sub>) ÷ E(t<sub>k−1</sub>) − 1 with t<sub>k</sub> = start + k·24 h and E the last sampled equity at or before t<sub>k</sub> (E(start) = capital); Sharpe = mean(r) ÷ sample standard deviation(r) × √365, risk-free rate 0. Volatility = standard deviation × √365. The weekly Sharpe is the same from 7-day returns, × √(365/7): a carry book's daily returns follow one another (their lag-1 autocorrelation is shown), so the daily figure overstates the annual ratio.</dd>
<dt>time in market</dt><dd>the share of the span during which the notional was non-zero (each sample holds until the next one).</dd>
<dt>worst liquidation distance, hedge drift, margin ratio</dt><dd>the smallest |liquidation price − mark| ÷ mark, the largest |net spot ÷ perp − 1|, the largest maintenance margin ÷ margin balance seen during the run.</dd>
</dl>
</body>
</html>
`))
