package report

import (
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ChartOptions size the chart, in pixels (CSS pixels for the HTML chart).
type ChartOptions struct {
	Width, Height int // default 1400 × 1000
}

// Default chart size.
const (
	DefaultWidth  = 1400
	DefaultHeight = 1000
)

func (o ChartOptions) size() (int, int) {
	w, h := o.Width, o.Height
	if w <= 0 {
		w = DefaultWidth
	}
	if h <= 0 {
		h = DefaultHeight
	}
	return max(w, 480), max(h, 360)
}

// --- the canvas the chart is drawn on: SVG or raster ---

type point struct{ x, y float64 } // pixels, y down

type stroke struct {
	c    color.RGBA
	w    float64
	dash []float64
}

type anchor uint8

const (
	anchorStart anchor = iota
	anchorMiddle
	anchorEnd
)

type textStyle struct {
	size   float64
	c      color.RGBA
	anchor anchor
	bold   bool
}

type canvas interface {
	polyline(pts []point, st stroke, series string)
	fillRect(x, y, w, h float64, c color.RGBA)
	fillPolygon(pts []point, c color.RGBA)
	text(x, y float64, s string, st textStyle) // y is the baseline
	beginTitle(title string)                   // a hover title for what is drawn until endTitle (SVG only)
	endTitle()
}

// --- colours ---

func rgb(hex uint32) color.RGBA {
	return color.RGBA{R: uint8(hex >> 16), G: uint8(hex >> 8), B: uint8(hex), A: 255}
}

var (
	colText       = rgb(0x222222)
	colMuted      = rgb(0x666666)
	colGrid       = rgb(0xe3e3e3)
	colFrame      = rgb(0xb0b0b0)
	colZero       = rgb(0x888888)
	colInMarket   = rgb(0xeaf2fb)
	colGap        = rgb(0xf3e3cf)
	colStrategy   = rgb(0x1f77b4)
	colBaseline   = rgb(0xff7f0e)
	colFees       = rgb(0xd62728)
	colBasis      = rgb(0x0b7285)
	colBasisLight = rgb(0x99d5df)
	colFundRate   = rgb(0x6a3d9a)
	colCapital    = rgb(0x999999)
	colSevere     = rgb(0xc0392b)
	markerColors  = map[MarkerKind]color.RGBA{
		MarkOpen: rgb(0x2ca02c), MarkClose: rgb(0xd62728), MarkRotate: rgb(0x9467bd), MarkTopup: rgb(0xff7f0e),
		MarkDeleverage: rgb(0x8c564b), MarkHedge: rgb(0xbcbd22), MarkFlatten: rgb(0xc0392b), MarkHalt: rgb(0x111111),
		MarkLiquidation: rgb(0x000000),
	}
)

// --- series ---

// series is one line of a panel: times in Unix seconds, values (NaN breaks the line).
type series struct {
	id    string // stable name (SVG data-series attribute)
	label string
	st    stroke
	ts    []float64
	vs    []float64
}

func (s *series) valid() bool {
	for _, v := range s.vs {
		if !math.IsNaN(v) {
			return true
		}
	}
	return false
}

type panel struct {
	title      string
	subtitle   string // dropped first when the title does not fit beside the legend
	series     []*series
	x0, y0     float64 // plot area, pixels
	x1, y1     float64
	lo, hi     float64 // value range
	includeVal []float64
	robust     bool // fit the range to the 0.5–99.5 percentiles of the first series
	clipped    bool
}

func (p *panel) ypx(v float64) float64 {
	return p.y1 - (v-p.lo)/(p.hi-p.lo)*(p.y1-p.y0)
}

// fit chooses the value range: every value (or the robust band of the first series), the include values,
// 6% padding, then widened to nice tick bounds.
func (p *panel) fit() {
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, s := range p.series {
		if i == 0 && p.robust {
			a, b, clipped := percentileBand(s.vs, 0.005, 0.995)
			if !math.IsNaN(a) {
				lo, hi = math.Min(lo, a), math.Max(hi, b)
				p.clipped = clipped
			}
			continue
		}
		for _, v := range s.vs {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	for _, v := range p.includeVal {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
	}
	if hi-lo < 1e-12*math.Max(1, math.Abs(hi)) {
		d := math.Max(math.Abs(hi)*0.01, 1e-6)
		if hi == 0 {
			d = 1
		}
		lo, hi = lo-d, hi+d
	}
	padv := (hi - lo) * 0.06
	p.lo, p.hi = lo-padv, hi+padv
}

func percentileBand(vs []float64, qlo, qhi float64) (lo, hi float64, clipped bool) {
	var xs []float64
	for _, v := range vs {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			xs = append(xs, v)
		}
	}
	if len(xs) == 0 {
		return math.NaN(), math.NaN(), false
	}
	sort.Float64s(xs)
	at := func(q float64) float64 { return xs[int(math.Round(q*float64(len(xs)-1)))] }
	lo, hi = at(qlo), at(qhi)
	return lo, hi, lo > xs[0] || hi < xs[len(xs)-1]
}

// --- ticks ---

// niceTicks returns round tick values covering [lo, hi] with about n intervals, and the decimals to print.
func niceTicks(lo, hi float64, n int) ([]float64, int) {
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	var step float64
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		step = m * mag
		if step >= raw {
			break
		}
	}
	dec := max(0, int(-math.Floor(math.Log10(step)+1e-9)))
	if s := strconv.FormatFloat(step, 'f', -1, 64); strings.Contains(s, ".") {
		dec = max(dec, len(s)-strings.Index(s, ".")-1)
	}
	var ticks []float64
	for v := math.Ceil(lo/step-1e-9) * step; v <= hi+step*1e-9; v += step {
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		ticks = append(ticks, v)
	}
	return ticks, dec
}

func formatTick(v float64, dec int) string {
	s := strconv.FormatFloat(v, 'f', dec, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	ip, fp, hasFrac := strings.Cut(s, ".")
	ip = thousands(ip)
	if hasFrac {
		ip += "." + fp
	}
	if neg && strings.Trim(ip, "0.,") != "" {
		return "−" + ip
	}
	return ip
}

type timeStep struct {
	d      time.Duration
	months int
	layout string
}

var timeSteps = []timeStep{
	{d: time.Hour, layout: "01-02 15:04"}, {d: 3 * time.Hour, layout: "01-02 15:04"},
	{d: 6 * time.Hour, layout: "01-02 15:04"}, {d: 12 * time.Hour, layout: "01-02 15:04"},
	{d: 24 * time.Hour, layout: "2006-01-02"}, {d: 48 * time.Hour, layout: "2006-01-02"},
	{d: 7 * 24 * time.Hour, layout: "2006-01-02"}, {d: 14 * 24 * time.Hour, layout: "2006-01-02"},
	{months: 1, layout: "2006-01"}, {months: 2, layout: "2006-01"}, {months: 3, layout: "2006-01"},
	{months: 6, layout: "2006-01"}, {months: 12, layout: "2006"}, {months: 24, layout: "2006"},
	{months: 60, layout: "2006"},
}

// timeTicks returns tick times in [start, end] (UTC) at most maxTicks of them, and their label layout.
func timeTicks(start, end time.Time, maxTicks int) ([]time.Time, string) {
	start, end = start.UTC(), end.UTC()
	maxTicks = max(maxTicks, 2)
	for _, st := range timeSteps {
		var ticks []time.Time
		if st.months == 0 {
			t := start.Truncate(st.d)
			if t.Before(start) {
				t = t.Add(st.d)
			}
			if end.Sub(t)/st.d+1 > time.Duration(maxTicks) {
				continue
			}
			for ; !t.After(end); t = t.Add(st.d) {
				ticks = append(ticks, t)
			}
		} else {
			if int(end.Sub(start).Hours()/24/30.4)/st.months+1 > maxTicks+1 {
				continue
			}
			t := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC)
			for ; !t.After(end); t = t.AddDate(0, 1, 0) {
				if (int(t.Month())-1)%min(st.months, 12) != 0 || (st.months > 12 && t.Year()%(st.months/12) != 0) {
					continue
				}
				if !t.Before(start) {
					ticks = append(ticks, t)
				}
			}
			if len(ticks) > maxTicks {
				continue
			}
		}
		return ticks, st.layout
	}
	return []time.Time{start, end}, "2006-01-02"
}

// --- decimation and clipping ---

// project maps a series to pixel polylines, one per unbroken run of values, keeping per pixel column the
// first, lowest, highest and last point: the drawn shape is the same as with every point.
func project(s *series, xOf func(float64) float64, p *panel) [][]point {
	var out [][]point
	var cur []point
	col := math.NaN()
	var first, lo, hi, last point
	var n int
	flushCol := func() {
		if n == 0 {
			return
		}
		cur = append(cur, first)
		if n > 1 {
			ext := [2]point{lo, hi}
			if hi.x < lo.x { // keep the extremes in the order they happened
				ext = [2]point{hi, lo}
			}
			for _, e := range ext {
				if e != first && e != last && e != cur[len(cur)-1] {
					cur = append(cur, e)
				}
			}
			cur = append(cur, last)
		}
		n = 0
	}
	flushRun := func() {
		flushCol()
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur = nil
	}
	for i, v := range s.vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			flushRun()
			col = math.NaN()
			continue
		}
		pt := point{xOf(s.ts[i]), p.ypx(v)}
		c := math.Floor(pt.x)
		if c != col {
			flushCol()
			col = c
			first, lo, hi = pt, pt, pt
		}
		if pt.y > lo.y { // pixel y grows downwards: the lowest value has the largest y
			lo = pt
		}
		if pt.y < hi.y {
			hi = pt
		}
		last = pt
		n++
	}
	flushRun()
	if p.clipped {
		var clipped [][]point
		for _, line := range out {
			clipped = append(clipped, clipY(line, p.y0, p.y1)...)
		}
		out = clipped
	}
	return out
}

// clipY cuts a polyline to the horizontal band y0 ≤ y ≤ y1.
func clipY(line []point, y0, y1 float64) [][]point {
	var out [][]point
	var cur []point
	inside := func(p point) bool { return p.y >= y0 && p.y <= y1 }
	cross := func(a, b point, y float64) point {
		t := (y - a.y) / (b.y - a.y)
		return point{a.x + t*(b.x-a.x), y}
	}
	for i, p := range line {
		if i == 0 {
			if inside(p) {
				cur = append(cur, p)
			}
			continue
		}
		a := line[i-1]
		switch {
		case inside(a) && inside(p):
			cur = append(cur, p)
		case inside(a) && !inside(p):
			edge := y0
			if p.y > y1 {
				edge = y1
			}
			cur = append(cur, cross(a, p, edge))
			out = append(out, cur)
			cur = nil
		case !inside(a) && inside(p):
			edge := y0
			if a.y > y1 {
				edge = y1
			}
			cur = append(cur, cross(a, p, edge), p)
		default: // both outside: the segment may pass through the band
			if (a.y < y0 && p.y > y1) || (a.y > y1 && p.y < y0) {
				e1, e2 := y0, y1
				if a.y > y1 {
					e1, e2 = y1, y0
				}
				out = append(out, []point{cross(a, p, e1), cross(a, p, e2)})
			}
		}
	}
	if len(cur) > 1 {
		out = append(out, cur)
	}
	return out
}

// --- the chart ---

type chart struct {
	cv         canvas
	w, h       float64
	start, end time.Time
	x0, x1     float64
	font       float64
}

func (c *chart) xOf(unix float64) float64 {
	span := float64(c.end.Unix() - c.start.Unix())
	if span <= 0 {
		return c.x0
	}
	return c.x0 + (unix-float64(c.start.Unix()))/span*(c.x1-c.x0)
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// drawChart lays out and draws the three panels: equity, cumulative funding and fees, basis and funding rate.
func drawChart(cv canvas, width, height int, run Run, sum Summary) {
	c := &chart{cv: cv, w: float64(width), h: float64(height)}
	c.font = 12.5 * math.Min(1.4, math.Max(0.75, math.Min(c.w/1400, c.h/1000)))
	c.start, c.end = sum.Strategy.Start, sum.Strategy.End
	if !c.end.After(c.start) {
		c.end = c.start.Add(time.Hour)
	}
	fs := c.font
	strat := &run.Strategy
	c.x0, c.x1 = fs*7, c.w-fs*2
	gaps := c.gapBands(run.Meta.Gaps)

	cv.fillRect(0, 0, c.w, c.h, rgb(0xffffff))

	// Header: title, one line of figures per book, the marker legend.
	y := fs * 2
	title := run.title()
	if len(run.Meta.Symbols) > 0 {
		title += " · " + strings.Join(run.Meta.Symbols, ", ")
	}
	title += fmt.Sprintf(" · %s – %s UTC (%.0f days)", c.start.UTC().Format("2006-01-02 15:04"),
		c.end.UTC().Format("2006-01-02 15:04"), sum.Strategy.Days)
	cv.text(fs*1.5, y, title, textStyle{size: fs * 1.35, c: colText, bold: true})
	y += fs * 1.6
	quote := run.quote()
	line := func(m Metrics) string {
		return fmt.Sprintf("%s — net %s %s · APR %s · max DD %s · Sharpe %s (weekly %s) · in market %s · pairs %d",
			m.Name, money(m.NetPnL, true), quote, pct(m.APR, true), pct(m.MaxDrawdownPct, false),
			sharpeText(m.Sharpe, m.DailyReturns), sharpeText(m.SharpeWeekly, m.WeeklyReturns), pct(m.TimeInMarket, false), m.Pairs)
	}
	cv.text(fs*1.5, y, line(sum.Strategy), textStyle{size: fs, c: colStrategy, bold: true})
	if sum.Baseline != nil {
		y += fs * 1.35
		cv.text(fs*1.5, y, line(*sum.Baseline), textStyle{size: fs, c: colBaseline, bold: true})
	}
	y += fs * 1.6
	c.markerLegend(fs*1.5, y, strat, len(gaps) > 0)
	headerBottom := y + fs*0.8

	// Panel geometry.
	titleH := fs * 2.1
	gap := fs * 0.9
	bottom := fs * 3.2
	avail := c.h - headerBottom - 3*titleH - 2*gap - bottom
	heights := []float64{avail * 0.44, avail * 0.28, avail * 0.28}
	panels := []*panel{c.equityPanel(run), c.fundingPanel(run, quote), c.basisPanel(run)}
	top := headerBottom
	for i, p := range panels {
		p.x0, p.x1 = c.x0, c.x1
		p.y0 = top + titleH
		p.y1 = p.y0 + heights[i]
		top = p.y1 + gap
		p.fit()
	}

	// Time ticks shared by every panel.
	ticks, layout := timeTicks(c.start, c.end, int((c.x1-c.x0)/(fs*8)))

	bands := inMarketBands(strat, c)
	for _, p := range panels {
		c.drawPanel(p, bands, gaps, ticks)
	}
	// Severe risk markers: a dashed line through every panel.
	for _, m := range strat.Markers {
		if !m.Kind.Severe() || m.Time.Before(c.start) || m.Time.After(c.end) {
			continue
		}
		x := c.xOf(unix(m.Time))
		cv.beginTitle(markerTitle(m, quote))
		for _, p := range panels {
			cv.polyline([]point{{x, p.y0}, {x, p.y1}}, stroke{c: colSevere, w: 1.2, dash: []float64{5, 4}}, "")
		}
		cv.endTitle()
	}
	c.drawMarkers(panels[0], strat, quote)

	// Time labels under the last panel.
	last := panels[len(panels)-1]
	for _, t := range ticks {
		x := c.xOf(unix(t))
		cv.polyline([]point{{x, last.y1}, {x, last.y1 + 4}}, stroke{c: colFrame, w: 1}, "")
		cv.text(x, last.y1+fs*1.45, t.Format(layout), textStyle{size: fs * 0.95, c: colText, anchor: anchorMiddle})
	}
	cv.text(c.x1, last.y1+fs*2.7, "time (UTC)", textStyle{size: fs * 0.9, c: colMuted, anchor: anchorEnd})
}

func (c *chart) markerLegend(x, y float64, b *Book, gaps bool) {
	fs := c.font
	counts := map[MarkerKind]int{}
	for _, m := range b.Markers {
		counts[m.Kind]++
	}
	swatch := func(col color.RGBA, label string) {
		c.cv.fillRect(x, y-fs*0.75, fs*1.6, fs*0.9, col)
		c.cv.text(x+fs*2, y, label, textStyle{size: fs * 0.95, c: colMuted})
		x += fs*2 + layoutWidth(label, fs*0.95, false) + fs*1.5
	}
	swatch(colInMarket, "strategy in market")
	if gaps {
		swatch(colGap, "data gap")
	}
	for _, k := range MarkerKinds() {
		if counts[k] == 0 {
			continue
		}
		drawMarkerShape(c.cv, k, x+fs*0.5, y-fs*0.35, fs*0.55)
		label := fmt.Sprintf("%s (%d)", k, counts[k])
		c.cv.text(x+fs*1.4, y, label, textStyle{size: fs * 0.95, c: colMuted})
		x += fs*1.4 + layoutWidth(label, fs*0.95, false) + fs*1.2
	}
	if len(counts) == 0 {
		c.cv.text(x, y, "no markers", textStyle{size: fs * 0.95, c: colMuted})
	}
}

func samplesSeries(b *Book, id, label string, st stroke, f func(*Sample) float64) *series {
	s := &series{id: id, label: label, st: st, ts: make([]float64, len(b.Samples)), vs: make([]float64, len(b.Samples))}
	for i := range b.Samples {
		s.ts[i] = unix(b.Samples[i].Time)
		s.vs[i] = f(&b.Samples[i])
	}
	return s
}

func (c *chart) equityPanel(run Run) *panel {
	quote := run.quote()
	p := &panel{title: "Equity (" + quote + ")"}
	p.series = append(p.series, samplesSeries(&run.Strategy, "equity-strategy", run.Strategy.name("strategy"),
		stroke{c: colStrategy, w: 1.8}, func(s *Sample) float64 { return s.Equity.InexactFloat64() }))
	if run.Baseline != nil {
		p.series = append(p.series, samplesSeries(run.Baseline, "equity-baseline", run.Baseline.name("baseline"),
			stroke{c: colBaseline, w: 1.4}, func(s *Sample) float64 { return s.Equity.InexactFloat64() }))
	}
	if capital := run.Strategy.Capital.InexactFloat64(); capital != 0 {
		p.series = append(p.series, &series{id: "capital", label: "capital", st: stroke{c: colCapital, w: 1,
			dash: []float64{6, 4}}, ts: []float64{unix(c.start), unix(c.end)}, vs: []float64{capital, capital}})
	}
	return p
}

func (c *chart) fundingPanel(run Run, quote string) *panel {
	p := &panel{title: "Cumulative funding received and fees paid (" + quote + ")", includeVal: []float64{0}}
	p.series = append(p.series, samplesSeries(&run.Strategy, "funding-strategy",
		"funding, "+run.Strategy.name("strategy"), stroke{c: colStrategy, w: 1.8},
		func(s *Sample) float64 { return s.Funding.InexactFloat64() }))
	if run.Baseline != nil {
		p.series = append(p.series, samplesSeries(run.Baseline, "funding-baseline",
			"funding, "+run.Baseline.name("baseline"), stroke{c: colBaseline, w: 1.4},
			func(s *Sample) float64 { return s.Funding.InexactFloat64() }))
	}
	p.series = append(p.series, samplesSeries(&run.Strategy, "fees-strategy",
		"fees, "+run.Strategy.name("strategy"), stroke{c: colFees, w: 1.4, dash: []float64{6, 3}},
		func(s *Sample) float64 { return s.Fees.Add(s.Interest).InexactFloat64() }))
	return p
}

func (c *chart) basisPanel(run Run) *panel {
	book := &run.Strategy
	sym := func(b *Book) string {
		seen := map[string]bool{}
		var names []string
		for _, s := range b.Samples {
			if s.Symbol != "" && !seen[s.Symbol] {
				seen[s.Symbol] = true
				names = append(names, s.Symbol)
			}
		}
		if len(names) > 3 {
			return "the symbol in the market"
		}
		return strings.Join(names, ", ")
	}
	basis := samplesSeries(book, "basis", "basis", stroke{c: colBasisLight, w: 1},
		func(s *Sample) float64 { return s.Basis * 1e4 })
	if !basis.valid() && run.Baseline != nil {
		book = run.Baseline
		basis = samplesSeries(book, "basis", "basis", stroke{c: colBasisLight, w: 1},
			func(s *Sample) float64 { return s.Basis * 1e4 })
	}
	mean := &series{id: "basis-24h", label: "basis, trailing 24h mean", st: stroke{c: colBasis, w: 1.6},
		ts: basis.ts, vs: trailingMean(basis.ts, basis.vs, 24*3600)}
	rate := samplesSeries(book, "funding-rate", "funding rate per 8h", stroke{c: colFundRate, w: 1.6},
		func(s *Sample) float64 {
			h := s.FundingHours
			if h <= 0 {
				h = 8
			}
			return s.FundingRate * 1e4 * 8 / float64(h)
		})
	basis.label = "basis (perp − spot) / spot"
	p := &panel{title: "Basis and funding rate (bp)", series: []*series{basis, mean, rate},
		includeVal: []float64{0}, robust: true}
	p.subtitle = sym(book)
	return p
}

// trailingMean is, at each point, the mean of the known values within the window ending there (NaN when
// there is none, or when the point itself is unknown).
func trailingMean(ts, vs []float64, window float64) []float64 {
	out := make([]float64, len(vs))
	var sum float64
	var n, lo int
	for i := range vs {
		if !math.IsNaN(vs[i]) {
			sum += vs[i]
			n++
		}
		for ts[lo] <= ts[i]-window {
			if !math.IsNaN(vs[lo]) {
				sum -= vs[lo]
				n--
			}
			lo++
		}
		if n == 0 || math.IsNaN(vs[i]) {
			out[i] = math.NaN()
		} else {
			out[i] = sum / float64(n)
		}
	}
	return out
}

// inMarketBands are the x ranges (pixels) where the strategy had a position.
func inMarketBands(b *Book, c *chart) [][2]float64 {
	var bands [][2]float64
	n := len(b.Samples)
	for i := 0; i < n; i++ {
		if b.Samples[i].Notional.IsZero() {
			continue
		}
		j := i
		for j+1 < n && !b.Samples[j+1].Notional.IsZero() {
			j++
		}
		until := c.end
		if j+1 < n {
			until = b.Samples[j+1].Time
		}
		x0, x1 := c.xOf(unix(b.Samples[i].Time)), c.xOf(unix(until))
		x0, x1 = math.Max(x0, c.x0), math.Min(x1, c.x1)
		if x1 > x0 {
			if k := len(bands); k > 0 && x0-bands[k-1][1] < 0.5 {
				bands[k-1][1] = x1
			} else {
				bands = append(bands, [2]float64{x0, x1})
			}
		}
		i = j
	}
	return bands
}

// gapBand is a data gap's x range (pixels) and its hover title.
type gapBand struct {
	x0, x1 float64
	title  string
}

// gapBands are the data gaps at least a pixel wide at the chart's scale (an hour's bar missing from years of
// data would be a hairline; it is in the report's notes).
func (c *chart) gapBands(gaps []Gap) []gapBand {
	var out []gapBand
	for _, g := range gaps {
		x0, x1 := math.Max(c.xOf(unix(g.From)), c.x0), math.Min(c.xOf(unix(g.To)), c.x1)
		if x1-x0 < 1 {
			continue
		}
		out = append(out, gapBand{x0, x1, g.String()})
	}
	return out
}

func (c *chart) drawPanel(p *panel, bands [][2]float64, gaps []gapBand, ticks []time.Time) {
	cv, fs := c.cv, c.font
	cv.fillRect(p.x0, p.y0, p.x1-p.x0, p.y1-p.y0, rgb(0xffffff))
	for _, b := range bands {
		cv.fillRect(b[0], p.y0, b[1]-b[0], p.y1-p.y0, colInMarket)
	}
	for _, g := range gaps {
		cv.beginTitle(g.title)
		cv.fillRect(g.x0, p.y0, g.x1-g.x0, p.y1-p.y0, colGap)
		cv.endTitle()
	}
	for _, t := range ticks {
		x := c.xOf(unix(t))
		cv.polyline([]point{{x, p.y0}, {x, p.y1}}, stroke{c: colGrid, w: 1}, "")
	}
	yt, dec := niceTicks(p.lo, p.hi, max(3, int((p.y1-p.y0)/(fs*3.2))))
	for _, v := range yt {
		y := p.ypx(v)
		if y < p.y0-0.5 || y > p.y1+0.5 {
			continue
		}
		st := stroke{c: colGrid, w: 1}
		if v == 0 && p.lo < 0 && p.hi > 0 {
			st = stroke{c: colZero, w: 1}
		}
		cv.polyline([]point{{p.x0, y}, {p.x1, y}}, st, "")
		cv.text(p.x0-fs*0.5, y+fs*0.35, formatTick(v, dec), textStyle{size: fs * 0.95, c: colText, anchor: anchorEnd})
	}
	for _, s := range p.series {
		for _, line := range project(s, c.xOf, p) {
			if len(line) == 1 {
				line = append(line, point{line[0].x + 0.5, line[0].y})
			}
			cv.polyline(line, s.st, s.id)
		}
	}
	frame := []point{{p.x0, p.y0}, {p.x1, p.y0}, {p.x1, p.y1}, {p.x0, p.y1}, {p.x0, p.y0}}
	cv.polyline(frame, stroke{c: colFrame, w: 1}, "")

	// Title on the left, legend on the right, above the plot area.
	ty := p.y0 - fs*0.6
	legendW := 0.0
	for _, s := range p.series {
		legendW += layoutWidth(s.label, fs*0.95, false) + fs*3.6
	}
	// The longest title that leaves room for the legend.
	withSub := p.title
	if p.subtitle != "" {
		withSub += " · " + p.subtitle
	}
	titles := []string{withSub, p.title}
	if p.clipped {
		titles = []string{withSub + " · basis axis clipped to its 0.5–99.5 percentiles", withSub + " · axis clipped",
			p.title + " · axis clipped"}
	}
	title := titles[len(titles)-1]
	for _, t := range titles {
		if layoutWidth(t, fs*1.05, true)+legendW+fs <= p.x1-p.x0 {
			title = t
			break
		}
	}
	cv.text(p.x0, ty, title, textStyle{size: fs * 1.05, c: colText, bold: true})
	x := p.x1
	for i := len(p.series) - 1; i >= 0; i-- {
		s := p.series[i]
		cv.text(x, ty, s.label, textStyle{size: fs * 0.95, c: colText, anchor: anchorEnd})
		x -= layoutWidth(s.label, fs*0.95, false) + fs*2.4
		cv.polyline([]point{{x, ty - fs*0.35}, {x + fs*1.9, ty - fs*0.35}}, stroke{c: s.st.c, w: math.Max(s.st.w, 2),
			dash: s.st.dash}, "")
		x -= fs * 1.2
	}
}

// drawMarkers puts every marker on the strategy's equity curve.
func (c *chart) drawMarkers(p *panel, b *Book, quote string) {
	size := c.font * 0.55
	for _, m := range b.Markers {
		if m.Time.Before(c.start) || m.Time.After(c.end) {
			continue
		}
		x := c.xOf(unix(m.Time))
		y := p.ypx(equityAt(b, m.Time))
		y = math.Max(p.y0+size, math.Min(p.y1-size, y))
		if m.Kind == MarkOpen {
			y += size * 1.6 // below the line
		} else if m.Kind == MarkClose {
			y -= size * 1.6 // above it
		}
		c.cv.beginTitle(markerTitle(m, quote))
		drawMarkerShape(c.cv, m.Kind, x, y, size)
		c.cv.endTitle()
	}
}

// equityAt is the equity of the last sample at or before t (the capital before the first).
func equityAt(b *Book, t time.Time) float64 {
	i := sort.Search(len(b.Samples), func(i int) bool { return b.Samples[i].Time.After(t) })
	if i == 0 {
		return b.Capital.InexactFloat64()
	}
	return b.Samples[i-1].Equity.InexactFloat64()
}

func markerTitle(m Marker, quote string) string {
	var b strings.Builder
	b.WriteString(m.Time.UTC().Format("2006-01-02 15:04") + " " + string(m.Kind))
	if m.Symbol != "" {
		b.WriteString(" " + m.Symbol)
	}
	if m.To != "" {
		b.WriteString(" → " + m.To)
	}
	if m.PairID != 0 {
		fmt.Fprintf(&b, " pair %d", m.PairID)
	}
	if m.Direction != "" {
		b.WriteString(" " + string(m.Direction))
	}
	if !m.Amount.IsZero() {
		b.WriteString(" " + money(m.Amount, false) + " " + quote)
	}
	if m.Reason != "" {
		b.WriteString(": " + m.Reason)
	}
	return b.String()
}

// drawMarkerShape draws the symbol of a marker kind centred on (x, y) with half-size r.
func drawMarkerShape(cv canvas, k MarkerKind, x, y, r float64) {
	col, ok := markerColors[k]
	if !ok {
		col = colText
	}
	white := rgb(0xffffff)
	poly := func(pts []point) {
		cv.fillPolygon(pts, col)
		cv.polyline(append(pts, pts[0]), stroke{c: white, w: 0.8}, "")
	}
	switch k {
	case MarkOpen:
		poly([]point{{x, y - r}, {x + r, y + r*0.8}, {x - r, y + r*0.8}})
	case MarkClose:
		poly([]point{{x - r, y - r*0.8}, {x + r, y - r*0.8}, {x, y + r}})
	case MarkRotate:
		poly([]point{{x, y - r*1.2}, {x + r, y}, {x, y + r*1.2}, {x - r, y}})
	case MarkTopup, MarkDeleverage:
		poly([]point{{x - r*0.85, y - r*0.85}, {x + r*0.85, y - r*0.85}, {x + r*0.85, y + r*0.85}, {x - r*0.85, y + r*0.85}})
	case MarkHedge:
		var pts []point
		for i := 0; i < 12; i++ {
			a := float64(i) * math.Pi / 6
			pts = append(pts, point{x + r*0.8*math.Cos(a), y + r*0.8*math.Sin(a)})
		}
		poly(pts)
	case MarkHalt:
		var pts []point
		for i := 0; i < 8; i++ {
			a := math.Pi/8 + float64(i)*math.Pi/4
			pts = append(pts, point{x + r*1.1*math.Cos(a), y + r*1.1*math.Sin(a)})
		}
		poly(pts)
	default: // flatten, liquidation: a cross
		w := 2.4
		if k == MarkLiquidation {
			r *= 1.3
			w = 3
		}
		cv.polyline([]point{{x - r, y - r}, {x + r, y + r}}, stroke{c: col, w: w}, "")
		cv.polyline([]point{{x - r, y + r}, {x + r, y - r}}, stroke{c: col, w: w}, "")
	}
}

// layoutWidth is the room given to a text when laying out legends: its width in Liberation Sans plus 12%,
// so a browser that substitutes a wider sans-serif (DejaVu Sans) does not overlap the next item.
func layoutWidth(s string, size float64, bold bool) float64 { return textWidth(s, size, bold) * 1.12 }
