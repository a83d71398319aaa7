package paper

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// Config describes the simulated account and its markets.
type Config struct {
	// Quote is the quote and futures margin asset (USDT).
	Quote string
	// Instruments are the tradable symbols, spot and futures, with their filters.
	Instruments []exchange.Instrument
	// Fees are the commission rates per venue (spot, futures).
	Fees map[exchange.Venue]exchange.Fees
	// Brackets are leverage brackets per futures symbol; symbols without their own use exchange.DefaultBrackets.
	Brackets map[string][]exchange.Bracket
	// Slippage worsens market (and IOC) fills beyond the touch by this fraction, rounded to the tick against
	// the taker (a buy at ask × (1 + slippage) rounded up). Zero fills at the touch.
	Slippage decimal.Decimal
	// Latency delays every order before it executes (a real sleep: leave it zero in backtests, whose simulated
	// clock does not move during a sleep).
	Latency time.Duration
	// InitialBalances fund a new account: venue → asset → amount. They are the journal's first entry (a
	// deposit); a restored account keeps its journaled balances and ignores them.
	InitialBalances map[exchange.Venue]map[string]decimal.Decimal
	// DefaultLeverage is a futures symbol's leverage until SetupSymbol changes it (default 20, Binance's).
	DefaultLeverage int
	// FundingInfo per symbol: the funding interval, cap and floor FundingInfo reports (defaults: 8 hours and
	// ±0.3%, Binance's bounds for majors such as BTCUSDT; many other symbols are at ±2%). The interval of the
	// latest settlement seen by Apply overrides the configured one.
	FundingInfo map[string]exchange.FundingInfo
	// JournalTimeout bounds a journal append made by Apply (funding, liquidations, maker fills), which has no
	// context of its own (default 30s).
	JournalTimeout time.Duration

	// Cross margin (see margin.go and the package documentation).

	// InterestRates are the hourly interest rates of cross-margin loans per asset (0.00001 = 0.001% an hour).
	InterestRates map[string]decimal.Decimal
	// DefaultInterestRate is the hourly rate of an asset without its own (default DefaultHourlyInterest).
	DefaultInterestRate decimal.Decimal
	// InterestSchedule feeds recorded rates: per asset, hourly rates in effect from a time on (e.g. Binance's
	// interest rate history, daily ÷ 24). A charge at time t uses the latest point at or before t, else
	// InterestRates. SetInterestRate adds points at run time.
	InterestSchedule map[string][]InterestPoint
	// MarginLeverage is the cross-margin account's maximum leverage (default 3, Binance's Cross Margin
	// Classic): at most net equity × (leverage − 1) may be owed in total.
	MarginLeverage int
	// BorrowLimits cap the principal outstanding per asset (Binance's borrowLimit); absent: no cap beyond the
	// leverage.
	BorrowLimits map[string]decimal.Decimal
	// MarginLiquidationLevel is the margin level at or below which the account is liquidated (default 1.1).
	MarginLiquidationLevel decimal.Decimal
}

// defaultFundingCap is Binance's funding cap for majors such as BTCUSDT (±0.3%).
func defaultFundingCap() decimal.Decimal { return decimal.New(3, -3) }

// DefaultLeverage is Binance's default leverage of a new symbol.
const DefaultLeverage = 20

// normalize validates cfg and fills in defaults. The result does not share maps with the caller's.
func (c Config) normalize() (Config, error) {
	var errs []error
	if c.Quote == "" {
		c.Quote = "USDT"
	}
	if c.DefaultLeverage == 0 {
		c.DefaultLeverage = DefaultLeverage
	}
	if c.DefaultLeverage < 1 || c.DefaultLeverage > 125 {
		errs = append(errs, fmt.Errorf("default leverage %d must be between 1 and 125", c.DefaultLeverage))
	}
	if c.Slippage.IsNegative() || c.Slippage.GreaterThanOrEqual(decimal.NewFromInt(1)) {
		errs = append(errs, fmt.Errorf("slippage %s must be a fraction in [0, 1)", c.Slippage))
	}
	if c.Latency < 0 {
		errs = append(errs, fmt.Errorf("latency %s must not be negative", c.Latency))
	}
	if c.JournalTimeout <= 0 {
		c.JournalTimeout = 30 * time.Second
	}
	seen := map[mkey]bool{}
	for _, in := range c.Instruments {
		k := mkey{in.Venue, in.Symbol}
		switch {
		case in.Venue != exchange.Spot && in.Venue != exchange.Futures:
			errs = append(errs, fmt.Errorf("instrument %s: venue %q is not spot or futures", in.Symbol, in.Venue))
		case in.Symbol == "" || in.Base == "" || in.Quote == "":
			errs = append(errs, fmt.Errorf("instrument %s %q needs a symbol, base and quote asset", in.Venue, in.Symbol))
		case seen[k]:
			errs = append(errs, fmt.Errorf("instrument %s %s is listed twice", in.Venue, in.Symbol))
		case in.Venue == exchange.Futures && in.Quote != c.Quote:
			errs = append(errs, fmt.Errorf("futures %s is margined in %s, not the account's quote asset %s", in.Symbol, in.Quote, c.Quote))
		}
		seen[k] = true
	}
	fees := map[exchange.Venue]exchange.Fees{}
	for v, f := range c.Fees {
		if f.Maker.IsNegative() || f.Taker.IsNegative() || f.Maker.GreaterThanOrEqual(decimal.NewFromInt(1)) || f.Taker.GreaterThanOrEqual(decimal.NewFromInt(1)) {
			errs = append(errs, fmt.Errorf("%s fees (maker %s, taker %s) must be fractions in [0, 1)", v, f.Maker, f.Taker))
		}
		fees[v] = f
	}
	c.Fees = fees
	brackets := map[string][]exchange.Bracket{}
	for s, b := range c.Brackets {
		if len(b) == 0 {
			errs = append(errs, fmt.Errorf("brackets of %s are empty", s))
		}
		brackets[s] = append([]exchange.Bracket(nil), b...)
	}
	c.Brackets = brackets
	for s, fi := range c.FundingInfo {
		if h := fi.IntervalHours; h != 0 && (h < 1 || h > 24) {
			errs = append(errs, fmt.Errorf("funding interval of %s must be 1..24 hours, got %d", s, h))
		}
	}
	errs = append(errs, c.normalizeMargin()...)
	for v, m := range c.InitialBalances {
		if v != exchange.Spot && v != exchange.Futures && v != exchange.Margin {
			errs = append(errs, fmt.Errorf("initial balance on unknown venue %q", v))
		}
		for a, amt := range m {
			if amt.IsNegative() {
				errs = append(errs, fmt.Errorf("initial %s balance of %s is negative (%s)", v, a, amt))
			}
		}
	}
	return c, errors.Join(errs...)
}

// deposits lists the initial balances in a deterministic order.
func (c Config) deposits() []amountRec {
	var out []amountRec
	for v, m := range c.InitialBalances {
		for a, amt := range m {
			if amt.IsPositive() {
				out = append(out, amountRec{Venue: v, Asset: a, Amount: amt})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Venue != out[j].Venue {
			return out[i].Venue < out[j].Venue
		}
		return out[i].Asset < out[j].Asset
	})
	return out
}
