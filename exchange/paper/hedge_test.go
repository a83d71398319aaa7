package paper_test

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/paper"
	"github.com/carry-trading/carry/pkg/clock"
	"github.com/carry-trading/carry/pkg/replay"
)

const shipped = "../../testdata/binance"

func replayOptions() replay.Options {
	return replay.Options{SpotSpread: d("0.0001"), PerpSpread: d("0.0001"),
		SpotTicks: map[string]decimal.Decimal{"BTCUSDT": d("0.01")}, PerpTicks: map[string]decimal.Decimal{"BTCUSDT": d("0.1")}}
}

// TestStaticHedgeThrough2021 holds 1 BTC spot against a 1 BTC perp short through 2021 on the shipped data and
// checks the venue's funding against an independent computation from the CSV files, and both wallets to the
// last decimal.
func TestStaticHedgeThrough2021(t *testing.T) {
	ctx := context.Background()
	from, to := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	opts := replayOptions()
	opts.From, opts.To = from, to
	feed, err := replay.Open(shipped, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()
	cfg := config()
	cfg.Slippage = d("0.0001")
	cfg.InitialBalances = map[exchange.Venue]map[string]decimal.Decimal{exchange.Spot: {"USDT": d("100000")}}
	clk := clock.NewSim(from)
	v, err := paper.New(ctx, cfg, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	const margin = "60000"
	var spotFill, perpFill exchange.Fill
	var openedAt time.Time
	events := 0
	for {
		ev, err := feed.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		events++
		clk.Set(ev.Time)
		v.Apply(&ev)
		if openedAt.IsZero() && ev.Kind == exchange.EventMark {
			if _, err := v.Transfer(ctx, exchange.TransferRequest{Kind: exchange.SpotToFutures, Asset: "USDT", Amount: d(margin)}); err != nil {
				t.Fatal(err)
			}
			s := place(t, v, market("hedge-spot", exchange.Spot, "BTCUSDT", exchange.Buy, "1"))
			p := place(t, v, market("hedge-perp", exchange.Futures, "BTCUSDT", exchange.Sell, "1"))
			spotFill, perpFill, openedAt = s.Fills[0], p.Fills[0], ev.Time
		}
	}
	if openedAt.IsZero() {
		t.Fatal("never opened")
	}
	t.Logf("%d events; opened at %s: spot %s, perp %s", events, openedAt, spotFill.Price, perpFill.Price)

	// Independent funding: Σ over the 2021 settlements (from the opening on) of 1 × mark × rate, the mark by
	// the documented rule, read from the CSV files here.
	bars := readPerpBars(t, shipped+"/BTCUSDT-perp-1h-2020-10-2022-12.csv")
	want, n := decimal.Zero, 0
	wantByID := map[string]decimal.Decimal{}
	for _, r := range readFunding(t, shipped+"/BTCUSDT-fundingRate-2020-01-2023-12.csv") {
		if r.at.Before(openedAt) || !r.at.Before(to) {
			continue
		}
		m := markAt(t, bars, r.at)
		amt := d("1").Mul(m).Mul(r.rate).Round(8) // short 1: receives mark × rate, booked to 8 places as Binance does
		want = want.Add(amt)
		wantByID[paper.FundingTranID("BTCUSDT", r.at)] = amt
		n++
	}
	pays, err := v.FundingPayments(ctx, "BTCUSDT", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	got := decimal.Zero
	for _, p := range pays {
		got = got.Add(p.Amount)
		if w, ok := wantByID[p.TranID]; !ok || !w.Equal(p.Amount) {
			t.Errorf("payment %s = %s (mark %s, rate %s), want %s", p.TranID, p.Amount, p.MarkPrice, p.Rate, w)
		}
	}
	if len(pays) != n || n < 1090 {
		t.Fatalf("%d payments, want %d (one per settlement of 2021)", len(pays), n)
	}
	eq(t, "Σ funding", got, want)
	t.Logf("%d settlements, funding received %s USDT", n, got.StringFixed(4))

	// Wallets.
	spotUSDT := d("100000").Sub(d(margin)).Sub(spotFill.Qty.Mul(spotFill.Price))
	eq(t, "spot USDT", balance(t, v, exchange.Spot, "USDT").Free, spotUSDT)
	eq(t, "spot BTC", balance(t, v, exchange.Spot, "BTC").Free, spotFill.Qty.Sub(spotFill.Fee))
	if spotFill.FeeAsset != "BTC" {
		t.Errorf("spot fee asset %s", spotFill.FeeAsset)
	}
	futUSDT := d(margin).Sub(perpFill.Fee).Add(want).Add(perpFill.RealizedPnL)
	eq(t, "futures USDT", balance(t, v, exchange.Futures, "USDT").Free, futUSDT)
	acct, _ := v.FuturesAccount(ctx)
	eq(t, "futures wallet", acct.WalletBalance, futUSDT)
	if l := v.Liquidations(); len(l) != 0 {
		t.Fatalf("liquidated: %+v", l)
	}
	ps, _ := v.Positions(ctx)
	if len(ps) != 1 || !ps[0].Qty.Equal(d("-1")) {
		t.Fatalf("positions %+v", ps)
	}
}

type perpBar struct {
	open        time.Time
	openP, clsP decimal.Decimal
}

type fundingRow struct {
	at   time.Time
	rate decimal.Decimal
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows[1:] // header
}

func readPerpBars(t *testing.T, path string) []perpBar {
	var out []perpBar
	for _, r := range readCSV(t, path) {
		ms, err := strconv.ParseInt(r[0], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, perpBar{open: time.UnixMilli(ms).UTC(), openP: d(r[1]), clsP: d(r[4])})
	}
	return out
}

func readFunding(t *testing.T, path string) []fundingRow {
	var out []fundingRow
	for _, r := range readCSV(t, path) {
		ms, err := strconv.ParseInt(r[0], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fundingRow{at: time.UnixMilli(ms).UTC(), rate: d(r[2])})
	}
	return out
}

// markAt applies the replay's documented mark rule: the open of the perp bar with the greatest open time not
// after the settlement, when the settlement falls in that bar's first quarter; else that bar's close (the
// bar at the settlement's hour is missing, so the latest bar is an earlier one).
func markAt(t *testing.T, bars []perpBar, at time.Time) decimal.Decimal {
	i := sort.Search(len(bars), func(i int) bool { return bars[i].open.After(at) }) - 1
	if i < 0 {
		return decimal.Zero
	}
	b := bars[i]
	switch since := at.Sub(b.open); {
	case since < 15*time.Minute:
		return b.openP
	case since >= 45*time.Minute:
		return b.clsP
	default:
		t.Fatalf("settlement %s falls inside the bar at %s", at, b.open)
		return decimal.Zero
	}
}
