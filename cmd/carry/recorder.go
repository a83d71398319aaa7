package main

import (
	"context"
	"math"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/paper"
	"github.com/carry-trading/carry/pkg/exact"
	"github.com/carry-trading/carry/pkg/report"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/risk"
	"github.com/carry-trading/carry/strategy"
	"github.com/carry-trading/carry/strategy/pair"
	"github.com/carry-trading/carry/strategy/policy"
	"github.com/carry-trading/carry/strategy/signals"
)

// recorder builds a report.Book while a backtest runs: an hourly sample of equity and cumulative funding,
// fees and interest; markers for pairs, rotations, risk actions and liquidations; risk extremes.
type recorder struct {
	book    *report.Book
	venue   *paper.Venue
	signals *signals.Book
	quote   string
	every   time.Duration
	next    time.Time

	funding, fees, interest decimal.Decimal
	opened                  map[int64]bool
	held                    map[int64]pair.Pair
	liquidations            int
	readFailures            int // wallet readings that failed (samples kept the last complete one)
	markFailures            int // perp marks that could not be read (those samples leave the position's PnL out)

	// Between changes (a fill, funding, a transfer, a risk action, a loan charge) only prices move: the
	// wallets' cash, the base assets held and the perp positions are read from the venue after a change and
	// valued at each sample's prices.
	changed bool
	// The cumulative totals rounded to 8 places for the samples, redone only when they change, and what
	// the basis PnL is measured from: capital + funding − fees − interest.
	totalsDirty                        bool
	funding8, fees8, interest8, basis0 decimal.Decimal
	cash                               decimal.Decimal     // quote asset in every wallet (futures: the wallet, not its unrealised PnL)
	base                               []holding           // assets held net of loans (non-zero)
	perps                              []exchange.Position // quantity and entry of each perp position
	sums                               [6]exact.Sum        // a sample's equity, notional, the pairs' notionals, and the last sample's equity and notional
	cashSum                            exact.Sum           // cash, for the samples (redone when cashDirty)
	cashDirty                          bool
	// Each symbol's prices when both its markets last traded: while one is in a data gap, the symbol is
	// valued at these, not one leg at a stale price and the other at a live one (which invents a basis
	// PnL that the end of the gap takes back).
	synced map[string]legPrices
	clock  interface{ Now() time.Time } // the simulated clock: when risk actions and rotations are marked
}

// legPrices are a symbol's spot quote and perp mark as a sample read them.
type legPrices struct {
	spot exchange.Quote
	mark decimal.Decimal
}

func newRecorder(name string, capital decimal.Decimal, venue *paper.Venue, book *signals.Book, quote string, clk interface{ Now() time.Time }) *recorder {
	return &recorder{book: &report.Book{Name: name, Capital: capital}, venue: venue, signals: book, quote: quote, every: time.Hour, clock: clk,
		opened: map[int64]bool{}, held: map[int64]pair.Pair{}, synced: map[string]legPrices{}, changed: true, totalsDirty: true}
}

// holding is a base asset the wallets hold (net of loans) and the spot symbol that prices it.
type holding struct {
	symbol string
	qty    decimal.Decimal
}

// reserve sizes the sample series for a span (one sample an hour).
func (r *recorder) reserve(from, to time.Time) {
	if n := int(to.Sub(from)/r.every) + 2; n > 0 && n < 1<<22 {
		r.book.Samples = make([]report.Sample, 0, n)
	}
}

// OnEvent samples the book at every hour boundary of simulated time, before the first event at or after it
// is applied: the state at the end of the hour, every price of one moment.
func (r *recorder) OnEvent(ev *exchange.Event) {
	if ev.Time.IsZero() || ev.Time.Before(r.next) {
		return
	}
	if !r.next.IsZero() {
		r.sample(r.next)
	}
	r.next = ev.Time.Truncate(r.every).Add(r.every)
}

func (r *recorder) OnPair(p pair.Pair) {
	r.changed = true
	switch {
	case p.State == pair.Open && !r.opened[p.ID]:
		r.opened[p.ID] = true
		// A pair opened before any sample saw both its markets trade (a new listing) keeps the prices it
		// opened at, for a gap before the next sample: else it would be valued at the live leg against the
		// stale one.
		if _, kept := r.synced[p.Symbol]; !kept && r.signals != nil {
			if sg := r.signals.Get(p.Symbol); sg != nil {
				r.sync(sg)
			}
		}
		r.mark(report.Marker{Time: p.UpdatedAt, Kind: report.MarkOpen, Symbol: p.Symbol, PairID: p.ID, Direction: p.Direction,
			Amount: p.PerpQty.Mul(r.spotPrice(p.Symbol)), Reason: p.Reason})
	case p.State == pair.Closed && r.opened[p.ID]:
		r.mark(report.Marker{Time: p.UpdatedAt, Kind: report.MarkClose, Symbol: p.Symbol, PairID: p.ID, Direction: p.Direction,
			Amount: r.held[p.ID].PerpQty.Mul(r.spotPrice(p.Symbol)), Reason: p.Reason})
	}
	if p.State == pair.Closed {
		delete(r.held, p.ID)
	} else {
		r.held[p.ID] = p
	}
}

func (r *recorder) OnFunding(p exchange.FundingPayment, _ int64) {
	r.funding, r.totalsDirty = r.funding.Add(p.Amount), true
	if p.Asset == r.quote {
		// A payment only moves the futures wallet's quote balance (already paid when it is reported):
		// no need to read every wallet again.
		r.cash, r.cashDirty = r.cash.Add(p.Amount), true
	} else {
		r.changed = true
	}
}

// OnLoan counts interest charges, valued in the quote asset at the spot price.
func (r *recorder) OnLoan(tx exchange.LoanTx, _ int64) {
	if tx.Kind != exchange.LoanInterest {
		return
	}
	amount := tx.Amount
	if tx.Asset != r.quote {
		amount = amount.Mul(r.spotPrice(tx.Asset + r.quote))
	}
	r.interest, r.changed, r.totalsDirty = r.interest.Add(amount), true, true
}

func (r *recorder) OnDecision(d policy.Decision) {
	if d.Rotation {
		r.mark(report.Marker{Time: r.now(), Kind: report.MarkRotate, Symbol: d.Symbol, PairID: d.PairID, Direction: d.Direction, Reason: d.Reason})
	}
}

func (r *recorder) OnRisk(a strategy.RiskAction, err error) {
	r.changed = true
	kind := map[strategy.RiskKind]report.MarkerKind{strategy.RiskTopup: report.MarkTopup, strategy.RiskDeleverage: report.MarkDeleverage,
		strategy.RiskFlatten: report.MarkFlatten, strategy.RiskHalt: report.MarkHalt, strategy.RiskAdjust: report.MarkHedge,
		strategy.RiskReconcile: report.MarkFlatten}[a.Kind]
	reason := a.Reason
	if err != nil {
		reason += " (failed: " + err.Error() + ")"
	}
	r.mark(report.Marker{Time: r.now(), Kind: kind, Symbol: a.Symbol, PairID: a.PairID, Amount: r.riskAmount(a), Reason: reason})
}

// riskAmount is what a risk action moves in the quote asset: a top-up its transfer; a trade the notional it
// reduces, flattens or adjusts, at the spot price (the pair as it was before the action: OnRisk comes
// before the pair's update).
func (r *recorder) riskAmount(a strategy.RiskAction) decimal.Decimal {
	p, held := r.held[a.PairID]
	if !held {
		return a.Amount
	}
	var qty decimal.Decimal
	switch a.Kind {
	case strategy.RiskDeleverage:
		qty = p.PerpQty.Sub(a.Target)
	case strategy.RiskFlatten, strategy.RiskReconcile:
		qty = p.PerpQty
	case strategy.RiskAdjust:
		qty = a.Qty
	default:
		return a.Amount
	}
	return qty.Abs().Mul(r.spotPrice(p.Symbol)).Round(2)
}

// onFill counts a fill's fee in the quote asset (a fee in base valued at the fill price).
func (r *recorder) onFill(f exchange.Fill) {
	r.changed, r.totalsDirty = true, true
	switch {
	case f.FeeAsset == r.quote:
		r.fees = r.fees.Add(f.Fee)
	case f.FeeAsset != "":
		r.fees = r.fees.Add(f.Fee.Mul(f.Price))
	}
}

// onRisk keeps the worst risk figures of each evaluation.
func (r *recorder) onRisk(rep risk.Report) {
	for _, pr := range rep.Positions {
		if !pr.NoLiquidation && pr.Distance.IsPositive() {
			r.book.Risk.ObserveLiqDistance(rep.Time, pr.Symbol, pr.PairID, pr.Distance.InexactFloat64())
		}
		r.book.Risk.ObserveMarginRatio(rep.Time, pr.Symbol, rep.Pools[pr.Pool].MarginRatio.InexactFloat64())
	}
	for _, h := range rep.Hedges {
		if h.Perp.IsPositive() {
			r.book.Risk.ObserveHedgeDrift(rep.Time, h.Symbol, h.PairID, math.Abs(h.Drift.InexactFloat64()))
		}
	}
}

func (r *recorder) mark(m report.Marker) {
	if m.Time.IsZero() {
		m.Time = r.now()
	}
	r.book.Markers = append(r.book.Markers, m)
}

// now is the simulated time of the latest event: decisions and risk actions are made when an instant
// ends, before the next one's first event sets the clock.
func (r *recorder) now() time.Time { return r.clock.Now() }

// sample values every wallet at the current prices.
func (r *recorder) sample(at time.Time) {
	if r.changed {
		r.readWallets()
	}
	// Valued exactly, without a new decimal per operation (exact.Sum): this runs at every hour of a replay.
	if r.cashDirty {
		r.cashSum.Reset()
		r.cashSum.Add(r.cash)
		r.cashDirty = false
	}
	r.syncPrices()
	eq := &r.sums[0]
	eq.Reset()
	eq.AddSum(&r.cashSum)
	for _, h := range r.base {
		if q, ok := r.spotFor(h.symbol); ok {
			eq.AddMulMid(h.qty, q.Bid, q.Ask)
		}
	}
	for _, p := range r.perps {
		m, ok := r.markFor(p.Symbol)
		if !ok {
			r.markFailures++ // valued without this position's unrealised PnL; the report says how often
			continue
		}
		eq.AddMul(p.Qty, m) // the unrealised PnL: qty × (mark − entry)
		eq.SubMul(p.Qty, p.EntryPrice)
	}
	// The notional held, and the symbol holding the most of it.
	notional, n, biggest := &r.sums[1], &r.sums[2], &r.sums[3]
	notional.Reset()
	sym := ""
	for _, p := range r.held {
		n.Reset()
		if q, ok := r.spotFor(p.Symbol); ok {
			n.AddMulMid(p.SpotQty, q.Bid, q.Ask)
		}
		notional.AddSum(n)
		if sym == "" || n.Cmp(biggest) > 0 {
			sym = p.Symbol
			n, biggest = biggest, n
		}
	}
	if sym == "" && len(r.signals.All()) > 0 {
		sym = r.signals.All()[0].Name
	}
	// Samples are valuations for the report: 8 decimal places (1e-8 of the quote asset) keep them exact
	// enough and cheap to plot.
	totalsMoved := r.totalsDirty
	if r.totalsDirty {
		r.funding8, r.fees8, r.interest8, r.totalsDirty = r.funding.Round(8), r.fees.Round(8), r.interest.Round(8), false
		r.basis0 = r.book.Capital.Add(r.funding8).Sub(r.fees8).Sub(r.interest8).Round(8)
	}
	s := report.Sample{Time: at, Funding: r.funding8, Fees: r.fees8, Interest: r.interest8, Symbol: sym,
		Basis: report.NaN, FundingRate: report.NaN}
	// An hour valued exactly as the one before (nothing held and no cash moved: about half of a backtest)
	// reuses its decimals instead of rounding new ones.
	prevEq, prevNotional := &r.sums[4], &r.sums[5]
	if n := len(r.book.Samples); n > 0 && eq.Cmp(prevEq) == 0 {
		last := &r.book.Samples[n-1]
		s.Equity = last.Equity
		if !totalsMoved {
			s.BasisPnL = last.BasisPnL
		} else {
			s.BasisPnL = s.Equity.Sub(r.basis0)
		}
	} else {
		s.Equity = eq.Round(8)
		s.BasisPnL = s.Equity.Sub(r.basis0)
		prevEq.Reset()
		prevEq.AddSum(eq)
	}
	if n := len(r.book.Samples); n > 0 && notional.Cmp(prevNotional) == 0 {
		s.Notional = r.book.Samples[n-1].Notional
	} else {
		s.Notional = notional.Round(8)
		prevNotional.Reset()
		prevNotional.AddSum(notional)
	}
	if sg := r.signals.Get(sym); sg != nil {
		if sg.SpotBid > 0 && sg.PerpBid > 0 && !sg.SpotSuspended && !sg.PerpSuspended {
			s.Basis = sg.Basis()
		}
		if sg.Settlements > 0 {
			s.FundingRate, s.FundingHours = sg.LastRate, sg.IntervalHours
		}
	}
	r.book.Samples = append(r.book.Samples, s)
	if liq := r.venue.Liquidations(); len(liq) > r.liquidations {
		for _, l := range liq[r.liquidations:] {
			r.mark(report.Marker{Time: at, Kind: report.MarkLiquidation, Symbol: l.Symbol, Reason: "the venue liquidated the position"})
		}
		r.liquidations = len(liq)
	}
}

// readWallets reads the wallets and positions from the venue (after a change). A failed read keeps the last
// complete reading (the change is read again at the next sample) and is counted in readFailures.
func (r *recorder) readWallets() {
	ctx := context.Background()
	cash, base := decimal.Zero, map[string]decimal.Decimal{}
	for _, v := range []exchange.Venue{exchange.Spot, exchange.Margin, exchange.Futures} {
		bals, err := r.venue.Balances(ctx, v)
		if err != nil {
			r.readFailures++
			return
		}
		for _, b := range bals {
			switch {
			case v == exchange.Futures && b.Asset == r.quote:
				cash = cash.Add(b.Locked) // isolated wallets (the cross wallet is the futures account's)
			case v == exchange.Futures:
			case b.Asset == r.quote:
				cash = cash.Add(b.Net())
			default:
				base[b.Asset] = base[b.Asset].Add(b.Net())
			}
		}
	}
	fa, err := r.venue.FuturesAccount(ctx)
	if err != nil {
		r.readFailures++
		return
	}
	perps, err := r.venue.Positions(ctx)
	if err != nil {
		r.readFailures++
		return
	}
	held := r.base[:0]
	for asset, qty := range base {
		if !qty.IsZero() {
			held = append(held, holding{symbol: asset + r.quote, qty: qty})
		}
	}
	r.cash, r.base, r.perps, r.changed, r.cashDirty = cash.Add(fa.WalletBalance), held, perps, false, true
}

// syncPrices keeps, for every symbol whose two markets both trade, its spot quote and perp mark as of this
// sample: what this sample values it at, and what later samples value it at while one of its markets is in
// a data gap (they are not refreshed then). Every symbol, held or not: a pair opened after this sample and
// caught by a gap before the next must not be valued at prices from the last time it was held.
func (r *recorder) syncPrices() {
	for _, sg := range r.signals.All() {
		r.sync(sg)
	}
}

// sync keeps a symbol's prices when both its markets trade.
func (r *recorder) sync(sg *signals.Symbol) {
	if sg.SpotSuspended || sg.PerpSuspended {
		return
	}
	m, err := r.venue.Mark(context.Background(), sg.Name)
	if err != nil || !sg.Spot.Valid() {
		delete(r.synced, sg.Name) // both markets trade, but a price is missing: valued live
		return
	}
	r.synced[sg.Name] = legPrices{spot: sg.Spot, mark: m.Mark}
}

// spotFor is the spot quote a sample values a symbol at: the one syncPrices kept (this sample's, or in a
// data gap the last one both markets traded at, or the opening's of a pair opened before that), else the
// live one.
func (r *recorder) spotFor(symbol string) (exchange.Quote, bool) {
	if p, ok := r.synced[symbol]; ok {
		return p.spot, true
	}
	return r.spotQuote(symbol)
}

// markFor is the perp mark a sample values a symbol at, by the rule of spotFor (false when the venue has none).
func (r *recorder) markFor(symbol string) (decimal.Decimal, bool) {
	if p, ok := r.synced[symbol]; ok {
		return p.mark, true
	}
	m, err := r.venue.Mark(context.Background(), symbol)
	if err != nil {
		return decimal.Decimal{}, false
	}
	return m.Mark, true
}

// spotPrice is the spot mid of a symbol from the signals (zero when unknown).
func (r *recorder) spotPrice(symbol string) decimal.Decimal {
	if q, ok := r.spotQuote(symbol); ok {
		return q.Mid()
	}
	return decimal.Zero
}

// spotQuote is the spot quote of a symbol from the signals (false when unknown or not two-sided).
func (r *recorder) spotQuote(symbol string) (exchange.Quote, bool) {
	sg := r.signals.Get(symbol)
	if sg == nil || !sg.Spot.Valid() {
		return exchange.Quote{}, false
	}
	return sg.Spot, true
}

// recordingJournal is the store with fees counted as fills are recorded (the recorder's fee series).
type recordingJournal struct {
	*store.Store
	rec *recorder
}

func (j recordingJournal) RecordOrders(ctx context.Context, accountID, pairID int64, orders []exchange.Order, at time.Time) ([]exchange.Fill, error) {
	fresh, err := j.Store.RecordOrders(ctx, accountID, pairID, orders, at)
	for _, f := range fresh {
		j.rec.onFill(f)
	}
	return fresh, err
}

func (j recordingJournal) InsertFills(ctx context.Context, accountID, pairID int64, fills []exchange.Fill) ([]exchange.Fill, error) {
	fresh, err := j.Store.InsertFills(ctx, accountID, pairID, fills)
	for _, f := range fresh {
		j.rec.onFill(f)
	}
	return fresh, err
}
