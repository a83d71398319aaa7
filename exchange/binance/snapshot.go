package binance

import (
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"io"

	"github.com/carry-trading/carry/exchange"
)

// The snapshot is Binance exchange information captured in 2026 (testdata/binance/api-samples, gzipped):
// spot filters for BTCUSDT, ETHUSDT and XVGUSDT, USDⓈ-M filters and funding settings for every perpetual.
// Backtests and offline tools use it when they cannot ask Binance.
//
//go:embed snapshot/*.json.gz
var snapshotFS embed.FS

func snapshotFile(name string) ([]byte, error) {
	raw, err := snapshotFS.ReadFile("snapshot/" + name + ".json.gz")
	if err != nil {
		return nil, fmt.Errorf("exchange info snapshot %s: %w", name, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("exchange info snapshot %s: %w", name, err)
	}
	return io.ReadAll(zr)
}

// SnapshotInstruments returns the embedded spot and USDⓈ-M instruments.
func SnapshotInstruments() (spot, futures []exchange.Instrument, err error) {
	raw, err := snapshotFile("api-v3-exchangeInfo-BTC-ETH-XVG")
	if err != nil {
		return nil, nil, err
	}
	if spot, err = ParseSpotExchangeInfo(raw); err != nil {
		return nil, nil, err
	}
	if raw, err = snapshotFile("fapi-v1-exchangeInfo"); err != nil {
		return nil, nil, err
	}
	if futures, err = ParseFuturesExchangeInfo(raw); err != nil {
		return nil, nil, err
	}
	return spot, futures, nil
}

// SnapshotFundingInfo returns the embedded funding settings (symbols it omits are on DefaultFundingInfo).
func SnapshotFundingInfo() ([]exchange.FundingInfo, error) {
	raw, err := snapshotFile("fapi-v1-fundingInfo")
	if err != nil {
		return nil, err
	}
	return ParseFundingInfo(raw)
}
