package binance_test

import (
	"sync"
	"testing"
	"time"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance/fakebinance"
)

// The clock offset is swapped in while signed calls are in flight: with -race this fails if any
// go-binance client is mutated under a request.
func TestResyncDoesNotRaceWithInFlightCalls(t *testing.T) {
	srv := fundedFake(t, fakebinance.Options{})
	c := newClient(t, fakeConfig(srv))
	ctx := ctxT(t, 20*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 15; i++ {
				if _, err := c.Balances(ctx, exchange.Spot); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 15; i++ {
			if err := c.SyncTime(ctx); err != nil {
				errs <- err
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Two clients pointed at two different hosts start their streams at the same time: the websocket
// globals lock keeps each stream on its own host.
func TestTwoClientsStreamFromTheirOwnHosts(t *testing.T) {
	a, b := startFake(t, fakebinance.Options{}), startFake(t, fakebinance.Options{})
	must(t, a.SetBook(exchange.Spot, "BTCUSDT", d("1000"), d("1"), d("1001"), d("1")))
	must(t, b.SetBook(exchange.Spot, "BTCUSDT", d("2000"), d("1"), d("2001"), d("1")))
	ca, cb := newClient(t, fakeConfig(a)), newClient(t, fakeConfig(b))
	ctx := ctxT(t, 20*time.Second)
	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		for _, tc := range []struct {
			srv *fakebinance.Server
			bid string
		}{{a, "1000"}, {b, "2000"}} {
			c := ca
			if tc.srv == b {
				c = cb
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				f, err := c.MarketFeed(ctx, []string{"BTCUSDT"})
				if err != nil {
					t.Error(err)
					return
				}
				defer f.Close()
				for streamed := 0; streamed < 2; {
					ev, err := f.Next(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					if ev.Kind == exchange.EventQuote && ev.Venue == exchange.Spot {
						if !ev.Quote.Bid.Equal(d(tc.bid)) {
							t.Errorf("a client of the fake with bid %s got bid %s", tc.bid, ev.Quote.Bid)
						}
						streamed++
					}
				}
			}()
		}
		wg.Wait()
	}
	if a.WSAccepted(fakebinance.WSSpot) != 3 || b.WSAccepted(fakebinance.WSSpot) != 3 {
		t.Errorf("spot streams: %d and %d, want 3 each", a.WSAccepted(fakebinance.WSSpot), b.WSAccepted(fakebinance.WSSpot))
	}
}
