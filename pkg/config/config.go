// Package config loads carry's configuration: the embedded defaults (config.example.yaml), an optional
// file, and CARRY_<SECTION>_<KEY> environment overrides, then validates the result with messages that name
// the key and the fix. Secrets come only from the environment or a 0600 key file.
package config

import (
	"time"

	"github.com/shopspring/decimal"
)

// Modes carry runs in.
const (
	ModeBacktest = "backtest"
	ModePaper    = "paper"
	ModeLive     = "live"
)

// Config is the merged, validated configuration. Field tags name the YAML keys.
type Config struct {
	Mode      string          `mapstructure:"mode" yaml:"mode" json:"mode"`
	Account   AccountConfig   `mapstructure:"account" yaml:"account" json:"account"`
	Universe  UniverseConfig  `mapstructure:"universe" yaml:"universe" json:"universe"`
	Capital   CapitalConfig   `mapstructure:"capital" yaml:"capital" json:"capital"`
	Strategy  StrategyConfig  `mapstructure:"strategy" yaml:"strategy" json:"strategy"`
	Execution ExecutionConfig `mapstructure:"execution" yaml:"execution" json:"execution"`
	Risk      RiskConfig      `mapstructure:"risk" yaml:"risk" json:"risk"`
	Fees      FeesConfig      `mapstructure:"fees" yaml:"fees" json:"fees"`
	Paper     PaperConfig     `mapstructure:"paper" yaml:"paper" json:"paper"`
	Backtest  BacktestConfig  `mapstructure:"backtest" yaml:"backtest" json:"backtest"`
	Database  DatabaseConfig  `mapstructure:"database" yaml:"database" json:"database"`
	Log       LogConfig       `mapstructure:"log" yaml:"log" json:"log"`
	Telemetry TelemetryConfig `mapstructure:"telemetry" yaml:"telemetry" json:"telemetry"`
	Alerts    AlertsConfig    `mapstructure:"alerts" yaml:"alerts" json:"alerts"`
	Binance   BinanceConfig   `mapstructure:"binance" yaml:"binance" json:"binance"`

	// Secrets are filled from the environment or the key file, never from YAML.
	Secrets Secrets `mapstructure:"-" yaml:"secrets" json:"secrets"`
}

// AccountConfig names the account and where its key may be read from.
type AccountConfig struct {
	Name    string `mapstructure:"name" yaml:"name" json:"name"`
	KeyFile string `mapstructure:"key_file" yaml:"key_file" json:"key_file"`
}

// UniverseConfig lists the symbols carry may trade.
type UniverseConfig struct {
	Symbols    []string `mapstructure:"symbols" yaml:"symbols" json:"symbols"`
	QuoteAsset string   `mapstructure:"quote_asset" yaml:"quote_asset" json:"quote_asset"`
}

// CapitalConfig is the money carry may commit.
type CapitalConfig struct {
	Total        decimal.Decimal `mapstructure:"total" yaml:"total" json:"total"`
	PerSymbolMax decimal.Decimal `mapstructure:"per_symbol_max" yaml:"per_symbol_max" json:"per_symbol_max"`
	Leverage     int             `mapstructure:"leverage" yaml:"leverage" json:"leverage"`
	Reserve      decimal.Decimal `mapstructure:"reserve" yaml:"reserve" json:"reserve"`
}

// StrategyConfig holds the entry, exit and rotation policy.
type StrategyConfig struct {
	EntryAPR             decimal.Decimal `mapstructure:"entry_apr" yaml:"entry_apr" json:"entry_apr"`
	ExitAPR              decimal.Decimal `mapstructure:"exit_apr" yaml:"exit_apr" json:"exit_apr"`
	ExitSettlements      int             `mapstructure:"exit_settlements" yaml:"exit_settlements" json:"exit_settlements"`
	MaxBreakeven         time.Duration   `mapstructure:"max_breakeven" yaml:"max_breakeven" json:"max_breakeven"`
	SmoothingSettlements int             `mapstructure:"smoothing_settlements" yaml:"smoothing_settlements" json:"smoothing_settlements"`
	EstimateWeight       decimal.Decimal `mapstructure:"estimate_weight" yaml:"estimate_weight" json:"estimate_weight"`
	ExpectedHolding      time.Duration   `mapstructure:"expected_holding" yaml:"expected_holding" json:"expected_holding"`
	RotationMinGainAPR   decimal.Decimal `mapstructure:"rotation_min_gain_apr" yaml:"rotation_min_gain_apr" json:"rotation_min_gain_apr"`
	SettlementGuard      time.Duration   `mapstructure:"settlement_guard" yaml:"settlement_guard" json:"settlement_guard"`
	EarlyExitProfit      decimal.Decimal `mapstructure:"early_exit_profit" yaml:"early_exit_profit" json:"early_exit_profit"`
	Slippage             decimal.Decimal `mapstructure:"slippage" yaml:"slippage" json:"slippage"`
	Reverse              bool            `mapstructure:"reverse" yaml:"reverse" json:"reverse"`
	EvalInterval         time.Duration   `mapstructure:"eval_interval" yaml:"eval_interval" json:"eval_interval"`
}

// ExecutionConfig controls how pairs are traded.
type ExecutionConfig struct {
	OrderType          string          `mapstructure:"order_type" yaml:"order_type" json:"order_type"`
	IOCSlippage        decimal.Decimal `mapstructure:"ioc_slippage" yaml:"ioc_slippage" json:"ioc_slippage"`
	MaxUnhedgedSeconds int             `mapstructure:"max_unhedged_seconds" yaml:"max_unhedged_seconds" json:"max_unhedged_seconds"`
	OrderTimeout       time.Duration   `mapstructure:"order_timeout" yaml:"order_timeout" json:"order_timeout"`
	MaxRepairAttempts  int             `mapstructure:"max_repair_attempts" yaml:"max_repair_attempts" json:"max_repair_attempts"`
}

// RiskActions switches each risk action on or off.
type RiskActions struct {
	Topup      bool `mapstructure:"topup" yaml:"topup" json:"topup"`
	Deleverage bool `mapstructure:"deleverage" yaml:"deleverage" json:"deleverage"`
	Flatten    bool `mapstructure:"flatten" yaml:"flatten" json:"flatten"`
	Halt       bool `mapstructure:"halt" yaml:"halt" json:"halt"`
}

// RiskConfig holds limits and the action ladder.
type RiskConfig struct {
	HedgeDriftBand         decimal.Decimal `mapstructure:"hedge_drift_band" yaml:"hedge_drift_band" json:"hedge_drift_band"`
	MaxNotionalPerSymbol   decimal.Decimal `mapstructure:"max_notional_per_symbol" yaml:"max_notional_per_symbol" json:"max_notional_per_symbol"`
	MaxNotionalTotal       decimal.Decimal `mapstructure:"max_notional_total" yaml:"max_notional_total" json:"max_notional_total"`
	MaxLeverage            int             `mapstructure:"max_leverage" yaml:"max_leverage" json:"max_leverage"`
	TopupDistance          decimal.Decimal `mapstructure:"topup_distance" yaml:"topup_distance" json:"topup_distance"`
	DeleverageDistance     decimal.Decimal `mapstructure:"deleverage_distance" yaml:"deleverage_distance" json:"deleverage_distance"`
	FlattenDistance        decimal.Decimal `mapstructure:"flatten_distance" yaml:"flatten_distance" json:"flatten_distance"`
	HaltDistance           decimal.Decimal `mapstructure:"halt_distance" yaml:"halt_distance" json:"halt_distance"`
	TopupTargetDistance    decimal.Decimal `mapstructure:"topup_target_distance" yaml:"topup_target_distance" json:"topup_target_distance"`
	DeleverageFraction     decimal.Decimal `mapstructure:"deleverage_fraction" yaml:"deleverage_fraction" json:"deleverage_fraction"`
	TopupMarginRatio       decimal.Decimal `mapstructure:"topup_margin_ratio" yaml:"topup_margin_ratio" json:"topup_margin_ratio"`
	DeleverageMarginRatio  decimal.Decimal `mapstructure:"deleverage_margin_ratio" yaml:"deleverage_margin_ratio" json:"deleverage_margin_ratio"`
	FlattenMarginRatio     decimal.Decimal `mapstructure:"flatten_margin_ratio" yaml:"flatten_margin_ratio" json:"flatten_margin_ratio"`
	Actions                RiskActions     `mapstructure:"actions" yaml:"actions" json:"actions"`
	MarginLevelCall        decimal.Decimal `mapstructure:"margin_level_call" yaml:"margin_level_call" json:"margin_level_call"`
	MarginLevelLiquidation decimal.Decimal `mapstructure:"margin_level_liquidation" yaml:"margin_level_liquidation" json:"margin_level_liquidation"`
	LiquidationDivergence  decimal.Decimal `mapstructure:"liquidation_divergence" yaml:"liquidation_divergence" json:"liquidation_divergence"`
}

// FeesConfig is the commission model of the paper venues and the cost model.
type FeesConfig struct {
	SpotMaker    decimal.Decimal `mapstructure:"spot_maker" yaml:"spot_maker" json:"spot_maker"`
	SpotTaker    decimal.Decimal `mapstructure:"spot_taker" yaml:"spot_taker" json:"spot_taker"`
	PerpMaker    decimal.Decimal `mapstructure:"perp_maker" yaml:"perp_maker" json:"perp_maker"`
	PerpTaker    decimal.Decimal `mapstructure:"perp_taker" yaml:"perp_taker" json:"perp_taker"`
	BorrowHourly decimal.Decimal `mapstructure:"borrow_hourly" yaml:"borrow_hourly" json:"borrow_hourly"`
}

// PaperConfig sets up the paper venues.
type PaperConfig struct {
	SpotBalance    decimal.Decimal `mapstructure:"spot_balance" yaml:"spot_balance" json:"spot_balance"`
	FuturesBalance decimal.Decimal `mapstructure:"futures_balance" yaml:"futures_balance" json:"futures_balance"`
	Slippage       decimal.Decimal `mapstructure:"slippage" yaml:"slippage" json:"slippage"`
	Latency        time.Duration   `mapstructure:"latency" yaml:"latency" json:"latency"`
}

// BacktestConfig locates recorded data and shapes replayed quotes.
type BacktestConfig struct {
	DataDir    string          `mapstructure:"data_dir" yaml:"data_dir" json:"data_dir"`
	From       string          `mapstructure:"from" yaml:"from" json:"from"`
	To         string          `mapstructure:"to" yaml:"to" json:"to"`
	SpotSpread decimal.Decimal `mapstructure:"spot_spread" yaml:"spot_spread" json:"spot_spread"`
	PerpSpread decimal.Decimal `mapstructure:"perp_spread" yaml:"perp_spread" json:"perp_spread"`
	OutputDir  string          `mapstructure:"output_dir" yaml:"output_dir" json:"output_dir"`
}

// DatabaseConfig locates Postgres.
type DatabaseConfig struct {
	URL            Secret        `mapstructure:"url" yaml:"url" json:"url"`
	LocalDir       string        `mapstructure:"local_dir" yaml:"local_dir" json:"local_dir"`
	MaxConns       int           `mapstructure:"max_conns" yaml:"max_conns" json:"max_conns"`
	ConnectTimeout time.Duration `mapstructure:"connect_timeout" yaml:"connect_timeout" json:"connect_timeout"`
}

// LogConfig sets the logger.
type LogConfig struct {
	Level  string `mapstructure:"level" yaml:"level" json:"level"`
	Format string `mapstructure:"format" yaml:"format" json:"format"`
}

// TelemetryConfig sets the health and metrics listener.
type TelemetryConfig struct {
	Listen         string        `mapstructure:"listen" yaml:"listen" json:"listen"`
	FeedStaleAfter time.Duration `mapstructure:"feed_stale_after" yaml:"feed_stale_after" json:"feed_stale_after"`
}

// AlertsConfig sets where alerts go.
type AlertsConfig struct {
	WebhookURL     string        `mapstructure:"webhook_url" yaml:"webhook_url" json:"webhook_url"`
	TelegramChatID string        `mapstructure:"telegram_chat_id" yaml:"telegram_chat_id" json:"telegram_chat_id"`
	TelegramAPIURL string        `mapstructure:"telegram_api_url" yaml:"telegram_api_url" json:"telegram_api_url"`
	MinInterval    time.Duration `mapstructure:"min_interval" yaml:"min_interval" json:"min_interval"`
}

// BinanceConfig holds the exchange endpoints and client settings.
type BinanceConfig struct {
	SpotRESTURL    string        `mapstructure:"spot_rest_url" yaml:"spot_rest_url" json:"spot_rest_url"`
	FuturesRESTURL string        `mapstructure:"futures_rest_url" yaml:"futures_rest_url" json:"futures_rest_url"`
	SpotWSURL      string        `mapstructure:"spot_ws_url" yaml:"spot_ws_url" json:"spot_ws_url"`
	SpotWSAPIURL   string        `mapstructure:"spot_ws_api_url" yaml:"spot_ws_api_url" json:"spot_ws_api_url"`
	FuturesWSURL   string        `mapstructure:"futures_ws_url" yaml:"futures_ws_url" json:"futures_ws_url"`
	RecvWindow     time.Duration `mapstructure:"recv_window" yaml:"recv_window" json:"recv_window"`
	HTTPTimeout    time.Duration `mapstructure:"http_timeout" yaml:"http_timeout" json:"http_timeout"`
	WSSilence      time.Duration `mapstructure:"ws_silence" yaml:"ws_silence" json:"ws_silence"`
	MaxClockSkew   time.Duration `mapstructure:"max_clock_skew" yaml:"max_clock_skew" json:"max_clock_skew"`
}
