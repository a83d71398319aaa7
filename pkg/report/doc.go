// Package report turns what a backtest recorded into numbers a quant can check and pictures a person can
// read: a summary of metrics (Compute), a JSON document (WriteJSON, ReadJSON), an aligned terminal table
// (WriteText), a self-contained HTML page with an inline SVG chart (WriteHTML) and a PNG of the same chart
// (WritePNG).
//
// # What the recorder fills in
//
// A Run holds Meta (what was run, and the span [Start, End)), the strategy's Book and, optionally, the
// Book of a static-hedge baseline (one pair held for the whole span, same data and capital). A Book has
// the Capital at Start, a time series of Samples (hourly is the intent; any regular step works), Markers
// (pairs opened and closed, rotations, risk actions, liquidations), the per-pair accounting
// (accounting.PairPnL) and the RiskExtremes, fed with the Observe methods. Money is exact decimal in the
// quote asset; float64 is used only for ratios that are plotted or annualised (basis, funding rate, the
// risk extremes, and the metrics that are ratios).
//
// The recorder must keep the Sample fields consistent with each other: Equity is the whole account at the
// sample's prices, and Funding, Fees and Interest are cumulative from Start. Samples are in time order; a
// sample stands for the time until the next one.
//
// # Definitions (Compute)
//
// Every figure is computed from the samples with Start ≤ Time ≤ End; when Meta.Start or Meta.End is zero
// the first or last sample's time is used.
//
//	Days           (End − Start) in days of exactly 24 hours.
//	FinalEquity    Equity of the last sample (Capital when there is none).
//	NetPnL         FinalEquity − Capital.
//	Funding        cumulative funding of the last sample (received positive, paid negative).
//	Fees           cumulative fees of the last sample, positive = paid (fees charged in base or BNB valued at
//	               the fill price, as accounting does).
//	Interest       cumulative borrow interest of the last sample, positive = paid (reverse carry).
//	BasisPnL       NetPnL − Funding + Fees + Interest: the price PnL of both legs together (entry and exit
//	               basis, slippage, mark-to-market of what is still held). Defined as the residual, so
//	               NetPnL = Funding − Fees − Interest + BasisPnL holds exactly. (Sample.BasisPnL is only
//	               plotted.)
//	PairsNetPnL    Σ accounting.PairPnL.NetPnL: a cross-check. It differs from NetPnL by what no pair
//	               explains (fees in an unpriced asset, interest, transfers of dust). null in JSON and n/a in
//	               the reports for a book without per-pair accounts (the baseline, a run that traded
//	               nothing).
//	Return         NetPnL ÷ Capital.
//	APR            Return × 365 ÷ Days: simple annualisation, not compounded. 0 when Days is 0.
//	FundingAPR     Funding ÷ Capital × 365 ÷ Days.
//	CAGR           (FinalEquity ÷ Capital)^(365 ÷ Days) − 1; −1 when FinalEquity ≤ 0. Over short spans it
//	               extrapolates wildly; read APR first.
//	MaxDrawdown    max over samples of (P − E), where E is the sample's equity and P the running peak of
//	               equity, seeded with Capital at Start (so losing money straight after the start counts).
//	               In the quote asset. DrawdownPeak and DrawdownTrough are the times of that peak and trough
//	               (zero when there was no drawdown).
//	MaxDrawdownPct max over samples of (P − E) ÷ P, maximised on its own (it usually comes from the same
//	               episode as MaxDrawdown, but need not). Both are measured on the samples: a dip between
//	               two samples is not seen.
//	Sharpe         from daily returns of the equity curve. Grid times t_k = Start + k·24h, k = 0…⌊Days⌋;
//	               E(t_0) = Capital and E(t_k) = the equity of the last sample at or before t_k;
//	               r_k = E(t_k) ÷ E(t_k−1) − 1 (simple returns, k ≥ 1; a trailing part-day is left out, a
//	               non-positive equity ends the series). Sharpe = mean(r) ÷ sd(r) × √365 with sd the sample
//	               standard deviation (n − 1), risk-free rate 0, crypto trading every day of the year.
//	               0 when there are fewer than 2 returns or sd is 0.
//	Volatility     sd(r) × √365.
//	DailyReturns   the number of returns r_k used.
//	SharpeWeekly   the same from weekly returns: t_k = Start + k·7d, Sharpe = mean ÷ sd × √(365/7);
//	               WeeklyReturns counts them; 0 (n/a in the text) with fewer than two. A carry book's daily returns are autocorrelated
//	               (a held pair earns much the same day after day), so √365 overstates the annual ratio;
//	               the weekly one overstates it less.
//	DailyAutocorr  the lag-1 autocorrelation of the daily returns r_k: Σ (r_k − m)(r_k−1 − m) ÷ Σ (r_k − m)²
//	               with m their mean; 0 with fewer than 3 returns.
//	TimeInMarket   Σ durations of the samples with Notional ≠ 0 ÷ (End − Start); a sample lasts until the next
//	               one (the last until End).
//	Pairs          the number of MarkOpen markers (pairs opened).
//	Rotations      the number of MarkRotate markers.
//	Markers        counts of markers per kind (risk actions: topup, deleverage, hedge, flatten, halt;
//	               liquidations).
//	WorstLiqDistance  smallest |liquidation price − mark| ÷ mark seen (risk.Liquidation's Distance).
//	WorstHedgeDrift   largest |net spot ÷ perp − 1| seen (risk.Hedge's Drift in absolute value).
//	WorstMarginRatio  largest maintenance margin ÷ margin balance seen.
//
// The baseline's metrics are computed the same way over the same span.
//
// # JSON (WriteJSON)
//
// One object: "format" (Format), "meta" (with "gaps": the replay's missing data, each {"symbol", "market",
// "from", "to"}, left out when there is none), "summary" {"strategy", "baseline"}, "strategy" and "baseline"
// (null without one), each book being {"name", "capital", "samples", "markers", "pairs", "risk"}. Field names
// are snake_case and stable; amounts are decimal strings (never floats); times are RFC 3339 in UTC;
// ratios are numbers, and null when unknown (NaN basis, an extreme never observed, an empty optional
// time). ReadJSON reads it back.
//
// # Chart (WriteHTML, WritePNG, SVG)
//
// Three panels on one time axis (UTC): the equity of the strategy and of the baseline with the capital as a
// dashed line; the cumulative funding of both and the strategy's cumulative fees (plus interest); the basis
// (perp mid − spot mid) / spot mid in basis points and the funding rate in basis points per 8 hours
// (FundingRate × 8 / FundingHours, so 1h and 4h symbols compare with 8h ones). Shaded background: the strategy
// holds a position (blue), or data is missing (sand; gaps at least a pixel wide, with a hover title). Markers sit on the strategy's equity curve (open ▲ below it, close ▼ above it, rotate ◆,
// topup and deleverage ■, hedge ●, halt ⯃, flatten and liquidation ✕); flatten, halt and liquidation also
// draw a dashed red line through every panel. The basis axis is fitted to the 0.5–99.5 percentiles of the
// basis when spikes would flatten the rest (the panel title says so).
//
// Lines are decimated to the pixel grid (per pixel column the first, lowest, highest and last point) so a
// two-year hourly run draws the same picture from a few thousand points. The HTML page has no script and
// loads nothing: the SVG is inline and each marker carries a hover title with its details. The PNG is drawn
// with gonum.org/v1/plot's raster canvas and its compiled-in Liberation fonts, offline.
package report
