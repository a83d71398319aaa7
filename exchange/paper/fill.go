package paper

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// applyOrder registers a new order, applies its fills and locks what a resting order holds back.
func (v *Venue) applyOrder(r *orderRec) {
	st := v.st
	st.orderSeq[r.Venue]++
	os := &orderState{o: exchange.Order{ClientID: r.ClientID, VenueOrderID: r.VenueOrderID, Venue: r.Venue, Symbol: r.Symbol,
		Side: r.Side, Type: r.Type, Status: r.Status, Qty: r.Qty, Price: r.Price, Time: r.Time},
		reduceOnly: r.ReduceOnly, base: r.Base, quote: r.QuoteAsset, leverage: r.Leverage}
	st.orders[mkey{r.Venue, r.ClientID}] = os
	for _, f := range r.Fills {
		v.applyFill(os, f, false)
	}
	if r.Status == exchange.StatusNew {
		v.lock(os)
	}
}

// lock holds back what a resting order needs: the quote asset of a spot buy at its limit, the base asset of
// a spot sell, the initial margin of the exposure a futures order would open.
func (v *Venue) lock(os *orderState) {
	o := &os.o
	remaining := o.Qty.Sub(o.ExecutedQty)
	switch o.Venue {
	case exchange.Spot:
		amt, asset := remaining, os.base
		if o.Side == exchange.Buy {
			amt, asset = remaining.Mul(o.Price), os.quote
		}
		b := v.wallet(exchange.Spot, asset)
		b.free, b.locked = b.free.Sub(amt), b.locked.Add(amt)
		os.lockAsset, os.locked = asset, amt
	case exchange.Futures:
		p := v.position(o.Symbol)
		if !os.reduceOnly {
			dry := *p
			if _, _, opened := dry.trade(signedQty(o.Side, remaining), o.Price, time.Time{}); opened.IsPositive() {
				os.locked = initialMargin(opened.Mul(o.Price), os.leverage)
				p.reserved = p.reserved.Add(os.locked)
			}
		}
	}
	k := mkey{o.Venue, o.Symbol}
	v.st.resting[k] = append(v.st.resting[k], os)
}

// unlock returns what a resting order still holds and takes it off the book.
func (v *Venue) unlock(os *orderState) {
	o := &os.o
	switch o.Venue {
	case exchange.Spot:
		if os.lockAsset != "" {
			b := v.wallet(exchange.Spot, os.lockAsset)
			b.free, b.locked = b.free.Add(os.locked), b.locked.Sub(os.locked)
		}
	case exchange.Futures:
		p := v.position(o.Symbol)
		p.reserved = p.reserved.Sub(os.locked)
	}
	os.locked = decimal.Zero
	k := mkey{o.Venue, o.Symbol}
	list := v.st.resting[k]
	for i, x := range list {
		if x == os {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(v.st.resting, k)
	} else {
		v.st.resting[k] = list
	}
}

// applyFill books one execution on the wallets (spot, margin) or the position and the futures wallet (futures).
// fromLock: the order was resting and its funds were locked.
func (v *Venue) applyFill(os *orderState, f fillRec, fromLock bool) {
	o := &os.o
	v.st.tradeSeq[o.Venue]++
	notional := f.Qty.Mul(f.Price)
	switch o.Venue {
	case exchange.Spot, exchange.Margin: // a margin order trades the spot book with the margin wallet; it never rests
		qb, bb := v.wallet(o.Venue, os.quote), v.wallet(o.Venue, os.base)
		if f.Side == exchange.Buy {
			if fromLock {
				held := f.Qty.Mul(o.Price)
				qb.locked, os.locked = qb.locked.Sub(held), os.locked.Sub(held)
				qb.free = qb.free.Add(held).Sub(notional)
			} else {
				qb.free = qb.free.Sub(notional)
			}
			bb.free = bb.free.Add(f.Qty)
		} else {
			if fromLock {
				bb.locked, os.locked = bb.locked.Sub(f.Qty), os.locked.Sub(f.Qty)
			} else {
				bb.free = bb.free.Sub(f.Qty)
			}
			qb.free = qb.free.Add(notional)
		}
		fb := v.wallet(o.Venue, f.FeeAsset)
		fb.free = fb.free.Sub(f.Fee)
	case exchange.Futures:
		p := v.position(o.Symbol)
		if fromLock && !os.locked.IsZero() {
			p.reserved = p.reserved.Sub(os.locked)
			os.locked = decimal.Zero
		}
		v.tradeFutures(p, f.Side, f.Qty, f.Price, f.Time)
		fb := v.wallet(exchange.Futures, f.FeeAsset)
		fb.free = fb.free.Sub(f.Fee)
	}
	o.ExecutedQty = o.ExecutedQty.Add(f.Qty)
	o.CumQuote = o.CumQuote.Add(notional)
	o.Fills = append(o.Fills, f.fill(o))
}

// tradeFutures changes a position and books the realized PnL in the futures wallet. An isolated position
// moves the initial margin of what it opens from the cross wallet into its own wallet, and releases its
// wallet in proportion to what it closes.
func (v *Venue) tradeFutures(p *position, side exchange.Side, qty, price decimal.Decimal, at time.Time) decimal.Decimal {
	cross := v.wallet(exchange.Futures, v.cfg.Quote)
	held := p.qty.Abs()
	realized, closed, opened := p.trade(signedQty(side, qty), price, at)
	cross.free = cross.free.Add(realized)
	if p.isolated {
		if closed.IsPositive() {
			release := p.isoWallet
			if opened.IsZero() && !p.qty.IsZero() {
				release = p.isoWallet.Mul(closed).DivRound(held, 8)
			}
			p.isoWallet = p.isoWallet.Sub(release)
			cross.free = cross.free.Add(release)
		}
		if opened.IsPositive() {
			im := initialMargin(opened.Mul(price), p.leverage)
			cross.free = cross.free.Sub(im)
			p.isoWallet = p.isoWallet.Add(im)
		}
	}
	return realized
}

// applyMakerFill books a later fill of a resting order.
func (v *Venue) applyMakerFill(r *makerFillRec) error {
	os := v.st.orders[mkey{r.Venue, r.ClientID}]
	if os == nil {
		return fmt.Errorf("maker fill of unknown order %s %s", r.Venue, r.ClientID)
	}
	for _, f := range r.Fills {
		v.applyFill(os, f, true)
	}
	os.o.Status = r.Status
	if r.Status.Final() {
		v.unlock(os)
	}
	return nil
}

// applyCancel cancels a resting order.
func (v *Venue) applyCancel(r *cancelRec) error {
	os := v.st.orders[mkey{r.Venue, r.ClientID}]
	if os == nil {
		return fmt.Errorf("cancel of unknown order %s %s", r.Venue, r.ClientID)
	}
	v.unlock(os)
	os.o.Status = exchange.StatusCanceled
	return nil
}

// matchResting fills resting LIMIT_MAKER orders the new quote reaches: a buy at P when the ask is at or below
// P, a sell when the bid is at or above P, in full at P as maker. A reduce-only order is capped at the
// position and expires when there is nothing left to reduce.
func (v *Venue) matchResting(k mkey, m *market) {
	list := append([]*orderState(nil), v.st.resting[k]...)
	at := v.clk.Now()
	if m.hasTime {
		at = nsTime(m.ns, true)
	}
	at = at.UTC()
	for _, os := range list {
		o := os.o
		buy := o.Side == exchange.Buy
		if buy && m.ask.GreaterThan(o.Price) || !buy && m.bid.LessThan(o.Price) {
			continue
		}
		in := v.instruments[k]
		remaining := o.Qty.Sub(o.ExecutedQty)
		rec := &makerFillRec{Venue: o.Venue, ClientID: o.ClientID, Status: exchange.StatusFilled}
		rate := v.cfg.Fees[o.Venue].Maker
		if o.Venue == exchange.Spot {
			rec.Fills = []fillRec{v.spotFill(exchange.Spot, 1, in, o.Side, remaining, o.Price, rate, true, at)}
		} else {
			pos := position{symbol: o.Symbol, leverage: os.leverage}
			if p := v.st.positions[o.Symbol]; p != nil {
				pos = *p
			}
			if os.reduceOnly {
				if pos.qty.IsZero() || pos.qty.IsPositive() == buy {
					remaining = decimal.Zero
				}
				remaining = decimal.Min(remaining, pos.qty.Abs())
			}
			if remaining.IsPositive() {
				rec.Fills = []fillRec{v.futuresFill(&pos, in, o.Side, remaining, o.Price, rate, true, at)}
			}
			if !o.ExecutedQty.Add(remaining).Equal(o.Qty) {
				rec.Status = exchange.StatusExpired
			}
		}
		if err := v.commitBackground(KindMakerFill, at, rec); err != nil {
			return
		}
	}
}
