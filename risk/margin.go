package risk

import (
	"errors"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// PositionRisk is one perpetual position's margin picture at its mark.
type PositionRisk struct {
	Symbol      string
	PairID      int64           // the pair the position belongs to, 0 when none
	Qty         decimal.Decimal // signed: negative short
	EntryPrice  decimal.Decimal
	Mark        decimal.Decimal
	Isolated    bool
	Pool        int             // index into Report.Pools: the margin the position shares
	Maintenance decimal.Decimal // notional × MMR − cum at the mark
	Unrealized  decimal.Decimal // qty × (mark − entry)
	// Liquidation is our liquidation price (Binance's formula, brackets re-solved); zero with NoLiquidation.
	Liquidation   decimal.Decimal
	NoLiquidation bool // the margin covers any price (a long whose wallet exceeds its notional)
	// Distance is |Liquidation − Mark| ÷ Mark; meaningless with NoLiquidation.
	Distance decimal.Decimal
	// ExchangeLiquidation is the venue's liquidation price (zero when it reports none); Divergence is
	// |ours − venue| ÷ venue when both exist, and Diverged says it is beyond risk.liquidation_divergence.
	ExchangeLiquidation decimal.Decimal
	Divergence          decimal.Decimal
	Diverged            bool
	// Level is the ladder rung the distance alone reaches; the action also considers the pool's margin ratio.
	Level Level
}

// PoolRisk is one margin pool: the cross wallet with all cross positions, or one isolated position.
type PoolRisk struct {
	Isolated      bool
	Symbol        string          // the isolated position's symbol; "" for the cross pool
	Wallet        decimal.Decimal // WB: cross wallet or isolated wallet, after funding
	Unrealized    decimal.Decimal
	Maintenance   decimal.Decimal
	MarginBalance decimal.Decimal // Wallet + Unrealized
	// MarginRatio is Maintenance ÷ MarginBalance (1 when the margin balance is gone): liquidation at 1.
	MarginRatio decimal.Decimal
	Level       Level // the rung the margin ratio reaches
	Positions   []int // indexes into Report.Positions
}

// MarginRatio is maintenance ÷ margin balance; 1 when there is maintenance but no margin balance left.
func MarginRatio(maintenance, marginBalance decimal.Decimal) decimal.Decimal {
	return exchange.FuturesAccount{MaintenanceMargin: maintenance, MarginBalance: marginBalance}.MarginRatio()
}

// errNoMark: a position's mark is unknown, so nothing about it can be judged.
var errNoMark = errors.New("no mark price")

// assess computes every position's and pool's margin figures from the input.
func (r *Rules) assess(in *Input) ([]PositionRisk, []PoolRisk, error) {
	positions := make([]PositionRisk, 0, len(in.Positions))
	brackets := make([][]exchange.Bracket, 0, len(in.Positions))
	cross := PoolRisk{Wallet: in.Wallet}
	var pools []PoolRisk
	for _, p := range in.Positions {
		if p.Qty.IsZero() {
			continue
		}
		m, ok := in.Markets[p.Symbol]
		if !ok || len(m.Brackets) == 0 {
			return nil, nil, fmt.Errorf("assessing %s: no leverage brackets for the symbol", p.Symbol)
		}
		if !p.MarkPrice.IsPositive() {
			return nil, nil, fmt.Errorf("assessing %s: %w", p.Symbol, errNoMark)
		}
		mm, err := exchange.MaintenanceMargin(p.Qty.Abs().Mul(p.MarkPrice), m.Brackets)
		if err != nil {
			return nil, nil, fmt.Errorf("assessing %s: %w", p.Symbol, err)
		}
		pr := PositionRisk{Symbol: p.Symbol, Qty: p.Qty, EntryPrice: p.EntryPrice, Mark: p.MarkPrice, Isolated: p.Isolated,
			Maintenance: mm, Unrealized: exchange.UnrealizedPnL(p.Qty, p.EntryPrice, p.MarkPrice), ExchangeLiquidation: p.LiquidationPrice}
		if pp, ok := in.pairOf(p.Symbol); ok {
			pr.PairID = pp.ID
		}
		i := len(positions)
		if p.Isolated {
			pr.Pool = -1 // set below, once the cross pool's index is known
			pools = append(pools, PoolRisk{Isolated: true, Symbol: p.Symbol, Wallet: p.IsolatedWallet,
				Unrealized: pr.Unrealized, Maintenance: mm, Positions: []int{i}})
		} else {
			cross.Unrealized = cross.Unrealized.Add(pr.Unrealized)
			cross.Maintenance = cross.Maintenance.Add(mm)
			cross.Positions = append(cross.Positions, i)
		}
		positions = append(positions, pr)
		brackets = append(brackets, m.Brackets)
	}
	// The cross pool comes first; isolated pools follow in position order.
	all := make([]PoolRisk, 0, len(pools)+1)
	if len(cross.Positions) > 0 || len(pools) == 0 {
		all = append(all, cross)
	}
	all = append(all, pools...)
	for pi := range all {
		pl := &all[pi]
		pl.MarginBalance = pl.Wallet.Add(pl.Unrealized)
		pl.MarginRatio = MarginRatio(pl.Maintenance, pl.MarginBalance)
		pl.Level = r.ratioLevel(pl.MarginRatio)
		for _, i := range pl.Positions {
			positions[i].Pool = pi
		}
	}
	for pi := range all {
		pl := &all[pi]
		for _, i := range pl.Positions {
			pr := &positions[i]
			lp, err := exchange.LiquidationPrice(exchange.LiquidationInput{
				Qty: pr.Qty, EntryPrice: pr.EntryPrice, Wallet: pl.Wallet,
				OtherMaintenance: pl.Maintenance.Sub(pr.Maintenance), OtherUnrealized: pl.Unrealized.Sub(pr.Unrealized),
				Brackets: brackets[i],
			})
			switch {
			case errors.Is(err, exchange.ErrNoLiquidation):
				pr.NoLiquidation = true
			case err != nil:
				return nil, nil, fmt.Errorf("liquidation price of %s: %w", pr.Symbol, err)
			default:
				pr.Liquidation = lp
				pr.Distance = exchange.LiquidationDistance(lp, pr.Mark)
				pr.Level = r.distanceLevel(pr.Distance)
			}
			if pr.ExchangeLiquidation.IsPositive() && pr.Liquidation.IsPositive() {
				pr.Divergence = pr.Liquidation.Sub(pr.ExchangeLiquidation).Abs().DivRound(pr.ExchangeLiquidation, 8)
				pr.Diverged = pr.Divergence.GreaterThan(r.cfg.LiquidationDivergence)
			}
		}
	}
	return positions, all, nil
}

// PriceAtMarginRatio is the mark of one position (qty signed, entry) at which its pool's margin ratio equals
// ratio, the other positions of the pool contributing otherMaintenance and otherUnrealized at fixed marks:
//
//	|q|·P·MMR − cum + MMo = ratio × (WB + UPo + q·(P − E))  ⇒  P = (ratio·(WB + UPo − q·E) + cum − MMo) ÷ (|q|·MMR − ratio·q)
//
// solved again while P's notional falls in another bracket. At ratio 1 it is the liquidation price. ok is
// false when no positive price reaches the ratio. A short reaches it from below (the ratio rises with the
// price), a long from above.
func PriceAtMarginRatio(ratio decimal.Decimal, in exchange.LiquidationInput) (p decimal.Decimal, ok bool, err error) {
	if in.Qty.IsZero() {
		return decimal.Zero, false, errors.New("no position")
	}
	qty := in.Qty.Abs()
	b, err := exchange.BracketFor(in.Brackets, qty.Mul(in.EntryPrice))
	if err != nil {
		return decimal.Zero, false, err
	}
	base := ratio.Mul(in.Wallet.Add(in.OtherUnrealized).Sub(in.Qty.Mul(in.EntryPrice))).Sub(in.OtherMaintenance)
	for range len(in.Brackets) + 1 {
		den := qty.Mul(b.MMR).Sub(ratio.Mul(in.Qty))
		if den.IsZero() {
			return decimal.Zero, false, nil
		}
		p = base.Add(b.Cum).DivRound(den, 10)
		if !p.IsPositive() {
			return decimal.Zero, false, nil
		}
		nb, err := exchange.BracketFor(in.Brackets, qty.Mul(p))
		if err != nil {
			return decimal.Zero, false, err
		}
		if nb.MMR.Equal(b.MMR) && nb.Cum.Equal(b.Cum) {
			return p, true, nil
		}
		b = nb
	}
	return decimal.Zero, false, errors.New("margin ratio price did not settle on a bracket")
}
