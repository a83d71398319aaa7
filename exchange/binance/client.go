package binance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/common"
	"github.com/adshao/go-binance/v2/futures"
	"github.com/rs/zerolog"

	"github.com/carry-trading/carry/exchange"
)

// Client is the Binance venue: it implements exchange.Exchange and serves the market feed and the
// user-data stream. Safe for concurrent use.
type Client struct {
	cfg  Config
	log  zerolog.Logger
	tr   *transport
	http *http.Client

	api atomic.Pointer[apis] // replaced, never mutated, when the clock offset is resynced

	syncMu  sync.Mutex
	syncGen atomic.Uint64

	cache cache

	trouble atomic.Pointer[func(stream, reason string)] // OnStreamTrouble
}

var _ exchange.Exchange = (*Client)(nil)

// OnStreamTrouble registers fn (nil removes it). It is called once per outage of any websocket stream,
// market or user data (dropped, silent, or not dialled), and when the REST resync after an outage fails,
// from the stream's goroutine: it must not block. Telemetry counts these.
func (c *Client) OnStreamTrouble(fn func(stream, reason string)) {
	if fn == nil {
		c.trouble.Store(nil)
		return
	}
	c.trouble.Store(&fn)
}

func (c *Client) streamTrouble(stream, reason string) {
	if fn := c.trouble.Load(); fn != nil {
		(*fn)(stream, reason)
	}
}

// apis is an immutable bundle of go-binance clients sharing one offset measurement.
type apis struct {
	spot *binance.Client
	fut  *futures.Client
}

// New builds a client. It does not touch the network; call CheckAccount (live) or SyncTime first.
func New(cfg Config, logger zerolog.Logger) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	logger = logger.With().Str("component", "binance").Logger()
	tr := newTransport(logger)
	c := &Client{
		cfg:  cfg,
		log:  logger,
		tr:   tr,
		http: &http.Client{Transport: tr, Timeout: cfg.HTTPTimeout},
	}
	c.api.Store(c.newAPIs(0, 0))
	return c, nil
}

// Public reports a client without an API key (market data only).
func (c *Client) Public() bool { return !c.cfg.HasKey() }

// UsedWeight returns the request weight Binance last reported and any rate-limit hold in force.
func (c *Client) UsedWeight() Weight { return c.tr.weight() }

// Close releases idle HTTP connections. Streams stop with their contexts.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// discard keeps go-binance's own logger quiet (it logs full URLs in debug mode, which we never enable).
var discard = log.New(io.Discard, "", 0)

func (c *Client) newAPIs(spotOffset, futOffset int64) *apis {
	s := binance.NewClient(c.cfg.APIKey, c.cfg.APISecret)
	s.BaseURL = c.cfg.SpotRESTURL
	s.HTTPClient = c.http
	s.Logger = discard
	s.KeyType = common.KeyTypeHmac
	s.TimeOffset = spotOffset
	f := futures.NewClient(c.cfg.APIKey, c.cfg.APISecret)
	f.BaseURL = c.cfg.FuturesRESTURL
	f.HTTPClient = c.http
	f.Logger = discard
	f.KeyType = common.KeyTypeHmac
	f.TimeOffset = futOffset
	return &apis{spot: s, fut: f}
}

func (c *Client) recvWindow() int64 { return c.cfg.RecvWindow.Milliseconds() }

// call runs one REST call with a deadline, the per-call status record, and one retry after -1021.
// It returns the library's raw error and the record of the last attempt; callers classify it.
func (c *Client) call(ctx context.Context, signed bool, fn func(ctx context.Context, a *apis) error) (*callInfo, error) {
	if signed && !c.cfg.HasKey() {
		return nil, ErrNoCredentials
	}
	if err := ctx.Err(); err != nil {
		return nil, &notSentError{err}
	}
	for attempt := 0; ; attempt++ {
		gen := c.syncGen.Load()
		cctx, cancel := c.withDeadline(ctx)
		info := &callInfo{}
		err := fn(withCallInfo(cctx, info), c.api.Load())
		cancel()
		if err == nil {
			return info, nil
		}
		if signed && attempt == 0 && apiCode(err) == codeTimestamp {
			c.log.Warn().Msg("binance: timestamp outside recvWindow (-1021): resyncing the clock offset and retrying once")
			if rerr := c.resync(ctx, gen); rerr == nil {
				continue
			} else {
				c.log.Warn().Err(rerr).Msg("binance: clock resync failed")
			}
		}
		return info, scrubURL(err)
	}
}

// scrubURL drops the query string (timestamp, signature) from a transport error's URL, so errors and
// logs carry the endpoint only.
func scrubURL(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	u, perr := url.Parse(ue.URL)
	if perr != nil {
		return err
	}
	u.RawQuery = ""
	return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
}

// withDeadline gives ctx the HTTP timeout as a deadline unless it already has an earlier one.
func (c *Client) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= c.cfg.HTTPTimeout {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.cfg.HTTPTimeout)
}

// do runs a call and classifies its error as a non-order call.
func (c *Client) do(ctx context.Context, op string, signed bool, fn func(ctx context.Context, a *apis) error) error {
	info, err := c.call(ctx, signed, fn)
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNoCredentials) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return classify(op, err, info)
}

// Offsets returns the measured clock offsets (local − server) of the spot and futures APIs.
func (c *Client) Offsets() (spot, futures time.Duration) {
	a := c.api.Load()
	return time.Duration(a.spot.TimeOffset) * time.Millisecond, time.Duration(a.fut.TimeOffset) * time.Millisecond
}

// SyncTime measures the clock offset against both APIs' server time and uses it for signing.
func (c *Client) SyncTime(ctx context.Context) error { return c.resync(ctx, c.syncGen.Load()) }

// resync re-measures the offsets unless another resync finished since the caller's call started (gen).
func (c *Client) resync(ctx context.Context, gen uint64) error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	if c.syncGen.Load() != gen {
		return nil
	}
	cur := c.api.Load()
	spotOff, err := c.measure(ctx, func(ctx context.Context) (int64, error) { return cur.spot.NewServerTimeService().Do(ctx) })
	if err != nil {
		return fmt.Errorf("spot server time: %w", err)
	}
	futOff, err := c.measure(ctx, func(ctx context.Context) (int64, error) { return cur.fut.NewServerTimeService().Do(ctx) })
	if err != nil {
		return fmt.Errorf("futures server time: %w", err)
	}
	c.api.Store(c.newAPIs(spotOff.Milliseconds(), futOff.Milliseconds()))
	c.syncGen.Add(1)
	c.log.Debug().Dur("spot_offset", spotOff).Dur("futures_offset", futOff).Msg("binance clock offset measured")
	return nil
}

// measure returns local − server time, taking the local time at the middle of the round trip.
func (c *Client) measure(ctx context.Context, serverTime func(context.Context) (int64, error)) (time.Duration, error) {
	var off time.Duration
	err := c.do(ctx, "server time", false, func(ctx context.Context, _ *apis) error {
		t0 := time.Now()
		ms, err := serverTime(ctx)
		if err != nil {
			return err
		}
		if ms <= 0 {
			return errors.New("no serverTime in the answer")
		}
		t1 := time.Now()
		mid := t0.Add(t1.Sub(t0) / 2)
		off = mid.Sub(time.UnixMilli(ms))
		return nil
	})
	return off, err
}
