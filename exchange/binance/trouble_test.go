package binance_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance/fakebinance"
)

// TestStreamTroubleIsReported: OnStreamTrouble hears of a dropped market stream once per outage, and of a
// REST resync that failed after it.
func TestStreamTroubleIsReported(t *testing.T) {
	srv := startFake(t, fakebinance.Options{})
	c := newClient(t, fakeConfig(srv))
	var mu sync.Mutex
	var got []string
	c.OnStreamTrouble(func(stream, reason string) {
		mu.Lock()
		got = append(got, stream+": "+reason)
		mu.Unlock()
	})
	reported := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
	ctx := ctxT(t, 30*time.Second)
	f, err := c.MarketFeed(ctx, []string{"BTCUSDT"})
	must(t, err)
	defer f.Close()
	eventually(t, 5*time.Second, "three stream connections", func() bool {
		return srv.WSConnections(fakebinance.WSSpot) == 1 && srv.WSConnections(fakebinance.WSFuturesPublic) == 1 && srv.WSConnections(fakebinance.WSFuturesMarket) == 1
	})
	if r := reported(); len(r) != 0 {
		t.Fatalf("trouble reported before any: %v", r)
	}

	// The spot stream drops and the REST resync of its quote fails (503) when it is back.
	must(t, srv.InjectFault(fakebinance.Fault{Kind: fakebinance.FaultStatus, Method: "GET", Path: "/api/v3/ticker/bookTicker"}))
	srv.DropWS(fakebinance.WSSpot)
	nextWhere(t, f, 5*time.Second, "the spot suspend", nil, is(exchange.EventSuspend, exchange.Spot, "BTCUSDT"))
	nextWhere(t, f, 15*time.Second, "the spot resume", nil, is(exchange.EventResume, exchange.Spot, "BTCUSDT"))
	srv.ClearFaults()
	r := reported()
	if len(r) != 2 || r[0] != "spot bookTicker: disconnected" || !strings.HasPrefix(r[1], "spot bookTicker: REST resync failed for 1 of 1 markets") {
		t.Fatalf("reported %q, want the drop and the failed resync", r)
	}

	// A drop with a working resync is one report.
	srv.DropWS(fakebinance.WSFuturesPublic)
	nextWhere(t, f, 5*time.Second, "the futures resume", nil, is(exchange.EventResume, exchange.Futures, "BTCUSDT"))
	if r := reported(); len(r) != 3 || r[2] != "futures bookTicker: disconnected" {
		t.Fatalf("reported %q after a futures drop", r)
	}
}
