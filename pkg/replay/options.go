package replay

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// Options choose what a Feed replays and how quotes are derived from bars.
type Options struct {
	// Symbols to replay; empty: every symbol with spot klines of the interval in the directory.
	Symbols []string
	// Interval of the kline files ("1h", "15m", "4h", "1d"…), as written in their names; empty: the only
	// interval the chosen symbols' klines have in the directory.
	Interval string
	// From and To bound the events to [From, To); zero values leave that side open. Data before From is
	// still read so the marks and estimates at From are the ones a live feed would show.
	From, To time.Time
	// SpotSpread and PerpSpread are the full bid/ask spreads as fractions of price (0.0001 = 1 bp), in [0, 1).
	SpotSpread, PerpSpread decimal.Decimal
	// SpotTicks and PerpTicks are tick sizes per symbol: bids are rounded down and asks up to them. A symbol
	// without a tick is quoted to 1e-8.
	SpotTicks, PerpTicks map[string]decimal.Decimal
	// FundingHours is each symbol's funding interval until the first settlement row says otherwise (default 8).
	FundingHours map[string]int
	// RateCaps bound EstimatedRate from above per symbol (default DefaultRateCap; 0 or less: no cap). Binance
	// caps each symbol differently: ±0.3% for BTCUSDT, ±2% for most altcoins (see SetFundingInfo).
	RateCaps map[string]float64
	// RateFloors bound EstimatedRate from below per symbol, as negative rates (default: the negated cap; 0: no
	// floor).
	RateFloors map[string]float64
	// InterestRates is I per 8 hours per symbol in the estimate (default DefaultInterest).
	InterestRates map[string]float64
}

// DefaultRateCap is Binance's funding cap for majors such as BTCUSDT (±0.3%); other symbols are often ±2%:
// give each symbol its own with SetFundingInfo.
const DefaultRateCap = 0.003

// SetFundingInfo bounds the symbol's estimate by the cap and floor of its funding settings (Binance's
// /fapi/v1/fundingInfo, or its defaults for a symbol that answer omits). Zero bounds are left unset.
func (o *Options) SetFundingInfo(fi exchange.FundingInfo) {
	if c := fi.Cap.InexactFloat64(); c > 0 {
		if o.RateCaps == nil {
			o.RateCaps = map[string]float64{}
		}
		o.RateCaps[fi.Symbol] = c
	}
	if f := fi.Floor.InexactFloat64(); f < 0 {
		if o.RateFloors == nil {
			o.RateFloors = map[string]float64{}
		}
		o.RateFloors[fi.Symbol] = f
	}
}

// DefaultInterest is Binance's interest component I = 0.01% per 8 hours.
const DefaultInterest = 0.0001

// maxRate rejects funding rows that cannot be a rate (a percentage written as a fraction, a shifted column).
var maxRate = decimal.New(1, -1)

var symbolRE = regexp.MustCompile(`^[A-Z0-9]{2,30}$`)

// parseInterval reads a kline interval as written in Binance file names.
func parseInterval(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("kline interval %q is not like 1h, 15m, 4h or 1d", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("kline interval %q is not like 1h, 15m, 4h or 1d", s)
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, fmt.Errorf("kline interval %q has an unsupported unit (use s, m, h, d or w)", s)
	}
	return time.Duration(n) * unit, nil
}

// discover lists the symbols and intervals of the spot kline files in dir.
func discover(dir string) (symbols []string, intervals map[string][]string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the data directory: %w", err)
	}
	ivs := map[string]map[string]bool{}
	for _, e := range entries {
		parts := strings.Split(e.Name(), "-")
		if len(parts) >= 4 && parts[1] == "spot" && strings.HasSuffix(e.Name(), ".csv") {
			if ivs[parts[0]] == nil {
				ivs[parts[0]] = map[string]bool{}
			}
			ivs[parts[0]][parts[2]] = true
		}
	}
	intervals = map[string][]string{}
	for s, set := range ivs {
		symbols = append(symbols, s)
		for iv := range set {
			intervals[s] = append(intervals[s], iv)
		}
		sort.Strings(intervals[s])
	}
	sort.Strings(symbols)
	return symbols, intervals, nil
}

// symbolFiles returns a symbol's spot kline, perp kline and funding files, each in name order, or an error
// naming the first kind that has none.
func symbolFiles(dir, sym, interval string) (spot, perp, funding []string, err error) {
	for _, k := range []struct {
		out           *[]string
		pattern, what string
	}{
		{&spot, sym + "-spot-" + interval + "-*.csv", sym + " spot kline"},
		{&perp, sym + "-perp-" + interval + "-*.csv", sym + " perp kline"},
		{&funding, sym + "-fundingRate-*.csv", sym + " funding rate"},
	} {
		if *k.out, err = filesFor(dir, k.pattern, k.what); err != nil {
			return nil, nil, nil, fmt.Errorf("replay: %w", err)
		}
	}
	return spot, perp, funding, nil
}

// filesFor returns the files of one kind in name order, or an error naming the pattern and the directory.
func filesFor(dir, pattern, what string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", pattern, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no %s file: nothing matches %s in %s", what, pattern, dir)
	}
	sort.Strings(files)
	return files, nil
}
