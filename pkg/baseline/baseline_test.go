package baseline_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/baseline"
	"github.com/carry-trading/carry/pkg/replay"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

const dataDir = "../../testdata/binance"

// perpBars reads the perp CSV: open time (ms) → open and close.
func perpBars(t *testing.T) (opens, closes map[int64]decimal.Decimal, times []int64) {
	t.Helper()
	f, err := os.Open(dataDir + "/BTCUSDT-perp-1h-2020-10-2022-12.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	opens, closes = map[int64]decimal.Decimal{}, map[int64]decimal.Decimal{}
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		c := strings.Split(sc.Text(), ",")
		ms, _ := strconv.ParseInt(c[0], 10, 64)
		opens[ms], closes[ms] = d(c[1]), d(c[4])
		times = append(times, ms)
	}
	return opens, closes, times
}

// handFunding computes, from the CSV files alone, what a constant short of qty held over [from, to)
// receives: Σ qty × mark × rate, the mark being the open of the perp bar of the settlement hour when that
// bar exists, else the close of the latest earlier bar (the replay's documented mark rule).
func handFunding(t *testing.T, qty decimal.Decimal, from, to time.Time) (decimal.Decimal, int) {
	t.Helper()
	opens, closes, times := perpBars(t)
	f, err := os.Open(dataDir + "/BTCUSDT-fundingRate-2020-01-2023-12.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum, n := decimal.Zero, 0
	sc := bufio.NewScanner(f)
	sc.Scan()
	for sc.Scan() {
		c := strings.Split(sc.Text(), ",")
		ms, _ := strconv.ParseInt(c[0], 10, 64)
		at := time.UnixMilli(ms)
		if at.Before(from) || !at.Before(to) {
			continue
		}
		hour := ms - ms%3_600_000
		mark, ok := opens[hour]
		if !ok {
			for i := len(times) - 1; i >= 0; i-- {
				if times[i] < hour {
					mark = closes[times[i]]
					break
				}
			}
		}
		sum = sum.Add(qty.Mul(mark).Mul(d(c[2])))
		n++
	}
	return sum, n
}

func TestStaticHedgeFundingMatchesTheCSV(t *testing.T) {
	from, to := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	spot := exchange.Instrument{Venue: exchange.Spot, Symbol: "BTCUSDT", Base: "BTC", Quote: "USDT", Trading: true,
		TickSize: d("0.01"), StepSize: d("0.00001"), MinQty: d("0.00001"), MinNotional: d("5"), MinNotionalMarket: true}
	perp := exchange.Instrument{Venue: exchange.Futures, Symbol: "BTCUSDT", Base: "BTC", Quote: "USDT", Trading: true,
		TickSize: d("0.1"), StepSize: d("0.001"), MinQty: d("0.001"), MinNotional: d("5")}
	feed, err := replay.Open(dataDir, replay.Options{Symbols: []string{"BTCUSDT"}, From: from, To: to, SpotSpread: d("0.0001"), PerpSpread: d("0.0001"),
		SpotTicks: map[string]decimal.Decimal{"BTCUSDT": spot.TickSize}, PerpTicks: map[string]decimal.Decimal{"BTCUSDT": perp.TickSize}})
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()
	res, err := baseline.Run(context.Background(), feed, baseline.Config{Symbol: "BTCUSDT", Base: "BTC", Quote: "USDT",
		Capital: d("100000"), Deploy: d("90000"), Leverage: 2, Spot: spot, Perp: perp, SpotFee: d("0.001"), PerpFee: d("0.0005")})
	if err != nil {
		t.Fatal(err)
	}
	// The perp file lacks the 00:00 bar on the 1st of each month, and a market comes back from a gap at its
	// first bar's close: the first moment both markets quote is 01:45, after the year's first settlement.
	if !res.Opened.Equal(from.Add(time.Hour+45*time.Minute)) || !res.Qty.IsPositive() {
		t.Fatalf("opened at %s with %s", res.Opened, res.Qty)
	}
	hand, n := handFunding(t, res.Qty, res.Opened, to)
	if n != 1094 {
		t.Fatalf("%d settlements in 2021 after the open, want 1094", n)
	}
	diff := res.Funding.Sub(hand).Abs()
	if diff.GreaterThan(hand.Abs().Mul(d("0.005"))) {
		t.Fatalf("baseline funding %s, hand computation %s: off by more than 0.5%%", res.Funding, hand)
	}
	if !diff.IsZero() {
		t.Logf("baseline %s vs hand %s (difference %s)", res.Funding, hand, diff)
	}
	// The book adds up: final equity − capital = funding − fees + basis, and the fees are the entry's (it is
	// held, and valued at the mids, at the end).
	last := res.Book.Samples[len(res.Book.Samples)-1]
	if !last.Equity.Sub(res.Book.Capital).Equal(last.Funding.Sub(last.Fees).Add(last.BasisPnL)) {
		t.Fatalf("equity %s does not add up: funding %s fees %s basis %s", last.Equity, last.Funding, last.Fees, last.BasisPnL)
	}
	notional := res.Qty.Mul(d("29000")) // BTC at the start of 2021
	if last.Fees.LessThan(notional.Mul(d("0.0014"))) || last.Fees.GreaterThan(notional.Mul(d("0.0016"))) {
		t.Fatalf("entry fees %s are not 0.1%% spot + 0.05%% perp of %s BTC", last.Fees, res.Qty)
	}
	if len(res.Book.Markers) != 1 || res.Book.Markers[0].Kind != "open" || !last.Notional.IsPositive() {
		t.Fatalf("markers %+v, final notional %s: want the pair held to the end", res.Book.Markers, last.Notional)
	}
}

// events is a Source of prepared events.
type events []exchange.Event

func (e *events) Next(context.Context) (exchange.Event, error) {
	if len(*e) == 0 {
		return exchange.Event{}, io.EOF
	}
	ev := (*e)[0]
	*e = (*e)[1:]
	return ev, nil
}

// TestGapValuationWhenThePerpListsLater: 15-minute data, no fees. Spot quotes from 00:00 at 100; the perp
// first quotes at 02:15 at 100 (the pair opens) and goes dark at 02:30, until the data ends; spot then moves
// to 110. No sample ever had both markets trading, so the legs are valued at the quotes of the opening (100
// and 100), and the equity stays the capital: never the short valued against a zero price, nor the live
// spot against the stale perp (that would invent qty × 10 of basis PnL).
func TestGapValuationWhenThePerpListsLater(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	quote := func(v exchange.Venue, at time.Time, px string) exchange.Event {
		return exchange.Event{Kind: exchange.EventQuote, Venue: v, Symbol: "XUSDT", Time: at,
			Quote: exchange.Quote{Venue: v, Symbol: "XUSDT", Bid: d(px), Ask: d(px), BidQty: d("1"), AskQty: d("1"), Time: at}}
	}
	var src events
	for m := 0; m <= 4*60+15; m += 15 {
		at := t0.Add(time.Duration(m) * time.Minute)
		px := "100"
		if m > 150 {
			px = "110"
		}
		src = append(src, quote(exchange.Spot, at, px))
		if m == 135 {
			src = append(src, quote(exchange.Futures, at, "100"))
		}
		if m == 150 {
			src = append(src, exchange.Event{Kind: exchange.EventSuspend, Venue: exchange.Futures, Symbol: "XUSDT", Time: at})
		}
	}
	inst := func(v exchange.Venue) exchange.Instrument {
		return exchange.Instrument{Venue: v, Symbol: "XUSDT", Base: "X", Quote: "USDT", Trading: true, TickSize: d("0.01"),
			StepSize: d("0.001"), MinQty: d("0.001"), MinNotional: d("5")}
	}
	res, err := baseline.Run(context.Background(), &src, baseline.Config{Symbol: "XUSDT", Base: "X", Quote: "USDT",
		Capital: d("10000"), Deploy: d("9000"), Leverage: 2, Spot: inst(exchange.Spot), Perp: inst(exchange.Futures),
		SpotFee: d("0"), PerpFee: d("0")})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Qty.IsPositive() || res.Opened.Sub(t0) != 135*time.Minute {
		t.Fatalf("opened %s with %s, want at 02:15", res.Opened, res.Qty)
	}
	for _, s := range res.Book.Samples {
		if s.Time.After(res.Opened) && !s.Equity.Equal(d("10000")) {
			t.Errorf("%s: equity %s, want the capital 10000 (nothing moved)", s.Time.Format("15:04"), s.Equity)
		}
	}
}
