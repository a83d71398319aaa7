package replay_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/replay"
)

// Every settlement of the shipped funding file comes out, in order, once, with the file's time and rate.
func TestShippedFundingFileYieldsEverySettlement(t *testing.T) {
	f, err := os.Open(filepath.Join(shipped, "BTCUSDT-fundingRate-2020-01-2023-12.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	rows = rows[1:]
	events := collect(t, shipped, shippedOptions())
	var got []exchange.Event
	firstPerp := time.Time{}
	for _, ev := range events {
		if ev.Kind == exchange.EventFunding {
			got = append(got, ev)
		}
		if ev.Kind == exchange.EventQuote && ev.Venue == exchange.Futures && firstPerp.IsZero() {
			firstPerp = ev.Time
		}
	}
	if len(got) != 4383 || len(rows) != 4383 {
		t.Fatalf("%d settlements replayed, %d rows in the file; want 4,383", len(got), len(rows))
	}
	for i, r := range rows {
		msv, _ := strconv.ParseInt(r[0], 10, 64)
		ev := got[i]
		if !ev.Time.Equal(ms(msv)) || !ev.Funding.Time.Equal(ms(msv)) || !ev.Funding.Rate.Equal(d(r[2])) || ev.Funding.IntervalHours != 8 {
			t.Fatalf("settlement %d: got %s, want %s", i, describe(ev), r)
		}
		if ev.Symbol != "BTCUSDT" || ev.Funding.Symbol != "BTCUSDT" || ev.Venue != exchange.Futures {
			t.Fatalf("settlement %d: %+v", i, ev)
		}
		if before := ev.Time.Before(firstPerp); before != ev.Funding.MarkPrice.IsZero() {
			t.Fatalf("settlement %d at %s: mark %s (perp data from %s)", i, ev.Time, ev.Funding.MarkPrice, firstPerp)
		}
	}
	// The stream as a whole is in time order.
	for i := 1; i < len(events); i++ {
		if events[i].Time.Before(events[i-1].Time) {
			t.Fatalf("out of order: %s then %s", describe(events[i-1]), describe(events[i]))
		}
	}
}

// The gaps fixture: spot 00..09h without 03h; perp 01..09h without 08h (and no 00h, like the shipped perp
// file on the 1st of each month); settlements at 00:00:00.001, 08:00:00.003 and 16:00:00.000.
func TestGapsSuspendResumeAndNeverInventPrices(t *testing.T) {
	events := collect(t, "testdata/gaps", replay.Options{})
	var spotTimes []time.Time
	var lines []string
	for _, ev := range events {
		lines = append(lines, describe(ev))
		if ev.Kind == exchange.EventQuote && ev.Venue == exchange.Spot {
			spotTimes = append(spotTimes, ev.Time)
		}
	}
	text := strings.Join(lines, "\n")
	h := time.Hour
	for _, want := range []struct {
		kind  exchange.EventKind
		venue exchange.Venue
		at    time.Time
	}{
		{exchange.EventSuspend, exchange.Spot, t2024(3 * h)},
		{exchange.EventResume, exchange.Spot, t2024(4*h + 45*time.Minute)}, // at the first bar's close
		{exchange.EventSuspend, exchange.Futures, t2024(8 * h)},
		{exchange.EventResume, exchange.Futures, t2024(9*h + 45*time.Minute)},
		{exchange.EventSuspend, exchange.Spot, t2024(10 * h)}, // end of data
		{exchange.EventSuspend, exchange.Futures, t2024(10 * h)},
	} {
		n := 0
		for _, ev := range events {
			if ev.Kind == want.kind && ev.Venue == want.venue && ev.Time.Equal(want.at) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("want one %s %s at %s, got %d:\n%s", want.kind, want.venue, want.at, n, text)
		}
	}
	suspends := 0
	for _, ev := range events {
		if ev.Kind == exchange.EventSuspend {
			suspends++
		}
	}
	if suspends != 4 {
		t.Errorf("%d suspends, want 4:\n%s", suspends, text)
	}
	// No spot quote inside the gap, nor at the open of the bar after it (an open after an outage can be the
	// price from before it); the resume comes right before the first quote after it, the bar's close.
	for _, at := range spotTimes {
		if !at.Before(t2024(3*h)) && at.Before(t2024(4*h+45*time.Minute)) {
			t.Errorf("spot quote at %s, inside the gap or at the open after it", at)
		}
	}
	for i, ev := range events {
		if ev.Kind == exchange.EventResume {
			next := events[i+1]
			if next.Kind != exchange.EventQuote || next.Venue != ev.Venue || !next.Time.Equal(ev.Time) {
				t.Errorf("resume %s is followed by %s", describe(ev), describe(next))
			}
		}
	}
	// 9 spot bars and 8 perp bars, two quotes each (open, close), but only the close of the bar after a gap;
	// a mark after every perp quote, and two mark-only events per perp bar (its extremes) but the one after
	// the gap.
	count := map[string]int{}
	for i, ev := range events {
		count[ev.Kind.String()+"/"+string(ev.Venue)]++
		if ev.Kind == exchange.EventQuote && ev.Venue == exchange.Futures {
			m := events[i+1]
			if m.Kind != exchange.EventMark || !m.Time.Equal(ev.Time) || !m.Mark.Mark.Equal(ev.Quote.Bid) {
				t.Errorf("perp quote %s is followed by %s", describe(ev), describe(m))
			}
		}
	}
	if count["quote/spot"] != 17 || count["quote/futures"] != 15 || count["mark/futures"] != 29 || count["funding/futures"] != 3 {
		t.Errorf("counts %v", count)
	}

	// The mark rule: no perp price yet → 0; the 08:00 bar is missing → the 07:00 bar's close (07:00 is bullish:
	// 108 → 108.5); after the data ends → the last close (09:00, bullish: 110 → 110.5).
	var marks []string
	for _, ev := range events {
		if ev.Kind == exchange.EventFunding {
			marks = append(marks, ev.Funding.MarkPrice.String())
		}
	}
	if strings.Join(marks, " ") != "0 108.5 110.5" {
		t.Errorf("settlement marks %v, want [0 108.5 110.5]:\n%s", marks, text)
	}
}

// Quote points: the open at +0 and the close at +¾ for both markets; the perp's extremes are mark-only
// events at +¼ and +½ (low first on a bullish bar, high first on a bearish one); a mark's index is the last
// spot price.
func TestQuotePointsAndMarks(t *testing.T) {
	events := collect(t, "testdata/gaps", replay.Options{})
	var spot, perp []exchange.Event
	var marks []exchange.Event
	for _, ev := range events {
		switch {
		case ev.Kind == exchange.EventQuote && ev.Venue == exchange.Spot:
			spot = append(spot, ev)
		case ev.Kind == exchange.EventQuote:
			perp = append(perp, ev)
		case ev.Kind == exchange.EventMark:
			marks = append(marks, ev)
		}
	}
	check := func(name string, qs []exchange.Event, start time.Time, want []string) {
		t.Helper()
		for i, w := range want {
			q := qs[i]
			if at := start.Add(time.Duration(i) * 45 * time.Minute); !q.Time.Equal(at) || !q.Quote.Time.Equal(at) {
				t.Errorf("%s point %d at %s, want %s", name, i, q.Time, at)
			}
			if !q.Quote.Bid.Equal(d(w)) || !q.Quote.Ask.Equal(d(w)) {
				t.Errorf("%s point %d: %s/%s, want %s", name, i, q.Quote.Bid, q.Quote.Ask, w)
			}
		}
	}
	// Spot 00:00 is bullish 100 → 100.5; 01:00 bearish 101 → 100.5. Only open and close are quoted.
	check("spot 00:00", spot[0:2], t2024(0), []string{"100", "100.5"})
	check("spot 01:00", spot[2:4], t2024(time.Hour), []string{"101", "100.5"})
	if !spot[0].Quote.BidQty.Equal(d("10.5")) || !spot[0].Quote.AskQty.Equal(d("10.5")) {
		t.Errorf("quote sizes %s/%s, want the bar volume 10.5", spot[0].Quote.BidQty, spot[0].Quote.AskQty)
	}
	// Perp 01:00 is bullish 102 → 102.5 (low 101.75, high 102.75).
	check("perp 01:00", perp[0:2], t2024(time.Hour), []string{"102", "102.5"})
	wantMarks := []struct {
		at           time.Duration
		mark, index  string
		fromQuoteIdx int // the perp quote it follows, -1 for a mark-only extreme
	}{
		{time.Hour, "102", "101", 0},
		{time.Hour + 15*time.Minute, "101.75", "101", -1},
		{time.Hour + 30*time.Minute, "102.75", "101", -1},
		{time.Hour + 45*time.Minute, "102.5", "100.5", 1},
	}
	for i, w := range wantMarks {
		m := marks[i]
		if !m.Time.Equal(t2024(w.at)) || !m.Mark.Mark.Equal(d(w.mark)) || !m.Mark.Index.Equal(d(w.index)) {
			t.Errorf("mark %d: %s, want at %s mark %s index %s", i, describe(m), t2024(w.at), w.mark, w.index)
		}
		if !m.Mark.NextFundingTime.Equal(t2024(8 * time.Hour)) {
			t.Errorf("next funding %s", m.Mark.NextFundingTime)
		}
	}
	// No spot quote at the extremes: nothing tradable where the two markets' times are unknown.
	for _, q := range spot {
		if m := q.Time.Minute(); m == 15 || m == 30 {
			t.Errorf("spot quoted at an intra-bar extreme: %s", describe(q))
		}
	}
}

// Bid and ask from the integer path equal the decimal computation floor(p·(1−s/2)) and ceil(p·(1+s/2)) on
// the tick, for prices with fewer and more decimals than the tick.
func TestBidAskRounding(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	var spotRows, perpRows []string
	var prices []string
	for i := range 200 {
		var p string
		switch i % 4 {
		case 0:
			p = strconv.FormatFloat(float64(rng.IntN(9_000_000))/100+1, 'f', 2, 64)
		case 1:
			p = strconv.FormatFloat(float64(rng.IntN(900_000_000))/1e6+0.5, 'f', 6, 64)
		case 2:
			p = strconv.Itoa(rng.IntN(100_000) + 1)
		default:
			p = strconv.FormatFloat(float64(rng.IntN(90_000))/1e8+1e-6, 'f', 8, 64)
		}
		prices = append(prices, p)
		row := fmt.Sprintf("%d,%s,%s,%s,%s,1", base+int64(i)*3600_000, p, p, p, p)
		spotRows, perpRows = append(spotRows, row), append(perpRows, row)
	}
	hdr := "open_time,open,high,low,close,volume"
	dir := writeFiles(t, map[string][]string{
		"RNDUSDT-spot-1h-x.csv":        append([]string{hdr}, spotRows...),
		"RNDUSDT-perp-1h-x.csv":        append([]string{hdr}, perpRows...),
		"RNDUSDT-fundingRate-2024.csv": {"calc_time,funding_interval_hours,last_funding_rate"},
	})
	for _, c := range []struct{ spread, spotTick, perpTick string }{
		{"0.0001", "0.01", "0.1"}, {"0.0005", "0.0001", "0.5"}, {"0", "0.01", "1"}, {"0.00037", "0.00000001", "0.001"}, {"0.002", "", ""},
	} {
		opts := replay.Options{SpotSpread: d(c.spread), PerpSpread: d(c.spread), SpotTicks: map[string]decimal.Decimal{}, PerpTicks: map[string]decimal.Decimal{}}
		if c.spotTick != "" {
			opts.SpotTicks["RNDUSDT"], opts.PerpTicks["RNDUSDT"] = d(c.spotTick), d(c.perpTick)
		}
		events := collect(t, dir, opts)
		n := 0
		for _, ev := range events {
			if ev.Kind != exchange.EventQuote {
				continue
			}
			p := d(prices[n/4])
			tick := opts.SpotTicks["RNDUSDT"]
			if ev.Venue == exchange.Futures {
				tick = opts.PerpTicks["RNDUSDT"]
			}
			if tick.IsZero() {
				tick = d("0.00000001")
			}
			half := d(c.spread).Div(d("2"))
			wantBid := exchange.FloorToStep(p.Mul(d("1").Sub(half)), tick)
			wantAsk := exchange.CeilToStep(p.Mul(d("1").Add(half)), tick)
			if !ev.Quote.Bid.Equal(wantBid) || !ev.Quote.Ask.Equal(wantAsk) {
				t.Fatalf("spread %s tick %s price %s: %s/%s, want %s/%s", c.spread, tick, p, ev.Quote.Bid, ev.Quote.Ask, wantBid, wantAsk)
			}
			if !exchange.IsMultiple(ev.Quote.Bid, tick) || !exchange.IsMultiple(ev.Quote.Ask, tick) {
				t.Fatalf("off-tick quote %s/%s on %s", ev.Quote.Bid, ev.Quote.Ask, tick)
			}
			n++
		}
		if n != 200*4 {
			t.Fatalf("%d quotes", n)
		}
	}
}

// The estimate follows binance.md: F = [P̄ + clamp(I − P̄, ±0.05%)]/(8/N) on the weighted premium average.
func TestEstimatedRate(t *testing.T) {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	mk := func(perpPrices []string) string {
		var spot, perp []string
		for i, p := range perpPrices {
			at := base + int64(i)*3600_000
			spot = append(spot, fmt.Sprintf("%d,100,100,100,100,1", at))
			perp = append(perp, fmt.Sprintf("%d,%s,%s,%s,%s,1", at, p, p, p, p))
		}
		hdr := "open_time,open,high,low,close,volume"
		return writeFiles(t, map[string][]string{
			"ESTUSDT-spot-1h-x.csv":        append([]string{hdr}, spot...),
			"ESTUSDT-perp-1h-x.csv":        append([]string{hdr}, perp...),
			"ESTUSDT-fundingRate-2024.csv": {"calc_time,funding_interval_hours,last_funding_rate"},
		})
	}
	lastEstimate := func(dir string, opts replay.Options) exchange.Mark {
		var m exchange.Mark
		for _, ev := range collect(t, dir, opts) {
			if ev.Kind == exchange.EventMark {
				m = ev.Mark
			}
		}
		return m
	}
	for _, c := range []struct {
		name  string
		perp  []string
		hours int
		want  string
	}{
		{"P̄ = 0.1% → 0.05%", []string{"100.1", "100.1"}, 8, "0.0005"},
		{"P̄ = 0.03% → the 0.01% interest", []string{"100.03"}, 8, "0.0001"},
		{"P̄ = −0.06% → −0.01%", []string{"99.94"}, 8, "-0.0001"},
		{"P̄ = 0.08% on a 4h symbol → 0.015%", []string{"100.08"}, 4, "0.00015"},
		{"capped at 0.3%", []string{"101"}, 8, "0.003"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := lastEstimate(mk(c.perp), replay.Options{FundingHours: map[string]int{"ESTUSDT": c.hours}})
			if !m.EstimatedRate.Equal(d(c.want)) {
				t.Errorf("estimate %s, want %s", m.EstimatedRate, c.want)
			}
		})
	}
	// Weights 1..n: two bars (4 samples, the perp quotes at open and close; extremes take none) at premium
	// 0.1% then 0.2%: P̄ = (1·0.001 + 2·0.001 + 3·0.002 + 4·0.002)/10.
	m := lastEstimate(mk([]string{"100.1", "100.2"}), replay.Options{RateCaps: map[string]float64{"ESTUSDT": 0.01}})
	pbar := (3*0.001 + 7*0.002) / 10
	want := decimal.NewFromFloat(pbar - 0.0005).Round(8)
	if !m.EstimatedRate.Equal(want) {
		t.Errorf("weighted estimate %s, want %s", m.EstimatedRate, want)
	}
	if !m.NextFundingTime.Equal(t2024(8 * time.Hour)) {
		t.Errorf("next funding %s", m.NextFundingTime)
	}
}

// At one instant: spot quotes, then each perp quote with its mark, then funding; by symbol within a kind. A
// settlement exactly at a bar's open gets that open as its mark.
func TestSameInstantOrder(t *testing.T) {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	hdr := "open_time,open,high,low,close,volume"
	files := map[string][]string{}
	for _, s := range []string{"BBBUSDT", "AAAUSDT"} {
		files[s+"-spot-1h-x.csv"] = []string{hdr, fmt.Sprintf("%d,10,11,9,10.5,1", base)}
		files[s+"-perp-1h-x.csv"] = []string{hdr, fmt.Sprintf("%d,20,21,19,20.5,1", base)}
		files[s+"-fundingRate-x.csv"] = []string{"calc_time,funding_interval_hours,last_funding_rate", fmt.Sprintf("%d,8,0.0001", base)}
	}
	events := collect(t, writeFiles(t, files), replay.Options{})
	var got []string
	for _, ev := range events[:8] {
		got = append(got, fmt.Sprintf("%s/%s/%s", ev.Kind, ev.Venue, ev.Symbol))
		if ev.Kind == exchange.EventFunding && !ev.Funding.MarkPrice.Equal(d("20")) {
			t.Errorf("settlement at the bar's open: mark %s, want 20", ev.Funding.MarkPrice)
		}
	}
	want := "quote/spot/AAAUSDT quote/spot/BBBUSDT quote/futures/AAAUSDT mark/futures/AAAUSDT quote/futures/BBBUSDT mark/futures/BBBUSDT funding/futures/AAAUSDT funding/futures/BBBUSDT"
	if strings.Join(got, " ") != want {
		t.Errorf("order:\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
}

func TestRangeFilter(t *testing.T) {
	from, to := time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 3, 2, 8, 0, 0, 0, time.UTC)
	all := collect(t, shipped, shippedOptions())
	opts := shippedOptions()
	opts.From, opts.To = from, to
	part := collect(t, shipped, opts)
	var want []string
	for _, ev := range all {
		if !ev.Time.Before(from) && ev.Time.Before(to) {
			want = append(want, fmt.Sprintf("%+v", ev))
		}
	}
	if len(part) != len(want) || len(part) < 200 {
		t.Fatalf("%d events in range, want %d", len(part), len(want))
	}
	for i, ev := range part {
		if got := fmt.Sprintf("%+v", ev); got != want[i] {
			t.Fatalf("event %d:\n%s\nwant\n%s", i, got, want[i])
		}
	}
	// The perp file lacks 2021-03-01 00:00: the range opens with its suspend, and the 00:00 settlement's mark is
	// the close of 2021-02-28 23:00 (read before From).
	for _, ev := range part {
		if ev.Kind == exchange.EventFunding {
			if ev.Funding.MarkPrice.IsZero() {
				t.Fatalf("settlement without a mark: %s", describe(ev))
			}
			break
		}
	}
	opts.From, opts.To = to, from
	if _, err := replay.Open(shipped, opts); err == nil {
		t.Fatal("an empty range was accepted")
	}
}

// Binance archive files: no header, 12 columns, spot timestamps in microseconds, two monthly files per kind.
func TestArchiveLayout(t *testing.T) {
	events := collect(t, "testdata/archive", replay.Options{})
	var spot, perp, fund []exchange.Event
	for _, ev := range events {
		switch {
		case ev.Kind == exchange.EventQuote && ev.Venue == exchange.Spot:
			spot = append(spot, ev)
		case ev.Kind == exchange.EventQuote:
			perp = append(perp, ev)
		case ev.Kind == exchange.EventFunding:
			fund = append(fund, ev)
		case ev.Kind == exchange.EventSuspend && ev.Time.Before(time.Date(2024, 2, 1, 2, 0, 0, 0, time.UTC)):
			t.Errorf("suspend between consecutive monthly files: %s", describe(ev))
		}
	}
	if len(spot) != 8 || len(perp) != 8 || len(fund) != 2 {
		t.Fatalf("%d spot, %d perp quotes, %d settlements", len(spot), len(perp), len(fund))
	}
	start := time.Date(2024, 1, 31, 22, 0, 0, 0, time.UTC)
	for i, q := range spot { // hourly bars: open at +0, close at +45m
		want := start.Add(time.Duration(i/2)*time.Hour + time.Duration(i%2)*45*time.Minute)
		if !q.Time.Equal(want) {
			t.Fatalf("spot quote %d at %s, want %s (microsecond timestamps)", i, q.Time, want)
		}
	}
	if !spot[0].Quote.Bid.Equal(d("50")) || !spot[4].Quote.Bid.Equal(d("52")) || !spot[0].Quote.BidQty.Equal(d("1")) {
		t.Errorf("spot prices %s, %s, size %s", describe(spot[0]), describe(spot[4]), spot[0].Quote.BidQty)
	}
	if !perp[4].Time.Equal(time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)) || !perp[4].Quote.Bid.Equal(d("52.1")) {
		t.Errorf("perp %s", describe(perp[4]))
	}
	// 2024-02-01 00:00:00.005 settles on the open of the perp bar at 00:00.
	if !fund[1].Funding.MarkPrice.Equal(d("52.1")) || !fund[1].Funding.Rate.Equal(d("0.00012345")) {
		t.Errorf("settlement %s", describe(fund[1]))
	}
	if !fund[0].Funding.MarkPrice.IsZero() {
		t.Errorf("settlement before any perp price: %s", describe(fund[0]))
	}
}

func TestCorruptRowNamesFileAndLine(t *testing.T) {
	_, err := readAll("testdata/corrupt", replay.Options{})
	if err == nil {
		t.Fatal("a corrupt row was accepted")
	}
	for _, want := range []string{"BADUSDT-spot-1h-2024-01.csv line 4", "high", `"abc"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	hdr := "open_time,open,high,low,close,volume"
	ok := "1704067200000,10,11,9,10.5,1"
	funding := []string{"calc_time,funding_interval_hours,last_funding_rate", "1704067200000,8,0.0001"}
	for _, c := range []struct {
		name string
		spot []string
		fund []string
		want []string
	}{
		{"bar not after the previous", []string{hdr, ok, "1704070800000,10,11,9,10.5,1", ok}, funding, []string{"XUSDT-spot-1h-x.csv line 4", "not after"}},
		{"bars closer than the interval", []string{hdr, ok, "1704069000000,10,11,9,10.5,1"}, funding, []string{"line 3", "closer than the 1h0m0s interval"}},
		{"high below low", []string{hdr, ok, "1704070800000,10,8,9,10.5,1"}, funding, []string{"line 3", "inconsistent"}},
		{"missing columns", []string{hdr, "1704070800000,10,11"}, funding, []string{"line 2", "3 columns"}},
		{"negative price", []string{hdr, "1704070800000,-10,11,9,10,1"}, funding, []string{"line 2", "not positive"}},
		{"header without close", []string{"open_time,open,high,low,volume", ok}, funding, []string{"line 1", "no close column"}},
		{"bad funding rate", []string{hdr, ok}, []string{funding[0], "1704067200000,8,0.0001", "1704096000000,8,x"}, []string{"XUSDT-fundingRate-x.csv line 3", "last_funding_rate"}},
		{"funding as a percentage", []string{hdr, ok}, []string{funding[0], "1704067200000,8,1.5"}, []string{"line 2", "not a plausible rate"}},
		{"funding out of order", []string{hdr, ok}, []string{funding[0], "1704067200000,8,0.0001", "1704067200000,8,0.0001"}, []string{"line 3", "not after"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := writeFiles(t, map[string][]string{"XUSDT-spot-1h-x.csv": c.spot, "XUSDT-perp-1h-x.csv": {hdr, ok}, "XUSDT-fundingRate-x.csv": c.fund})
			_, err := readAll(dir, replay.Options{})
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestMissingFilesAreClearErrors(t *testing.T) {
	_, err := replay.Open("testdata/missing", replay.Options{Symbols: []string{"NOFUSDT"}})
	if err == nil || !strings.Contains(err.Error(), "NOFUSDT-fundingRate-*.csv") || !strings.Contains(err.Error(), "testdata/missing") {
		t.Errorf("missing funding file: %v", err)
	}
	_, err = replay.Open("testdata/gaps", replay.Options{Symbols: []string{"ETHUSDT"}})
	if err == nil || !strings.Contains(err.Error(), "ETHUSDT-spot-1h-*.csv") {
		t.Errorf("missing symbol: %v", err)
	}
	_, err = replay.Open("testdata/nowhere", replay.Options{})
	if err == nil || !strings.Contains(err.Error(), "testdata/nowhere") {
		t.Errorf("missing directory: %v", err)
	}
	_, err = replay.Open("testdata/gaps", replay.Options{Interval: "4h"})
	if err == nil || !strings.Contains(err.Error(), "GAPUSDT-spot-4h-*.csv") {
		t.Errorf("missing interval: %v", err)
	}
	_, err = replay.Open("testdata/gaps", replay.Options{Symbols: []string{"gap*"}})
	if err == nil {
		t.Error("a pattern as a symbol was accepted")
	}
	_, err = replay.Open("testdata/gaps", replay.Options{SpotSpread: d("1.5")})
	if err == nil {
		t.Error("a spread of 150% was accepted")
	}
}

// A byte order mark and CRLF line ends (files saved on Windows) are accepted.
func TestBOMAndCRLF(t *testing.T) {
	dir := writeFiles(t, map[string][]string{
		"WUSDT-spot-1h-x.csv":     {"\ufeff1704067200000,10,11,9,10.5,1\r", "1704070800000,10,11,9,10.5,1\r"},
		"WUSDT-perp-1h-x.csv":     {"\ufeffopen_time,open,high,low,close,volume\r", "1704067200000,10,11,9,10.5,1\r"},
		"WUSDT-fundingRate-x.csv": {"\ufeffcalc_time,funding_interval_hours,last_funding_rate\r", "1704067200001,8,0.0001\r"},
	})
	events := collect(t, dir, replay.Options{})
	n := 0
	for _, ev := range events {
		if ev.Kind == exchange.EventQuote || ev.Kind == exchange.EventFunding {
			n++
		}
	}
	if n != 7 { // 2 spot bars and 1 perp bar, two quotes each, and one settlement
		t.Fatalf("%d quotes and settlements, want 7", n)
	}
}

// Other intervals: 15-minute bars quote their open at +0 and their close at +11m15s.
func TestOtherIntervals(t *testing.T) {
	hdr := "open_time,open,high,low,close,volume"
	base := int64(1704067200000)
	var rows []string
	for i := range 3 {
		rows = append(rows, fmt.Sprintf("%d,10,11,9,10.5,1", base+int64(i)*900_000))
	}
	dir := writeFiles(t, map[string][]string{
		"QUSDT-spot-15m-x.csv": append([]string{hdr}, rows...), "QUSDT-perp-15m-x.csv": append([]string{hdr}, rows...),
		"QUSDT-fundingRate-x.csv": {"calc_time,funding_interval_hours,last_funding_rate"},
	})
	events := collect(t, dir, replay.Options{})
	var times []string
	for _, ev := range events {
		if ev.Kind == exchange.EventQuote && ev.Venue == exchange.Spot {
			times = append(times, ev.Time.Format("15:04:05"))
		}
		if ev.Kind == exchange.EventSuspend && ev.Time.Before(t2024(45*time.Minute)) {
			t.Errorf("gap reported between consecutive 15m bars: %s", describe(ev))
		}
	}
	if got := strings.Join(times[:5], " "); got != "00:00:00 00:11:15 00:15:00 00:26:15 00:30:00" {
		t.Errorf("points %s", got)
	}
}

func TestCoverageOfTheShippedData(t *testing.T) {
	from, to, err := replay.Coverage("../../testdata/binance", replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The later first bar (both start 2020-10-07 18:00) and the end of the earlier last bar (both end with
	// the 2022-12-30 23:00 bar).
	if !from.Equal(time.Date(2020, 10, 7, 18, 0, 0, 0, time.UTC)) || !to.Equal(time.Date(2022, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("coverage %s → %s", from, to)
	}
	if _, _, err := replay.Coverage(t.TempDir(), replay.Options{}); err == nil {
		t.Fatal("a directory without klines has no coverage")
	}
}

// Read into one reused event (as the engine's loop does) must give exactly Next's events, and the same
// ending: the shipped data to io.EOF, the gaps fixture (suspend/resume), a corrupt file to its error, a range
// that skips rows. A field Read forgot to overwrite would show up from the event before.
func TestReadEqualsNext(t *testing.T) {
	from := time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		dir  string
		opts replay.Options
	}{
		{"shipped", shipped, shippedOptions()},
		{"range", shipped, replay.Options{Symbols: []string{"BTCUSDT"}, From: from, To: from.Add(72 * time.Hour)}},
		{"gaps", "testdata/gaps", replay.Options{}},
		{"corrupt", "testdata/corrupt", replay.Options{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			want, wantErr := readAll(c.dir, c.opts)
			f, err := replay.Open(c.dir, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			ev := exchange.Event{Kind: exchange.EventFunding, Symbol: "DIRTY", Venue: exchange.Margin, Time: from,
				Quote: exchange.Quote{Bid: d("1"), Ask: d("2")}, Mark: exchange.Mark{Mark: d("3"), Index: d("4")},
				Funding: exchange.FundingRate{Rate: d("0.5"), IntervalHours: 3}}
			n := 0
			for ; ; n++ {
				err := f.Read(context.Background(), &ev)
				if err != nil {
					if wantErr == nil && !errors.Is(err, io.EOF) || wantErr != nil && err.Error() != wantErr.Error() {
						t.Fatalf("Read ended with %v after %d events, Next with %v", err, n, wantErr)
					}
					if !reflect.DeepEqual(ev, exchange.Event{}) {
						t.Errorf("Read left %s in the event with its error", describe(ev))
					}
					if err2 := f.Read(context.Background(), &ev); err2 == nil || err2.Error() != err.Error() {
						t.Errorf("the next Read returned %v, want the error again", err2)
					}
					break
				}
				if n >= len(want) {
					t.Fatalf("Read returned more than Next's %d events: %s", len(want), describe(ev))
				}
				if !reflect.DeepEqual(ev, want[n]) {
					t.Fatalf("event %d: Read %s, Next %s", n, describe(ev), describe(want[n]))
				}
				ev.Symbol, ev.Funding.IntervalHours, ev.Quote.BidQty = "DIRTY", 5, d("9") // what Read must overwrite
			}
			if n != len(want) || n == 0 {
				t.Errorf("Read returned %d events, Next %d", n, len(want))
			}
		})
	}
}

// Next and Read cost no allocation per event (decimals come from slabs, a row's fields from a reused buffer):
// a value that escaped to the heap once per event would show here.
func TestNextAndReadDoNotAllocatePerEvent(t *testing.T) {
	f, err := replay.Open(shipped, shippedOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	var ev exchange.Event
	for range 5000 { // past the first days, whose estimator and history warm up
		if _, err := f.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for name, step := range map[string]func(){
		"Next": func() {
			if _, err := f.Next(ctx); err != nil {
				t.Fatal(err)
			}
		},
		"Read": func() {
			if err := f.Read(ctx, &ev); err != nil {
				t.Fatal(err)
			}
		},
	} {
		if n := testing.AllocsPerRun(20000, step); n > 0.5 {
			t.Errorf("%s: %.2f allocations per event", name, n)
		}
	}
}

// TestZeroVolumeBarIsMissing: an hour bar without a trade repeats the last price (an outage); it is replayed as
// missing — a suspend where it starts, no quote in it, a resume at the next traded bar, one gap with the
// missing bar after it — and at the end of the data the market goes dark after the last traded bar.
func TestZeroVolumeBarIsMissing(t *testing.T) {
	hour := int64(3600_000)
	t0 := t2024(0).UnixMilli()
	bar := func(i int64, price, vol string) string {
		return fmt.Sprintf("%d,%s,%s,%s,%s,%s,%d", t0+i*hour, price, price, price, price, vol, t0+(i+1)*hour-1)
	}
	hdr := "open_time,open,high,low,close,volume,close_time"
	dir := writeFiles(t, map[string][]string{
		// spot: bar 2 has no trade, bar 3 is missing, bar 5 (the last) has no trade
		"ZUSDT-spot-1h-2024-01.csv": {hdr, bar(0, "100", "1"), bar(1, "101", "1"), bar(2, "101", "0"), bar(4, "104", "2"), bar(5, "104", "0.0")},
		"ZUSDT-perp-1h-2024-01.csv": {hdr, bar(0, "100", "1"), bar(1, "101", "1"), bar(2, "102", "1"), bar(3, "103", "1"), bar(4, "104", "1"), bar(5, "105", "1")},
		"ZUSDT-fundingRate-2024-01.csv": {"calc_time,funding_interval_hours,last_funding_rate",
			fmt.Sprintf("%d,8,0.0001", t0)},
	})
	f, err := replay.Open(dir, replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	var spot []exchange.Event
	for _, ev := range drain(t, f) {
		lines = append(lines, describe(ev))
		if ev.Venue == exchange.Spot {
			spot = append(spot, ev)
		}
	}
	text := strings.Join(lines, "\n")
	h := time.Hour
	want := []struct {
		kind exchange.EventKind
		at   time.Time
	}{
		{exchange.EventQuote, t2024(0)}, {exchange.EventQuote, t2024(45 * time.Minute)},
		{exchange.EventQuote, t2024(h)}, {exchange.EventQuote, t2024(h + 45*time.Minute)},
		{exchange.EventSuspend, t2024(2 * h)},               // the bar without trades starts the gap
		{exchange.EventResume, t2024(4*h + 45*time.Minute)}, // at the close of the bar after the gap
		{exchange.EventQuote, t2024(4*h + 45*time.Minute)},
		{exchange.EventSuspend, t2024(5 * h)}, // the last bar has no trade: dark from there
	}
	if len(spot) != len(want) {
		t.Fatalf("%d spot events, want %d:\n%s", len(spot), len(want), text)
	}
	for i, w := range want {
		if spot[i].Kind != w.kind || !spot[i].Time.Equal(w.at) {
			t.Fatalf("spot event %d is %s, want %s at %s:\n%s", i, describe(spot[i]), w.kind, w.at.Format("15:04"), text)
		}
	}
	gaps := f.Gaps()
	if len(gaps) != 1 || gaps[0].Market != "spot klines" || !gaps[0].From.Equal(t2024(2*h)) || !gaps[0].To.Equal(t2024(4*h)) {
		t.Fatalf("gaps %+v, want one spot gap 02:00 → 04:00", gaps)
	}
	if s, p := f.Quotes(); s != 5 || p != 12 {
		t.Fatalf("quotes: %d spot, %d perp; want 5 and 12", s, p)
	}

	// 15-minute bars: a quarter without a trade is routine in a thin market; the bar keeps the last price.
	q := int64(900_000)
	bar15 := func(i int64, vol string) string {
		return fmt.Sprintf("%d,100,100,100,100,%s,%d", t0+i*q, vol, t0+(i+1)*q-1)
	}
	dir = writeFiles(t, map[string][]string{
		"ZUSDT-spot-15m-2024-01.csv": {hdr, bar15(0, "1"), bar15(1, "0"), bar15(2, "1")},
		"ZUSDT-perp-15m-2024-01.csv": {hdr, bar15(0, "1"), bar15(1, "1"), bar15(2, "1")},
		"ZUSDT-fundingRate-2024-01.csv": {"calc_time,funding_interval_hours,last_funding_rate",
			fmt.Sprintf("%d,8,0.0001", t0)},
	})
	g, err := replay.Open(dir, replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	drain(t, g)
	if s, _ := g.Quotes(); s != 6 || len(g.Gaps()) != 0 {
		t.Fatalf("15m: %d spot quotes and gaps %+v; want 6 and none", s, g.Gaps())
	}
}

// TestSettlementAfterAPerpGap: the perp comes back from a gap at its first bar's close, but a settlement at
// that bar's open is still paid at the open (the mark rule), not at the close from before the gap.
func TestSettlementAfterAPerpGap(t *testing.T) {
	hour := int64(3600_000)
	t0 := t2024(0).UnixMilli()
	bar := func(i int64, open, cl string) string {
		hi, lo := open, cl
		if cl > open {
			hi, lo = cl, open
		}
		return fmt.Sprintf("%d,%s,%s,%s,%s,1,%d", t0+i*hour, open, hi, lo, cl, t0+(i+1)*hour-1)
	}
	hdr := "open_time,open,high,low,close,volume,close_time"
	dir := writeFiles(t, map[string][]string{
		"ZUSDT-spot-1h-2024-01.csv": {hdr, bar(0, "100", "101"), bar(1, "101", "102"), bar(2, "102", "103"), bar(3, "103", "104")},
		"ZUSDT-perp-1h-2024-01.csv": {hdr, bar(0, "100", "101"), bar(1, "101", "102"), bar(3, "107", "108")}, // 02:00 missing
		"ZUSDT-fundingRate-2024-01.csv": {"calc_time,funding_interval_hours,last_funding_rate",
			fmt.Sprintf("%d,1,0.0001", t0+3*hour+2)}, // at 03:00, the open of the bar after the gap
	})
	var mark decimal.Decimal
	var perpQuotes []time.Time
	for _, ev := range collect(t, dir, replay.Options{}) {
		switch {
		case ev.Kind.String() == "unknown": // the feed's own settle-mark step is read, never emitted
			t.Fatalf("an event of kind %d at %s", ev.Kind, ev.Time)
		case ev.Kind == exchange.EventFunding:
			mark = ev.Funding.MarkPrice
		case ev.Kind == exchange.EventQuote && ev.Venue == exchange.Futures:
			perpQuotes = append(perpQuotes, ev.Time)
		}
	}
	if !mark.Equal(d("107")) {
		t.Fatalf("the 03:00 settlement is paid at mark %s, want the 03:00 bar's open 107", mark)
	}
	if n := len(perpQuotes); n != 5 || !perpQuotes[n-1].Equal(t2024(3*time.Hour+45*time.Minute)) {
		t.Fatalf("perp quotes at %v: want 4 before the gap and the 03:00 bar's close only", perpQuotes)
	}
}
