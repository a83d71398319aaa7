package binance_test

import (
	"context"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance"
	"github.com/carry-trading/carry/exchange/binance/fakebinance"
)

// nextWhere reads feed events until match holds, failing after within. Every event read is passed to
// seen (if not nil), so a test can also assert what must not happen on the way.
func nextWhere(t *testing.T, f *binance.Feed, within time.Duration, what string, seen func(exchange.Event), match func(exchange.Event) bool) exchange.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		ev, err := f.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if seen != nil {
			seen(ev)
		}
		if match(ev) {
			return ev
		}
	}
}

func is(kind exchange.EventKind, v exchange.Venue, symbol string) func(exchange.Event) bool {
	return func(ev exchange.Event) bool { return ev.Kind == kind && ev.Venue == v && ev.Symbol == symbol }
}

func TestFeedQuotesMarksAndSettlements(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{})
	c := newClient(t, fakeConfig(srv))
	ctx := ctxT(t, 30*time.Second)
	f, err := c.MarketFeed(ctx, []string{"BTCUSDT", "ethusdt"})
	must(t, err)
	defer f.Close()

	// The REST snapshot comes first: both legs of both symbols and the marks.
	want := map[string]bool{}
	for i := 0; i < 6; i++ {
		ev, err := f.Next(ctx)
		must(t, err)
		want[ev.Kind.String()+"/"+string(ev.Venue)+"/"+ev.Symbol] = true
	}
	for _, k := range []string{"quote/spot/BTCUSDT", "quote/futures/BTCUSDT", "mark/futures/BTCUSDT", "quote/spot/ETHUSDT", "quote/futures/ETHUSDT", "mark/futures/ETHUSDT"} {
		if !want[k] {
			t.Errorf("snapshot lacks %s (got %v)", k, want)
		}
	}

	// A book change arrives as a quote from the stream.
	must(t, srv.SetBook(exchange.Spot, "BTCUSDT", d("60100"), d("1.5"), d("60100.5"), d("0.7")))
	ev := nextWhere(t, f, 5*time.Second, "the new spot quote", nil, func(ev exchange.Event) bool {
		return is(exchange.EventQuote, exchange.Spot, "BTCUSDT")(ev) && ev.Quote.Bid.Equal(d("60100"))
	})
	eq(t, "ask", ev.Quote.Ask, d("60100.5"))
	eq(t, "ask qty", ev.Quote.AskQty, d("0.7"))
	must(t, srv.SetBook(exchange.Futures, "ETHUSDT", d("3100"), d("9"), d("3100.5"), d("8")))
	nextWhere(t, f, 5*time.Second, "the new perp quote", nil, func(ev exchange.Event) bool {
		return is(exchange.EventQuote, exchange.Futures, "ETHUSDT")(ev) && ev.Quote.Ask.Equal(d("3100.5")) && ev.Quote.BidQty.Equal(d("9"))
	})

	// Mark price @1s with the running estimate.
	must(t, srv.SetMark("BTCUSDT", d("60200"), d("60190"), d("0.00015"), time.Time{}))
	ev = nextWhere(t, f, 5*time.Second, "the new mark", nil, func(ev exchange.Event) bool {
		return is(exchange.EventMark, exchange.Futures, "BTCUSDT")(ev) && ev.Mark.EstimatedRate.Equal(d("0.00015"))
	})
	eq(t, "mark", ev.Mark.Mark, d("60200"))
	eq(t, "index", ev.Mark.Index, d("60190"))
	if ev.Mark.NextFundingTime.Before(time.Now()) {
		t.Errorf("next funding %s is in the past", ev.Mark.NextFundingTime)
	}

	// A settlement: nextFundingTime rolls; the settled rate and mark come from /fapi/v1/fundingRate.
	s, err := srv.Settle("BTCUSDT", d("0.00012"), d("61000"))
	must(t, err)
	ev = nextWhere(t, f, 5*time.Second, "the settlement", nil, is(exchange.EventFunding, exchange.Futures, "BTCUSDT"))
	eq(t, "settled rate", ev.Funding.Rate, d("0.00012"))
	eq(t, "settled mark", ev.Funding.MarkPrice, d("61000"))
	if !ev.Time.Equal(time.UnixMilli(s.FundingTime)) || ev.Funding.IntervalHours != 8 || ev.Funding.Symbol != "BTCUSDT" {
		t.Errorf("funding event %+v (settled at %d)", ev, s.FundingTime)
	}

	// When Binance has not published the settled rate in time, the last estimate is reported.
	must(t, srv.SetMark("BTCUSDT", d("62000"), d("62000"), d("0.0003"), time.Time{}))
	nextWhere(t, f, 5*time.Second, "the mark with the new estimate", nil, func(ev exchange.Event) bool {
		return is(exchange.EventMark, exchange.Futures, "BTCUSDT")(ev) && ev.Mark.EstimatedRate.Equal(d("0.0003"))
	})
	must(t, srv.InjectFault(fakebinance.Fault{Kind: fakebinance.FaultStatus, Path: "/fapi/v1/fundingRate", Status: 503}))
	_, err = srv.Settle("BTCUSDT", d("0.0009"), d("62000"))
	must(t, err)
	ev = nextWhere(t, f, 5*time.Second, "the estimated settlement", nil, is(exchange.EventFunding, exchange.Futures, "BTCUSDT"))
	eq(t, "fallback rate (the estimate)", ev.Funding.Rate, d("0.0003"))
	eq(t, "fallback mark", ev.Funding.MarkPrice, d("62000"))
	if !ev.Time.Equal(time.UnixMilli(s.NextFunding)) {
		t.Errorf("fallback time %s, want the scheduled %s", ev.Time, time.UnixMilli(s.NextFunding))
	}
	srv.ClearFaults()
}

func TestFeedReconnectsAfterADrop(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{})
	c := newClient(t, fakeConfig(srv))
	ctx := ctxT(t, 30*time.Second)
	f, err := c.MarketFeed(ctx, []string{"BTCUSDT"})
	must(t, err)
	defer f.Close()
	nextWhere(t, f, 5*time.Second, "a streamed spot quote", nil, is(exchange.EventQuote, exchange.Spot, "BTCUSDT"))
	eventually(t, 5*time.Second, "three stream connections", func() bool {
		return srv.WSConnections(fakebinance.WSSpot) == 1 && srv.WSConnections(fakebinance.WSFuturesPublic) == 1 && srv.WSConnections(fakebinance.WSFuturesMarket) == 1
	})
	rest := len(srv.Requests("/api/v3/ticker/bookTicker"))

	srv.DropWS(fakebinance.WSSpot)
	futuresTouched := false
	watch := func(ev exchange.Event) {
		if ev.Venue == exchange.Futures && (ev.Kind == exchange.EventSuspend || ev.Kind == exchange.EventResume) {
			futuresTouched = true
		}
	}
	sus := nextWhere(t, f, 5*time.Second, "the spot suspend", watch, is(exchange.EventSuspend, exchange.Spot, "BTCUSDT"))
	// Prices changed while the stream was down: the resync must bring them.
	must(t, srv.SetBook(exchange.Spot, "BTCUSDT", d("59000"), d("1"), d("59000.5"), d("1")))
	res := nextWhere(t, f, 5*time.Second, "the spot resume", watch, is(exchange.EventResume, exchange.Spot, "BTCUSDT"))
	if res.Time.Before(sus.Time) {
		t.Error("resume before suspend")
	}
	ev := nextWhere(t, f, 5*time.Second, "a fresh quote after the resume", watch, is(exchange.EventQuote, exchange.Spot, "BTCUSDT"))
	eq(t, "bid after the gap", ev.Quote.Bid, d("59000"))
	if len(srv.Requests("/api/v3/ticker/bookTicker")) <= rest {
		t.Error("no REST resync of the spot quote after the gap")
	}
	if futuresTouched {
		t.Error("a spot drop suspended futures markets")
	}
	eventually(t, 5*time.Second, "the spot stream back", func() bool { return srv.WSConnections(fakebinance.WSSpot) == 1 })

	// A refused reconnect keeps the market suspended until the stream can be dialled again.
	srv.RefuseWS(true, fakebinance.WSFuturesPublic)
	srv.DropWS(fakebinance.WSFuturesPublic)
	nextWhere(t, f, 5*time.Second, "the futures suspend", nil, is(exchange.EventSuspend, exchange.Futures, "BTCUSDT"))
	refusedAt := time.Now()
	srv.RefuseWS(false, fakebinance.WSFuturesPublic)
	nextWhere(t, f, 5*time.Second, "the futures resume", func(ev exchange.Event) {
		if is(exchange.EventSuspend, exchange.Futures, "BTCUSDT")(ev) {
			t.Error("suspended twice for one outage")
		}
	}, is(exchange.EventResume, exchange.Futures, "BTCUSDT"))
	_ = refusedAt
}

func TestFeedWatchdogReconnectsASilentStream(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{})
	cfg := fakeConfig(srv)
	cfg.WSSilence = 300 * time.Millisecond
	c := newClient(t, cfg)
	ctx := ctxT(t, 30*time.Second)
	f, err := c.MarketFeed(ctx, []string{"BTCUSDT"})
	must(t, err)
	defer f.Close()
	nextWhere(t, f, 5*time.Second, "a streamed mark", nil, is(exchange.EventMark, exchange.Futures, "BTCUSDT"))
	marks := len(srv.Requests("/fapi/v1/premiumIndex"))

	// The connection stays open but nothing arrives: only the watchdog can notice.
	silencedAt := time.Now()
	srv.SilenceWS(true, fakebinance.WSFuturesMarket)
	sus := nextWhere(t, f, 5*time.Second, "the suspend from the watchdog", nil, is(exchange.EventSuspend, exchange.Futures, "BTCUSDT"))
	if el := sus.Time.Sub(silencedAt); el < 250*time.Millisecond {
		t.Errorf("suspended %s after the silence began, before the 300ms threshold", el)
	}
	if srv.WSConnections(fakebinance.WSFuturesMarket) > 1 {
		t.Error("the silent connection was not closed")
	}
	must(t, srv.SetMark("BTCUSDT", d("58000"), d("58000"), d("0.0002"), time.Time{}))
	// The watchdog keeps cycling reconnections that stay silent; none of them resumes the market.
	dials := srv.WSAccepted(fakebinance.WSFuturesMarket)
	eventually(t, 5*time.Second, "two more silent reconnections", func() bool { return srv.WSAccepted(fakebinance.WSFuturesMarket) >= dials+2 })
	unsilencedAt := time.Now()
	srv.SilenceWS(false, fakebinance.WSFuturesMarket)
	nextWhere(t, f, 5*time.Second, "the resume", func(ev exchange.Event) {
		if ev.Kind == exchange.EventResume && ev.Time.Before(unsilencedAt) {
			t.Error("resumed while the stream was still silent")
		}
	}, is(exchange.EventResume, exchange.Futures, "BTCUSDT"))
	ev := nextWhere(t, f, 5*time.Second, "a mark after the resume", nil, is(exchange.EventMark, exchange.Futures, "BTCUSDT"))
	eq(t, "mark after the gap", ev.Mark.Mark, d("58000"))
	if len(srv.Requests("/fapi/v1/premiumIndex")) <= marks {
		t.Error("no REST resync of the mark after the gap")
	}
}

func TestFeedStopsWithItsContextAndLeaksNothing(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{})
	c := newClient(t, fakeConfig(srv))
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	f, err := c.MarketFeed(ctx, []string{"BTCUSDT", "ETHUSDT"})
	must(t, err)
	ud, err := c.UserData(ctx)
	must(t, err)
	nextWhere(t, f, 5*time.Second, "a streamed quote", nil, is(exchange.EventQuote, exchange.Futures, "ETHUSDT"))
	cancel()
	// Next drains and then reports the end.
	for {
		_, err := f.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		must(t, err)
	}
	for range ud { // closed once both user streams stopped
	}
	eventually(t, 5*time.Second, "the feed's goroutines to end", func() bool { return srv.WSConnections(fakebinance.WSSpot) == 0 })
	deadline := time.Now().Add(5 * time.Second)
	for c.Close(); runtime.NumGoroutine() > base; c.Close() { // idle keep-alive connections are not leaks

		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := c.MarketFeed(ctxT(t, time.Second), nil); err == nil {
		t.Error("a feed without symbols must be refused")
	}
}

// The feed keeps the settlements of the 30 days before it started, oldest first, for the signals to start
// from; older ones and other symbols' are not in it.
func TestFeedKeepsTheSettledHistory(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{})
	now := time.Now().UTC().Truncate(8 * time.Hour)
	times := []int64{now.Add(-40 * 24 * time.Hour).UnixMilli(), now.Add(-16 * time.Hour).UnixMilli(), now.Add(-8 * time.Hour).UnixMilli(), now.UnixMilli()}
	srv.AddFundingRates("BTCUSDT", times, []decimal.Decimal{d("0.0009"), d("0.0001"), d("-0.0002"), d("0.0003")}, d("60000"))
	c := newClient(t, fakeConfig(srv))
	ctx := ctxT(t, 30*time.Second)
	f, err := c.MarketFeed(ctx, []string{"BTCUSDT", "ETHUSDT"})
	must(t, err)
	defer f.Close()
	got := f.Settled("btcusdt")
	var rates []string
	for _, r := range got {
		rates = append(rates, r.Rate.String())
	}
	if len(got) < 3 || strings.Join(rates[len(rates)-3:], " ") != "0.0001 -0.0002 0.0003" || !got[len(got)-1].Time.Equal(time.UnixMilli(times[3])) {
		t.Fatalf("settled history %v, want the last three rows (0.0001 -0.0002 0.0003) ending at %s", rates, time.UnixMilli(times[3]))
	}
	for _, r := range got {
		if r.Time.Before(now.Add(-30*24*time.Hour)) || r.Symbol != "BTCUSDT" {
			t.Fatalf("row %+v is outside the 30-day window or another symbol's", r)
		}
	}
	got[0].Rate = d("1") // a copy: the feed's own history is not changed through it
	if f.Settled("BTCUSDT")[0].Rate.Equal(d("1")) {
		t.Fatal("Settled returned the feed's own slice")
	}
	if f.Settled("XRPUSDT") != nil {
		t.Fatal("history for a symbol the feed does not carry")
	}
}
