package binance

import (
	"bytes"
	"os"
	"testing"
)

func TestSnapshotMatchesTheSamples(t *testing.T) {
	for name, sample := range map[string]string{
		"api-v3-exchangeInfo-BTC-ETH-XVG": "../../testdata/binance/api-samples/api-v3-exchangeInfo-BTC-ETH-XVG.json",
		"fapi-v1-exchangeInfo":            "../../testdata/binance/api-samples/fapi-v1-exchangeInfo.json",
		"fapi-v1-fundingInfo":             "../../testdata/binance/api-samples/fapi-v1-fundingInfo.json",
	} {
		want, err := os.ReadFile(sample)
		if err != nil {
			t.Fatal(err)
		}
		got, err := snapshotFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("embedded %s differs from %s", name, sample)
		}
	}
	spot, fut, err := SnapshotInstruments()
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, in := range append(spot, fut...) {
		if in.Symbol == "BTCUSDT" {
			found++
			if !in.Trading || !in.StepSize.IsPositive() || !in.TickSize.IsPositive() {
				t.Fatalf("BTCUSDT %s filters missing: %+v", in.Venue, in)
			}
		}
	}
	if found != 2 {
		t.Fatalf("BTCUSDT found on %d venues, want spot and futures", found)
	}
}
