package replay_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/replay"
)

// copyFiles copies the named files of dir into a new temporary directory.
func copyFiles(t *testing.T, dir string, names ...string) string {
	t.Helper()
	out := t.TempDir()
	for _, n := range names {
		raw, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, n), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

var shippedFiles = []string{"BTCUSDT-spot-1h-2020-10-2022-12.csv", "BTCUSDT-perp-1h-2020-10-2022-12.csv", "BTCUSDT-fundingRate-2020-01-2023-12.csv"}

// The same months in two layouts (the shipped span and a month fetched beside it) would be replayed only up to
// the first file's end, or out of order: Coverage refuses them and names both files.
func TestCoverageRefusesOverlappingFiles(t *testing.T) {
	dir := copyFiles(t, shipped, shippedFiles...)
	if err := os.WriteFile(filepath.Join(dir, "BTCUSDT-perp-1h-2021-01.csv"), []byte(
		"1609459200000,28948.19,29668.86,28627.12,29337.16,1000,1609462799999,0,0,0,0,0\n"+
			"1609462800000,29337.16,29470.00,28960.35,29188.42,1000,1609466399999,0,0,0,0,0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := replay.Coverage(dir, replay.Options{})
	if err == nil || !strings.Contains(err.Error(), "overlapping data") || !strings.Contains(err.Error(), "BTCUSDT-perp-1h-2021-01.csv") ||
		!strings.Contains(err.Error(), "BTCUSDT-perp-1h-2020-10-2022-12.csv") {
		t.Fatalf("overlapping perp files: %v", err)
	}
}

// Funding bounds the span like prices do: a funding file that ends before the klines ends the coverage one
// funding interval after its last settlement (that row's funding_interval_hours, else the symbol's
// Options.FundingHours, else 8 h), and one without a row is an error, not a run without funding.
func TestCoverageEndsWithTheFunding(t *testing.T) {
	dir := copyFiles(t, shipped, shippedFiles[:2]...)
	raw, err := os.ReadFile(filepath.Join(shipped, shippedFiles[2]))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	var last time.Time
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		ms, err := strconv.ParseInt(strings.SplitN(l, ",", 2)[0], 10, 64)
		if err != nil { // the header
			kept = append(kept, l)
			continue
		}
		if at := time.UnixMilli(ms).UTC(); at.Before(time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)) {
			kept, last = append(kept, l), at
		}
	}
	name := filepath.Join(dir, "BTCUSDT-fundingRate-2020-01-2020-12.csv")
	if err := os.WriteFile(name, []byte(strings.Join(kept, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	from, to, err := replay.Coverage(dir, replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !from.Equal(time.Date(2020, 10, 7, 18, 0, 0, 0, time.UTC)) || !to.Equal(last.Add(8*time.Hour)) {
		t.Fatalf("coverage %s → %s, want the klines' start to 8 h after the last settlement (%s)", from, to, last)
	}
	// The time column named by the header, after a text column (the REST API's field order).
	if err := os.WriteFile(name, []byte("symbol,fundingTime,fundingRate\nBTCUSDT,1604649600000,0.0001\nBTCUSDT,1609430400002,0.0001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, to, err := replay.Coverage(dir, replay.Options{}); err != nil || !to.Equal(time.UnixMilli(1609430400002+8*3600*1000).UTC()) {
		t.Fatalf("a funding file led by a symbol column: %v, to %s", err, to)
	}
	// A symbol settling every 4 hours: its last settlement covers 4 hours, not 8 (the milliseconds of the
	// settlement times do not matter).
	if err := os.WriteFile(name, []byte("calc_time,funding_interval_hours,last_funding_rate\n1609416000000,4,0.0001\n"+
		"1609430400003,4,0.0001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, to, err := replay.Coverage(dir, replay.Options{}); err != nil || !to.Equal(time.UnixMilli(1609430400003+4*3600*1000).UTC()) {
		t.Fatalf("a 4 h funding file: %v, to %s; want 4 h after its last settlement", err, to)
	}
	// The schedule changes to 4 h at the last settlement, 8 h after the one before: the last row's own
	// interval counts, not the wait before it.
	if err := os.WriteFile(name, []byte("calc_time,funding_interval_hours,last_funding_rate\n1609401600000,8,0.0001\n"+
		"1609430400000,4,0.0001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, to, err := replay.Coverage(dir, replay.Options{}); err != nil || !to.Equal(time.UnixMilli(1609430400000+4*3600*1000).UTC()) {
		t.Fatalf("8 h → 4 h at the last settlement: %v, to %s; want 4 h after it", err, to)
	}
	// Without the column, the symbol's configured interval.
	if err := os.WriteFile(name, []byte("symbol,fundingTime,fundingRate\nBTCUSDT,1609416000000,0.0001\nBTCUSDT,1609430400000,0.0001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, to, err := replay.Coverage(dir, replay.Options{FundingHours: map[string]int{"BTCUSDT": 4}}); err != nil ||
		!to.Equal(time.UnixMilli(1609430400000+4*3600*1000).UTC()) {
		t.Fatalf("no interval column, Options.FundingHours 4: %v, to %s; want 4 h after the last settlement", err, to)
	}
	if err := os.WriteFile(name, []byte("calc_time,funding_interval_hours,last_funding_rate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := replay.Coverage(dir, replay.Options{}); err == nil || !strings.Contains(err.Error(), "has no data row") {
		t.Fatalf("a funding file without rows: %v", err)
	}
}

// Gaps are reported, for klines and funding, as far as they overlap the replay's range; a range inside a gap
// emits no quote.
func TestGapsAreReported(t *testing.T) {
	f, err := replay.Open("testdata/gaps", replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var spotQuotes, perpQuotes int64
	for _, ev := range drain(t, f) {
		switch {
		case ev.Kind == exchange.EventQuote && ev.Venue == exchange.Futures:
			perpQuotes++
		case ev.Kind == exchange.EventQuote:
			spotQuotes++
		}
	}
	want := []replay.Gap{
		{Symbol: "GAPUSDT", Market: "spot klines", From: t2024(3 * time.Hour), To: t2024(4 * time.Hour)},
		{Symbol: "GAPUSDT", Market: "perp klines", From: t2024(8 * time.Hour), To: t2024(9 * time.Hour)},
	}
	if got := f.Gaps(); !sameGaps(got, want) {
		t.Fatalf("gaps %+v, want %+v", got, want)
	}
	if s, p := f.Quotes(); s != spotQuotes || p != perpQuotes || s == 0 || p == 0 {
		t.Fatalf("Quotes() %d spot %d perp, counted %d and %d", s, p, spotQuotes, perpQuotes)
	}

	f, err = replay.Open("testdata/gaps", replay.Options{From: t2024(5 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, f)
	if got := f.Gaps(); !sameGaps(got, want[1:]) {
		t.Fatalf("gaps from 05:00: %+v, want only the perp's", got)
	}

	// A month of funding missing in the middle.
	dir := writeFiles(t, map[string][]string{
		"GAPUSDT-fundingRate-2024-01.csv": {"calc_time,funding_interval_hours,last_funding_rate",
			"1704067200000,8,0.0001", "1704096000004,8,0.0001", "1704182400001,8,0.0001", "1704268800000,8,0.0001"},
	})
	copyGapKlines(t, dir)
	f, err = replay.Open(dir, replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, f)
	// 08:00.004 → the next day's 08:00.001 is a day without a settlement, its milliseconds notwithstanding.
	want = append(want, replay.Gap{Symbol: "GAPUSDT", Market: "funding", From: t2024(8*time.Hour + 4*time.Millisecond), To: t2024(32*time.Hour + time.Millisecond)},
		replay.Gap{Symbol: "GAPUSDT", Market: "funding", From: t2024(32*time.Hour + time.Millisecond), To: t2024(56 * time.Hour)})
	if got := f.Gaps(); !sameGaps(got, want) {
		t.Fatalf("gaps with a missing funding stretch: %+v", got)
	}

	// Inside the spot gap: no quote.
	f, err = replay.Open("testdata/gaps", replay.Options{Symbols: []string{"GAPUSDT"}, From: t2024(3*time.Hour + time.Minute), To: t2024(4 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, f)
	if s, p := f.Quotes(); s != 0 || p != 1 { // the perp's close at 03:45; the spot is suspended throughout
		t.Fatalf("quotes inside the spot gap: %d spot, %d perp", s, p)
	}
}

// copyGapKlines copies the gaps fixture's spot and perp klines into dir (beside a funding file of the test's).
func copyGapKlines(t *testing.T, dir string) {
	t.Helper()
	for _, n := range []string{"GAPUSDT-spot-1h-2024-01.csv", "GAPUSDT-perp-1h-2024-01.csv"} {
		raw, err := os.ReadFile(filepath.Join("testdata/gaps", n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func sameGaps(a, b []replay.Gap) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Symbol != b[i].Symbol || a[i].Market != b[i].Market || !a[i].From.Equal(b[i].From) || !a[i].To.Equal(b[i].To) {
			return false
		}
	}
	return true
}

// The interval is the chosen symbols': another symbol's klines at another interval do not stop a replay, and
// the message for a symbol with two intervals says what to do.
func TestIntervalOfTheChosenSymbols(t *testing.T) {
	dir := copyFiles(t, "testdata/gaps", "GAPUSDT-spot-1h-2024-01.csv", "GAPUSDT-perp-1h-2024-01.csv", "GAPUSDT-fundingRate-2024-01.csv")
	if err := os.WriteFile(filepath.Join(dir, "ETHUSDT-spot-4h-2024-01.csv"), []byte("1704067200000,1,1,1,1,1,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := replay.Open(dir, replay.Options{Symbols: []string{"GAPUSDT"}})
	if err != nil {
		t.Fatalf("GAPUSDT has 1h klines only: %v", err)
	}
	if f.Interval() != "1h" {
		t.Fatalf("interval %s", f.Interval())
	}
	f.Close()
	if _, err := replay.Open(dir, replay.Options{}); err == nil || !strings.Contains(err.Error(), "several intervals (1h, 4h)") ||
		!strings.Contains(err.Error(), "keep one interval of these symbols in the directory") {
		t.Fatalf("every symbol, two intervals: %v", err)
	}
}

// A long corrupt line at a file's end (past the kilobytes Coverage reads of it) is not "no data row": the
// span is found (it ends with the perp file's last bar, which the spot file's good rows reach too; edges'
// own test checks the corrupt file's last rows), and the replay names the bad line.
func TestACorruptEndIsNamedByItsLine(t *testing.T) {
	dir := copyFiles(t, shipped, shippedFiles...)
	spot := filepath.Join(dir, shippedFiles[0])
	raw, err := os.ReadFile(spot)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(string(raw), "\n")
	lastRow := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")[lines-1]
	openMs, _ := strconv.ParseInt(strings.Split(lastRow, ",")[0], 10, 64)
	junk := "1672527600000," + strings.Repeat("x", 12000) + "\n" // a cut-off write, say: no newline would do the same
	if err := os.WriteFile(spot, append(raw, junk...), 0o644); err != nil {
		t.Fatal(err)
	}
	if from, to, err := replay.Coverage(dir, replay.Options{}); err != nil || !to.Equal(time.UnixMilli(openMs).Add(time.Hour).UTC()) {
		t.Fatalf("coverage %s → %s, %v; want it to end an hour after the last bar of both files (%s)", from, to, err, time.UnixMilli(openMs).UTC())
	}
	_, err = readAll(dir, replay.Options{})
	want := shippedFiles[0] + " line " + strconv.Itoa(lines+1)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("replay: %v; want an error naming %q", err, want)
	}
}

// One missed settlement is a funding gap: a wait longer than the interval, the longer of the two rows' when
// the schedule changes (8 h → 4 h and 4 h → 8 h are no gap). Before, only a day without a settlement was
// reported.
func TestAMissedSettlementIsAFundingGap(t *testing.T) {
	ms := func(h int) string { return strconv.FormatInt(t2024(time.Duration(h)*time.Hour).UnixMilli(), 10) }
	dir := writeFiles(t, map[string][]string{
		"GAPUSDT-fundingRate-2024-01.csv": {"calc_time,funding_interval_hours,last_funding_rate",
			ms(0) + ",8,0.0001", ms(8) + ",8,0.0001", ms(24) + ",8,0.0001", // 16:00 is missing
			ms(32) + ",4,0.0001", ms(36) + ",4,0.0001", ms(44) + ",4,0.0001", // 8 h → 4 h; 40:00 is missing
			ms(48) + ",4,0.0001", ms(56) + ",8,0.0001"}, // 4 h → 8 h
	})
	copyGapKlines(t, dir)
	f, err := replay.Open(dir, replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, f)
	var funding []replay.Gap
	for _, g := range f.Gaps() {
		if g.Market == "funding" {
			funding = append(funding, g)
		}
	}
	want := []replay.Gap{{Symbol: "GAPUSDT", Market: "funding", From: t2024(8 * time.Hour), To: t2024(24 * time.Hour)},
		{Symbol: "GAPUSDT", Market: "funding", From: t2024(36 * time.Hour), To: t2024(44 * time.Hour)}}
	if !sameGaps(funding, want) {
		t.Fatalf("funding gaps %+v, want %+v", funding, want)
	}
}
