package binance

import (
	"sync"

	"github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/futures"
)

// wsGlobalsMu guards go-binance's package-level websocket settings (the Base*URL variables and the
// keepalive flags), which the library reads when a Ws*Serve function builds its endpoint and dials.
//
// This is the single documented exception to carry's "no package-level mutable state" rule: go-binance
// offers no per-client websocket host, and the adapter must point streams at the configured hosts (the
// fake server in tests, testnet, production). Every write of those globals happens in applyWSGlobals,
// under this mutex, and the mutex is held until the stream is dialled, so two clients with different hosts
// can never start a stream against each other's URL. Nothing outside this package may touch them.
//
// The keepalive flags are also read later, from the library's reader goroutines; they are written only when
// they differ (so once, before the first stream starts) and never again, which keeps those reads race-free.
var wsGlobalsMu sync.Mutex

// startWS sets the globals for this client and runs start (a go-binance Ws*Serve call) under the mutex.
func (c *Client) startWS(start func() (doneC, stopC chan struct{}, err error)) (chan struct{}, chan struct{}, error) {
	wsGlobalsMu.Lock()
	defer wsGlobalsMu.Unlock()
	c.applyWSGlobals()
	return start()
}

func (c *Client) applyWSGlobals() {
	str := func(p *string, v string) {
		if *p != v {
			*p = v
		}
	}
	off := func(p *bool) {
		if *p {
			*p = false
		}
	}
	// Spot market streams, combined streams and the WebSocket API (user data).
	str(&binance.BaseWsMainURL, c.cfg.SpotWSURL)
	str(&binance.BaseCombinedMainURL, c.cfg.spotCombinedURL())
	str(&binance.BaseWsApiMainURL, c.cfg.SpotWSAPIURL)
	// The adapter runs its own watchdog; the library's keepalive is off (its futures variant races).
	off(&binance.WebsocketKeepalive)
	off(&futures.WebsocketKeepalive)
	off(&binance.UseTestnet)
	off(&binance.UseDemo)
	off(&futures.UseTestnet)
	off(&futures.UseDemo)
	// USDⓈ-M futures: the 2026 split into public (book tickers, depth), market (mark price, trades…) and
	// private (user data) routes, plus the legacy routes for completeness.
	f := c.cfg.FuturesWSURL
	str(&futures.BaseWsPublicMainUrl, f+"/public/ws")
	str(&futures.BaseCombinedPublicMainURL, f+"/public/stream?streams=")
	str(&futures.BaseWsMarketMainUrl, f+"/market/ws")
	str(&futures.BaseCombinedMarketMainURL, f+"/market/stream?streams=")
	str(&futures.BaseWsPrivateMainUrl, f+"/private/ws")
	str(&futures.BaseWsMainUrl, f+"/ws")
	str(&futures.BaseCombinedMainURL, f+"/stream?streams=")
}
