package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance"
	"github.com/carry-trading/carry/pkg/replay"
)

// Binance answers a backtest reads from its data directory in preference to the embedded snapshot (exchange
// information captured in 2026: spot filters for BTCUSDT, ETHUSDT and XVGUSDT only, every perpetual's).
const (
	spotInfoFile    = "exchangeInfo-spot.json"    // GET /api/v3/exchangeInfo; symbols it lacks: the snapshot's
	futuresInfoFile = "exchangeInfo-futures.json" // GET /fapi/v1/exchangeInfo; symbols it lacks: the snapshot's
	fundingInfoFile = "fundingInfo.json"          // GET /fapi/v1/fundingInfo; replaces the snapshot's entirely
)

// approxSpotMinNotional is the spot minimum order value given to a symbol whose spot filters are unknown:
// Binance's usual spot NOTIONAL filter (5 of the quote asset, also for market orders).
var approxSpotMinNotional = decimal.NewFromInt(5)

// backtestMarkets is the exchange information a backtest trades with, and where each part came from.
type backtestMarkets struct {
	dir                  string
	symbols              []string // those with a perpetual (and a spot market, real or approximate), sorted
	instruments          []exchange.Instrument
	spotTicks, perpTicks map[string]decimal.Decimal
	funding              map[string]exchange.FundingInfo
	approximate          []string // spot filters derived from the perpetual's
	excluded             []string // no perpetual known: left out
	fromFile             map[string][]string
	fundingFromFile      bool
}

// loadBacktestMarkets reads the instruments and funding settings of symbols: the data directory's Binance
// answers first, then the embedded snapshot. A symbol with a perpetual but no spot entry gets approximate
// spot filters (see approximateSpot); one without a perpetual is left out.
func loadBacktestMarkets(dir string, symbols []string) (*backtestMarkets, error) {
	m := &backtestMarkets{dir: dir, spotTicks: map[string]decimal.Decimal{}, perpTicks: map[string]decimal.Decimal{},
		funding: map[string]exchange.FundingInfo{}, fromFile: map[string][]string{}}
	want := map[string]bool{}
	for _, s := range symbols {
		want[s] = true
	}
	snapSpot, snapFut, err := binance.SnapshotInstruments()
	if err != nil {
		return nil, err
	}
	spot, err := m.instrumentsOf(spotInfoFile, want, snapSpot, binance.ParseSpotExchangeInfo)
	if err != nil {
		return nil, err
	}
	perp, err := m.instrumentsOf(futuresInfoFile, want, snapFut, binance.ParseFuturesExchangeInfo)
	if err != nil {
		return nil, err
	}
	for _, sym := range symbols {
		p, ok := perp[sym]
		if !ok {
			m.excluded = append(m.excluded, sym)
			continue
		}
		s, ok := spot[sym]
		if !ok {
			s = approximateSpot(p)
			m.approximate = append(m.approximate, sym)
		}
		// The snapshot is from 2026 and a file may be newer than the data: a backtest trades the symbols its
		// data has, whatever their status is now.
		s.Trading, p.Trading = true, true
		m.instruments = append(m.instruments, s, p)
		m.spotTicks[sym], m.perpTicks[sym] = s.TickSize, p.TickSize
		m.symbols = append(m.symbols, sym)
	}
	sort.Strings(m.symbols)
	if len(m.symbols) == 0 {
		return nil, fmt.Errorf("none of %s can be backtested: no USDⓈ-M perpetual of that name is known (the embedded "+
			"exchange information is Binance's of 2026); if it traded in the data's time, save Binance's "+
			"/fapi/v1/exchangeInfo answer as %s (and /api/v3/exchangeInfo as %s)",
			strings.Join(symbols, ", "), filepath.Join(dir, futuresInfoFile), filepath.Join(dir, spotInfoFile))
	}
	return m, m.loadFunding()
}

// instrumentsOf returns the wanted symbols' instruments from the data directory's file, else the snapshot's.
func (m *backtestMarkets) instrumentsOf(name string, want map[string]bool, snapshot []exchange.Instrument,
	parse func([]byte) ([]exchange.Instrument, error)) (map[string]exchange.Instrument, error) {
	out := map[string]exchange.Instrument{}
	for _, in := range snapshot {
		if want[in.Symbol] {
			out[in.Symbol] = in
		}
	}
	path := filepath.Join(m.dir, name)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	raw, err = onlySymbols(raw, want)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (save Binance's exchangeInfo answer unchanged)", path, err)
	}
	ins, err := parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, in := range ins {
		out[in.Symbol] = in
		m.fromFile[name] = append(m.fromFile[name], in.Symbol)
	}
	sort.Strings(m.fromFile[name])
	return out, nil
}

// onlySymbols cuts an exchangeInfo answer down to the wanted symbols, so a malformed entry of a symbol the
// backtest does not trade cannot fail it.
func onlySymbols(raw []byte, want map[string]bool) ([]byte, error) {
	var info struct {
		Symbols []json.RawMessage `json:"symbols"`
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, fmt.Errorf("not an exchangeInfo answer: %w", err)
	}
	if info.Symbols == nil {
		return nil, errors.New(`not an exchangeInfo answer: no "symbols" list`)
	}
	kept := []json.RawMessage{}
	for i, s := range info.Symbols {
		var head struct {
			Symbol string `json:"symbol"`
		}
		if err := json.Unmarshal(s, &head); err != nil {
			return nil, fmt.Errorf("symbols[%d]: %w", i, err)
		}
		if want[head.Symbol] {
			kept = append(kept, s)
		}
	}
	var b bytes.Buffer
	b.WriteString(`{"symbols":`)
	if err := json.NewEncoder(&b).Encode(kept); err != nil {
		return nil, err
	}
	b.WriteString("}")
	return b.Bytes(), nil
}

// approximateSpot stands in for the spot filters of a symbol only its perpetual is known for: the perpetual's
// tick size (Binance's spot and perpetual ticks are usually the same), its step and minimum quantity (spot steps
// are as fine or finer, so no order is allowed that the perpetual's own step would not), its quantity limits,
// and Binance's usual spot minimum order value of 5 in the quote asset, applied to market orders too.
func approximateSpot(perp exchange.Instrument) exchange.Instrument {
	minQty := perp.MinQty
	if !minQty.IsPositive() {
		minQty = perp.StepSize
	}
	return exchange.Instrument{Venue: exchange.Spot, Symbol: perp.Symbol, Base: perp.Base, Quote: perp.Quote, Trading: true,
		TickSize: perp.TickSize, StepSize: perp.StepSize, MinQty: minQty, MaxQty: perp.MaxQty, MarketMax: perp.MarketMax,
		MinNotional: approxSpotMinNotional, MinNotionalMarket: true}
}

// loadFunding reads each symbol's funding cap, floor and interval: the data directory's fundingInfo answer
// when there is one, else the snapshot; a symbol the answer omits is on Binance's defaults (8h, ±2%).
func (m *backtestMarkets) loadFunding() error {
	path := filepath.Join(m.dir, fundingInfoFile)
	var infos []exchange.FundingInfo
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if infos, err = binance.SnapshotFundingInfo(); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("reading %s: %w", path, err)
	default:
		if infos, err = binance.ParseFundingInfo(raw); err != nil {
			return fmt.Errorf("%s: %w (save Binance's /fapi/v1/fundingInfo answer unchanged)", path, err)
		}
		m.fundingFromFile = true
	}
	for _, sym := range m.symbols {
		m.funding[sym] = binance.DefaultFundingInfo(sym)
	}
	for _, fi := range infos {
		if _, ok := m.funding[fi.Symbol]; !ok {
			continue
		}
		if !fi.Cap.IsPositive() || !fi.Floor.IsNegative() {
			return fmt.Errorf("funding settings of %s (%s): cap %s and floor %s must be above and below zero",
				fi.Symbol, m.fundingSource(), fi.Cap, fi.Floor)
		}
		if fi.IntervalHours <= 0 {
			fi.IntervalHours = exchange.DefaultFundingInterval
		}
		m.funding[fi.Symbol] = fi
	}
	return nil
}

// replayOptions sets the ticks and each symbol's funding bounds on the replay's options.
func (m *backtestMarkets) replayOptions(o replay.Options) replay.Options {
	o.SpotTicks, o.PerpTicks = m.spotTicks, m.perpTicks
	for _, sym := range m.symbols {
		o.SetFundingInfo(m.funding[sym])
	}
	return o
}

func (m *backtestMarkets) fundingSource() string {
	if m.fundingFromFile {
		return filepath.Join(m.dir, fundingInfoFile)
	}
	return "fundingInfo, embedded 2026 snapshot"
}

// warnings are what the log should say about the exchange information.
func (m *backtestMarkets) warnings() []string {
	var out []string
	if len(m.excluded) > 0 {
		out = append(out, fmt.Sprintf("%s left out: no USDⓈ-M perpetual of that name in the exchange information "+
			"(embedded 2026 snapshot or %s)", strings.Join(m.excluded, ", "), filepath.Join(m.dir, futuresInfoFile)))
	}
	if len(m.approximate) > 0 {
		out = append(out, fmt.Sprintf("%s: no spot exchange information, so approximate spot filters are used (the "+
			"perpetual's tick and step, minimum order 5 %s); save Binance's /api/v3/exchangeInfo answer as %s for the real ones",
			strings.Join(m.approximate, ", "), m.quote(), filepath.Join(m.dir, spotInfoFile)))
	}
	return out
}

func (m *backtestMarkets) quote() string {
	for _, in := range m.instruments {
		if in.Quote != "" {
			return in.Quote
		}
	}
	return "quote"
}

// notes are the report's lines about the exchange information.
func (m *backtestMarkets) notes() []string {
	var out []string
	if len(m.approximate) > 0 {
		out = append(out, fmt.Sprintf("approximate spot filters for %s (no spot exchangeInfo: the perpetual's tick and step, "+
			"minimum order 5 %s)", strings.Join(m.approximate, ", "), m.quote()))
	}
	var files []string
	for _, name := range []string{spotInfoFile, futuresInfoFile} {
		if syms := m.fromFile[name]; len(syms) > 0 {
			files = append(files, fmt.Sprintf("%s (%s)", name, strings.Join(syms, ", ")))
		}
	}
	if len(files) > 0 {
		out = append(out, "exchange filters from the data directory's "+strings.Join(files, " and ")+
			"; the rest from the embedded 2026 snapshot")
	}
	var caps []string
	for _, sym := range m.symbols {
		fi := m.funding[sym]
		pc := func(d decimal.Decimal) string { return d.Shift(2).String() + "%" }
		if fi.Cap.Equal(fi.Floor.Neg()) {
			caps = append(caps, fmt.Sprintf("%s ±%s", sym, pc(fi.Cap)))
		} else {
			caps = append(caps, fmt.Sprintf("%s %s/+%s", sym, pc(fi.Floor), pc(fi.Cap)))
		}
	}
	out = append(out, fmt.Sprintf("funding estimate bounds (%s): %s", m.fundingSource(), strings.Join(caps, ", ")))
	return out
}
