package risk

import (
	"errors"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// The liquidation price is linear in the wallet balance within a bracket,
//
//	LP = (WB − TMM1 + UPNL1 + cum − q·E) ÷ (|q|·MMR − q)      (q signed, negative short)
//
// and continuous across brackets (cum makes the maintenance margin continuous), so the wallet that puts the
// liquidation price at a chosen LP* is found in closed form with the bracket of the notional at LP*:
//
//	WB* = LP*·(|q|·MMR − q) + TMM1 − UPNL1 − cum + q·E
//
// A top-up is WB* − WB, rounded up to the transfer step and verified by recomputing the liquidation price.

// WalletForLiquidation is the wallet balance (cross or isolated, as in.Wallet is) at which the position's
// liquidation price is lp; in.Wallet is ignored.
func WalletForLiquidation(lp decimal.Decimal, in exchange.LiquidationInput) (decimal.Decimal, error) {
	if in.Qty.IsZero() {
		return decimal.Zero, fmt.Errorf("wallet for liquidation at %s: no position", lp)
	}
	b, err := exchange.BracketFor(in.Brackets, in.Qty.Abs().Mul(lp))
	if err != nil {
		return decimal.Zero, fmt.Errorf("wallet for liquidation at %s: %w", lp, err)
	}
	den := in.Qty.Abs().Mul(b.MMR).Sub(in.Qty)
	return lp.Mul(den).Add(in.OtherMaintenance).Sub(in.OtherUnrealized).Sub(b.Cum).Add(in.Qty.Mul(in.EntryPrice)), nil
}

// TargetLiquidation is the liquidation price at distance target from mark on the position's losing side:
// above the mark for a short, below it for a long.
func TargetLiquidation(qty, mark, target decimal.Decimal) decimal.Decimal {
	if qty.IsNegative() {
		return mark.Mul(one.Add(target))
	}
	return mark.Mul(one.Sub(target))
}

// TopupForDistance is the smallest amount (a multiple of step) that, added to in.Wallet, puts the
// liquidation price at least target away from mark. Zero when it already is. The result is verified by
// recomputing the liquidation price with exchange.LiquidationPrice.
func TopupForDistance(in exchange.LiquidationInput, mark, target, step decimal.Decimal) (decimal.Decimal, error) {
	lpStar := TargetLiquidation(in.Qty, mark, target)
	wb, err := WalletForLiquidation(lpStar, in)
	if err != nil {
		return decimal.Zero, err
	}
	amount := exchange.CeilToStep(wb.Sub(in.Wallet), step)
	if !amount.IsPositive() {
		return decimal.Zero, nil
	}
	// Verify: the closed form and the formula must agree. Rounding can leave the distance a hair short, so
	// allow a few steps before calling it a bug.
	for range 4 {
		after := in
		after.Wallet = in.Wallet.Add(amount)
		lp, err := exchange.LiquidationPrice(after)
		if err != nil { // a long covered by its wallet cannot be liquidated at all: far enough
			if errors.Is(err, exchange.ErrNoLiquidation) {
				return amount, nil
			}
			return decimal.Zero, fmt.Errorf("verifying a top-up of %s: %w", amount, err)
		}
		if exchange.LiquidationDistance(lp, mark).GreaterThanOrEqual(target) {
			return amount, nil
		}
		amount = amount.Add(step)
	}
	return decimal.Zero, fmt.Errorf("top-up to distance %s does not verify: wallet %s + %s still leaves the liquidation price short of %s", target, in.Wallet, amount, lpStar)
}

// TopupForMarginRatio is the smallest amount (a multiple of step) that brings maintenance ÷ (margin balance
// + amount) down to target. Zero when the ratio already is at or below it.
func TopupForMarginRatio(maintenance, marginBalance, target, step decimal.Decimal) decimal.Decimal {
	if !target.IsPositive() {
		return decimal.Zero
	}
	need := maintenance.DivRound(target, 10).Sub(marginBalance)
	amount := exchange.CeilToStep(need, step)
	if !amount.IsPositive() {
		return decimal.Zero
	}
	return amount
}
