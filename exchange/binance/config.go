package binance

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Production endpoints.
const (
	DefaultSpotRESTURL    = "https://api.binance.com"
	DefaultFuturesRESTURL = "https://fapi.binance.com"
	DefaultSpotWSURL      = "wss://stream.binance.com:9443/ws"
	DefaultSpotWSAPIURL   = "wss://ws-api.binance.com:443/ws-api/v3"
	DefaultFuturesWSURL   = "wss://fstream.binance.com"
)

// Config configures a Client. Zero values take the defaults (see withDefaults). APIKey and APISecret may be
// empty: the client then serves public market data only.
type Config struct {
	SpotRESTURL    string // spot and /sapi REST base, e.g. https://api.binance.com
	FuturesRESTURL string // USDⓈ-M REST base, e.g. https://fapi.binance.com
	// SpotWSURL is the spot market stream base ending in /ws; combined streams use the same host's
	// /stream?streams= route.
	SpotWSURL string
	// SpotWSAPIURL is the spot WebSocket API, used for the user-data subscription.
	SpotWSAPIURL string
	// FuturesWSURL is the futures websocket host; the /public, /market and /private routes are appended.
	FuturesWSURL string

	// The API key and secret, passed in by the composition root. Never logged, never in errors.
	APIKey    string `json:"-" yaml:"-"`
	APISecret string `json:"-" yaml:"-"`

	RecvWindow   time.Duration // signed requests' recvWindow (default 5s, max 60s)
	HTTPTimeout  time.Duration // per request (default 10s); also the deadline of calls whose context has none
	WSSilence    time.Duration // market stream silent this long → reconnect (default 30s)
	MaxClockSkew time.Duration // CheckAccount refuses a larger local clock error (default 1s)
	KeepAlive    time.Duration // futures listenKey keepalive interval (default 30m; Binance expires keys at 60m)

	// UserDataSilence reconnects a user-data stream silent this long (default 10m: user streams are quiet
	// when nothing trades, so this only bounds how long a half-dead connection can go unnoticed).
	UserDataSilence time.Duration
	// SubscribeGrace is how long after dialling the spot user-data stream the adapter waits before it
	// reports UserResync (default 1s): go-binance hides the subscription's answer.
	SubscribeGrace time.Duration
	ReconnectMin   time.Duration // first reconnect delay (default 500ms), doubled up to ReconnectMax
	ReconnectMax   time.Duration // default 30s
	InstrumentTTL  time.Duration // how long exchange info and funding info are cached (default 1h)
	// FundingLookupAttempts and FundingLookupDelay bound the search for a settled rate in
	// /fapi/v1/fundingRate after a settlement (defaults 3 and 2s) before falling back to the estimate.
	FundingLookupAttempts int
	FundingLookupDelay    time.Duration
}

// DefaultConfig is the production configuration without a key.
func DefaultConfig() Config { return Config{}.withDefaults() }

func (c Config) withDefaults() Config {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	dur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.SpotRESTURL, DefaultSpotRESTURL)
	def(&c.FuturesRESTURL, DefaultFuturesRESTURL)
	def(&c.SpotWSURL, DefaultSpotWSURL)
	def(&c.SpotWSAPIURL, DefaultSpotWSAPIURL)
	def(&c.FuturesWSURL, DefaultFuturesWSURL)
	c.SpotRESTURL = strings.TrimRight(c.SpotRESTURL, "/")
	c.FuturesRESTURL = strings.TrimRight(c.FuturesRESTURL, "/")
	c.SpotWSURL = strings.TrimRight(c.SpotWSURL, "/")
	c.FuturesWSURL = strings.TrimRight(c.FuturesWSURL, "/")
	dur(&c.RecvWindow, 5*time.Second)
	dur(&c.HTTPTimeout, 10*time.Second)
	dur(&c.WSSilence, 30*time.Second)
	dur(&c.MaxClockSkew, time.Second)
	dur(&c.KeepAlive, 30*time.Minute)
	dur(&c.UserDataSilence, 10*time.Minute)
	dur(&c.SubscribeGrace, time.Second)
	dur(&c.ReconnectMin, 500*time.Millisecond)
	dur(&c.ReconnectMax, 30*time.Second)
	dur(&c.InstrumentTTL, time.Hour)
	dur(&c.FundingLookupDelay, 2*time.Second)
	if c.FundingLookupAttempts <= 0 {
		c.FundingLookupAttempts = 3
	}
	return c
}

func (c Config) validate() error {
	for _, u := range []struct{ name, v, scheme string }{
		{"spot REST URL", c.SpotRESTURL, "http"}, {"futures REST URL", c.FuturesRESTURL, "http"},
		{"spot websocket URL", c.SpotWSURL, "ws"}, {"spot websocket API URL", c.SpotWSAPIURL, "ws"},
		{"futures websocket URL", c.FuturesWSURL, "ws"},
	} {
		p, err := url.Parse(u.v)
		if err != nil || p.Host == "" || !strings.HasPrefix(p.Scheme, u.scheme) {
			return fmt.Errorf("binance: %s %q: want an absolute %s(s):// URL", u.name, u.v, u.scheme)
		}
	}
	if !strings.HasSuffix(c.SpotWSURL, "/ws") {
		return fmt.Errorf("binance: spot websocket URL %q must end in /ws (e.g. %s)", c.SpotWSURL, DefaultSpotWSURL)
	}
	if c.RecvWindow > time.Minute {
		return fmt.Errorf("binance: recv window %s is above Binance's maximum of 60s", c.RecvWindow)
	}
	if (c.APIKey == "") != (c.APISecret == "") {
		return fmt.Errorf("binance: set both the API key and the API secret (CARRY_ACCOUNT_API_KEY and CARRY_ACCOUNT_API_SECRET), or neither for public data only")
	}
	return nil
}

// HasKey reports whether signed (account) calls are possible.
func (c Config) HasKey() bool { return c.APIKey != "" && c.APISecret != "" }

// spotCombinedURL is the combined-stream route on the spot stream host.
func (c Config) spotCombinedURL() string {
	return strings.TrimSuffix(c.SpotWSURL, "/ws") + "/stream?streams="
}

// String describes the configuration with the secrets redacted.
func (c Config) String() string {
	key := "none (public data only)"
	if c.HasKey() {
		key = "set (redacted)"
	}
	return fmt.Sprintf("binance{spot %s, futures %s, spot ws %s, spot ws-api %s, futures ws %s, api key %s, recv window %s, http timeout %s, ws silence %s}",
		c.SpotRESTURL, c.FuturesRESTURL, c.SpotWSURL, c.SpotWSAPIURL, c.FuturesWSURL, key, c.RecvWindow, c.HTTPTimeout, c.WSSilence)
}

// GoString keeps %#v from printing the secrets.
func (c Config) GoString() string { return c.String() }

// MarshalZerologObject logs the configuration without the secrets.
func (c Config) MarshalZerologObject(e *zerolog.Event) {
	e.Str("spot_rest", c.SpotRESTURL).Str("futures_rest", c.FuturesRESTURL).Str("spot_ws", c.SpotWSURL).
		Str("spot_ws_api", c.SpotWSAPIURL).Str("futures_ws", c.FuturesWSURL).Bool("api_key_set", c.HasKey()).
		Dur("recv_window", c.RecvWindow).Dur("http_timeout", c.HTTPTimeout).Dur("ws_silence", c.WSSilence)
}
