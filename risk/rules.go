package risk

import (
	"errors"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/pkg/config"
)

// Rules are the account's risk limits and action ladder (the `risk:` section of the configuration), checked
// once by New. A *Rules has no mutable state: every method is a pure function of its arguments, so one value
// serves every mode (backtest, paper, live) and any number of evaluations.
type Rules struct {
	cfg   config.RiskConfig
	quote string
	// transferStep is the precision of a top-up amount (rounded up to it).
	transferStep decimal.Decimal
	// mrTopupTarget is the margin ratio a top-up triggered by the margin ratio restores (see topupTargetRatio).
	mrTopupTarget decimal.Decimal
}

// New checks the ladder's ordering (config validation already does; this guards hand-built configs) and
// returns the rules. quote is the quote asset margin and top-ups are kept in (USDT).
func New(cfg config.RiskConfig, quote string) (*Rules, error) {
	if quote == "" {
		return nil, errors.New("risk: the quote asset is empty")
	}
	if !(cfg.TopupTargetDistance.GreaterThan(cfg.TopupDistance) && cfg.TopupDistance.GreaterThan(cfg.DeleverageDistance) &&
		cfg.DeleverageDistance.GreaterThan(cfg.FlattenDistance) && cfg.FlattenDistance.GreaterThan(cfg.HaltDistance) &&
		cfg.HaltDistance.IsPositive() && cfg.TopupTargetDistance.LessThan(one)) {
		return nil, fmt.Errorf("risk: liquidation distances must shrink with severity: 1 > topup_target_distance (%s) > topup_distance (%s) > deleverage_distance (%s) > flatten_distance (%s) > halt_distance (%s) > 0",
			cfg.TopupTargetDistance, cfg.TopupDistance, cfg.DeleverageDistance, cfg.FlattenDistance, cfg.HaltDistance)
	}
	if !(cfg.TopupMarginRatio.IsPositive() && cfg.TopupMarginRatio.LessThan(cfg.DeleverageMarginRatio) &&
		cfg.DeleverageMarginRatio.LessThan(cfg.FlattenMarginRatio) && cfg.FlattenMarginRatio.LessThan(one)) {
		return nil, fmt.Errorf("risk: margin ratios must grow with severity: 0 < topup (%s) < deleverage (%s) < flatten (%s) < 1",
			cfg.TopupMarginRatio, cfg.DeleverageMarginRatio, cfg.FlattenMarginRatio)
	}
	if !cfg.DeleverageFraction.IsPositive() || cfg.DeleverageFraction.GreaterThanOrEqual(one) {
		return nil, fmt.Errorf("risk: deleverage_fraction must be between 0 and 1, exclusive (got %s)", cfg.DeleverageFraction)
	}
	if cfg.HedgeDriftBand.IsNegative() || cfg.LiquidationDivergence.IsNegative() {
		return nil, fmt.Errorf("risk: hedge_drift_band (%s) and liquidation_divergence (%s) must not be negative", cfg.HedgeDriftBand, cfg.LiquidationDivergence)
	}
	if !(cfg.MarginLevelCall.GreaterThan(cfg.MarginLevelLiquidation) && cfg.MarginLevelLiquidation.GreaterThan(one)) {
		return nil, fmt.Errorf("risk: margin_level_call (%s) must be above margin_level_liquidation (%s), which must be above 1", cfg.MarginLevelCall, cfg.MarginLevelLiquidation)
	}
	return &Rules{
		cfg:          cfg,
		quote:        quote,
		transferStep: decimal.New(1, -2),
		// Margin ratio is roughly MMR ÷ distance, so restoring the distance by target/trigger (0.45/0.30) is
		// the same as dividing the ratio by it.
		mrTopupTarget: cfg.TopupMarginRatio.Mul(cfg.TopupDistance).DivRound(cfg.TopupTargetDistance, 8),
	}, nil
}

// Config returns the configuration the rules were built from.
func (r *Rules) Config() config.RiskConfig { return r.cfg }

// Quote is the quote asset.
func (r *Rules) Quote() string { return r.quote }

// distanceThreshold is the liquidation distance at or below which level l applies.
func (r *Rules) distanceThreshold(l Level) decimal.Decimal {
	switch l {
	case LevelTopup:
		return r.cfg.TopupDistance
	case LevelDeleverage:
		return r.cfg.DeleverageDistance
	case LevelFlatten:
		return r.cfg.FlattenDistance
	case LevelHalt:
		return r.cfg.HaltDistance
	}
	return decimal.Zero
}

// ratioThreshold is the margin ratio at or above which level l applies; ok is false for levels the margin
// ratio does not trigger (none, halt).
func (r *Rules) ratioThreshold(l Level) (decimal.Decimal, bool) {
	switch l {
	case LevelTopup:
		return r.cfg.TopupMarginRatio, true
	case LevelDeleverage:
		return r.cfg.DeleverageMarginRatio, true
	case LevelFlatten:
		return r.cfg.FlattenMarginRatio, true
	}
	return decimal.Zero, false
}

// enabled reports whether the action of level l is switched on.
func (r *Rules) enabled(l Level) bool {
	a := r.cfg.Actions
	switch l {
	case LevelTopup:
		return a.Topup
	case LevelDeleverage:
		return a.Deleverage
	case LevelFlatten:
		return a.Flatten
	case LevelHalt:
		return a.Halt
	}
	return false
}

// distanceLevel is the most severe level whose distance threshold d has reached (d ≤ threshold).
func (r *Rules) distanceLevel(d decimal.Decimal) Level {
	for l := LevelHalt; l >= LevelTopup; l-- {
		if d.LessThanOrEqual(r.distanceThreshold(l)) {
			return l
		}
	}
	return LevelNone
}

// ratioLevel is the most severe level whose margin ratio threshold mr has reached (mr ≥ threshold).
func (r *Rules) ratioLevel(mr decimal.Decimal) Level {
	for l := LevelFlatten; l >= LevelTopup; l-- {
		if t, _ := r.ratioThreshold(l); mr.GreaterThanOrEqual(t) {
			return l
		}
	}
	return LevelNone
}

var (
	one = decimal.NewFromInt(1)
	two = decimal.NewFromInt(2)
)
