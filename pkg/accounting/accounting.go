// Package accounting computes what a pair earned from what was recorded: its fills and funding payments.
// Everything is exact decimal cash flow in the quote asset:
//
//	cash      = Σ sells × price − Σ buys × price − fees charged in the quote asset   (both legs)
//	holdings  = what the legs still hold, valued at the given prices (zero for a closed pair but dust)
//	funding   = Σ funding payments (positive received)
//	fees      = fees in the quote asset + fees charged in base valued at their fill price
//	interest  = borrow interest (reverse carry), in base, valued at the spot price
//	net PnL   = cash + holdings + funding           (holdings net of the interest owed or repaid)
//	basis PnL = net PnL − funding + fees + interest (the price PnL of the two legs together)
package accounting

import (
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/strategy/pair"
)

// Prices value what a pair still holds. Zero prices value holdings at zero (reported as unknown).
type Prices struct {
	Spot decimal.Decimal
	Perp decimal.Decimal
}

// PairPnL is a pair's accounting.
type PairPnL struct {
	PairID    int64
	Symbol    string
	Direction pair.Direction
	State     pair.State
	SpotQty   decimal.Decimal // held (carry) or owed (reverse), from fills
	PerpQty   decimal.Decimal
	Funding   decimal.Decimal
	Fees      decimal.Decimal
	Interest  decimal.Decimal // borrow interest of a reverse pair, in the quote asset
	BasisPnL  decimal.Decimal
	NetPnL    decimal.Decimal
	Notional  decimal.Decimal // spot quantity at the spot price
	// Valued is false when an open pair had no prices to value its holdings.
	Valued bool
	// UnpricedFees counts fees in an asset that is neither the quote nor the base (e.g. BNB), left out.
	UnpricedFees int
}

// Compute accounts one pair. base and quote are the symbol's assets. loans are the pair's loan transactions
// (reverse carry; nil otherwise): the interest charged is owed in base, so what was bought back to repay it
// is not a holding.
func Compute(p pair.Pair, fills []exchange.Fill, funding []exchange.FundingPayment, loans []exchange.LoanTx, px Prices, base, quote string) PairPnL {
	out := PairPnL{PairID: p.ID, Symbol: p.Symbol, Direction: p.Direction, State: p.State}
	cash := decimal.Zero
	var spotHeld, perpPos decimal.Decimal // spotHeld: base in (positive) or owed (negative); perpPos signed
	for _, f := range fills {
		amount := f.Qty.Mul(f.Price)
		if f.Side == exchange.Buy {
			cash = cash.Sub(amount)
		} else {
			cash = cash.Add(amount)
		}
		switch f.FeeAsset {
		case quote:
			cash = cash.Sub(f.Fee)
			out.Fees = out.Fees.Add(f.Fee)
		case base:
			out.Fees = out.Fees.Add(f.Fee.Mul(f.Price))
		case "":
		default:
			if f.Fee.IsPositive() {
				out.UnpricedFees++
			}
		}
		switch f.Venue {
		case exchange.Futures:
			perpPos = perpPos.Add(f.Qty.Mul(decimal.NewFromInt(f.Side.Sign())))
		default:
			q := f.Qty.Mul(decimal.NewFromInt(f.Side.Sign()))
			if f.FeeAsset == base {
				q = q.Sub(f.Fee)
			}
			spotHeld = spotHeld.Add(q)
		}
	}
	for _, fp := range funding {
		out.Funding = out.Funding.Add(fp.Amount)
	}
	interestBase := decimal.Zero
	for _, l := range loans {
		if l.Kind == exchange.LoanInterest && l.Asset == base {
			interestBase = interestBase.Add(l.Amount)
		}
	}
	spotHeld = spotHeld.Sub(interestBase)
	out.Interest = interestBase.Mul(px.Spot)
	out.SpotQty, out.PerpQty = spotHeld.Abs(), perpPos.Abs()
	holdings := decimal.Zero
	out.Valued = true
	if !spotHeld.IsZero() || !perpPos.IsZero() {
		if px.Spot.IsPositive() && px.Perp.IsPositive() {
			holdings = spotHeld.Mul(px.Spot).Add(perpPos.Mul(px.Perp))
		} else {
			out.Valued = false
		}
	}
	out.Notional = out.SpotQty.Mul(px.Spot)
	out.NetPnL = cash.Add(holdings).Add(out.Funding)
	out.BasisPnL = out.NetPnL.Sub(out.Funding).Add(out.Fees).Add(out.Interest)
	return out
}

// Total sums pair accountings.
func Total(pnls []PairPnL) PairPnL {
	var t PairPnL
	t.Valued = true
	for _, p := range pnls {
		t.Funding = t.Funding.Add(p.Funding)
		t.Fees = t.Fees.Add(p.Fees)
		t.Interest = t.Interest.Add(p.Interest)
		t.BasisPnL = t.BasisPnL.Add(p.BasisPnL)
		t.NetPnL = t.NetPnL.Add(p.NetPnL)
		t.Notional = t.Notional.Add(p.Notional)
		t.Valued = t.Valued && p.Valued
		t.UnpricedFees += p.UnpricedFees
	}
	return t
}
