package paper

import (
	"fmt"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// Liquidation is a forced close of a position by the paper venue.
type Liquidation struct {
	Symbol   string
	Isolated bool
	Side     exchange.Side   // of the closing order
	Qty      decimal.Decimal // closed, absolute
	Price    decimal.Decimal // the mark it was closed at
	// Trigger is the liquidation price the mark crossed; zero when several cross positions were closed on
	// the account's margin ratio.
	Trigger     decimal.Decimal
	RealizedPnL decimal.Decimal
	// Fee is the clearance fee: the position's maintenance margin at the mark, at most what was left, as
	// Binance's insurance fund takes the remaining margin.
	Fee decimal.Decimal
	// Insurance is the loss beyond the wallet that the insurance fund absorbed (a gap through the bankruptcy
	// price); the wallet never goes below zero.
	Insurance decimal.Decimal
	ClientID  string // autoclose-<SYMBOL>-<ms>, queryable like any order
	TradeID   string
	Time      time.Time
}

// checkLiquidation liquidates when the margin ratio reaches 100% at the mark. A lone cross position or an
// isolated one compares the mark with its precomputed liquidation price (a float screen, then an exact
// compare); several cross positions re-check the cross margin ratio.
func (v *Venue) checkLiquidation(ps *perpState) {
	p := ps.pos
	if p == nil || !p.isOpen || !ps.hasMark || v.broken != nil {
		return
	}
	if p.isolated || v.st.crossOpen == 1 {
		if !p.hasTrig {
			return
		}
		short := p.qtyF < 0
		if short && ps.markF < p.trigF*(1-1e-9) || !short && ps.markF > p.trigF*(1+1e-9) {
			return
		}
		if c := ps.mark.Cmp(p.trig); short && c >= 0 || !short && c <= 0 {
			v.liquidate([]*position{p}, p.trig)
		}
		return
	}
	if v.crossRatioF() < 0.95 {
		return
	}
	upnl, maint, _, err := v.crossTotals(nil)
	if err != nil {
		return
	}
	if mb := v.free(exchange.Futures, v.cfg.Quote).Add(upnl); maint.IsPositive() && maint.GreaterThanOrEqual(mb) {
		var cross []*position
		for _, q := range v.st.open {
			if !q.isolated {
				cross = append(cross, q)
			}
		}
		v.liquidate(cross, decimal.Zero)
	}
}

// crossRatioF screens the cross margin ratio in floats.
func (v *Venue) crossRatioF() float64 {
	var mm, upnl float64
	for _, p := range v.st.open {
		if p.isolated {
			continue
		}
		ps := v.perps[p.symbol]
		mark := p.costF / p.qtyF
		if ps != nil && ps.hasMark {
			mark = ps.markF
		}
		notional := abs(p.qtyF) * mark
		upnl += p.qtyF*mark - p.costF
		for _, b := range v.bracketsF(p.symbol) {
			if notional >= b.floor && (notional < b.cap || b.cap <= 0) {
				mm += notional*b.mmr - b.cum
				break
			}
		}
	}
	mb := v.st.crossWalletF + upnl
	if mb <= 0 {
		return 1
	}
	return mm / mb
}

type bracketF struct{ floor, cap, mmr, cum float64 }

func (v *Venue) bracketsF(symbol string) []bracketF {
	if b, ok := v.bracketCache[symbol]; ok {
		return b
	}
	var out []bracketF
	for _, b := range v.brackets(symbol) {
		out = append(out, bracketF{b.Floor.InexactFloat64(), b.Cap.InexactFloat64(), b.MMR.InexactFloat64(), b.Cum.InexactFloat64()})
	}
	v.bracketCache[symbol] = out
	return out
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// liquidate closes positions at their marks, charging the clearance fee.
func (v *Venue) liquidate(ps []*position, trigger decimal.Decimal) {
	for _, p := range ps {
		if !p.isOpen {
			continue
		}
		mark := v.markOf(p)
		at := v.clk.Now()
		if s := v.perps[p.symbol]; s != nil && s.hasMark && s.hasMT {
			at = nsTime(s.markNs, true)
		}
		at = at.UTC()
		side, signed := exchange.Sell, p.qty.Neg()
		if p.qty.IsNegative() {
			side = exchange.Buy
		}
		qty := p.qty.Abs()
		dry := *p
		realized, _, _ := dry.trade(signed, mark, at)
		mm, err := exchange.MaintenanceMargin(qty.Mul(mark), v.brackets(p.symbol))
		if err != nil || mm.IsNegative() {
			mm = decimal.Zero
		}
		mm = mm.Round(amountPlaces) // the clearance fee is booked like every other amount
		equity := v.free(exchange.Futures, v.cfg.Quote).Add(realized)
		if p.isolated {
			equity = p.isoWallet.Add(realized)
		}
		fee, insurance := decimal.Min(mm, equity), decimal.Zero
		if equity.IsNegative() {
			fee, insurance = decimal.Zero, equity.Neg()
		}
		rec := &liquidationRec{Symbol: p.symbol, ClientID: fmt.Sprintf("autoclose-%s-%d", p.symbol, at.UnixMilli()),
			VenueOrderID: strconv.FormatInt(v.st.orderSeq[exchange.Futures]+1, 10), Isolated: p.isolated, Mark: mark, Trigger: trigger,
			Fill: fillRec{TradeID: strconv.FormatInt(v.st.tradeSeq[exchange.Futures]+1, 10), Side: side, Qty: qty, Price: mark,
				Fee: fee, FeeAsset: v.cfg.Quote, RealizedPnL: realized, Time: at},
			Insurance: insurance, Time: at}
		if err := v.commitBackground(KindLiquidation, at, rec); err != nil {
			return
		}
	}
}

// applyLiquidation books a forced close: the position is closed at the mark, the clearance fee is taken and
// what is left of its margin returns to the cross wallet.
func (v *Venue) applyLiquidation(r *liquidationRec) {
	st := v.st
	p := v.position(r.Symbol)
	cross := v.wallet(exchange.Futures, v.cfg.Quote)
	f := r.Fill
	st.orderSeq[exchange.Futures]++
	st.tradeSeq[exchange.Futures]++
	realized, _, _ := p.trade(signedQty(f.Side, f.Qty), f.Price, r.Time)
	rest := realized.Sub(f.Fee).Add(r.Insurance)
	if p.isolated {
		rest = rest.Add(p.isoWallet)
		p.isoWallet = decimal.Zero
	}
	cross.free = cross.free.Add(rest)
	os := &orderState{o: exchange.Order{ClientID: r.ClientID, VenueOrderID: r.VenueOrderID, Venue: exchange.Futures, Symbol: r.Symbol,
		Side: f.Side, Type: exchange.Market, Status: exchange.StatusFilled, Qty: f.Qty, ExecutedQty: f.Qty, CumQuote: f.Qty.Mul(f.Price), Time: r.Time},
		quote: v.cfg.Quote}
	os.o.Fills = []exchange.Fill{f.fill(&os.o)}
	st.orders[mkey{exchange.Futures, r.ClientID}] = os
	st.liquidations = append(st.liquidations, Liquidation{Symbol: r.Symbol, Isolated: r.Isolated, Side: f.Side, Qty: f.Qty, Price: f.Price,
		Trigger: r.Trigger, RealizedPnL: realized, Fee: f.Fee, Insurance: r.Insurance, ClientID: r.ClientID, TradeID: f.TradeID, Time: r.Time})
}
