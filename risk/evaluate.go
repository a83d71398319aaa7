package risk

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/strategy/pair"
)

// Report is one full evaluation: the margin picture, the hedges, and what to do about them.
type Report struct {
	Time        time.Time
	Positions   []PositionRisk
	Pools       []PoolRisk // the cross pool first (when any), then one per isolated position
	Hedges      []HedgeCheck
	CrossMargin *MarginLevelReport // nil without a cross-margin account
	// Actions in the order to execute them: flattens, deleverages, top-ups, hedge corrections, then a halt.
	Actions []Action
	// Notes to log and alert on: skipped actions, divergences, uncorrectable drifts, capped top-ups.
	Notes []Note
}

// Level is the most severe rung any position or pool reached.
func (rep *Report) Level() Level {
	l := LevelNone
	for _, p := range rep.Positions {
		l = max(l, p.Level, rep.Pools[p.Pool].Level)
	}
	if rep.CrossMargin != nil {
		l = max(l, rep.CrossMargin.Level)
	}
	return l
}

// Evaluate judges the account: margin ratio and liquidation price of every position, the ladder's
// actions, hedge corrections and divergences from the venue's liquidation prices. It is pure: the same
// input gives the same report. in must be current (see Input).
func (r *Rules) Evaluate(in *Input) (Report, error) {
	positions, pools, err := r.assess(in)
	if err != nil {
		return Report{}, fmt.Errorf("evaluating risk: %w", err)
	}
	rep := Report{Time: in.Time, Positions: positions, Pools: pools}
	for _, pr := range rep.Positions {
		if pr.Diverged {
			rep.Notes = append(rep.Notes, Note{Kind: NoteDivergence, Symbol: pr.Symbol, PairID: pr.PairID,
				Reason: fmt.Sprintf("%s liquidation price: ours %s, the venue's %s, %s apart > liquidation_divergence %s",
					pr.Symbol, price(pr.Liquidation), price(pr.ExchangeLiquidation), pct(pr.Divergence), pct(r.cfg.LiquidationDivergence)),
				Numbers: map[string]decimal.Decimal{"liquidation_price": pr.Liquidation, "exchange_liquidation_price": pr.ExchangeLiquidation,
					"divergence": pr.Divergence, "limit": r.cfg.LiquidationDivergence}})
		}
	}
	handled, err := r.ladder(in, &rep)
	if err != nil {
		return Report{}, fmt.Errorf("evaluating risk: %w", err)
	}
	if err := r.hedges(in, &rep, handled); err != nil {
		return Report{}, fmt.Errorf("evaluating risk: %w", err)
	}
	if in.CrossMargin != nil {
		if err := r.crossMargin(in, &rep); err != nil {
			return Report{}, fmt.Errorf("evaluating risk: %w", err)
		}
	}
	slices.SortStableFunc(rep.Actions, func(a, b Action) int { return actionRank(a.Kind) - actionRank(b.Kind) })
	return rep, nil
}

func actionRank(k ActionKind) int {
	switch k {
	case ActionFlatten:
		return 0
	case ActionDeleverage:
		return 1
	case ActionTopup:
		return 2
	case ActionHedge:
		return 3
	}
	return 4
}

// ladder turns each position's rung (the most severe of its distance level and its pool's margin-ratio
// level) into actions. The action taken is the most severe ENABLED one at or below the rung (halt aside):
// a disabled rung is skipped with a note and does not escalate; the next more severe action is considered
// only once its own threshold is reached. It returns the pairs that got a deleverage or flatten.
func (r *Rules) ladder(in *Input, rep *Report) (map[string]bool, error) {
	handled := map[string]bool{}
	topups := make([][]int, len(rep.Pools)) // positions asking each pool for a top-up
	var halts []string
	for i, pr := range rep.Positions {
		pl := rep.Pools[pr.Pool]
		rung := max(pr.Level, pl.Level)
		if rung == LevelNone {
			continue
		}
		cause := r.cause(pr, pl)
		chosen := LevelNone
		for l := min(rung, LevelFlatten); l >= LevelTopup; l-- {
			if r.enabled(l) {
				chosen = l
				break
			}
			rep.Notes = append(rep.Notes, Note{Kind: NoteSkipped, Level: l, Symbol: pr.Symbol, PairID: pr.PairID,
				Reason: fmt.Sprintf("%s: %s is due but %s is off", cause, l, l.ConfigKey())})
		}
		switch chosen {
		case LevelTopup:
			topups[pr.Pool] = append(topups[pr.Pool], i)
		case LevelDeleverage:
			a, err := r.deleverageAction(in, pr, pl, cause)
			if err != nil {
				return nil, err
			}
			rep.Actions = append(rep.Actions, a)
			handled[pr.Symbol] = true
		case LevelFlatten:
			a, err := r.flattenAction(in, pr, pl, LevelFlatten, cause)
			if err != nil {
				return nil, err
			}
			rep.Actions = append(rep.Actions, a)
			handled[pr.Symbol] = true
		}
		if rung == LevelHalt {
			if r.enabled(LevelHalt) {
				halts = append(halts, cause)
			} else {
				rep.Notes = append(rep.Notes, Note{Kind: NoteSkipped, Level: LevelHalt, Symbol: pr.Symbol, PairID: pr.PairID,
					Reason: fmt.Sprintf("%s: halt is due but %s is off", cause, LevelHalt.ConfigKey())})
			}
		}
	}
	free := exchange.FloorToStep(in.SpotQuoteFree, r.transferStep)
	for pi, members := range topups {
		if len(members) == 0 {
			continue
		}
		used, err := r.topupAction(in, rep, pi, members, free)
		if err != nil {
			return nil, err
		}
		free = free.Sub(used)
	}
	if len(halts) > 0 && in.State != Halted {
		rep.Actions = append(rep.Actions, Action{Kind: ActionHalt, Level: LevelHalt,
			Reason: strings.Join(halts, "; ") + ": halting the account until an operator resumes it"})
	}
	return handled, nil
}

// cause describes why a position is on the ladder, with the numbers.
func (r *Rules) cause(pr PositionRisk, pl PoolRisk) string {
	var parts []string
	if pr.Level > LevelNone {
		parts = append(parts, fmt.Sprintf("%s %s %s: liquidation %s is %s from the mark %s (≤ %s_distance %s)",
			pr.Symbol, direction(pr.Qty), num(pr.Qty.Abs()), price(pr.Liquidation), pct(pr.Distance), price(pr.Mark),
			pr.Level, pct(r.distanceThreshold(pr.Level))))
	}
	if pl.Level > LevelNone {
		t, _ := r.ratioThreshold(pl.Level)
		parts = append(parts, fmt.Sprintf("%s margin ratio %s (maintenance %s ÷ margin balance %s) ≥ %s_margin_ratio %s",
			poolName(pl), pct(pl.MarginRatio), money(pl.Maintenance), money(pl.MarginBalance), pl.Level, pct(t)))
	}
	return strings.Join(parts, "; ")
}

func poolName(pl PoolRisk) string {
	if pl.Isolated {
		return "isolated " + pl.Symbol
	}
	return "cross"
}

func direction(q decimal.Decimal) string {
	if q.IsNegative() {
		return "short"
	}
	return "long"
}

// numbers are the figures of a position on the ladder, for the event log.
func numbers(pr PositionRisk, pl PoolRisk) map[string]decimal.Decimal {
	return map[string]decimal.Decimal{"qty": pr.Qty, "mark": pr.Mark, "liquidation_price": pr.Liquidation,
		"distance": pr.Distance, "margin_ratio": pl.MarginRatio, "wallet": pl.Wallet}
}

// liqInput is the liquidation formula's input for position pr in its pool.
func liqInput(in *Input, pr PositionRisk, pl PoolRisk) exchange.LiquidationInput {
	return exchange.LiquidationInput{Qty: pr.Qty, EntryPrice: pr.EntryPrice, Wallet: pl.Wallet,
		OtherMaintenance: pl.Maintenance.Sub(pr.Maintenance), OtherUnrealized: pl.Unrealized.Sub(pr.Unrealized),
		Brackets: in.Markets[pr.Symbol].Brackets}
}

// topupAction computes one pool's top-up: enough that every position asking for it is back at
// topup_target_distance, and the pool's margin ratio (when that is what asked) back at the ratio target;
// capped by the free spot quote asset. It returns the amount it uses.
func (r *Rules) topupAction(in *Input, rep *Report, pi int, members []int, free decimal.Decimal) (decimal.Decimal, error) {
	pl := rep.Pools[pi]
	target := r.cfg.TopupTargetDistance
	amount := decimal.Zero
	var causes, goals []string
	for _, i := range members {
		pr := rep.Positions[i]
		causes = append(causes, r.cause(pr, pl))
		if pr.NoLiquidation || pr.Distance.GreaterThanOrEqual(target) {
			continue
		}
		x, err := TopupForDistance(liqInput(in, pr, pl), pr.Mark, target, r.transferStep)
		if err != nil {
			return decimal.Zero, fmt.Errorf("top-up for %s: %w", pr.Symbol, err)
		}
		goals = append(goals, fmt.Sprintf("%s liquidation to %s, %s from the mark", pr.Symbol,
			price(TargetLiquidation(pr.Qty, pr.Mark, target)), pct(target)))
		amount = decimal.Max(amount, x)
	}
	if pl.Level >= LevelTopup {
		if x := TopupForMarginRatio(pl.Maintenance, pl.MarginBalance, r.mrTopupTarget, r.transferStep); x.IsPositive() {
			goals = append(goals, fmt.Sprintf("%s margin ratio to %s", poolName(pl), pct(r.mrTopupTarget)))
			amount = decimal.Max(amount, x)
		}
	}
	cause := strings.Join(dedupe(causes), "; ")
	symbol := pl.Symbol
	first := rep.Positions[members[0]]
	nums := numbers(first, pl)
	nums["needed"] = amount
	nums["spot_free"] = free
	if !amount.IsPositive() {
		return decimal.Zero, nil
	}
	if !free.IsPositive() {
		rep.Notes = append(rep.Notes, Note{Kind: NoteSkipped, Level: LevelTopup, Symbol: symbol, PairID: first.PairID, Numbers: nums,
			Reason: fmt.Sprintf("%s: a top-up of %s %s is due but the spot wallet has no free %s", cause, money(amount), r.quote, r.quote)})
		return decimal.Zero, nil
	}
	capped := ""
	if amount.GreaterThan(free) {
		rep.Notes = append(rep.Notes, Note{Kind: NoteTopupCapped, Level: LevelTopup, Symbol: symbol, PairID: first.PairID, Numbers: nums,
			Reason: fmt.Sprintf("%s: the top-up needs %s %s but only %s is free in spot", cause, money(amount), r.quote, money(free))})
		capped = fmt.Sprintf(" (capped from %s by the free spot %s)", money(amount), r.quote)
		amount = free
	}
	nums["amount"] = amount
	a := Action{Kind: ActionTopup, Level: LevelTopup, Symbol: symbol, Amount: amount, Asset: r.quote,
		Transfer: exchange.SpotToFutures, Isolated: pl.Isolated, Numbers: nums}
	if pl.Isolated {
		a.PairID = first.PairID
	}
	aim := "to bring " + strings.Join(goals, " and ")
	if capped != "" { // the goals were what the uncapped amount would reach
		aim = "towards " + strings.Join(goals, " and ") + " (what the uncapped amount would reach)"
	}
	a.Reason = fmt.Sprintf("%s: transfer %s %s spot → futures%s, %s wallet %s → %s, %s", cause, money(amount), r.quote, capped,
		poolName(pl), money(pl.Wallet), money(pl.Wallet.Add(amount)), aim)
	rep.Actions = append(rep.Actions, a)
	return amount, nil
}

func dedupe(s []string) []string {
	out := s[:0:0]
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// deleverageAction reduces both legs of the position's pair by deleverage_fraction.
func (r *Rules) deleverageAction(in *Input, pr PositionRisk, pl PoolRisk, cause string) (Action, error) {
	f := r.cfg.DeleverageFraction
	p, ok := in.pairOf(pr.Symbol)
	a := Action{Kind: ActionDeleverage, Level: LevelDeleverage, Symbol: pr.Symbol, PairID: pr.PairID, Numbers: numbers(pr, pl)}
	if !ok {
		m := in.Markets[pr.Symbol]
		qty := exchange.FloorToStep(pr.Qty.Abs().Mul(f), m.Perp.OrderStep(exchange.Market))
		if !qty.IsPositive() {
			return r.flattenAction(in, pr, pl, LevelDeleverage, cause+"; the deleverage fraction rounds to zero")
		}
		a.Orders = []LegOrder{perpOnly(pr, qty)}
		a.NewTarget = pr.Qty.Abs().Sub(qty)
		a.Numbers["reduce_qty"] = qty
		a.Reason = fmt.Sprintf("%s: reduce the position by %s (%s) to %s; no pair explains it, so only the perp leg is traded",
			cause, num(qty), pct(f), num(a.NewTarget))
		return a, nil
	}
	m, ok := in.Markets[p.Symbol]
	if !ok {
		return Action{}, fmt.Errorf("deleveraging %s: no market data for the symbol", p.Symbol)
	}
	qty, orders, flat, why := deleverage(p, m, pr.Mark, f)
	if flat {
		return r.flattenAction(in, pr, pl, LevelDeleverage, cause+"; "+why)
	}
	a.Orders = orders
	a.NewTarget = p.PerpQty.Sub(qty)
	a.Numbers["reduce_qty"] = qty
	a.Reason = fmt.Sprintf("%s: deleverage pair %d by %s (%s of %s on the %s step) on both legs, to %s%s",
		cause, p.ID, num(qty), pct(f), num(p.PerpQty), num(m.CoarserStep()), num(a.NewTarget), why)
	return a, nil
}

// flattenAction closes both legs of the position's pair (or the position alone when no pair explains it).
func (r *Rules) flattenAction(in *Input, pr PositionRisk, pl PoolRisk, level Level, cause string) (Action, error) {
	a := Action{Kind: ActionFlatten, Level: level, Symbol: pr.Symbol, PairID: pr.PairID, Numbers: numbers(pr, pl)}
	p, ok := in.pairOf(pr.Symbol)
	if !ok {
		a.Orders = []LegOrder{perpOnly(pr, pr.Qty.Abs())}
		a.Reason = fmt.Sprintf("%s: flatten the %s position of %s; no pair explains it, so only the perp leg is traded", cause, pr.Symbol, num(pr.Qty.Abs()))
		return a, nil
	}
	m, ok := in.Markets[p.Symbol]
	if !ok {
		return Action{}, fmt.Errorf("flattening %s: no market data for the symbol", p.Symbol)
	}
	orders, dust := flatten(p, m, pr.Mark)
	a.Orders = orders
	a.Reason = fmt.Sprintf("%s: flatten pair %d (spot %s, perp %s)%s", cause, p.ID, num(p.SpotQty), num(p.PerpQty), dust)
	return a, nil
}

// hedges checks every open pair that no deleverage or flatten is already reshaping.
func (r *Rules) hedges(in *Input, rep *Report, handled map[string]bool) error {
	shrinkOnly := in.State == Reducing || in.State == Halted
	for _, p := range in.Pairs {
		if p.State != pair.Open || handled[p.Symbol] {
			continue
		}
		m, ok := in.Markets[p.Symbol]
		if !ok {
			return fmt.Errorf("hedge of %s: no market data for the symbol", p.Symbol)
		}
		px := in.markOf(p.Symbol)
		if !px.IsPositive() {
			px = decimal.Max(p.EntryPerpPrice, p.EntrySpotPrice)
		}
		h := r.CheckHedge(p, m, px, shrinkOnly)
		rep.Hedges = append(rep.Hedges, h)
		if !h.Drifted {
			continue
		}
		nums := map[string]decimal.Decimal{"spot_qty": h.Spot, "perp_qty": h.Perp, "ratio": h.Ratio, "drift": h.Drift,
			"band": r.cfg.HedgeDriftBand, "step": h.Step}
		if h.Correction == nil {
			rep.Notes = append(rep.Notes, Note{Kind: NoteHedgeDrift, Symbol: p.Symbol, PairID: p.ID, Reason: h.Reason, Numbers: nums})
			continue
		}
		nums["qty"] = h.Correction.Qty
		rep.Actions = append(rep.Actions, Action{Kind: ActionHedge, Symbol: p.Symbol, PairID: p.ID,
			Orders: []LegOrder{*h.Correction}, Reason: h.Reason, Numbers: nums})
	}
	return nil
}
