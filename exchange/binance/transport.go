package binance

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Retry-After defaults when Binance sends none (it normally does).
const (
	default429Wait = 30 * time.Second
	default418Wait = 2 * time.Minute
)

// The two rate-limit domains: spot (api.binance.com, including /sapi) and USDⓈ-M futures.
const (
	apiSpot = iota
	apiFutures
	apiCount
)

var apiNames = [apiCount]string{"spot", "futures"}

func apiOf(path string) int {
	if strings.HasPrefix(path, "/fapi") {
		return apiFutures
	}
	return apiSpot
}

// callInfo is filled in by the transport for the call whose context carries it: the HTTP status the
// library throws away, and the rate-limit answer if there was one.
type callInfo struct {
	status    int
	rateLimit *RateLimitError
}

type callInfoKey struct{}

func withCallInfo(ctx context.Context, info *callInfo) context.Context {
	return context.WithValue(ctx, callInfoKey{}, info)
}

func callInfoFrom(ctx context.Context) *callInfo {
	info, _ := ctx.Value(callInfoKey{}).(*callInfo)
	return info
}

// Weight is the request weight Binance reports as used in the current minute, and any ban in force.
type Weight struct {
	Spot1M        int64     // X-MBX-USED-WEIGHT-1M on api.binance.com
	SAPIIP1M      int64     // X-SAPI-USED-IP-WEIGHT-1M on /sapi
	Futures1M     int64     // X-MBX-USED-WEIGHT-1M on fapi.binance.com
	SpotBlocked   time.Time // no spot/sapi request is sent before this (after a 429/418)
	FutureBlocked time.Time // no futures request is sent before this
}

// transport wraps the HTTP transport to see what go-binance hides: status codes, Retry-After and the
// used-weight headers. After a 429/418 it refuses to send to that API until Retry-After has passed.
type transport struct {
	base http.RoundTripper
	log  zerolog.Logger
	now  func() time.Time

	mu    sync.Mutex
	until [apiCount]time.Time

	spot1M, sapi1M, fut1M atomic.Int64
}

func newTransport(log zerolog.Logger) *transport {
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 16
	return &transport{base: base, log: log, now: time.Now}
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	api := apiOf(req.URL.Path)
	now := t.now()
	t.mu.Lock()
	until := t.until[api]
	t.mu.Unlock()
	info := callInfoFrom(req.Context())
	if now.Before(until) {
		rl := &RateLimitError{API: apiNames[api], Until: until}
		if info != nil {
			info.rateLimit = rl
		}
		return nil, rl
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if info != nil {
		info.status = resp.StatusCode
	}
	t.observe(api, req.URL.Path, resp.Header)
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusTeapot {
		wait := retryAfter(resp.Header, now)
		if wait <= 0 {
			wait = default429Wait
			if resp.StatusCode == http.StatusTeapot {
				wait = default418Wait
			}
		}
		rl := &RateLimitError{API: apiNames[api], Status: resp.StatusCode, Code: codeTooManyRequests, Until: now.Add(wait)}
		t.mu.Lock()
		if rl.Until.After(t.until[api]) {
			t.until[api] = rl.Until
		}
		t.mu.Unlock()
		if info != nil {
			info.rateLimit = rl
		}
		t.log.Warn().Str("api", apiNames[api]).Int("status", resp.StatusCode).Time("until", rl.Until).
			Msg("binance rate limit hit: holding all requests to this API until Retry-After")
	}
	return resp, nil
}

func (t *transport) observe(api int, path string, h http.Header) {
	if v := h.Get("X-Mbx-Used-Weight-1m"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			if api == apiFutures {
				t.fut1M.Store(n)
			} else {
				t.spot1M.Store(n)
			}
		}
	}
	if v := h.Get("X-Sapi-Used-Ip-Weight-1m"); v != "" && strings.HasPrefix(path, "/sapi") {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			t.sapi1M.Store(n)
		}
	}
}

func (t *transport) weight() Weight {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Weight{Spot1M: t.spot1M.Load(), SAPIIP1M: t.sapi1M.Load(), Futures1M: t.fut1M.Load(),
		SpotBlocked: t.until[apiSpot], FutureBlocked: t.until[apiFutures]}
}

// retryAfter reads Retry-After as seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now)
	}
	return 0
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the wrapped transport.
func (t *transport) CloseIdleConnections() {
	if ci, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}
