package binance

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/common"
	"github.com/adshao/go-binance/v2/futures"
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// Offline parsers: saved Binance answers → carry's types, without a network. They share the conversion
// code with the live client. Filters are read with checked type assertions (go-binance's own filter
// accessors panic on a malformed exchangeInfo).

// ParseSpotExchangeInfo reads a GET /api/v3/exchangeInfo answer. It returns the instruments it could read
// and, if any symbol was malformed, an error naming each one (so a strict caller treats err != nil as
// failure, and a lenient one can still use the good symbols).
func ParseSpotExchangeInfo(data []byte) ([]exchange.Instrument, error) {
	var info binance.ExchangeInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("spot exchangeInfo: %w", err)
	}
	return spotInstruments(info.Symbols)
}

// ParseFuturesExchangeInfo reads a GET /fapi/v1/exchangeInfo answer; only perpetual contracts are kept.
// Errors as ParseSpotExchangeInfo.
func ParseFuturesExchangeInfo(data []byte) ([]exchange.Instrument, error) {
	var info futures.ExchangeInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("futures exchangeInfo: %w", err)
	}
	return futuresInstruments(info.Symbols)
}

// ParseFundingInfo reads a GET /fapi/v1/fundingInfo answer. Symbols it omits are on the defaults
// (DefaultFundingInfo).
func ParseFundingInfo(data []byte) ([]exchange.FundingInfo, error) {
	var rows []*futures.FundingRateInfo
	if err := json.Unmarshal(common.ToJSONList(data), &rows); err != nil {
		return nil, fmt.Errorf("fundingInfo: %w", err)
	}
	return fundingInfos(rows)
}

// ParsePremiumIndex reads a GET /fapi/v1/premiumIndex answer (one symbol or all).
func ParsePremiumIndex(data []byte) ([]exchange.Mark, error) {
	var rows []*futures.PremiumIndex
	if err := json.Unmarshal(common.ToJSONList(data), &rows); err != nil {
		return nil, fmt.Errorf("premiumIndex: %w", err)
	}
	out := make([]exchange.Mark, 0, len(rows))
	for _, r := range rows {
		m, err := markFromPremium(r)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// ParseFundingRates reads a GET /fapi/v1/fundingRate answer, oldest first.
func ParseFundingRates(data []byte) ([]exchange.FundingRate, error) {
	var rows []*futures.FundingRate
	if err := json.Unmarshal(data, &rows); err != nil {
		return nil, fmt.Errorf("fundingRate: %w", err)
	}
	return fundingRates(rows)
}

// DefaultFundingCap is the cap (and, negated, the floor) of a symbol /fapi/v1/fundingInfo does not list.
var DefaultFundingCap = decimal.RequireFromString("0.02")

// DefaultFundingInfo is the schedule of a symbol /fapi/v1/fundingInfo omits: 8h, ±2%.
func DefaultFundingInfo(symbol string) exchange.FundingInfo {
	return exchange.FundingInfo{Symbol: symbol, IntervalHours: exchange.DefaultFundingInterval, Cap: DefaultFundingCap, Floor: DefaultFundingCap.Neg()}
}

func spotInstruments(syms []binance.Symbol) ([]exchange.Instrument, error) {
	out := make([]exchange.Instrument, 0, len(syms))
	var errs []error
	for i := range syms {
		s := &syms[i]
		in := exchange.Instrument{Venue: exchange.Spot, Symbol: s.Symbol, Base: s.BaseAsset, Quote: s.QuoteAsset, Trading: s.Status == "TRADING"}
		if err := readFilters(&in, s.Filters); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, in)
	}
	return out, errors.Join(errs...)
}

func futuresInstruments(syms []futures.Symbol) ([]exchange.Instrument, error) {
	out := make([]exchange.Instrument, 0, len(syms))
	var errs []error
	for i := range syms {
		s := &syms[i]
		if s.ContractType != futures.ContractTypePerpetual && s.ContractType != "TRADIFI_PERPETUAL" {
			continue
		}
		in := exchange.Instrument{Venue: exchange.Futures, Symbol: s.Symbol, Base: s.BaseAsset, Quote: s.QuoteAsset,
			Trading: s.Status == "TRADING", MinNotionalMarket: true}
		if err := readFilters(&in, s.Filters); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, in)
	}
	return out, errors.Join(errs...)
}

// readFilters fills the instrument's filters. PRICE_FILTER and LOT_SIZE are required.
func readFilters(in *exchange.Instrument, filters []map[string]any) error {
	var havePrice, haveLot bool
	for i, f := range filters {
		r := filterReader{in: in, f: f}
		ft, ok := f["filterType"].(string)
		if !ok {
			return fmt.Errorf("%s %s: filter %d has no filterType string", in.Venue, in.Symbol, i)
		}
		r.typ = ft
		switch ft {
		case "PRICE_FILTER":
			havePrice = true
			in.TickSize = r.dec("tickSize", true)
		case "LOT_SIZE":
			haveLot = true
			in.StepSize = r.dec("stepSize", true)
			in.MinQty = r.dec("minQty", true)
			in.MaxQty = r.dec("maxQty", false)
		case "MARKET_LOT_SIZE":
			in.MarketStep = r.dec("stepSize", false)
			in.MarketMax = r.dec("maxQty", false)
		case "NOTIONAL": // spot
			in.MinNotional = r.dec("minNotional", false)
			in.MinNotionalMarket = r.boolean("applyMinToMarket")
		case "MIN_NOTIONAL":
			if in.Venue == exchange.Futures {
				in.MinNotional = r.dec("notional", true)
			} else { // the older spot filter
				in.MinNotional = r.dec("minNotional", true)
				in.MinNotionalMarket = r.boolean("applyToMarket")
			}
		}
		if r.err != nil {
			return r.err
		}
	}
	switch {
	case !havePrice:
		return fmt.Errorf("%s %s: no PRICE_FILTER", in.Venue, in.Symbol)
	case !haveLot:
		return fmt.Errorf("%s %s: no LOT_SIZE filter", in.Venue, in.Symbol)
	}
	return nil
}

type filterReader struct {
	in  *exchange.Instrument
	typ string
	f   map[string]any
	err error
}

func (r *filterReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("malformed exchangeInfo: %s %s: %s: %s", r.in.Venue, r.in.Symbol, r.typ, fmt.Sprintf(format, args...))
	}
}

// dec reads a non-negative decimal string field; missing is zero unless required.
func (r *filterReader) dec(key string, required bool) decimal.Decimal {
	v, ok := r.f[key]
	if !ok || v == nil {
		if required {
			r.fail("%s missing", key)
		}
		return decimal.Zero
	}
	s, ok := v.(string)
	if !ok {
		r.fail("%s is %T, want a decimal string", key, v)
		return decimal.Zero
	}
	d, err := decimal.NewFromString(s)
	if err != nil || d.IsNegative() {
		r.fail("%s %q is not a non-negative decimal", key, s)
		return decimal.Zero
	}
	return normalize(d)
}

func (r *filterReader) boolean(key string) bool {
	v, ok := r.f[key]
	if !ok || v == nil {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		r.fail("%s is %T, want a boolean", key, v)
	}
	return b
}

// normalize drops trailing zeros ("0.01000000" → "0.01") so values print and compare canonically.
func normalize(d decimal.Decimal) decimal.Decimal {
	if d.IsZero() {
		return decimal.Zero
	}
	n, err := decimal.NewFromString(d.String())
	if err != nil {
		return d
	}
	return n
}

// nums parses the decimal strings of one answer, keeping the first error.
type nums struct{ err error }

func (p *nums) dec(field, s string) decimal.Decimal {
	if s == "" {
		return decimal.Zero
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		if p.err == nil {
			p.err = fmt.Errorf("%s: %q is not a decimal", field, s)
		}
		return decimal.Zero
	}
	return normalize(d)
}

// float converts a float64 from the library (leverage brackets) exactly as Binance wrote it: the
// shortest decimal that round-trips, which is the JSON literal.
func (p *nums) float(field string, f float64) decimal.Decimal {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		if p.err == nil {
			p.err = fmt.Errorf("%s: %v is not a number", field, f)
		}
		return decimal.Zero
	}
	return p.dec(field, strconv.FormatFloat(f, 'f', -1, 64))
}

func msTime(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func markFromPremium(r *futures.PremiumIndex) (exchange.Mark, error) {
	var p nums
	m := exchange.Mark{
		Symbol: r.Symbol, Mark: p.dec("markPrice", r.MarkPrice), Index: p.dec("indexPrice", r.IndexPrice),
		EstimatedRate: p.dec("lastFundingRate", r.LastFundingRate), NextFundingTime: msTime(r.NextFundingTime), Time: msTime(r.Time),
	}
	if p.err != nil {
		return exchange.Mark{}, fmt.Errorf("premiumIndex %s: %w", r.Symbol, p.err)
	}
	return m, nil
}

func fundingInfos(rows []*futures.FundingRateInfo) ([]exchange.FundingInfo, error) {
	out := make([]exchange.FundingInfo, 0, len(rows))
	for _, r := range rows {
		var p nums
		fi := exchange.FundingInfo{Symbol: r.Symbol, IntervalHours: int(r.FundingIntervalHours),
			Cap: p.dec("adjustedFundingRateCap", r.AdjustedFundingRateCap), Floor: p.dec("adjustedFundingRateFloor", r.AdjustedFundingRateFloor)}
		if p.err != nil {
			return nil, fmt.Errorf("fundingInfo %s: %w", r.Symbol, p.err)
		}
		if fi.IntervalHours <= 0 {
			fi.IntervalHours = exchange.DefaultFundingInterval
		}
		if fi.Cap.IsZero() && fi.Floor.IsZero() {
			fi.Cap, fi.Floor = DefaultFundingCap, DefaultFundingCap.Neg()
		}
		out = append(out, fi)
	}
	return out, nil
}

// fundingRates converts settled rates, oldest first, inferring each row's interval from the spacing to
// its neighbour when that spacing is a whole number of hours (±1 minute of jitter).
func fundingRates(rows []*futures.FundingRate) ([]exchange.FundingRate, error) {
	out := make([]exchange.FundingRate, 0, len(rows))
	for _, r := range rows {
		var p nums
		fr := exchange.FundingRate{Symbol: r.Symbol, Rate: p.dec("fundingRate", r.FundingRate), MarkPrice: p.dec("markPrice", r.MarkPrice), Time: msTime(r.FundingTime)}
		if p.err != nil {
			return nil, fmt.Errorf("fundingRate %s: %w", r.Symbol, p.err)
		}
		out = append(out, fr)
	}
	for i := range out {
		j := i - 1
		if i == 0 {
			j = 1
		}
		if j >= 0 && j < len(out) {
			out[i].IntervalHours = wholeHours(out[i].Time.Sub(out[j].Time))
		}
	}
	return out, nil
}

func wholeHours(d time.Duration) int {
	if d < 0 {
		d = -d
	}
	h := d.Round(time.Hour)
	if h <= 0 || (d-h).Abs() > time.Minute {
		return 0
	}
	return int(h / time.Hour)
}
