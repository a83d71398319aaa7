package fakebinance

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// The real Binance answers the fake serves, gzipped copies of testdata/binance/api-samples (a test checks
// they are identical), embedded so the fake works from any package's tests and from a separate process.
//
//go:embed samples/*.json.gz
var embedded embed.FS

// Sample file names (as in testdata/binance/api-samples).
const (
	sampleSpotInfo    = "api-v3-exchangeInfo-BTC-ETH-XVG.json"
	sampleFutInfo     = "fapi-v1-exchangeInfo.json"
	sampleFundingInfo = "fapi-v1-fundingInfo.json"
	samplePremium     = "fapi-v1-premiumIndex.json"
)

// SampleNames lists the embedded sample files.
func SampleNames() []string {
	return []string{sampleSpotInfo, sampleFutInfo, sampleFundingInfo, samplePremium}
}

// Sample returns an embedded sample by name (uncompressed).
func Sample(name string) ([]byte, error) {
	raw, err := embedded.ReadFile("samples/" + name + ".gz")
	if err != nil {
		return nil, fmt.Errorf("fakebinance: no embedded sample %q", name)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return io.ReadAll(zr)
}

func loadSample(dir, name string) ([]byte, error) {
	if dir != "" {
		return os.ReadFile(filepath.Join(dir, name))
	}
	return Sample(name)
}

// samples are the parsed API samples. The embedded ones are parsed once per process and shared: nothing
// in them is ever modified (each server copies the maps and builds its own marks).
type samples struct {
	spotInfo  rawExchangeInfo
	spotSyms  map[string]*symbolInfo
	futRaw    []byte
	futSyms   map[string]*symbolInfo
	fundRaw   []byte
	intervals map[string]int
	premium   []rawPremium
}

var (
	embeddedOnce sync.Once
	embeddedSmp  *samples
	embeddedErr  error
)

func loadSamples(dir string) (*samples, error) {
	if dir != "" {
		return parseSamples(dir)
	}
	embeddedOnce.Do(func() { embeddedSmp, embeddedErr = parseSamples("") })
	return embeddedSmp, embeddedErr
}

func parseSamples(dir string) (*samples, error) {
	smp := &samples{spotSyms: map[string]*symbolInfo{}, futSyms: map[string]*symbolInfo{}, intervals: map[string]int{}}
	raw, err := loadSample(dir, sampleSpotInfo)
	if err != nil {
		return nil, fmt.Errorf("fakebinance: %w", err)
	}
	info, syms, err := parseInfo(raw, false)
	if err != nil {
		return nil, fmt.Errorf("fakebinance: %s: %w", sampleSpotInfo, err)
	}
	smp.spotInfo = info
	for _, s := range syms {
		smp.spotSyms[s.symbol] = s
	}
	if smp.futRaw, err = loadSample(dir, sampleFutInfo); err != nil {
		return nil, fmt.Errorf("fakebinance: %w", err)
	}
	if _, syms, err = parseInfo(smp.futRaw, true); err != nil {
		return nil, fmt.Errorf("fakebinance: %s: %w", sampleFutInfo, err)
	}
	for _, s := range syms {
		smp.futSyms[s.symbol] = s
	}
	if smp.fundRaw, err = loadSample(dir, sampleFundingInfo); err != nil {
		return nil, fmt.Errorf("fakebinance: %w", err)
	}
	var fis []rawFundingInfo
	if err := json.Unmarshal(smp.fundRaw, &fis); err != nil {
		return nil, fmt.Errorf("fakebinance: %s: %w", sampleFundingInfo, err)
	}
	for _, fi := range fis {
		smp.intervals[fi.Symbol] = fi.FundingIntervalHours
	}
	if raw, err = loadSample(dir, samplePremium); err != nil {
		return nil, fmt.Errorf("fakebinance: %w", err)
	}
	if err := json.Unmarshal(raw, &smp.premium); err != nil {
		return nil, fmt.Errorf("fakebinance: %s: %w", samplePremium, err)
	}
	return smp, nil
}

// symbolInfo is what the fake needs of a symbol's exchange info to validate orders.
type symbolInfo struct {
	symbol, base, quote string
	trading             bool
	tick, step, minQty  decimal.Decimal
	maxQty, minNotional decimal.Decimal
	notionalOnMarket    bool
	raw                 json.RawMessage // the symbol's object as Binance sent it
}

type rawExchangeInfo struct {
	Timezone        string            `json:"timezone"`
	ServerTime      int64             `json:"serverTime"`
	RateLimits      json.RawMessage   `json:"rateLimits"`
	ExchangeFilters json.RawMessage   `json:"exchangeFilters"`
	Symbols         []json.RawMessage `json:"symbols"`
}

type rawSymbol struct {
	Symbol       string           `json:"symbol"`
	Status       string           `json:"status"`
	BaseAsset    string           `json:"baseAsset"`
	QuoteAsset   string           `json:"quoteAsset"`
	ContractType string           `json:"contractType"`
	Filters      []map[string]any `json:"filters"`
}

// parseInfo reads an exchangeInfo answer into the fake's symbol table (order kept).
func parseInfo(data []byte, futures bool) (rawExchangeInfo, []*symbolInfo, error) {
	var info rawExchangeInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return info, nil, err
	}
	out := make([]*symbolInfo, 0, len(info.Symbols))
	for _, raw := range info.Symbols {
		var s rawSymbol
		if err := json.Unmarshal(raw, &s); err != nil {
			return info, nil, err
		}
		si := &symbolInfo{symbol: s.Symbol, base: s.BaseAsset, quote: s.QuoteAsset, trading: s.Status == "TRADING", raw: raw, notionalOnMarket: futures}
		for _, f := range s.Filters {
			str := func(k string) decimal.Decimal {
				v, _ := f[k].(string)
				d, _ := decimal.NewFromString(v)
				return d
			}
			switch f["filterType"] {
			case "PRICE_FILTER":
				si.tick = str("tickSize")
			case "LOT_SIZE":
				si.step, si.minQty, si.maxQty = str("stepSize"), str("minQty"), str("maxQty")
			case "NOTIONAL":
				si.minNotional = str("minNotional")
				si.notionalOnMarket, _ = f["applyMinToMarket"].(bool)
			case "MIN_NOTIONAL":
				if futures {
					si.minNotional = str("notional")
				} else {
					si.minNotional = str("minNotional")
				}
			}
		}
		out = append(out, si)
	}
	return info, out, nil
}

type rawPremium struct {
	Symbol          string `json:"symbol"`
	MarkPrice       string `json:"markPrice"`
	IndexPrice      string `json:"indexPrice"`
	EstimatedSettle string `json:"estimatedSettlePrice"`
	LastFundingRate string `json:"lastFundingRate"`
	InterestRate    string `json:"interestRate"`
	NextFundingTime int64  `json:"nextFundingTime"`
}

type rawFundingInfo struct {
	Symbol               string `json:"symbol"`
	FundingIntervalHours int    `json:"fundingIntervalHours"`
}

// nextBoundary is the first multiple of interval (from the UTC epoch) after t.
func nextBoundary(t time.Time, interval time.Duration) time.Time {
	return t.Truncate(interval).Add(interval)
}

func upper(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }
