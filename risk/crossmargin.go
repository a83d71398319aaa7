package risk

import (
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/strategy/pair"
)

// Cross margin (reverse carry: borrowed spot sold + long perp). Binance's margin level is
//
//	margin level = total assets ÷ (liabilities + interest)
//
// with a margin call at risk.margin_level_call (1.3) and liquidation at risk.margin_level_liquidation (1.1).
// The same ladder applies, on margin-level rungs spaced evenly from the call level toward liquidation so
// every action happens before Binance's own liquidation:
//
//	level ≤ call                       → top up (spot quote → margin), to call + (call − liquidation)
//	level ≤ call − ¼(call − liq)       → deleverage the reverse pairs
//	level ≤ call − ½(call − liq)       → flatten the reverse pairs
//	level ≤ call − ¾(call − liq)       → halt
//
// The guard (strategy/guard) fills Input.CrossMargin from the venue's margin account whenever reverse
// pairs are held; the actions it yields go through the same ladder as the futures pools'.

// CrossMargin is the cross-margin wallet and the prices that value its assets in the quote asset.
type CrossMargin struct {
	Balances []exchange.Balance
	// Prices maps each asset to its price in the quote asset; the quote asset itself needs none.
	Prices map[string]decimal.Decimal
}

// MarginStatus is where a margin level stands against Binance's thresholds.
type MarginStatus string

// Margin statuses.
const (
	MarginOK          MarginStatus = "ok"
	MarginCall        MarginStatus = "call"        // at or below margin_level_call
	MarginLiquidation MarginStatus = "liquidation" // at or below margin_level_liquidation
)

// MarginLevelReport is the cross-margin account's margin level and rung.
type MarginLevelReport struct {
	Assets      decimal.Decimal // total assets in the quote asset
	Liabilities decimal.Decimal // borrowed principal in the quote asset
	Interest    decimal.Decimal // accrued interest in the quote asset
	MarginLevel decimal.Decimal // zero with NoDebt
	NoDebt      bool
	Status      MarginStatus
	Level       Level
}

// MarginLevel is assets ÷ (liabilities + interest); ok is false when there is no debt (the level is infinite).
func MarginLevel(assets, liabilities, interest decimal.Decimal) (decimal.Decimal, bool) {
	debt := liabilities.Add(interest)
	if !debt.IsPositive() {
		return decimal.Zero, false
	}
	return assets.DivRound(debt, 8), true
}

// MarginTotals values the wallet in the quote asset: total assets, borrowed principal and interest.
func MarginTotals(c CrossMargin, quote string) (assets, liabilities, interest decimal.Decimal, err error) {
	for _, b := range c.Balances {
		px := one
		if b.Asset != quote {
			p, ok := c.Prices[b.Asset]
			if !ok || !p.IsPositive() {
				if b.Total().IsZero() && b.Borrowed.IsZero() && b.Interest.IsZero() {
					continue
				}
				return decimal.Zero, decimal.Zero, decimal.Zero, fmt.Errorf("valuing the margin wallet: no %s price for %s", quote, b.Asset)
			}
			px = p
		}
		assets = assets.Add(b.Total().Mul(px))
		liabilities = liabilities.Add(b.Borrowed.Mul(px))
		interest = interest.Add(b.Interest.Mul(px))
	}
	return assets, liabilities, interest, nil
}

// MarginLevelStatus places a margin level against the call and liquidation levels.
func MarginLevelStatus(level, call, liquidation decimal.Decimal) MarginStatus {
	switch {
	case level.LessThanOrEqual(liquidation):
		return MarginLiquidation
	case level.LessThanOrEqual(call):
		return MarginCall
	}
	return MarginOK
}

// MarginLevelThreshold is the margin level at or below which rung l applies (see the table above).
func MarginLevelThreshold(l Level, call, liquidation decimal.Decimal) decimal.Decimal {
	if l == LevelNone {
		return decimal.Zero
	}
	quarter := call.Sub(liquidation).Div(decimal.NewFromInt(4))
	return call.Sub(quarter.Mul(decimal.NewFromInt(int64(l) - 1)))
}

// MarginLevelRung is the most severe rung a margin level reaches.
func MarginLevelRung(level, call, liquidation decimal.Decimal) Level {
	for l := LevelHalt; l >= LevelTopup; l-- {
		if level.LessThanOrEqual(MarginLevelThreshold(l, call, liquidation)) {
			return l
		}
	}
	return LevelNone
}

// MarginTopupAmount is the quote amount (a multiple of step) that lifts assets ÷ debt to target:
// (assets + x) ÷ debt = target ⇒ x = target × debt − assets. Zero when the level already is there.
func MarginTopupAmount(assets, debt, target, step decimal.Decimal) decimal.Decimal {
	x := exchange.CeilToStep(target.Mul(debt).Sub(assets), step)
	if !x.IsPositive() {
		return decimal.Zero
	}
	return x
}

// crossMargin evaluates the cross-margin account and adds its rung's action.
func (r *Rules) crossMargin(in *Input, rep *Report) error {
	assets, liab, interest, err := MarginTotals(*in.CrossMargin, r.quote)
	if err != nil {
		return err
	}
	call, liq := r.cfg.MarginLevelCall, r.cfg.MarginLevelLiquidation
	mr := &MarginLevelReport{Assets: assets, Liabilities: liab, Interest: interest, Status: MarginOK}
	rep.CrossMargin = mr
	level, ok := MarginLevel(assets, liab, interest)
	if !ok {
		mr.NoDebt = true
		return nil
	}
	mr.MarginLevel = level
	mr.Status = MarginLevelStatus(level, call, liq)
	mr.Level = MarginLevelRung(level, call, liq)
	if mr.Level == LevelNone {
		return nil
	}
	nums := map[string]decimal.Decimal{"margin_level": level, "assets": assets, "liabilities": liab, "interest": interest,
		"threshold": MarginLevelThreshold(mr.Level, call, liq)}
	cause := fmt.Sprintf("cross margin level %s (assets %s ÷ debt %s) ≤ %s, the %s rung (call %s, liquidation %s)",
		level.StringFixed(4), money(assets), money(liab.Add(interest)), MarginLevelThreshold(mr.Level, call, liq).StringFixed(4), mr.Level, call, liq)
	rep.Notes = append(rep.Notes, Note{Kind: NoteMarginLevel, Level: mr.Level, Reason: cause, Numbers: nums})
	chosen := LevelNone
	for l := min(mr.Level, LevelFlatten); l >= LevelTopup; l-- {
		if r.enabled(l) {
			chosen = l
			break
		}
		rep.Notes = append(rep.Notes, Note{Kind: NoteSkipped, Level: l, Reason: fmt.Sprintf("%s: %s is due but %s is off", cause, l, l.ConfigKey())})
	}
	switch chosen {
	case LevelTopup:
		target := call.Add(call.Sub(liq))
		amount := MarginTopupAmount(assets, liab.Add(interest), target, r.transferStep)
		free := exchange.FloorToStep(in.SpotQuoteFree, r.transferStep)
		for _, a := range rep.Actions {
			if a.Kind == ActionTopup {
				free = free.Sub(a.Amount)
			}
		}
		if !free.IsPositive() {
			rep.Notes = append(rep.Notes, Note{Kind: NoteSkipped, Level: LevelTopup, Numbers: nums,
				Reason: fmt.Sprintf("%s: a top-up of %s %s is due but the spot wallet has no free %s", cause, money(amount), r.quote, r.quote)})
			break
		}
		amount = decimal.Min(amount, free)
		nums["amount"] = amount
		rep.Actions = append(rep.Actions, Action{Kind: ActionTopup, Level: LevelTopup, Amount: amount, Asset: r.quote,
			Transfer: exchange.SpotToMargin, Numbers: nums,
			Reason: fmt.Sprintf("%s: transfer %s %s spot → margin to lift the margin level to %s", cause, money(amount), r.quote, target)})
	case LevelDeleverage, LevelFlatten:
		for _, pr := range rep.Positions {
			p, ok := in.pairOf(pr.Symbol)
			if !ok || p.Direction != pair.Reverse {
				continue
			}
			pl := rep.Pools[pr.Pool]
			var a Action
			if chosen == LevelDeleverage {
				a, err = r.deleverageAction(in, pr, pl, cause)
			} else {
				a, err = r.flattenAction(in, pr, pl, LevelFlatten, cause)
			}
			if err != nil {
				return err
			}
			rep.Actions = append(rep.Actions, a)
		}
	}
	if mr.Level == LevelHalt && r.enabled(LevelHalt) && in.State != Halted {
		for _, a := range rep.Actions {
			if a.Kind == ActionHalt {
				return nil
			}
		}
		rep.Actions = append(rep.Actions, Action{Kind: ActionHalt, Level: LevelHalt, Reason: cause + ": halting the account until an operator resumes it"})
	}
	return nil
}
