package paper

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/carry-trading/carry/exchange"
)

// settle records a settlement seen by Apply and pays it to or from the symbol's position: amount =
// exchange.FundingAmount(qty, mark, rate) to 8 places (longs pay shorts when the rate is positive), booked in the cross
// wallet or the position's isolated wallet. The mark is the event's Funding.MarkPrice when set, else the last
// mark. Only a position open at the settlement time takes part, and each settlement is paid once.
func (v *Venue) settle(ev *exchange.Event) {
	r := ev.Funding
	if r.Symbol == "" {
		r.Symbol = ev.Symbol
	}
	if r.Time.IsZero() {
		r.Time = ev.Time
	}
	r.Time = r.Time.UTC()
	ps := v.perpState(r.Symbol)
	if r.IntervalHours > 0 {
		ps.hours = r.IntervalHours
	}
	// History is kept for the venue's lifetime: copy the decimals so it does not pin the feed's buffers.
	r.Rate, r.MarkPrice = r.Rate.Copy(), r.MarkPrice.Copy()
	if n := len(ps.rates); n == 0 || ps.rates[n-1].Time.Before(r.Time) {
		ps.rates = append(ps.rates, r)
	}
	p := ps.pos
	if p == nil || p.qty.IsZero() || v.broken != nil {
		return
	}
	if r.Time.Before(p.openedAt) || !r.Time.After(p.lastFunding) {
		return // opened after the settlement, or already paid
	}
	mark := r.MarkPrice
	if !mark.IsPositive() && ps.hasMark {
		mark = ps.mark
	}
	if !mark.IsPositive() {
		return
	}
	amount := exchange.FundingAmount(p.qty, mark, r.Rate).Round(amountPlaces)
	rec := &fundingRec{TranID: FundingTranID(r.Symbol, r.Time), Symbol: r.Symbol, Rate: r.Rate, Mark: mark, Qty: p.qty,
		Amount: amount, Isolated: p.isolated, Time: r.Time}
	if err := v.commitBackground(KindFunding, r.Time, rec); err != nil {
		return
	}
	v.checkLiquidation(ps)
}

// FundingTranID is the deterministic id of a paper funding payment: paper-<SYMBOL>-<funding time in ms>.
func FundingTranID(symbol string, t time.Time) string {
	b := make([]byte, 0, len(symbol)+20)
	b = append(append(append(b, "paper-"...), symbol...), '-')
	return string(strconv.AppendInt(b, t.UnixMilli(), 10))
}

// applyFunding books a settlement.
func (v *Venue) applyFunding(r *fundingRec) {
	p := v.position(r.Symbol)
	if r.Isolated {
		p.isoWallet = p.isoWallet.Add(r.Amount)
	} else {
		w := v.wallet(exchange.Futures, v.cfg.Quote)
		w.free = w.free.Add(r.Amount)
	}
	p.lastFunding = r.Time
	v.st.funding = append(v.st.funding, exchange.FundingPayment{TranID: r.TranID, Symbol: r.Symbol, Amount: r.Amount,
		Asset: v.cfg.Quote, Rate: r.Rate, MarkPrice: r.Mark, PositionQty: r.Qty, Time: r.Time})
}

// FundingPayments returns the payments with time ≥ since (all symbols when symbol is ""), oldest first.
func (v *Venue) FundingPayments(_ context.Context, symbol string, since time.Time) ([]exchange.FundingPayment, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.broken != nil {
		return nil, v.brokenErr()
	}
	var out []exchange.FundingPayment
	// Payments are appended in settlement order: skip the older ones by binary search.
	first := sort.Search(len(v.st.funding), func(i int) bool { return !v.st.funding[i].Time.Before(since) })
	for _, f := range v.st.funding[first:] {
		if (symbol == "" || f.Symbol == symbol) && !f.Time.Before(since) {
			out = append(out, f)
		}
	}
	return out, nil
}
