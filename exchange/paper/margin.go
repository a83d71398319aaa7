package paper

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// Cross margin: the margin wallet, loans with hourly interest, margin orders with side effects, and margin
// liquidation. See the package documentation for the rules.

// DefaultMarginLeverage is Binance's Cross Margin Classic leverage.
const DefaultMarginLeverage = 3

// NoDebtMarginLevel is what MarginLevel answers when nothing is owed (Binance reports 999).
var NoDebtMarginLevel = decimal.NewFromInt(999)

// DefaultHourlyInterest is the hourly rate of an asset with no configured rate: 0.001% an hour (8.76% a
// year), on the expensive side of Binance's usual rates so a backtest does not flatter reverse carry.
func DefaultHourlyInterest() decimal.Decimal { return decimal.New(1, -5) }

// defaultMarginLiquidation is Binance's cross-margin liquidation level.
func defaultMarginLiquidation() decimal.Decimal { return decimal.New(11, -1) }

// marginTransferLevel: a transfer out of a margin account that owes something must leave it at this margin
// level or above.
var marginTransferLevel = decimal.NewFromInt(2)

// interestPrec is the precision interest is charged at (Binance's asset precision), rounded up.
const interestPrec = 8

// InterestPoint is an hourly rate in effect from a time on.
type InterestPoint struct {
	From time.Time
	Rate decimal.Decimal
}

// Margin journal entry kinds.
const (
	KindBorrow            EntryKind = "borrow"             // a manual borrow (with its borrow-time interest)
	KindRepay             EntryKind = "repay"              // a manual repayment
	KindInterest          EntryKind = "interest"           // hourly interest charges at hour boundaries
	KindMarginOrder       EntryKind = "margin_order"       // a margin order with its fills and side effects
	KindMarginLiquidation EntryKind = "margin_liquidation" // a forced close of the margin account
)

// MarginLiquidation is one asset's part of a forced close of the cross-margin account: what was bought
// back (or sold) at the touch, what was repaid and what was written off.
type MarginLiquidation struct {
	Asset       string          // the loan's asset
	MarginLevel decimal.Decimal // the level that triggered it
	ClientID    string          // margin-liq-<ASSET>-<ms>, queryable like any order; "" when nothing traded
	Symbol      string
	Side        exchange.Side
	Qty         decimal.Decimal
	Price       decimal.Decimal
	Fee         decimal.Decimal
	Repaid      decimal.Decimal // interest + principal repaid
	// Insurance is the debt left unpaid when the wallet could not cover it, written off (Binance's insurance
	// fund); the loan never survives a liquidation.
	Insurance decimal.Decimal
	Time      time.Time
}

// marginState is the journal-rebuilt part of cross margin.
type marginState struct {
	loans        map[string]*loan
	charged      map[string]time.Time // the last hour boundary charged per asset
	txs          []exchange.LoanTx
	borrowSeq    int64
	repaySeq     int64
	liquidations []MarginLiquidation
}

// loan is the outstanding debt of one asset. next is the next hour boundary to charge.
type loan struct {
	principal, interest decimal.Decimal
	next                time.Time
}

func (l *loan) debt() decimal.Decimal { return l.principal.Add(l.interest) }

// marginSetup is what New derives from the configuration for margin.
type marginSetup struct {
	symbols map[string]string // asset → its spot symbol against the quote asset
	sched   map[string][]InterestPoint
}

// Journal payloads.

// borrowRec is a borrow (manual or a margin order's auto-borrow) and its borrow-time interest charge.
type borrowRec struct {
	TranID   string          `json:"tran_id"`
	Asset    string          `json:"asset"`
	Amount   decimal.Decimal `json:"amount"`
	Rate     decimal.Decimal `json:"rate"`
	Interest decimal.Decimal `json:"interest"`
	Time     time.Time       `json:"time"`
}

// repayRec is a repayment: interest first, then principal.
type repayRec struct {
	TranID    string          `json:"tran_id"`
	Asset     string          `json:"asset"`
	Amount    decimal.Decimal `json:"amount"`
	Interest  decimal.Decimal `json:"interest"`
	Principal decimal.Decimal `json:"principal"`
	Time      time.Time       `json:"time"`
}

// interestRec holds the hourly charges of one catch-up, oldest first.
type interestRec struct {
	Charges []chargeRec `json:"charges"`
}

type chargeRec struct {
	TranID    string          `json:"tran_id"`
	Asset     string          `json:"asset"`
	Principal decimal.Decimal `json:"principal"`
	Rate      decimal.Decimal `json:"rate"`
	Amount    decimal.Decimal `json:"amount"`
	Time      time.Time       `json:"time"` // the hour boundary
}

// marginOrderRec is a margin order: the auto-borrow made before its fill, the order with its fills, and
// the auto-repayment made from what it received.
type marginOrderRec struct {
	Order      orderRec            `json:"order"`
	SideEffect exchange.SideEffect `json:"side_effect,omitempty"`
	Borrow     *borrowRec          `json:"borrow,omitempty"`
	Repay      *repayRec           `json:"repay,omitempty"`
}

// marginLiqRec is a forced close of the margin account.
type marginLiqRec struct {
	Level decimal.Decimal `json:"level"`
	Steps []liqStepRec    `json:"steps"`
	Time  time.Time       `json:"time"`
}

type liqStepRec struct {
	Asset        string          `json:"asset"`
	ClientID     string          `json:"client_id,omitempty"`
	VenueOrderID string          `json:"venue_order_id,omitempty"`
	Symbol       string          `json:"symbol,omitempty"`
	Base         string          `json:"base,omitempty"`
	QuoteAsset   string          `json:"quote,omitempty"`
	Fill         *fillRec        `json:"fill,omitempty"`
	Repay        *repayRec       `json:"repay,omitempty"`
	Insurance    decimal.Decimal `json:"insurance"`
}

// normalizeMargin validates the margin settings and fills in their defaults.
func (c *Config) normalizeMargin() []error {
	var errs []error
	if c.MarginLeverage == 0 {
		c.MarginLeverage = DefaultMarginLeverage
	}
	if c.MarginLeverage < 2 || c.MarginLeverage > 10 {
		errs = append(errs, fmt.Errorf("margin leverage %d must be between 2 and 10", c.MarginLeverage))
	}
	if c.MarginLiquidationLevel.IsZero() {
		c.MarginLiquidationLevel = defaultMarginLiquidation()
	}
	if c.MarginLiquidationLevel.LessThanOrEqual(decimal.NewFromInt(1)) {
		errs = append(errs, fmt.Errorf("margin liquidation level %s must be above 1", c.MarginLiquidationLevel))
	}
	if c.DefaultInterestRate.IsZero() {
		c.DefaultInterestRate = DefaultHourlyInterest()
	}
	checkRate := func(what string, r decimal.Decimal) {
		if r.IsNegative() || r.GreaterThanOrEqual(decimal.New(1, -2)) {
			errs = append(errs, fmt.Errorf("%s %s must be an hourly fraction in [0, 0.01)", what, r))
		}
	}
	checkRate("default hourly interest rate", c.DefaultInterestRate)
	rates := map[string]decimal.Decimal{}
	for a, r := range c.InterestRates {
		checkRate("hourly interest rate of "+a, r)
		rates[a] = r
	}
	c.InterestRates = rates
	sched := map[string][]InterestPoint{}
	for a, pts := range c.InterestSchedule {
		cp := append([]InterestPoint(nil), pts...)
		sort.SliceStable(cp, func(i, j int) bool { return cp[i].From.Before(cp[j].From) })
		for _, p := range cp {
			checkRate("scheduled hourly interest rate of "+a, p.Rate)
		}
		sched[a] = cp
	}
	c.InterestSchedule = sched
	limits := map[string]decimal.Decimal{}
	for a, l := range c.BorrowLimits {
		if l.IsNegative() {
			errs = append(errs, fmt.Errorf("borrow limit of %s is negative (%s)", a, l))
		}
		limits[a] = l
	}
	c.BorrowLimits = limits
	return errs
}

// initMargin derives the margin set-up from the configuration (called by New).
func (v *Venue) initMargin() {
	v.msetup = marginSetup{symbols: map[string]string{}, sched: map[string][]InterestPoint{}}
	for _, in := range v.cfg.Instruments {
		if in.Venue == exchange.Spot && in.Quote == v.cfg.Quote {
			v.msetup.symbols[in.Base] = in.Symbol
		}
	}
	for a, pts := range v.cfg.InterestSchedule {
		v.msetup.sched[a] = append([]InterestPoint(nil), pts...)
	}
}

// SetInterestRate makes rate the hourly interest rate of asset from a time on (market data, like a quote:
// not journaled; every charge records the rate it used). Points may come in any order.
func (v *Venue) SetInterestRate(asset string, rate decimal.Decimal, from time.Time) error {
	if rate.IsNegative() || rate.GreaterThanOrEqual(decimal.New(1, -2)) {
		return fmt.Errorf("paper interest rate of %s: %s must be an hourly fraction in [0, 0.01)", asset, rate)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	pts := v.msetup.sched[asset]
	i := sort.Search(len(pts), func(i int) bool { return pts[i].From.After(from) })
	if i > 0 && pts[i-1].From.Equal(from) {
		pts[i-1].Rate = rate.Copy()
	} else {
		pts = append(pts, InterestPoint{})
		copy(pts[i+1:], pts[i:])
		pts[i] = InterestPoint{From: from.UTC(), Rate: rate.Copy()}
	}
	v.msetup.sched[asset] = pts
	return nil
}

// rateAt is the hourly rate of asset in effect at t.
func (v *Venue) rateAt(asset string, t time.Time) decimal.Decimal {
	pts := v.msetup.sched[asset]
	if i := sort.Search(len(pts), func(i int) bool { return pts[i].From.After(t) }); i > 0 {
		return pts[i-1].Rate
	}
	if r, ok := v.cfg.InterestRates[asset]; ok {
		return r
	}
	return v.cfg.DefaultInterestRate
}

// interestOn is one hour of interest on principal at rate, rounded up to 8 decimals.
func interestOn(principal, rate decimal.Decimal) decimal.Decimal {
	return principal.Mul(rate).RoundCeil(interestPrec)
}

// InterestTranID is the deterministic id of an hourly interest charge: paper-int-<ASSET>-<boundary ms>.
// The charge made when a loan is taken has the borrow's id with "-int" appended.
func InterestTranID(asset string, boundary time.Time) string {
	return fmt.Sprintf("paper-int-%s-%d", asset, boundary.UnixMilli())
}

func (v *Venue) mstate() *marginState {
	if v.st.mg == nil {
		v.st.mg = &marginState{loans: map[string]*loan{}, charged: map[string]time.Time{}}
	}
	return v.st.mg
}

// refreshLoanNext publishes the earliest hour boundary any loan is due at (0: no loan), so Apply can skip
// margin work with one atomic load. Called after every journaled change.
func (v *Venue) refreshLoanNext() {
	var next int64
	if mg := v.st.mg; mg != nil {
		for _, l := range mg.loans {
			n := int64(math.MaxInt64)
			if l.principal.IsPositive() {
				n = l.next.UnixNano()
			}
			if next == 0 || n < next {
				next = n
			}
		}
	}
	v.loanNext.Store(next)
}

// later is the later of two times.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// marginBeforeApply charges the hour boundaries passed by the event's time (or the clock, if later), then
// checks the margin level. It costs one atomic load while nothing is borrowed.
func (v *Venue) marginBeforeApply(ev *exchange.Event) {
	n := v.loanNext.Load()
	if n == 0 {
		return
	}
	now := later(ev.Time, v.clk.Now()).UTC()
	if now.UnixNano() < n {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.broken != nil {
		return
	}
	if err := v.accrue(context.Background(), now); err != nil {
		return
	}
	v.checkMarginLevel(now)
}

// marginAfterApply checks the margin level after a spot quote moved, while something is borrowed.
func (v *Venue) marginAfterApply(ev *exchange.Event) {
	if ev.Kind != exchange.EventQuote || ev.Venue != exchange.Spot || v.loanNext.Load() == 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.broken == nil {
		v.checkMarginLevel(later(ev.Time, v.clk.Now()).UTC())
	}
}

// charges lists the hourly charges due up to now: each loan with principal pays principal × rate at every
// hour boundary from its next one up to now, each boundary once.
func (v *Venue) charges(now time.Time) []chargeRec {
	mg := v.st.mg
	if mg == nil || len(mg.loans) == 0 {
		return nil
	}
	var out []chargeRec
	for _, a := range sortedKeys(mg.loans) {
		l := mg.loans[a]
		if !l.principal.IsPositive() {
			continue
		}
		for b := l.next; !b.After(now); b = b.Add(time.Hour) {
			rate := v.rateAt(a, b)
			out = append(out, chargeRec{TranID: InterestTranID(a, b), Asset: a, Principal: l.principal, Rate: rate,
				Amount: interestOn(l.principal, rate), Time: b})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// accrue journals the interest charges due up to now (none due: no journal append and no timer, which
// matters since Apply runs it on every market event while something is borrowed). The append outlives
// parent's cancellation, bounded by JournalTimeout. Called with v.mu held.
func (v *Venue) accrue(parent context.Context, now time.Time) error {
	cs := v.charges(now)
	if len(cs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), v.cfg.JournalTimeout)
	defer cancel()
	if err := v.commit(ctx, KindInterest, now, &interestRec{Charges: cs}); err != nil {
		return fmt.Errorf("paper margin interest: %w", err)
	}
	return nil
}

// accrueNow catches up to the clock for a call with a context. Every margin call starts with it: a broken
// venue refuses.
func (v *Venue) accrueNow(ctx context.Context) (time.Time, error) {
	if v.broken != nil {
		return time.Time{}, v.brokenErr()
	}
	now := v.clk.Now().UTC()
	return now, v.accrue(ctx, now)
}

// Valuation.

// assetPrice is an asset's price in the quote asset: the mid of its spot market (the quote asset is 1).
func (v *Venue) assetPrice(asset string) (decimal.Decimal, error) {
	if asset == v.cfg.Quote {
		return decimal.NewFromInt(1), nil
	}
	sym, ok := v.msetup.symbols[asset]
	if !ok {
		return decimal.Zero, fmt.Errorf("paper margin: no spot market prices %s in %s: %w", asset, v.cfg.Quote, exchange.ErrNotFound)
	}
	q, ok := v.liveQuote(exchange.Spot, sym)
	if !ok {
		return decimal.Zero, fmt.Errorf("paper margin: valuing %s: spot %s: %w", asset, sym, exchange.ErrNoQuote)
	}
	return q.Mid(), nil
}

// marginAssets lists every asset the margin wallet holds or owes, by name.
func (v *Venue) marginAssets() []string {
	seen := map[string]bool{}
	var out []string
	for a := range v.st.wallets[exchange.Margin] {
		seen[a] = true
		out = append(out, a)
	}
	if mg := v.st.mg; mg != nil {
		for a := range mg.loans {
			if !seen[a] {
				out = append(out, a)
			}
		}
	}
	sort.Strings(out)
	return out
}

// marginTotals values the margin wallet in the quote asset: assets, borrowed principal, accrued interest.
func (v *Venue) marginTotals() (assets, liabilities, interest decimal.Decimal, err error) {
	for _, a := range v.marginAssets() {
		total := decimal.Zero
		if b := v.st.wallets[exchange.Margin][a]; b != nil {
			total = b.free.Add(b.locked)
		}
		var p, i decimal.Decimal
		if mg := v.st.mg; mg != nil {
			if l := mg.loans[a]; l != nil {
				p, i = l.principal, l.interest
			}
		}
		if total.IsZero() && p.IsZero() && i.IsZero() {
			continue
		}
		px, err := v.assetPrice(a)
		if err != nil {
			return assets, liabilities, interest, err
		}
		assets = assets.Add(total.Mul(px))
		liabilities = liabilities.Add(p.Mul(px))
		interest = interest.Add(i.Mul(px))
	}
	return assets, liabilities, interest, nil
}

// marginLevel is assets ÷ (liabilities + interest); ok is false when nothing is owed.
func (v *Venue) marginLevel() (level decimal.Decimal, ok bool, err error) {
	assets, liab, intr, err := v.marginTotals()
	if err != nil {
		return decimal.Zero, false, err
	}
	debt := liab.Add(intr)
	if !debt.IsPositive() {
		return NoDebtMarginLevel, false, nil
	}
	return assets.DivRound(debt, 8), true, nil
}

// validMarginAsset: the quote asset or the base of a spot market against it.
func (v *Venue) validMarginAsset(asset string) error {
	if asset == v.cfg.Quote {
		return nil
	}
	if _, ok := v.msetup.symbols[asset]; ok {
		return nil
	}
	return exchange.Rejected(exchange.RejectOther, -3027, "Not a valid margin asset. (%s has no spot market against %s)", asset, v.cfg.Quote)
}

// maxBorrowable: the whole debt may reach net equity × (leverage − 1), and an asset's principal its borrow
// limit. Called with v.mu held.
func (v *Venue) maxBorrowable(asset string) (decimal.Decimal, error) {
	if err := v.validMarginAsset(asset); err != nil {
		return decimal.Zero, err
	}
	px, err := v.assetPrice(asset)
	if err != nil {
		return decimal.Zero, err
	}
	assets, liab, intr, err := v.marginTotals()
	if err != nil {
		return decimal.Zero, err
	}
	debt := liab.Add(intr)
	equity := assets.Sub(debt)
	capacity := equity.Mul(decimal.NewFromInt(int64(v.cfg.MarginLeverage - 1))).Sub(debt)
	amount := decimal.Zero
	if capacity.IsPositive() {
		amount = capacity.Div(px).RoundFloor(interestPrec)
	}
	if limit, ok := v.cfg.BorrowLimits[asset]; ok {
		held := decimal.Zero
		if mg := v.st.mg; mg != nil {
			if l := mg.loans[asset]; l != nil {
				held = l.principal
			}
		}
		amount = decimal.Min(amount, decimal.Max(decimal.Zero, limit.Sub(held)))
	}
	return amount, nil
}

// The exchange.Borrowing contract.

var _ exchange.Borrowing = (*Venue)(nil)

// MaxBorrowable is how much of asset the cross-margin account can borrow now: the whole debt may reach
// net equity × (MarginLeverage − 1) at spot mids, and the asset's principal its BorrowLimits entry.
func (v *Venue) MaxBorrowable(ctx context.Context, asset string) (decimal.Decimal, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, err := v.accrueNow(ctx); err != nil {
		return decimal.Zero, err
	}
	return v.maxBorrowable(asset)
}

// Borrow takes a cross-margin loan: the amount arrives in the margin wallet and one hour of interest is
// charged at once. More than MaxBorrowable is refused with -3006 (RejectInsufficient).
func (v *Venue) Borrow(ctx context.Context, asset string, amount decimal.Decimal) (exchange.LoanTx, error) {
	if !amount.IsPositive() {
		return exchange.LoanTx{}, exchange.Rejected(exchange.RejectOther, -1100, "a borrow needs a positive amount (got %s %s)", amount, asset)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	now, err := v.accrueNow(ctx)
	if err != nil {
		return exchange.LoanTx{}, fmt.Errorf("paper borrow %s %s: %w", amount, asset, err)
	}
	maxAmt, err := v.maxBorrowable(asset)
	if err != nil {
		return exchange.LoanTx{}, err
	}
	if amount.GreaterThan(maxAmt) {
		return exchange.LoanTx{}, exchange.Rejected(exchange.RejectInsufficient, -3006,
			"Your borrow amount has exceed maximum borrow amount. (%s %s requested, %s borrowable)", amount, asset, maxAmt)
	}
	rec := v.newBorrow(asset, amount, now)
	jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.cfg.JournalTimeout)
	defer cancel()
	if err := v.commit(jctx, KindBorrow, now, rec); err != nil {
		return exchange.LoanTx{}, fmt.Errorf("paper borrow %s %s: %w", amount, asset, err)
	}
	return v.findTx(exchange.LoanBorrow, rec.TranID), nil
}

func (v *Venue) newBorrow(asset string, amount decimal.Decimal, now time.Time) *borrowRec {
	rate := v.rateAt(asset, now)
	return &borrowRec{TranID: "paper-borrow-" + strconv.FormatInt(v.mstate().borrowSeq+1, 10), Asset: asset, Amount: amount,
		Rate: rate, Interest: interestOn(amount, rate), Time: now}
}

// newRepay repays pay of asset's debt, interest first; seq offsets the id for several repayments decided
// together.
func (v *Venue) newRepay(asset string, pay decimal.Decimal, now time.Time, seq int64) *repayRec {
	l := v.mstate().loans[asset]
	payI := decimal.Min(pay, l.interest)
	return &repayRec{TranID: "paper-repay-" + strconv.FormatInt(v.mstate().repaySeq+seq, 10), Asset: asset, Amount: pay,
		Interest: payI, Principal: pay.Sub(payI), Time: now}
}

// Repay repays amount of asset's debt from the margin wallet, interest first (like Binance). More than the
// debt is refused with -3015, more than the free balance with -3041 (RejectInsufficient).
func (v *Venue) Repay(ctx context.Context, asset string, amount decimal.Decimal) (exchange.LoanTx, error) {
	if !amount.IsPositive() {
		return exchange.LoanTx{}, exchange.Rejected(exchange.RejectOther, -1100, "a repayment needs a positive amount (got %s %s)", amount, asset)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	now, err := v.accrueNow(ctx)
	if err != nil {
		return exchange.LoanTx{}, fmt.Errorf("paper repay %s %s: %w", amount, asset, err)
	}
	l := v.mstate().loans[asset]
	if l == nil || amount.GreaterThan(l.debt()) {
		debt := decimal.Zero
		if l != nil {
			debt = l.debt()
		}
		return exchange.LoanTx{}, exchange.Rejected(exchange.RejectOther, -3015, "Repay amount exceeds borrow amount. (%s %s, owed %s)", amount, asset, debt)
	}
	if free := v.free(exchange.Margin, asset); free.LessThan(amount) {
		return exchange.LoanTx{}, exchange.Rejected(exchange.RejectInsufficient, -3041, "Balance is not enough. (%s %s to repay, %s free)", amount, asset, free)
	}
	rec := v.newRepay(asset, amount, now, 1)
	jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.cfg.JournalTimeout)
	defer cancel()
	if err := v.commit(jctx, KindRepay, now, rec); err != nil {
		return exchange.LoanTx{}, fmt.Errorf("paper repay %s %s: %w", amount, asset, err)
	}
	return v.findTx(exchange.LoanRepay, rec.TranID), nil
}

func (v *Venue) findTx(kind exchange.LoanKind, tranID string) exchange.LoanTx {
	txs := v.mstate().txs
	for i := len(txs) - 1; i >= 0; i-- {
		if txs[i].Kind == kind && txs[i].TranID == tranID {
			return txs[i]
		}
	}
	return exchange.LoanTx{}
}

// HourlyInterestRate is the rate the next hourly charge of asset would use now.
func (v *Venue) HourlyInterestRate(_ context.Context, asset string) (decimal.Decimal, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.validMarginAsset(asset); err != nil {
		return decimal.Zero, err
	}
	return v.rateAt(asset, v.clk.Now().UTC()), nil
}

// Loans lists the outstanding loans by asset, interest charged up to the clock.
func (v *Venue) Loans(ctx context.Context) ([]exchange.Loan, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, err := v.accrueNow(ctx); err != nil {
		return nil, err
	}
	var out []exchange.Loan
	if mg := v.st.mg; mg != nil {
		for _, a := range sortedKeys(mg.loans) {
			l := mg.loans[a]
			out = append(out, exchange.Loan{Asset: a, Principal: l.principal, Interest: l.interest})
		}
	}
	return out, nil
}

// LoanHistory lists borrows, repayments and interest charges of asset (every asset when "") with time ≥
// since, oldest first.
func (v *Venue) LoanHistory(ctx context.Context, asset string, since time.Time) ([]exchange.LoanTx, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, err := v.accrueNow(ctx); err != nil {
		return nil, err
	}
	var out []exchange.LoanTx
	if mg := v.st.mg; mg != nil {
		for _, t := range mg.txs {
			if (asset == "" || t.Asset == asset) && !t.Time.Before(since) {
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// MarginLevel is total assets ÷ (liabilities + interest) of the margin wallet at spot mids;
// NoDebtMarginLevel (999, like Binance) when nothing is owed.
func (v *Venue) MarginLevel(ctx context.Context) (decimal.Decimal, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, err := v.accrueNow(ctx); err != nil {
		return decimal.Zero, err
	}
	level, _, err := v.marginLevel()
	return level, err
}

// MarginLiquidations lists the margin account's forced closes, oldest first.
func (v *Venue) MarginLiquidations() []MarginLiquidation {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.st.mg == nil {
		return nil
	}
	return append([]MarginLiquidation(nil), v.st.mg.liquidations...)
}

// marginBalances lists the margin wallet: free, locked, borrowed and interest per asset. Called with v.mu
// held.
func (v *Venue) marginBalances(ctx context.Context) ([]exchange.Balance, error) {
	if _, err := v.accrueNow(ctx); err != nil {
		return nil, err
	}
	var out []exchange.Balance
	for _, a := range v.marginAssets() {
		b := exchange.Balance{Venue: exchange.Margin, Asset: a}
		if w := v.st.wallets[exchange.Margin][a]; w != nil {
			b.Free, b.Locked = w.free, w.locked
		}
		if mg := v.st.mg; mg != nil {
			if l := mg.loans[a]; l != nil {
				b.Borrowed, b.Interest = l.principal, l.interest
			}
		}
		if b.Free.IsZero() && b.Locked.IsZero() && b.Borrowed.IsZero() && b.Interest.IsZero() {
			continue
		}
		out = append(out, b)
	}
	return out, nil
}

// marginTransferable caps a transfer of asset out of the margin wallet: while anything is owed, the margin
// level after it must stay at 2 or above. Called with v.mu held.
func (v *Venue) marginTransferable(ctx context.Context, asset string, free decimal.Decimal) (decimal.Decimal, error) {
	if _, err := v.accrueNow(ctx); err != nil {
		return decimal.Zero, err
	}
	if mg := v.st.mg; mg == nil || len(mg.loans) == 0 {
		return free, nil
	}
	assets, liab, intr, err := v.marginTotals()
	if err != nil {
		return decimal.Zero, err
	}
	px, err := v.assetPrice(asset)
	if err != nil {
		return decimal.Zero, err
	}
	room := assets.Sub(marginTransferLevel.Mul(liab.Add(intr)))
	if !room.IsPositive() {
		return decimal.Zero, nil
	}
	return decimal.Min(free, room.Div(px).RoundFloor(interestPrec)), nil
}

// Margin orders.

// placeMargin executes a margin order (v.mu held): interest is caught up first, then the order is decided
// and journaled with its side effects.
func (v *Venue) placeMargin(ctx context.Context, req exchange.OrderRequest, f taken) (exchange.Order, error) {
	now, err := v.accrueNow(ctx)
	if err != nil {
		return exchange.Order{}, fmt.Errorf("paper margin order %s: %w", req.ClientID, err)
	}
	rec, err := v.decideMargin(req, f.partial, now)
	if err != nil {
		return exchange.Order{}, err
	}
	jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.cfg.JournalTimeout)
	defer cancel()
	if err := v.commit(jctx, KindMarginOrder, now, rec); err != nil {
		return exchange.Order{}, fmt.Errorf("paper margin order %s: %w", req.ClientID, err)
	}
	o := v.st.orders[mkey{exchange.Margin, req.ClientID}].snapshot()
	if f.timeout {
		return exchange.Order{}, fmt.Errorf("paper margin order %s: %w", req.ClientID, ErrTimeout)
	}
	return o, nil
}

// decideMargin checks a margin order and computes its outcome and side effects without changing anything.
func (v *Venue) decideMargin(req exchange.OrderRequest, partial decimal.Decimal, now time.Time) (*marginOrderRec, error) {
	if err := v.checkClientID(exchange.Margin, req.ClientID); err != nil {
		return nil, err
	}
	in, ok := v.instruments[mkey{exchange.Spot, req.Symbol}]
	if !ok {
		return nil, exchange.Rejected(exchange.RejectOther, -1121, "Invalid symbol. (margin %s)", req.Symbol)
	}
	if req.Side != exchange.Buy && req.Side != exchange.Sell {
		return nil, exchange.Rejected(exchange.RejectOther, -1117, "Invalid side %q.", req.Side)
	}
	switch req.Type {
	case exchange.Market, exchange.LimitIOC:
	case exchange.LimitMaker:
		return nil, exchange.Rejected(exchange.RejectOther, -1116, "the paper venue does not simulate resting margin orders: use MARKET or LIMIT_IOC")
	default:
		return nil, exchange.Rejected(exchange.RejectOther, -1116, "Invalid orderType %q.", req.Type)
	}
	if req.ReduceOnly {
		return nil, exchange.Rejected(exchange.RejectOther, -1106, "Parameter 'reduceOnly' sent when not required.")
	}
	switch req.SideEffect {
	case exchange.NoSideEffect, exchange.AutoBorrow, exchange.AutoRepay, exchange.BorrowRepay:
	default:
		return nil, exchange.Rejected(exchange.RejectOther, -1100, "Illegal characters found in parameter 'sideEffectType'. (%q)", req.SideEffect)
	}
	q, ok := v.liveQuote(exchange.Spot, req.Symbol)
	if !ok {
		return nil, exchange.Rejected(exchange.RejectNoLiquidity, 0, "margin %s trades the spot book, which has no market (never quoted, or suspended by a data gap)", req.Symbol)
	}
	buy := req.Side == exchange.Buy
	touch := q.Bid
	if buy {
		touch = q.Ask
	}
	spotReq := req
	spotReq.Venue = exchange.Spot
	if err := exchange.CheckFilters(in, spotReq, touch); err != nil {
		return nil, err
	}
	_, price, fillQty := v.execution(in, req, touch, req.Qty, partial)
	refPrice := price
	if !refPrice.IsPositive() {
		refPrice = req.Price
	}
	spend, recv := in.Base, in.Quote
	needFull, needExec := req.Qty, fillQty
	if buy {
		spend, recv = in.Quote, in.Base
		needFull, needExec = req.Qty.Mul(refPrice), fillQty.Mul(price)
	}
	rec := &marginOrderRec{SideEffect: req.SideEffect}
	free := v.free(exchange.Margin, spend)
	borrows := req.SideEffect == exchange.AutoBorrow || req.SideEffect == exchange.BorrowRepay
	if !borrows && free.LessThan(needFull) {
		return nil, exchange.Rejected(exchange.RejectInsufficient, -2010, "Account has insufficient balance for requested action. (%s %s needed, %s free in margin)", needFull, spend, free)
	}
	if borrows {
		if short := needFull.Sub(free); short.IsPositive() {
			maxAmt, err := v.maxBorrowable(spend)
			if err != nil {
				return nil, err
			}
			if short.RoundCeil(interestPrec).GreaterThan(maxAmt) {
				return nil, exchange.Rejected(exchange.RejectInsufficient, -3006,
					"Your borrow amount has exceed maximum borrow amount. (the order needs %s %s more than the %s free; %s borrowable)", short, spend, free, maxAmt)
			}
		}
		// Binance borrows the whole shortfall and, with autoRepayAtCancel (the default), repays the part an
		// expired remainder did not use: the net is the shortfall of what executed.
		if short := needExec.Sub(free); short.IsPositive() {
			rec.Borrow = v.newBorrow(spend, short.RoundCeil(interestPrec), now)
		}
	}
	rate := v.marginFees().Taker
	var fills []fillRec
	if fillQty.IsPositive() {
		fills = append(fills, v.spotFill(exchange.Margin, 1, in, req.Side, fillQty, price, rate, false, now))
	}
	if (req.SideEffect == exchange.AutoRepay || req.SideEffect == exchange.BorrowRepay) && len(fills) > 0 {
		f := fills[0]
		received := f.Qty.Mul(f.Price).Sub(f.Fee)
		if buy {
			received = f.Qty.Sub(f.Fee)
		}
		if l := v.mstate().loans[recv]; l != nil {
			if pay := decimal.Min(received, l.debt()); pay.IsPositive() {
				rec.Repay = v.newRepay(recv, pay, now, 1)
			}
		}
	}
	status := exchange.StatusFilled
	if !fillQty.Equal(req.Qty) {
		status = exchange.StatusExpired // an IOC that did not cross, or a partial fill
	}
	rec.Order = orderRec{ClientID: req.ClientID, VenueOrderID: strconv.FormatInt(v.st.orderSeq[exchange.Margin]+1, 10), Venue: exchange.Margin,
		Symbol: req.Symbol, Base: in.Base, QuoteAsset: in.Quote, Side: req.Side, Type: req.Type, Status: status, Qty: req.Qty,
		Price: req.Price, Time: now, Fills: fills}
	return rec, nil
}

// marginFees are the margin venue's rates: Config.Fees[margin], else the spot rates.
func (v *Venue) marginFees() exchange.Fees {
	if f, ok := v.cfg.Fees[exchange.Margin]; ok {
		return f
	}
	return v.cfg.Fees[exchange.Spot]
}

// Margin liquidation.

// checkMarginLevel liquidates the margin account when its level is at or below MarginLiquidationLevel at
// the spot mids. Called with v.mu held.
func (v *Venue) checkMarginLevel(now time.Time) {
	if v.broken != nil || v.st.mg == nil || len(v.st.mg.loans) == 0 {
		return
	}
	level, owed, err := v.marginLevel()
	if err != nil || !owed || level.GreaterThan(v.cfg.MarginLiquidationLevel) {
		return
	}
	rec := v.planMarginLiquidation(level, now)
	if err := v.commitBackground(KindMarginLiquidation, now, rec); err != nil {
		return
	}
}

// planMarginLiquidation buys back every borrowed asset the wallet lacks at the ask (grossed up for the fee
// in base), sells other assets at the bid for an owed quote asset, repays every debt, and writes off what
// the wallet could not cover.
func (v *Venue) planMarginLiquidation(level decimal.Decimal, now time.Time) *marginLiqRec {
	mg := v.mstate()
	rec := &marginLiqRec{Level: level, Time: now}
	quote := v.cfg.Quote
	free := map[string]decimal.Decimal{}
	for a, b := range v.st.wallets[exchange.Margin] {
		free[a] = b.free
	}
	rate := v.marginFees().Taker
	var fills, repays int64
	order := func(step *liqStepRec, in exchange.Instrument, side exchange.Side, qty, price decimal.Decimal) {
		fills++
		f := v.spotFill(exchange.Margin, fills, in, side, qty, price, rate, false, now)
		step.Fill = &f
		step.ClientID = fmt.Sprintf("margin-liq-%s-%d", step.Asset, now.UnixMilli())
		step.VenueOrderID = strconv.FormatInt(v.st.orderSeq[exchange.Margin]+fills, 10)
		step.Symbol, step.Base, step.QuoteAsset = in.Symbol, in.Base, in.Quote
	}
	repay := func(step *liqStepRec, l *loan) {
		debt := l.debt()
		pay := decimal.Min(free[step.Asset], debt)
		if pay.IsPositive() {
			repays++
			step.Repay = v.newRepay(step.Asset, pay, now, repays)
			free[step.Asset] = free[step.Asset].Sub(pay)
		}
		if rest := debt.Sub(pay); rest.IsPositive() {
			step.Insurance = rest
		}
	}
	assets := sortedKeys(mg.loans)
	// Borrowed base assets first: buy back what the wallet lacks with the quote asset.
	for _, a := range assets {
		if a == quote {
			continue
		}
		l := mg.loans[a]
		step := liqStepRec{Asset: a}
		if short := l.debt().Sub(free[a]); short.IsPositive() {
			if in, q, ok := v.liqMarket(a); ok {
				step1 := in.OrderStep(exchange.Market)
				qty := exchange.SpotBuyGrossUp(short, rate, step1)
				px := v.slipped(in, q.Ask, true)
				if qty.Mul(px).GreaterThan(free[quote]) {
					qty = exchange.FloorToStep(free[quote].Div(px), step1)
				}
				if qty.IsPositive() {
					order(&step, in, exchange.Buy, qty, px)
					free[quote] = free[quote].Sub(qty.Mul(px))
					free[a] = free[a].Add(qty).Sub(step.Fill.Fee)
				}
			}
		}
		repay(&step, l)
		rec.Steps = append(rec.Steps, step)
	}
	// An owed quote asset: sell the other assets at the bid for what the wallet lacks.
	if l := mg.loans[quote]; l != nil {
		step := liqStepRec{Asset: quote}
		for _, a := range sortedKeys(free) {
			short := l.debt().Sub(free[quote])
			if !short.IsPositive() {
				break
			}
			if a == quote || !free[a].IsPositive() {
				continue
			}
			in, q, ok := v.liqMarket(a)
			if !ok {
				continue
			}
			st := in.OrderStep(exchange.Market)
			px := v.slipped(in, q.Bid, false)
			qty := decimal.Min(exchange.FloorToStep(free[a], st), exchange.CeilToStep(short.DivRound(px.Mul(decimal.NewFromInt(1).Sub(rate)), 18), st))
			if !qty.IsPositive() {
				continue
			}
			sell := liqStepRec{Asset: a}
			order(&sell, in, exchange.Sell, qty, px)
			sell.ClientID += "-s"
			free[a] = free[a].Sub(qty)
			free[quote] = free[quote].Add(qty.Mul(px)).Sub(sell.Fill.Fee)
			rec.Steps = append(rec.Steps, sell)
		}
		repay(&step, l)
		rec.Steps = append(rec.Steps, step)
	}
	return rec
}

// liqMarket is the spot market an asset is liquidated on, when it has a usable quote.
func (v *Venue) liqMarket(asset string) (exchange.Instrument, exchange.Quote, bool) {
	sym, ok := v.msetup.symbols[asset]
	if !ok {
		return exchange.Instrument{}, exchange.Quote{}, false
	}
	q, ok := v.liveQuote(exchange.Spot, sym)
	return v.instruments[mkey{exchange.Spot, sym}], q, ok
}

// Applying journaled margin changes (the only place margin state changes).

// applyMargin applies a margin payload; false when payload is not one.
func (v *Venue) applyMargin(payload any) (bool, error) {
	switch p := payload.(type) {
	case *borrowRec:
		v.applyBorrow(p)
	case *repayRec:
		return true, v.applyRepay(p)
	case *interestRec:
		return true, v.applyInterest(p)
	case *marginOrderRec:
		return true, v.applyMarginOrder(p)
	case *marginLiqRec:
		return true, v.applyMarginLiquidation(p)
	default:
		return false, nil
	}
	return true, nil
}

// decodeMargin returns an empty payload for a margin entry kind (nil for another kind).
func decodeMargin(kind EntryKind) any {
	switch kind {
	case KindBorrow:
		return &borrowRec{}
	case KindRepay:
		return &repayRec{}
	case KindInterest:
		return &interestRec{}
	case KindMarginOrder:
		return &marginOrderRec{}
	case KindMarginLiquidation:
		return &marginLiqRec{}
	}
	return nil
}

func (v *Venue) applyBorrow(r *borrowRec) {
	mg := v.mstate()
	l := mg.loans[r.Asset]
	if l == nil {
		l = &loan{}
		mg.loans[r.Asset] = l
	}
	if !l.principal.IsPositive() {
		// A new loan: the borrow-time charge covers this hour; hourly charges start at the next boundary
		// (never one already charged).
		l.next = r.Time.UTC().Truncate(time.Hour).Add(time.Hour)
		if c, ok := mg.charged[r.Asset]; ok && !l.next.After(c) {
			l.next = c.Add(time.Hour)
		}
	}
	w := v.wallet(exchange.Margin, r.Asset)
	w.free = w.free.Add(r.Amount)
	l.principal = l.principal.Add(r.Amount)
	l.interest = l.interest.Add(r.Interest)
	mg.borrowSeq++
	mg.txs = append(mg.txs,
		exchange.LoanTx{TranID: r.TranID, Kind: exchange.LoanBorrow, Asset: r.Asset, Amount: r.Amount, Time: r.Time},
		exchange.LoanTx{TranID: r.TranID + "-int", Kind: exchange.LoanInterest, Asset: r.Asset, Amount: r.Interest, Time: r.Time,
			Rate: r.Rate, Principal: r.Amount})
}

func (v *Venue) applyRepay(r *repayRec) error {
	mg := v.mstate()
	l := mg.loans[r.Asset]
	if l == nil {
		return fmt.Errorf("repayment %s of %s, which has no loan", r.TranID, r.Asset)
	}
	w := v.wallet(exchange.Margin, r.Asset)
	w.free = w.free.Sub(r.Amount)
	l.interest = l.interest.Sub(r.Interest)
	l.principal = l.principal.Sub(r.Principal)
	mg.repaySeq++
	mg.txs = append(mg.txs, exchange.LoanTx{TranID: r.TranID, Kind: exchange.LoanRepay, Asset: r.Asset, Amount: r.Amount, Time: r.Time,
		Principal: r.Principal})
	v.dropPaidLoan(r.Asset)
	return nil
}

func (v *Venue) dropPaidLoan(asset string) {
	mg := v.mstate()
	if l := mg.loans[asset]; l != nil && !l.principal.IsPositive() && !l.interest.IsPositive() {
		delete(mg.loans, asset)
	}
}

func (v *Venue) applyInterest(r *interestRec) error {
	mg := v.mstate()
	for _, c := range r.Charges {
		l := mg.loans[c.Asset]
		if l == nil {
			return fmt.Errorf("interest charge %s on %s, which has no loan", c.TranID, c.Asset)
		}
		l.interest = l.interest.Add(c.Amount)
		l.next = c.Time.Add(time.Hour)
		mg.charged[c.Asset] = c.Time
		mg.txs = append(mg.txs, exchange.LoanTx{TranID: c.TranID, Kind: exchange.LoanInterest, Asset: c.Asset, Amount: c.Amount,
			Time: c.Time, Rate: c.Rate, Principal: c.Principal})
	}
	return nil
}

func (v *Venue) applyMarginOrder(r *marginOrderRec) error {
	if r.Borrow != nil {
		v.applyBorrow(r.Borrow)
	}
	v.applyOrder(&r.Order)
	if r.Repay != nil {
		return v.applyRepay(r.Repay)
	}
	return nil
}

func (v *Venue) applyMarginLiquidation(r *marginLiqRec) error {
	mg := v.mstate()
	for _, s := range r.Steps {
		item := MarginLiquidation{Asset: s.Asset, MarginLevel: r.Level, Insurance: s.Insurance, Time: r.Time}
		if s.Fill != nil {
			v.applyOrder(&orderRec{ClientID: s.ClientID, VenueOrderID: s.VenueOrderID, Venue: exchange.Margin, Symbol: s.Symbol,
				Base: s.Base, QuoteAsset: s.QuoteAsset, Side: s.Fill.Side, Type: exchange.Market, Status: exchange.StatusFilled,
				Qty: s.Fill.Qty, Time: r.Time, Fills: []fillRec{*s.Fill}})
			item.ClientID, item.Symbol, item.Side, item.Qty, item.Price, item.Fee = s.ClientID, s.Symbol, s.Fill.Side, s.Fill.Qty, s.Fill.Price, s.Fill.Fee
		}
		if s.Repay != nil {
			if err := v.applyRepay(s.Repay); err != nil {
				return err
			}
			item.Repaid = s.Repay.Amount
		}
		if s.Insurance.IsPositive() {
			if l := mg.loans[s.Asset]; l != nil {
				payI := decimal.Min(s.Insurance, l.interest)
				l.interest = l.interest.Sub(payI)
				l.principal = l.principal.Sub(s.Insurance.Sub(payI))
				v.dropPaidLoan(s.Asset)
			}
		}
		if s.Fill != nil || s.Repay != nil || s.Insurance.IsPositive() {
			mg.liquidations = append(mg.liquidations, item)
		}
	}
	return nil
}
