package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/pkg/accounting"
	"github.com/carry-trading/carry/strategy/pair"
)

// Format is the value of the "format" field of the JSON document; it changes only when a field changes
// meaning or disappears (fields may be added).
const Format = "carry.backtest/v1"

// WriteJSON writes the run and its summary as one compact JSON document (layout in the package doc).
func WriteJSON(w io.Writer, run Run, sum Summary) error {
	doc := docJSON{
		Format:   Format,
		Meta:     metaToJSON(run.Meta),
		Summary:  summaryToJSON(sum),
		Strategy: bookToJSON(&run.Strategy),
	}
	if run.Baseline != nil {
		b := bookToJSON(run.Baseline)
		doc.Baseline = &b
	}
	// Compact: a two-year hourly run is some 40,000 samples; jq or any JSON reader pretty-prints it.
	enc := json.NewEncoder(w)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("report: writing JSON: %w", err)
	}
	return nil
}

// ReadJSON reads a document written by WriteJSON.
func ReadJSON(r io.Reader) (Run, Summary, error) {
	var doc docJSON
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return Run{}, Summary{}, fmt.Errorf("report: decoding JSON: %w", err)
	}
	if doc.Format != Format {
		return Run{}, Summary{}, fmt.Errorf("report: format %q, want %q", doc.Format, Format)
	}
	var d decoder
	run := Run{Meta: d.meta(doc.Meta), Strategy: d.book(&doc.Strategy)}
	if doc.Baseline != nil {
		b := d.book(doc.Baseline)
		run.Baseline = &b
	}
	sum := d.summary(doc.Summary)
	if d.err != nil {
		return Run{}, Summary{}, fmt.Errorf("report: decoding JSON: %w", d.err)
	}
	return run, sum, nil
}

// MarshalSummary encodes the figures alone, as result.json's "summary" holds them (the record of a run in
// Postgres keeps them so).
func MarshalSummary(sum Summary) ([]byte, error) {
	raw, err := json.Marshal(summaryToJSON(sum))
	if err != nil {
		return nil, fmt.Errorf("report: encoding the summary: %w", err)
	}
	return raw, nil
}

// UnmarshalSummary decodes what MarshalSummary wrote.
func UnmarshalSummary(raw []byte) (Summary, error) {
	// encoding/json matches keys without regard to case, so another encoding of the same figures (Go's field
	// names) would decode in part: the exact key is checked first.
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return Summary{}, fmt.Errorf("report: decoding the summary: %w", err)
	}
	if _, ok := keys["strategy"]; !ok {
		return Summary{}, fmt.Errorf("report: decoding the summary: no \"strategy\" figures in it")
	}
	var sj summaryJSON
	if err := json.Unmarshal(raw, &sj); err != nil {
		return Summary{}, fmt.Errorf("report: decoding the summary: %w", err)
	}
	var d decoder
	sum := d.summary(sj)
	if d.err != nil {
		return Summary{}, fmt.Errorf("report: decoding the summary: %w", d.err)
	}
	return sum, nil
}

func summaryToJSON(sum Summary) summaryJSON {
	out := summaryJSON{Strategy: metricsToJSON(sum.Strategy)}
	if sum.Baseline != nil {
		m := metricsToJSON(*sum.Baseline)
		out.Baseline = &m
	}
	return out
}

func (d *decoder) summary(sj summaryJSON) Summary {
	sum := Summary{Strategy: d.metrics(sj.Strategy)}
	if sj.Baseline != nil {
		m := d.metrics(*sj.Baseline)
		sum.Baseline = &m
	}
	return sum
}

type docJSON struct {
	Format   string      `json:"format"`
	Meta     metaJSON    `json:"meta"`
	Summary  summaryJSON `json:"summary"`
	Strategy bookJSON    `json:"strategy"`
	Baseline *bookJSON   `json:"baseline"`
}

type metaJSON struct {
	Title    string     `json:"title"`
	Symbols  []string   `json:"symbols"`
	Interval string     `json:"interval"`
	Start    *time.Time `json:"start"`
	End      *time.Time `json:"end"`
	Quote    string     `json:"quote"`
	DataDir  string     `json:"data_dir"`
	Version  string     `json:"version"`
	Notes    []string   `json:"notes"`
	Gaps     []gapJSON  `json:"gaps,omitempty"`
}

type gapJSON struct {
	Symbol string    `json:"symbol"`
	Market string    `json:"market"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
}

type summaryJSON struct {
	Strategy metricsJSON  `json:"strategy"`
	Baseline *metricsJSON `json:"baseline"`
}

type metricsJSON struct {
	Name             string             `json:"name"`
	Start            *time.Time         `json:"start"`
	End              *time.Time         `json:"end"`
	Days             float64            `json:"days"`
	Capital          string             `json:"capital"`
	FinalEquity      string             `json:"final_equity"`
	Funding          string             `json:"funding"`
	Fees             string             `json:"fees"`
	Interest         string             `json:"interest"`
	BasisPnL         string             `json:"basis_pnl"`
	NetPnL           string             `json:"net_pnl"`
	PairsNetPnL      *string            `json:"pairs_net_pnl"` // null: the book has no per-pair accounting
	Return           *float64           `json:"return"`
	APR              *float64           `json:"apr"`
	FundingAPR       *float64           `json:"funding_apr"`
	CAGR             *float64           `json:"cagr"`
	MaxDrawdown      string             `json:"max_drawdown"`
	MaxDrawdownPct   *float64           `json:"max_drawdown_pct"`
	DrawdownPeak     *time.Time         `json:"drawdown_peak"`
	DrawdownTrough   *time.Time         `json:"drawdown_trough"`
	Sharpe           *float64           `json:"sharpe"`
	Volatility       *float64           `json:"volatility"`
	DailyReturns     int                `json:"daily_returns"`
	SharpeWeekly     *float64           `json:"sharpe_weekly"`
	WeeklyReturns    int                `json:"weekly_returns"`
	DailyAutocorr    *float64           `json:"daily_autocorrelation"`
	TimeInMarket     *float64           `json:"time_in_market"`
	Pairs            int                `json:"pairs"`
	Rotations        int                `json:"rotations"`
	Markers          map[MarkerKind]int `json:"markers"`
	WorstLiqDistance *extremeJSON       `json:"worst_liq_distance"`
	WorstHedgeDrift  *extremeJSON       `json:"worst_hedge_drift"`
	WorstMarginRatio *extremeJSON       `json:"worst_margin_ratio"`
}

type bookJSON struct {
	Name    string       `json:"name"`
	Capital string       `json:"capital"`
	Samples []sampleJSON `json:"samples"`
	Markers []markerJSON `json:"markers"`
	Pairs   []pairJSON   `json:"pairs"`
	Risk    riskJSON     `json:"risk"`
}

type sampleJSON struct {
	Time         time.Time `json:"time"`
	Equity       string    `json:"equity"`
	Funding      string    `json:"funding"`
	Fees         string    `json:"fees"`
	Interest     string    `json:"interest"`
	BasisPnL     string    `json:"basis_pnl"`
	Notional     string    `json:"notional"`
	Symbol       string    `json:"symbol,omitempty"`
	Basis        *float64  `json:"basis"`
	FundingRate  *float64  `json:"funding_rate"`
	FundingHours int       `json:"funding_hours,omitempty"`
}

type markerJSON struct {
	Time      time.Time  `json:"time"`
	Kind      MarkerKind `json:"kind"`
	Symbol    string     `json:"symbol,omitempty"`
	To        string     `json:"to,omitempty"`
	PairID    int64      `json:"pair_id,omitempty"`
	Direction string     `json:"direction,omitempty"`
	Amount    string     `json:"amount"`
	Reason    string     `json:"reason,omitempty"`
}

type pairJSON struct {
	PairID       int64  `json:"pair_id"`
	Symbol       string `json:"symbol"`
	Direction    string `json:"direction"`
	State        string `json:"state"`
	SpotQty      string `json:"spot_qty"`
	PerpQty      string `json:"perp_qty"`
	Funding      string `json:"funding"`
	Fees         string `json:"fees"`
	Interest     string `json:"interest"`
	BasisPnL     string `json:"basis_pnl"`
	NetPnL       string `json:"net_pnl"`
	Notional     string `json:"notional"`
	Valued       bool   `json:"valued"`
	UnpricedFees int    `json:"unpriced_fees"`
}

type riskJSON struct {
	LiqDistance *extremeJSON `json:"liq_distance"`
	HedgeDrift  *extremeJSON `json:"hedge_drift"`
	MarginRatio *extremeJSON `json:"margin_ratio"`
}

type extremeJSON struct {
	Value  float64   `json:"value"`
	Time   time.Time `json:"time"`
	Symbol string    `json:"symbol,omitempty"`
	PairID int64     `json:"pair_id,omitempty"`
}

// --- encoding ---

func jfloat(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

func jtime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func jextreme(e Extreme) *extremeJSON {
	if !e.Observed() || math.IsNaN(e.Value) || math.IsInf(e.Value, 0) {
		return nil
	}
	return &extremeJSON{Value: e.Value, Time: e.Time.UTC(), Symbol: e.Symbol, PairID: e.PairID}
}

func metaToJSON(m Meta) metaJSON {
	out := metaJSON{Title: m.Title, Symbols: m.Symbols, Interval: m.Interval, Start: jtime(m.Start),
		End: jtime(m.End), Quote: m.Quote, DataDir: m.DataDir, Version: m.Version, Notes: m.Notes}
	for _, g := range m.Gaps {
		out.Gaps = append(out.Gaps, gapJSON{Symbol: g.Symbol, Market: g.Market, From: g.From.UTC(), To: g.To.UTC()})
	}
	return out
}

func metricsToJSON(m Metrics) metricsJSON {
	return metricsJSON{
		Name: m.Name, Start: jtime(m.Start), End: jtime(m.End), Days: m.Days,
		Capital: m.Capital.String(), FinalEquity: m.FinalEquity.String(), Funding: m.Funding.String(),
		Fees: m.Fees.String(), Interest: m.Interest.String(), BasisPnL: m.BasisPnL.String(),
		NetPnL: m.NetPnL.String(), PairsNetPnL: pairsNetPnL(m),
		Return: jfloat(m.Return), APR: jfloat(m.APR), FundingAPR: jfloat(m.FundingAPR), CAGR: jfloat(m.CAGR),
		MaxDrawdown: m.MaxDrawdown.String(), MaxDrawdownPct: jfloat(m.MaxDrawdownPct),
		DrawdownPeak: jtime(m.DrawdownPeak), DrawdownTrough: jtime(m.DrawdownTrough),
		Sharpe: jfloat(m.Sharpe), Volatility: jfloat(m.Volatility), DailyReturns: m.DailyReturns,
		SharpeWeekly: jfloat(m.SharpeWeekly), WeeklyReturns: m.WeeklyReturns, DailyAutocorr: jfloat(m.DailyAutocorr),
		TimeInMarket: jfloat(m.TimeInMarket), Pairs: m.Pairs, Rotations: m.Rotations, Markers: m.Markers,
		WorstLiqDistance: jextreme(m.WorstLiqDistance), WorstHedgeDrift: jextreme(m.WorstHedgeDrift),
		WorstMarginRatio: jextreme(m.WorstMarginRatio),
	}
}

func bookToJSON(b *Book) bookJSON {
	out := bookJSON{Name: b.Name, Capital: b.Capital.String(),
		Samples: make([]sampleJSON, len(b.Samples)), Markers: make([]markerJSON, len(b.Markers)),
		Pairs: make([]pairJSON, len(b.Pairs)),
		Risk: riskJSON{LiqDistance: jextreme(b.Risk.LiqDistance), HedgeDrift: jextreme(b.Risk.HedgeDrift),
			MarginRatio: jextreme(b.Risk.MarginRatio)}}
	for i, s := range b.Samples {
		out.Samples[i] = sampleJSON{Time: s.Time.UTC(), Equity: decString(s.Equity), Funding: decString(s.Funding),
			Fees: decString(s.Fees), Interest: decString(s.Interest), BasisPnL: decString(s.BasisPnL),
			Notional: decString(s.Notional), Symbol: s.Symbol, Basis: jfloat(s.Basis),
			FundingRate: jfloat(s.FundingRate), FundingHours: s.FundingHours}
	}
	for i, m := range b.Markers {
		out.Markers[i] = markerJSON{Time: m.Time.UTC(), Kind: m.Kind, Symbol: m.Symbol, To: m.To, PairID: m.PairID,
			Direction: string(m.Direction), Amount: m.Amount.String(), Reason: m.Reason}
	}
	for i, p := range b.Pairs {
		out.Pairs[i] = pairJSON{PairID: p.PairID, Symbol: p.Symbol, Direction: string(p.Direction),
			State: string(p.State), SpotQty: p.SpotQty.String(), PerpQty: p.PerpQty.String(),
			Funding: p.Funding.String(), Fees: p.Fees.String(), Interest: p.Interest.String(), BasisPnL: p.BasisPnL.String(),
			NetPnL: p.NetPnL.String(), Notional: p.Notional.String(), Valued: p.Valued,
			UnpricedFees: p.UnpricedFees}
	}
	return out
}

// --- decoding ---

type decoder struct{ err error }

func (d *decoder) dec(field, s string) decimal.Decimal {
	if s == "" {
		return decimal.Zero
	}
	v, err := decimal.NewFromString(s)
	if err != nil && d.err == nil {
		d.err = fmt.Errorf("%s: %w", field, err)
	}
	return v
}

func fval(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func fzero(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func tval(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return *p
}

func extreme(e *extremeJSON) Extreme {
	if e == nil {
		return Extreme{}
	}
	return Extreme{Value: e.Value, Time: e.Time, Symbol: e.Symbol, PairID: e.PairID}
}

func (d *decoder) meta(m metaJSON) Meta {
	out := Meta{Title: m.Title, Symbols: m.Symbols, Interval: m.Interval, Start: tval(m.Start), End: tval(m.End),
		Quote: m.Quote, DataDir: m.DataDir, Version: m.Version, Notes: m.Notes}
	for _, g := range m.Gaps {
		out.Gaps = append(out.Gaps, Gap{Symbol: g.Symbol, Market: g.Market, From: g.From, To: g.To})
	}
	return out
}

func pairsNetPnL(m Metrics) *string {
	if !m.PairsAccounted {
		return nil
	}
	v := m.PairsNetPnL.String()
	return &v
}

func (d *decoder) metrics(m metricsJSON) Metrics {
	out := Metrics{
		Name: m.Name, Start: tval(m.Start), End: tval(m.End), Days: m.Days,
		Capital: d.dec("capital", m.Capital), FinalEquity: d.dec("final_equity", m.FinalEquity),
		Funding: d.dec("funding", m.Funding), Fees: d.dec("fees", m.Fees), Interest: d.dec("interest", m.Interest),
		BasisPnL: d.dec("basis_pnl", m.BasisPnL), NetPnL: d.dec("net_pnl", m.NetPnL),
		PairsAccounted: m.PairsNetPnL != nil,
		Return:         fzero(m.Return), APR: fzero(m.APR), FundingAPR: fzero(m.FundingAPR), CAGR: fzero(m.CAGR),
		MaxDrawdown: d.dec("max_drawdown", m.MaxDrawdown), MaxDrawdownPct: fzero(m.MaxDrawdownPct),
		DrawdownPeak: tval(m.DrawdownPeak), DrawdownTrough: tval(m.DrawdownTrough),
		Sharpe: fzero(m.Sharpe), Volatility: fzero(m.Volatility), DailyReturns: m.DailyReturns,
		SharpeWeekly: fzero(m.SharpeWeekly), WeeklyReturns: m.WeeklyReturns, DailyAutocorr: fzero(m.DailyAutocorr),
		TimeInMarket: fzero(m.TimeInMarket), Pairs: m.Pairs, Rotations: m.Rotations, Markers: m.Markers,
		WorstLiqDistance: extreme(m.WorstLiqDistance), WorstHedgeDrift: extreme(m.WorstHedgeDrift),
		WorstMarginRatio: extreme(m.WorstMarginRatio),
	}
	if out.Markers == nil {
		out.Markers = map[MarkerKind]int{}
	}
	if m.PairsNetPnL != nil {
		out.PairsNetPnL = d.dec("pairs_net_pnl", *m.PairsNetPnL)
	}
	return out
}

func (d *decoder) book(b *bookJSON) Book {
	out := Book{Name: b.Name, Capital: d.dec("capital", b.Capital),
		Risk: RiskExtremes{LiqDistance: extreme(b.Risk.LiqDistance), HedgeDrift: extreme(b.Risk.HedgeDrift),
			MarginRatio: extreme(b.Risk.MarginRatio)}}
	if len(b.Samples) > 0 {
		out.Samples = make([]Sample, len(b.Samples))
	}
	for i, s := range b.Samples {
		out.Samples[i] = Sample{Time: s.Time, Equity: d.dec("equity", s.Equity), Funding: d.dec("funding", s.Funding),
			Fees: d.dec("fees", s.Fees), Interest: d.dec("interest", s.Interest),
			BasisPnL: d.dec("basis_pnl", s.BasisPnL), Notional: d.dec("notional", s.Notional), Symbol: s.Symbol,
			Basis: fval(s.Basis), FundingRate: fval(s.FundingRate), FundingHours: s.FundingHours}
	}
	for _, m := range b.Markers {
		out.Markers = append(out.Markers, Marker{Time: m.Time, Kind: m.Kind, Symbol: m.Symbol, To: m.To,
			PairID: m.PairID, Direction: pair.Direction(m.Direction), Amount: d.dec("amount", m.Amount),
			Reason: m.Reason})
	}
	for _, p := range b.Pairs {
		out.Pairs = append(out.Pairs, accounting.PairPnL{PairID: p.PairID, Symbol: p.Symbol,
			Direction: pair.Direction(p.Direction), State: pair.State(p.State), SpotQty: d.dec("spot_qty", p.SpotQty),
			PerpQty: d.dec("perp_qty", p.PerpQty), Funding: d.dec("funding", p.Funding), Fees: d.dec("fees", p.Fees),
			Interest: d.dec("interest", p.Interest),
			BasisPnL: d.dec("basis_pnl", p.BasisPnL), NetPnL: d.dec("net_pnl", p.NetPnL),
			Notional: d.dec("notional", p.Notional), Valued: p.Valued, UnpricedFees: p.UnpricedFees})
	}
	return out
}
