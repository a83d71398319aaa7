package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/shopspring/decimal"
)

// Problem is one thing wrong with the configuration.
type Problem struct {
	Key string
	Msg string
}

// Problems is the error Load returns: every problem found, not just the first.
type Problems []Problem

func (p Problems) Error() string {
	var b strings.Builder
	if len(p) == 1 {
		b.WriteString("invalid configuration: ")
	} else {
		fmt.Fprintf(&b, "invalid configuration (%d problems):", len(p))
	}
	for _, pr := range p {
		if len(p) > 1 {
			b.WriteString("\n  - ")
		}
		fmt.Fprintf(&b, "%s: %s", pr.Key, pr.Msg)
	}
	return b.String()
}

// Keys lists the keys with problems.
func (p Problems) Keys() []string {
	out := make([]string, len(p))
	for i, pr := range p {
		out[i] = pr.Key
	}
	return out
}

var (
	symbolRE      = regexp.MustCompile(`^[A-Z0-9]{2,20}$`)
	accountNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	logLevels     = []string{"trace", "debug", "info", "warn", "error"}
)

func (c *Config) validate() Problems {
	var ps Problems
	add := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	one := decimal.NewFromInt(1)

	switch c.Mode {
	case ModeBacktest, ModePaper, ModeLive:
	default:
		add("mode", "%q is not a mode; use backtest, paper or live", c.Mode)
	}
	if !accountNameRE.MatchString(c.Account.Name) {
		add("account.name", "%q is not a valid account name; use 1-32 lower-case letters, digits, '-' or '_'", c.Account.Name)
	}
	if c.Mode == ModeLive {
		if !c.Secrets.APIKey.IsSet() {
			add("account.api_key", "live mode needs a Binance API key: set %s in the environment (or api_key in account.key_file, a chmod 600 file)", EnvAPIKey)
		}
		if !c.Secrets.APISecret.IsSet() {
			add("account.api_secret", "live mode needs the API key's secret: set %s in the environment (or api_secret in account.key_file, a chmod 600 file)", EnvAPISecret)
		}
	}

	if len(c.Universe.Symbols) == 0 {
		add("universe.symbols", "no symbols; list at least one, e.g. [BTCUSDT]")
	}
	seen := map[string]bool{}
	for _, s := range c.Universe.Symbols {
		if !symbolRE.MatchString(s) {
			add("universe.symbols", "%q is not a Binance symbol; use names like BTCUSDT", s)
		}
		if seen[s] {
			add("universe.symbols", "%s is listed twice", s)
		}
		seen[s] = true
		if c.Universe.QuoteAsset != "" && !strings.HasSuffix(s, c.Universe.QuoteAsset) {
			add("universe.symbols", "%s is not quoted in %s (universe.quote_asset)", s, c.Universe.QuoteAsset)
		}
	}
	if c.Universe.QuoteAsset == "" {
		add("universe.quote_asset", "empty; set it to the symbols' quote asset, e.g. USDT")
	}

	if !c.Capital.Total.IsPositive() {
		add("capital.total", "must be positive (got %s); set the quote-asset amount carry may commit", c.Capital.Total)
	}
	if !c.Capital.PerSymbolMax.IsPositive() {
		add("capital.per_symbol_max", "must be positive (got %s)", c.Capital.PerSymbolMax)
	} else if c.Capital.PerSymbolMax.GreaterThan(c.Capital.Total) && c.Capital.Total.IsPositive() {
		add("capital.per_symbol_max", "%s is more than capital.total %s; lower it to at most capital.total", c.Capital.PerSymbolMax, c.Capital.Total)
	}
	if c.Risk.MaxLeverage < 1 || c.Risk.MaxLeverage > 20 {
		add("risk.max_leverage", "%d is out of range; use 1 to 20", c.Risk.MaxLeverage)
	}
	if c.Capital.Leverage < 1 || c.Capital.Leverage > 20 {
		add("capital.leverage", "%d is out of range; use 1 to 20 (2-3 is usual for carry)", c.Capital.Leverage)
	} else if c.Risk.MaxLeverage >= 1 && c.Capital.Leverage > c.Risk.MaxLeverage {
		add("capital.leverage", "%d is above risk.max_leverage %d; lower it or raise the limit", c.Capital.Leverage, c.Risk.MaxLeverage)
	}
	fraction(add, "capital.reserve", c.Capital.Reserve, false)

	if c.Strategy.EntryAPR.LessThanOrEqual(c.Strategy.ExitAPR) {
		add("strategy.entry_apr", "%s must be above strategy.exit_apr %s, or pairs would be closed as soon as they open", c.Strategy.EntryAPR, c.Strategy.ExitAPR)
	}
	if c.Strategy.ExitSettlements < 1 {
		add("strategy.exit_settlements", "must be at least 1 (got %d)", c.Strategy.ExitSettlements)
	}
	if c.Strategy.MaxBreakeven <= 0 {
		add("strategy.max_breakeven", "must be a positive duration such as 72h (got %s)", c.Strategy.MaxBreakeven)
	}
	if c.Strategy.SmoothingSettlements < 1 {
		add("strategy.smoothing_settlements", "must be at least 1 (got %d)", c.Strategy.SmoothingSettlements)
	}
	fraction(add, "strategy.estimate_weight", c.Strategy.EstimateWeight, true)
	if c.Strategy.ExpectedHolding <= 0 {
		add("strategy.expected_holding", "must be a positive duration such as 720h (got %s)", c.Strategy.ExpectedHolding)
	}
	nonNegative(add, "strategy.rotation_min_gain_apr", c.Strategy.RotationMinGainAPR)
	if c.Strategy.SettlementGuard < 0 {
		add("strategy.settlement_guard", "must not be negative (got %s)", c.Strategy.SettlementGuard)
	}
	nonNegative(add, "strategy.early_exit_profit", c.Strategy.EarlyExitProfit)
	fraction(add, "strategy.slippage", c.Strategy.Slippage, false)
	if c.Strategy.EvalInterval <= 0 {
		add("strategy.eval_interval", "must be a positive duration such as 1m (got %s)", c.Strategy.EvalInterval)
	}

	switch c.Execution.OrderType {
	case "market", "ioc":
	default:
		add("execution.order_type", "%q is not an order type; use market or ioc", c.Execution.OrderType)
	}
	fraction(add, "execution.ioc_slippage", c.Execution.IOCSlippage, false)
	if c.Execution.MaxUnhedgedSeconds < 1 {
		add("execution.max_unhedged_seconds", "must be at least 1 (got %d)", c.Execution.MaxUnhedgedSeconds)
	}
	if c.Execution.OrderTimeout <= 0 {
		add("execution.order_timeout", "must be a positive duration such as 10s (got %s)", c.Execution.OrderTimeout)
	}
	if c.Execution.MaxRepairAttempts < 1 {
		add("execution.max_repair_attempts", "must be at least 1 (got %d)", c.Execution.MaxRepairAttempts)
	}

	r := c.Risk
	fraction(add, "risk.hedge_drift_band", r.HedgeDriftBand, false)
	if !r.MaxNotionalPerSymbol.IsPositive() {
		add("risk.max_notional_per_symbol", "must be positive (got %s)", r.MaxNotionalPerSymbol)
	}
	if !r.MaxNotionalTotal.IsPositive() {
		add("risk.max_notional_total", "must be positive (got %s)", r.MaxNotionalTotal)
	} else if r.MaxNotionalPerSymbol.GreaterThan(r.MaxNotionalTotal) {
		add("risk.max_notional_per_symbol", "%s is above risk.max_notional_total %s", r.MaxNotionalPerSymbol, r.MaxNotionalTotal)
	}
	for _, f := range []struct {
		key string
		v   decimal.Decimal
	}{{"risk.topup_distance", r.TopupDistance}, {"risk.deleverage_distance", r.DeleverageDistance}, {"risk.flatten_distance", r.FlattenDistance}, {"risk.halt_distance", r.HaltDistance}, {"risk.topup_target_distance", r.TopupTargetDistance}} {
		fraction(add, f.key, f.v, true)
	}
	if !(r.TopupTargetDistance.GreaterThan(r.TopupDistance) && r.TopupDistance.GreaterThan(r.DeleverageDistance) &&
		r.DeleverageDistance.GreaterThan(r.FlattenDistance) && r.FlattenDistance.GreaterThan(r.HaltDistance)) {
		add("risk.topup_distance", "liquidation distances must shrink with severity: topup_target_distance (%s) > topup_distance (%s) > deleverage_distance (%s) > flatten_distance (%s) > halt_distance (%s)",
			r.TopupTargetDistance, r.TopupDistance, r.DeleverageDistance, r.FlattenDistance, r.HaltDistance)
	}
	if !r.DeleverageFraction.IsPositive() || r.DeleverageFraction.GreaterThanOrEqual(one) {
		add("risk.deleverage_fraction", "must be between 0 and 1, exclusive (got %s)", r.DeleverageFraction)
	}
	if !(r.TopupMarginRatio.LessThan(r.DeleverageMarginRatio) && r.DeleverageMarginRatio.LessThan(r.FlattenMarginRatio) &&
		r.TopupMarginRatio.IsPositive() && r.FlattenMarginRatio.LessThan(one)) {
		add("risk.topup_margin_ratio", "margin ratios must grow with severity and stay below 1: 0 < topup (%s) < deleverage (%s) < flatten (%s) < 1",
			r.TopupMarginRatio, r.DeleverageMarginRatio, r.FlattenMarginRatio)
	}
	if !(r.MarginLevelCall.GreaterThan(r.MarginLevelLiquidation) && r.MarginLevelLiquidation.GreaterThan(one)) {
		add("risk.margin_level_call", "must be above risk.margin_level_liquidation, which must be above 1 (got %s and %s)", r.MarginLevelCall, r.MarginLevelLiquidation)
	}
	fraction(add, "risk.liquidation_divergence", r.LiquidationDivergence, true)

	for _, f := range []struct {
		key string
		v   decimal.Decimal
	}{{"fees.spot_maker", c.Fees.SpotMaker}, {"fees.spot_taker", c.Fees.SpotTaker}, {"fees.perp_maker", c.Fees.PerpMaker}, {"fees.perp_taker", c.Fees.PerpTaker}, {"fees.borrow_hourly", c.Fees.BorrowHourly}} {
		if f.v.IsNegative() || f.v.GreaterThanOrEqual(decimal.RequireFromString("0.01")) {
			add(f.key, "%s is not a plausible rate; give a fraction such as 0.001 for 0.1%%", f.v)
		}
	}

	nonNegative(add, "paper.spot_balance", c.Paper.SpotBalance)
	nonNegative(add, "paper.futures_balance", c.Paper.FuturesBalance)
	if c.Mode != ModeLive && c.Paper.SpotBalance.Add(c.Paper.FuturesBalance).LessThan(c.Capital.Total) {
		add("paper.spot_balance", "paper balances (%s spot + %s futures) are less than capital.total %s; raise them or lower the capital",
			c.Paper.SpotBalance, c.Paper.FuturesBalance, c.Capital.Total)
	}
	fraction(add, "paper.slippage", c.Paper.Slippage, false)
	if c.Paper.Latency < 0 {
		add("paper.latency", "must not be negative (got %s)", c.Paper.Latency)
	}

	fraction(add, "backtest.spot_spread", c.Backtest.SpotSpread, false)
	fraction(add, "backtest.perp_spread", c.Backtest.PerpSpread, false)
	if c.Mode == ModeBacktest && c.Backtest.DataDir == "" {
		add("backtest.data_dir", "backtest mode needs a data directory (e.g. testdata/binance)")
	}

	if c.Database.URL.IsSet() {
		if u, err := url.Parse(c.Database.URL.Reveal()); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			add("database.url", "is not a postgres:// URL; use postgres://user:password@host:5432/dbname")
		}
	} else if c.Database.LocalDir == "" {
		add("database.local_dir", "empty while database.url is unset; set a Postgres URL or a directory for the private cluster")
	}
	if c.Database.MaxConns < 2 {
		add("database.max_conns", "must be at least 2 (got %d)", c.Database.MaxConns)
	}
	if c.Database.ConnectTimeout <= 0 {
		add("database.connect_timeout", "must be a positive duration (got %s)", c.Database.ConnectTimeout)
	}

	if !contains(logLevels, c.Log.Level) {
		add("log.level", "%q is not a level; use one of %s", c.Log.Level, strings.Join(logLevels, ", "))
	}
	if !contains([]string{"auto", "json", "console"}, c.Log.Format) {
		add("log.format", "%q is not a format; use auto, json or console", c.Log.Format)
	}

	if c.Telemetry.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Telemetry.Listen); err != nil {
			add("telemetry.listen", "%q is not host:port; use e.g. 127.0.0.1:9464 (or empty to disable)", c.Telemetry.Listen)
		}
	}
	if c.Telemetry.FeedStaleAfter <= 0 {
		add("telemetry.feed_stale_after", "must be a positive duration (got %s)", c.Telemetry.FeedStaleAfter)
	}
	if c.Alerts.WebhookURL != "" && !isHTTPURL(c.Alerts.WebhookURL) {
		add("alerts.webhook_url", "%q is not an http(s) URL", c.Alerts.WebhookURL)
	}
	if c.Alerts.TelegramChatID != "" && !c.Secrets.TelegramToken.IsSet() {
		add("alerts.telegram_chat_id", "is set but the bot token is missing; set %s in the environment", EnvTelegramToken)
	}

	for _, u := range []struct{ key, v string }{{"binance.spot_rest_url", c.Binance.SpotRESTURL}, {"binance.futures_rest_url", c.Binance.FuturesRESTURL}} {
		if !isHTTPURL(u.v) {
			add(u.key, "%q is not an http(s) URL", u.v)
		}
	}
	for _, u := range []struct{ key, v string }{{"binance.spot_ws_url", c.Binance.SpotWSURL}, {"binance.spot_ws_api_url", c.Binance.SpotWSAPIURL}, {"binance.futures_ws_url", c.Binance.FuturesWSURL}} {
		if p, err := url.Parse(u.v); err != nil || (p.Scheme != "ws" && p.Scheme != "wss") {
			add(u.key, "%q is not a ws(s) URL", u.v)
		}
	}
	for _, d := range []struct {
		key string
		v   interface{ Seconds() float64 }
	}{{"binance.recv_window", c.Binance.RecvWindow}, {"binance.http_timeout", c.Binance.HTTPTimeout}, {"binance.ws_silence", c.Binance.WSSilence}, {"binance.max_clock_skew", c.Binance.MaxClockSkew}} {
		if d.v.Seconds() <= 0 {
			add(d.key, "must be a positive duration")
		}
	}
	return ps
}

// fraction checks 0 ≤ v < 1 (or 0 < v < 1 when positive is set).
func fraction(add func(string, string, ...any), key string, v decimal.Decimal, positive bool) {
	if v.IsNegative() || v.GreaterThanOrEqual(decimal.NewFromInt(1)) || (positive && v.IsZero()) {
		lo := "0"
		if positive {
			lo = "above 0"
		}
		add(key, "%s is out of range; give a fraction from %s to below 1 (0.01 = 1%%)", v, lo)
	}
}

func nonNegative(add func(string, string, ...any), key string, v decimal.Decimal) {
	if v.IsNegative() {
		add(key, "must not be negative (got %s)", v)
	}
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
