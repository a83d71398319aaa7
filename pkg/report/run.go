package report

import (
	"math"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/pkg/accounting"
	"github.com/carry-trading/carry/strategy/pair"
)

// Run is everything a backtest recorded: what was run (Meta), the strategy's book and, when one was run, the
// static-hedge baseline's book over the same data and span.
type Run struct {
	Meta     Meta
	Strategy Book
	Baseline *Book // nil: no baseline was run
}

// Meta describes the run. Only Start and End enter the metrics; the rest is printed as given.
type Meta struct {
	// Title names the run in the reports ("carry backtest" when empty).
	Title string
	// Symbols is the universe the strategy could trade.
	Symbols []string
	// Interval is the kline interval of the replayed data ("1h").
	Interval string
	// Start and End bound the run: [Start, End). They define its span for every annualised figure. A zero
	// Start (End) is taken from the first (last) sample.
	Start, End time.Time
	// Quote is the quote asset every amount is in ("USDT").
	Quote string
	// DataDir is where the replayed data came from.
	DataDir string
	// Version is the carry version that produced the run.
	Version string
	// Notes are free-form lines (configuration highlights: fees, leverage, thresholds…).
	Notes []string
	// Gaps are the stretches of missing data in the replay: the reports summarise them after the notes
	// (NoteLines) and the chart shades them.
	Gaps []Gap
}

// Book is what one account did over the run: the strategy, or the baseline.
type Book struct {
	// Name labels the book in reports ("strategy", "static hedge BTCUSDT").
	Name string
	// Capital is the equity at Start: the denominator of every return.
	Capital decimal.Decimal
	// Samples is the time series, in time order (typically one per hour of simulated time).
	Samples []Sample
	// Markers are the events worth seeing on the chart, in time order.
	Markers []Marker
	// Pairs is the accounting of every pair the book opened, closed or still holds at End (open pairs are
	// valued at the last prices).
	Pairs []accounting.PairPnL
	// Risk holds the worst risk figures seen during the run.
	Risk RiskExtremes
}

// Sample is the state of a book at one instant. Money is exact decimal in the quote asset; the cumulative
// figures count from Start.
type Sample struct {
	Time time.Time
	// Equity is the account's value: every wallet's quote balance, plus spot holdings at the spot price,
	// plus the perp's unrealised PnL at the mark, minus borrowed assets (and accrued interest) at the spot
	// price.
	Equity decimal.Decimal
	// Funding is the cumulative funding received (negative: paid).
	Funding decimal.Decimal
	// Fees is the cumulative trading fees paid, a positive number (fees charged in base or BNB valued at
	// the price of the fill).
	Fees decimal.Decimal
	// Interest is the cumulative margin borrow interest paid (reverse carry), a positive number.
	Interest decimal.Decimal
	// BasisPnL is the cumulative price PnL of the legs together (mark-to-market of both legs, including
	// slippage against the mid). It is plotted; the summary derives its own figure as a residual (see the
	// package doc).
	BasisPnL decimal.Decimal
	// Notional is the notional in the market: Σ over open pairs of |spot quantity| × spot price (one leg,
	// not both). Zero means flat.
	Notional decimal.Decimal
	// Symbol is the symbol Basis and FundingRate describe: the one held (the largest pair when several),
	// or the best-ranked one while flat.
	Symbol string
	// Basis is (perp mid − spot mid) / spot mid of Symbol, a fraction (0.0005 = 5 bp); NaN when unknown
	// (a data gap).
	Basis float64
	// FundingRate is the last settled funding rate of Symbol, per settlement, a fraction; NaN before the
	// first settlement.
	FundingRate float64
	// FundingHours is Symbol's funding interval in hours (1, 4 or 8); zero means 8. The chart shows the
	// rate per 8 hours: FundingRate × 8 / FundingHours.
	FundingHours int
}

// NaN is the "unknown" value of Sample.Basis and Sample.FundingRate.
var NaN = math.NaN()

// MarkerKind names a marker.
type MarkerKind string

// Marker kinds. The risk action kinds use the names of risk.ActionKind.
const (
	MarkOpen        MarkerKind = "open"        // a pair was opened (both legs filled)
	MarkClose       MarkerKind = "close"       // a pair was closed
	MarkRotate      MarkerKind = "rotate"      // capital moved from one symbol to another
	MarkTopup       MarkerKind = "topup"       // risk: margin top-up (wallet transfer)
	MarkDeleverage  MarkerKind = "deleverage"  // risk: both legs reduced
	MarkHedge       MarkerKind = "hedge"       // risk: one leg corrected for hedge drift
	MarkFlatten     MarkerKind = "flatten"     // risk: both legs closed by risk
	MarkHalt        MarkerKind = "halt"        // risk: trading halted
	MarkLiquidation MarkerKind = "liquidation" // the venue liquidated a position
)

// MarkerKinds lists every kind in the order reports show them.
func MarkerKinds() []MarkerKind {
	return []MarkerKind{MarkOpen, MarkClose, MarkRotate, MarkTopup, MarkDeleverage, MarkHedge, MarkFlatten,
		MarkHalt, MarkLiquidation}
}

// Risk reports whether the kind is a risk action or a liquidation.
func (k MarkerKind) Risk() bool {
	switch k {
	case MarkTopup, MarkDeleverage, MarkHedge, MarkFlatten, MarkHalt, MarkLiquidation:
		return true
	}
	return false
}

// Severe reports the kinds drawn across every panel of the chart: flatten, halt, liquidation.
func (k MarkerKind) Severe() bool {
	return k == MarkFlatten || k == MarkHalt || k == MarkLiquidation
}

// Marker is an event on the timeline.
type Marker struct {
	Time time.Time
	Kind MarkerKind
	// Symbol is the pair's symbol; for a rotation, the symbol capital left. Empty for account-wide actions.
	Symbol string
	// To is the symbol a rotation moved capital to (rotations only; may be empty if not known yet).
	To string
	// PairID is the pair concerned (0: none).
	PairID    int64
	Direction pair.Direction
	// Amount is what the marker moved, in the quote asset: the notional opened, closed, deleveraged or
	// flattened, the top-up transferred, the loss of a liquidation. Zero when not applicable.
	Amount decimal.Decimal
	// Reason says why, for a person.
	Reason string
}

// Extreme is the worst value of a risk figure over the run, where and when it was seen.
type Extreme struct {
	Value  float64
	Time   time.Time // zero: never observed
	Symbol string
	PairID int64
}

// Observed reports whether a value was recorded.
func (e Extreme) Observed() bool { return !e.Time.IsZero() }

// RiskExtremes are the worst risk figures of a run, recorded with the Observe methods.
type RiskExtremes struct {
	// LiqDistance is the smallest |liquidation price − mark| / mark of any open perp leg (0.25: the mark
	// would have to move 25% to liquidate).
	LiqDistance Extreme
	// HedgeDrift is the largest |net spot quantity ÷ perp quantity − 1| of any open pair.
	HedgeDrift Extreme
	// MarginRatio is the highest maintenance margin ÷ margin balance of the futures account (1: liquidation).
	MarginRatio Extreme
}

// ObserveLiqDistance records a liquidation distance, keeping the smallest. NaN and negative values are ignored.
func (r *RiskExtremes) ObserveLiqDistance(t time.Time, symbol string, pairID int64, distance float64) {
	if !(distance >= 0) || math.IsInf(distance, 0) {
		return
	}
	if !r.LiqDistance.Observed() || distance < r.LiqDistance.Value {
		r.LiqDistance = Extreme{Value: distance, Time: t, Symbol: symbol, PairID: pairID}
	}
}

// ObserveHedgeDrift records a hedge drift (ratio − 1, either sign), keeping the largest in absolute value.
func (r *RiskExtremes) ObserveHedgeDrift(t time.Time, symbol string, pairID int64, drift float64) {
	if math.IsNaN(drift) || math.IsInf(drift, 0) {
		return
	}
	d := math.Abs(drift)
	if !r.HedgeDrift.Observed() || d > r.HedgeDrift.Value {
		r.HedgeDrift = Extreme{Value: d, Time: t, Symbol: symbol, PairID: pairID}
	}
}

// ObserveMarginRatio records a margin ratio, keeping the largest.
func (r *RiskExtremes) ObserveMarginRatio(t time.Time, symbol string, ratio float64) {
	if !(ratio >= 0) || math.IsInf(ratio, 0) {
		return
	}
	if !r.MarginRatio.Observed() || ratio > r.MarginRatio.Value {
		r.MarginRatio = Extreme{Value: ratio, Time: t, Symbol: symbol}
	}
}

// span returns the run's [start, end) for a book: Meta's bounds, else the book's first and last samples.
func (r Run) span(b *Book) (time.Time, time.Time) {
	start, end := r.Meta.Start, r.Meta.End
	if n := len(b.Samples); n > 0 {
		if start.IsZero() {
			start = b.Samples[0].Time
		}
		if end.IsZero() {
			end = b.Samples[n-1].Time
		}
	}
	return start, end
}

// quote is the quote asset's name for display.
func (r Run) quote() string {
	if r.Meta.Quote == "" {
		return "USDT"
	}
	return r.Meta.Quote
}

func (r Run) title() string {
	if r.Meta.Title == "" {
		return "carry backtest"
	}
	return r.Meta.Title
}

func (b *Book) name(def string) string {
	if b.Name == "" {
		return def
	}
	return b.Name
}
