package replay_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance"
	"github.com/carry-trading/carry/pkg/replay"
)

// TestEstimateUsesEachSymbolsCap: with the funding settings of Binance's fundingInfo (the embedded snapshot)
// the estimate of a ±2% symbol follows a 1% premium instead of stopping at BTCUSDT's 0.3%, a symbol the
// answer omits is on the ±2% default, and a floor is applied on its own.
func TestEstimateUsesEachSymbolsCap(t *testing.T) {
	infos, err := binance.SnapshotFundingInfo()
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]exchange.FundingInfo{}
	for _, fi := range infos {
		listed[fi.Symbol] = fi
	}
	// One bar per hour for a whole funding period, spot at 100 and the perp at perp[sym].
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	hdr := "open_time,open,high,low,close,volume"
	perp := map[string]string{"BTCUSDT": "101", "XVGUSDT": "101", "NOTLISTEDUSDT": "101", "SOLUSDT": "101", "DOWNUSDT": "95"}
	files := map[string][]string{}
	for sym, p := range perp {
		files[sym+"-spot-1h-x.csv"] = []string{hdr}
		files[sym+"-perp-1h-x.csv"] = []string{hdr}
		files[sym+"-fundingRate-x.csv"] = []string{"calc_time,funding_interval_hours,last_funding_rate"}
		for i := range 6 {
			at := base + int64(i)*3600_000
			files[sym+"-spot-1h-x.csv"] = append(files[sym+"-spot-1h-x.csv"], fmt.Sprintf("%d,100,100,100,100,1", at))
			files[sym+"-perp-1h-x.csv"] = append(files[sym+"-perp-1h-x.csv"], fmt.Sprintf("%d,%s,%s,%s,%s,1", at, p, p, p, p))
		}
	}
	dir := writeFiles(t, files)

	var opts replay.Options
	for sym := range perp {
		fi, ok := listed[sym]
		if !ok {
			fi = binance.DefaultFundingInfo(sym)
		}
		opts.SetFundingInfo(fi)
	}
	// An asymmetric setting: the floor binds, not the negated cap.
	opts.SetFundingInfo(exchange.FundingInfo{Symbol: "DOWNUSDT", Cap: d("0.02"), Floor: d("-0.005")})

	last := map[string]string{}
	for _, ev := range collect(t, dir, opts) {
		if ev.Kind == exchange.EventMark {
			last[ev.Symbol] = ev.Mark.EstimatedRate.String()
		}
	}
	// A 1% premium: F = 1% + clamp(0.01% − 1%, ±0.05%) = 0.95%, then the symbol's bounds.
	for sym, want := range map[string]string{
		"BTCUSDT":       "0.003",   // listed at ±0.3%
		"SOLUSDT":       "0.00375", // listed at ±0.375%
		"XVGUSDT":       "0.0095",  // listed at ±2%: not clamped at 0.3%
		"NOTLISTEDUSDT": "0.0095",  // not listed: Binance's default ±2%
		"DOWNUSDT":      "-0.005",  // −5% premium → −4.95%, floored at −0.5%
	} {
		if last[sym] != want {
			t.Errorf("%s estimate %s, want %s", sym, last[sym], want)
		}
	}
	if _, ok := listed["NOTLISTEDUSDT"]; ok {
		t.Fatal("the snapshot lists NOTLISTEDUSDT")
	}

	// Without per-symbol settings every symbol is still clamped at the default 0.3%.
	for _, ev := range collect(t, dir, replay.Options{Symbols: []string{"XVGUSDT"}}) {
		if ev.Kind == exchange.EventMark && ev.Mark.EstimatedRate.GreaterThan(d("0.003")) {
			t.Fatalf("default cap not applied: %s", ev.Mark.EstimatedRate)
		}
	}
	if _, err := replay.Open(dir, replay.Options{RateFloors: map[string]float64{"XVGUSDT": 0.01}}); err == nil {
		t.Fatal("a positive floor was accepted")
	}
}

// TestFeedReportsItsInterval: the interval found in the directory, or the one chosen.
func TestFeedReportsItsInterval(t *testing.T) {
	hdr := "open_time,open,high,low,close,volume"
	row := fmt.Sprintf("%d,10,11,9,10.5,1", t2024(0).UnixMilli())
	dir := writeFiles(t, map[string][]string{
		"QUSDT-spot-4h-x.csv": {hdr, row}, "QUSDT-perp-4h-x.csv": {hdr, row},
		"QUSDT-fundingRate-x.csv": {"calc_time,funding_interval_hours,last_funding_rate"},
	})
	for _, opts := range []replay.Options{{}, {Interval: "4h"}} {
		f, err := replay.Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Interval(); got != "4h" {
			t.Errorf("Interval() = %q with %+v, want 4h", got, opts)
		}
		f.Close()
	}
}
