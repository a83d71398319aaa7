package exchange

import (
	"errors"
	"fmt"

	"github.com/shopspring/decimal"
)

// Binance USDⓈ-M margin math (one-way mode). Unrealised PnL and liquidation use the mark price.

// BracketFor returns the bracket whose notional range holds notional (the last bracket past the end).
func BracketFor(brackets []Bracket, notional decimal.Decimal) (Bracket, error) {
	if len(brackets) == 0 {
		return Bracket{}, errors.New("no leverage brackets for the symbol")
	}
	n := notional.Abs()
	for _, b := range brackets {
		if n.GreaterThanOrEqual(b.Floor) && (n.LessThan(b.Cap) || !b.Cap.IsPositive()) {
			return b, nil
		}
	}
	return brackets[len(brackets)-1], nil
}

// MaintenanceMargin = notional × MMR − cum, from the bracket of the notional.
func MaintenanceMargin(notional decimal.Decimal, brackets []Bracket) (decimal.Decimal, error) {
	b, err := BracketFor(brackets, notional)
	if err != nil {
		return decimal.Zero, err
	}
	return notional.Abs().Mul(b.MMR).Sub(b.Cum), nil
}

// LiquidationInput describes one position for the liquidation price formula.
type LiquidationInput struct {
	Qty        decimal.Decimal // signed position: positive long, negative short
	EntryPrice decimal.Decimal
	// Wallet is the cross wallet balance (cross) or the isolated wallet balance (isolated).
	Wallet decimal.Decimal
	// OtherMaintenance and OtherUnrealized are TMM1 and UPNL1: the maintenance margin and unrealised PnL of
	// all other cross positions; zero for isolated.
	OtherMaintenance decimal.Decimal
	OtherUnrealized  decimal.Decimal
	Brackets         []Bracket
}

// ErrNoLiquidation: the position cannot be liquidated by price (e.g. a long fully covered by its wallet).
var ErrNoLiquidation = errors.New("no liquidation price: the margin covers any price")

// LiquidationPrice solves Binance's formula
//
//	LP = (WB − TMM1 + UPNL1 + cum − Side × Qty × Entry) / (Qty × MMR − Side × Qty)
//
// and solves again while the notional at LP falls in another bracket than the one used. Isolated short
// 1 BTC at 60,000 with 12,000 wallet (MMR 0.5%, cum 50) → 71,691.54.
func LiquidationPrice(in LiquidationInput) (decimal.Decimal, error) {
	if in.Qty.IsZero() {
		return decimal.Zero, errors.New("no position")
	}
	side := decimal.NewFromInt(1)
	if in.Qty.IsNegative() {
		side = side.Neg()
	}
	qty := in.Qty.Abs()
	b, err := BracketFor(in.Brackets, qty.Mul(in.EntryPrice))
	if err != nil {
		return decimal.Zero, err
	}
	base := in.Wallet.Sub(in.OtherMaintenance).Add(in.OtherUnrealized).Sub(side.Mul(qty).Mul(in.EntryPrice))
	for range len(in.Brackets) + 1 {
		den := qty.Mul(b.MMR).Sub(side.Mul(qty))
		if den.IsZero() {
			return decimal.Zero, fmt.Errorf("liquidation formula is singular at MMR %s", b.MMR)
		}
		lp := base.Add(b.Cum).DivRound(den, 10)
		if !lp.IsPositive() {
			return decimal.Zero, ErrNoLiquidation
		}
		nb, err := BracketFor(in.Brackets, qty.Mul(lp))
		if err != nil {
			return decimal.Zero, err
		}
		if nb.MMR.Equal(b.MMR) && nb.Cum.Equal(b.Cum) {
			return lp, nil
		}
		b = nb
	}
	return decimal.Zero, errors.New("liquidation price did not settle on a bracket")
}

// LiquidationDistance is |liquidation − mark| ÷ mark.
func LiquidationDistance(liq, mark decimal.Decimal) decimal.Decimal {
	if !mark.IsPositive() || !liq.IsPositive() {
		return decimal.Zero
	}
	return liq.Sub(mark).Abs().DivRound(mark, 8)
}

// UnrealizedPnL = qty × (mark − entry), qty signed.
func UnrealizedPnL(qty, entry, mark decimal.Decimal) decimal.Decimal {
	return qty.Mul(mark.Sub(entry))
}

// BuildBrackets fills in the cumulative maintenance amounts from floors and rates:
// cum_n = floor_n × (MMR_n − MMR_{n−1}) + cum_{n−1}.
func BuildBrackets(floors, caps, mmrs []decimal.Decimal, maxLev []int) []Bracket {
	out := make([]Bracket, len(floors))
	cum := decimal.Zero
	for i := range floors {
		if i > 0 {
			cum = floors[i].Mul(mmrs[i].Sub(mmrs[i-1])).Add(cum)
		}
		out[i] = Bracket{Floor: floors[i], Cap: caps[i], MMR: mmrs[i], Cum: cum, MaxLeverage: maxLev[i]}
	}
	return out
}

// DefaultBrackets is the BTCUSDT bracket snapshot from Binance (binance.md). Paper venues use it for
// symbols whose brackets cannot be read (paper mode has no API key).
func DefaultBrackets() []Bracket {
	rows := []struct {
		floor, cap, mmr, cum string
		lev                  int
	}{
		{"0", "50000", "0.004", "0", 125},
		{"50000", "600000", "0.005", "50", 100},
		{"600000", "3000000", "0.0065", "950", 75},
		{"3000000", "12000000", "0.01", "11450", 50},
		{"12000000", "70000000", "0.02", "131450", 25},
		{"70000000", "100000000", "0.025", "481450", 20},
		{"100000000", "230000000", "0.05", "2981450", 10},
		{"230000000", "480000000", "0.1", "14481450", 5},
		{"480000000", "600000000", "0.125", "26481450", 4},
		{"600000000", "800000000", "0.15", "41481450", 3},
		{"800000000", "1200000000", "0.25", "121481450", 2},
		{"1200000000", "1800000000", "0.5", "421481450", 1},
	}
	out := make([]Bracket, len(rows))
	for i, r := range rows {
		out[i] = Bracket{Floor: decimal.RequireFromString(r.floor), Cap: decimal.RequireFromString(r.cap),
			MMR: decimal.RequireFromString(r.mmr), Cum: decimal.RequireFromString(r.cum), MaxLeverage: r.lev}
	}
	return out
}
