package fakebinance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// Options configure a fake. Zero values take the defaults.
type Options struct {
	// Addr to listen on (default 127.0.0.1:0, a free loopback port).
	Addr string
	// The one account's key (defaults DefaultAPIKey / DefaultAPISecret).
	APIKey    string
	APISecret string
	// Permissions of the key (default DefaultPermissions: no withdrawals).
	Permissions *Permissions
	// SamplesDir serves the API samples from this directory instead of the embedded copies.
	SamplesDir string
	// TickInterval: market streams push every subscribed book ticker and mark price this often, besides
	// pushing on every change (default 1s, like markPrice@1s).
	TickInterval time.Duration
	// Commission rates (defaults: spot 0.1%/0.1%, futures maker 0.02%, taker 0.05%).
	SpotMaker, SpotTaker, FuturesMaker, FuturesTaker decimal.Decimal
	// SplitFills splits every execution into this many trades (default 1), to exercise multi-fill orders.
	SplitFills int
}

// Default credentials of the fake account.
const (
	DefaultAPIKey    = "fake-api-key"
	DefaultAPISecret = "fake-api-secret"
)

// Permissions are what GET /sapi/v1/account/apiRestrictions reports for the key.
type Permissions struct {
	IPRestrict               bool `json:"ipRestrict"`
	EnableWithdrawals        bool `json:"enableWithdrawals"`
	EnableReading            bool `json:"enableReading"`
	EnableSpotAndMargin      bool `json:"enableSpotAndMarginTrading"`
	EnableFutures            bool `json:"enableFutures"`
	EnableMargin             bool `json:"enableMargin"`
	PermitsUniversalTransfer bool `json:"permitsUniversalTransfer"`
}

// DefaultPermissions is a key carry accepts.
func DefaultPermissions() Permissions {
	return Permissions{IPRestrict: true, EnableReading: true, EnableSpotAndMargin: true, EnableFutures: true, EnableMargin: true, PermitsUniversalTransfer: true}
}

// URLs are the base URLs a client needs, all on the fake's one listener.
type URLs struct {
	SpotREST    string `json:"spot_rest"`    // http://127.0.0.1:port (spot /api and /sapi)
	FuturesREST string `json:"futures_rest"` // same host (/fapi)
	SpotWS      string `json:"spot_ws"`      // ws://127.0.0.1:port/ws (combined: /stream?streams=)
	SpotWSAPI   string `json:"spot_ws_api"`  // ws://127.0.0.1:port/ws-api/v3
	FuturesWS   string `json:"futures_ws"`   // ws://127.0.0.1:port/futures (+ /public, /market, /private)
	Control     string `json:"control"`      // http://127.0.0.1:port/_fake
}

// Server is a fake Binance on loopback: REST (spot /api/v3, futures /fapi, wallet /sapi), websockets
// (spot streams, the spot WebSocket API user-data subscription, futures public/market/private routes),
// order matching against set books, balances, positions, funding settlements, and fault injection. All
// methods are safe for concurrent use.
type Server struct {
	opts  Options
	ln    net.Listener
	srv   *http.Server
	base  string
	hub   *hub
	stopC chan struct{}
	wg    sync.WaitGroup

	mu sync.Mutex
	st *state

	faults   []*activeFault
	requests []RequestRecord
}

// RequestRecord is one request the fake received (control API excluded).
type RequestRecord struct {
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Status int       `json:"status"`
}

// Start starts a fake on opts.Addr (default a free loopback port).
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.APIKey == "" {
		opts.APIKey = DefaultAPIKey
	}
	if opts.APISecret == "" {
		opts.APISecret = DefaultAPISecret
	}
	if opts.TickInterval <= 0 {
		opts.TickInterval = time.Second
	}
	if opts.SplitFills <= 0 {
		opts.SplitFills = 1
	}
	def := func(d *decimal.Decimal, v string) {
		if d.IsZero() {
			*d = decimal.RequireFromString(v)
		}
	}
	def(&opts.SpotMaker, "0.001")
	def(&opts.SpotTaker, "0.001")
	def(&opts.FuturesMaker, "0.0002")
	def(&opts.FuturesTaker, "0.0005")
	st, err := newState(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("fakebinance: listen: %w", err)
	}
	s := &Server{opts: opts, ln: ln, base: "http://" + ln.Addr().String(), st: st, stopC: make(chan struct{})}
	s.hub = newHub(s)
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener was closed under it; nothing to report
		}
	}()
	go func() {
		defer s.wg.Done()
		s.hub.ticker(s.stopC, opts.TickInterval)
	}()
	return s, nil
}

// URLs returns the base URLs for a client.
func (s *Server) URLs() URLs {
	host := strings.TrimPrefix(s.base, "http://")
	return URLs{SpotREST: s.base, FuturesREST: s.base, SpotWS: "ws://" + host + "/ws", SpotWSAPI: "ws://" + host + "/ws-api/v3",
		FuturesWS: "ws://" + host + "/futures", Control: s.base + "/_fake"}
}

// Addr is the listening address (host:port).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// APIKey and APISecret return the account's credentials.
func (s *Server) APIKey() string    { return s.opts.APIKey }
func (s *Server) APISecret() string { return s.opts.APISecret }

// Close stops the server, drops every websocket and waits for its goroutines.
func (s *Server) Close() error {
	select {
	case <-s.stopC:
		return nil
	default:
	}
	close(s.stopC)
	s.hub.closeAll()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = s.srv.Close()
	}
	s.wg.Wait()
	s.hub.wait()
	return err
}

// now is the fake exchange's clock (the wall clock shifted by SetTimeOffset).
func (s *Server) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.now()
}

// ServeHTTP routes control, websocket and REST requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/_fake/"):
		s.control(w, r)
		return
	case path == "/ws-api/v3" || strings.HasPrefix(path, "/ws/") || path == "/stream" || strings.HasPrefix(path, "/futures/"):
		s.hub.serve(w, r)
		return
	}
	s.rest(w, r)
}

// rest applies faults, then authentication, then the endpoint, recording the request.
func (s *Server) rest(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	_ = r.Body.Close()
	rt, ok := routes[routeKey{r.Method, r.URL.Path}]
	rec := &recorder{header: http.Header{}}
	f := s.takeFault(r.Method, r.URL.Path, false)
	idx := s.record(r)
	defer func() { s.setStatus(idx, rec.status) }()

	if f != nil {
		switch f.Kind {
		case FaultLatency:
			if !sleepReq(r, f.Delay) {
				return
			}
		case FaultRateLimit, FaultBan:
			rec.header.Set("Retry-After", fmt.Sprint(int(f.RetryAfter.Seconds()+0.999)))
			status := http.StatusTooManyRequests
			msg := "Too many requests; current limit of IP is 2400 requests per minute."
			if f.Kind == FaultBan {
				status = http.StatusTeapot
				msg = fmt.Sprintf("Way too many requests; IP banned until %d.", s.now().Add(f.RetryAfter).UnixMilli())
			}
			apiErr(rec, status, -1003, msg)
			rec.flush(w)
			return
		case FaultTimestamp:
			apiErr(rec, http.StatusBadRequest, -1021, "Timestamp for this request is outside of the recvWindow.")
			rec.flush(w)
			return
		case FaultReject:
			code, msg := f.Code, f.Msg
			if code == 0 {
				code, msg = -2010, "Account has insufficient balance for requested action."
			}
			status := f.Status
			if status == 0 {
				status = http.StatusBadRequest
			}
			apiErr(rec, status, code, msg)
			rec.flush(w)
			return
		case FaultDrop:
			if f.Execute && ok {
				s.dispatch(rec, r, rt, body)
			}
			rec.status = 0 // recorded as no answer
			if hj, isHJ := w.(http.Hijacker); isHJ {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
				}
			}
			return
		case FaultStatus, FaultTimeout:
			if f.Execute && ok {
				s.dispatch(rec, r, rt, body)
			}
			if f.Kind == FaultTimeout {
				d := f.Delay
				if d <= 0 {
					d = time.Minute
				}
				if !sleepReq(r, d) {
					return // the client gave up: exactly what a timeout is
				}
			}
			status := f.Status
			if status == 0 {
				status = http.StatusServiceUnavailable
			}
			rec = &recorder{header: http.Header{}}
			if f.Msg != "" {
				rec.header.Set("Content-Type", "text/html")
				rec.status = status
				rec.body.WriteString(f.Msg)
			} else {
				apiErr(rec, status, -1001, "Internal error; unable to process your request. Please try again.")
			}
			rec.flush(w)
			return
		}
	}
	if !ok {
		apiErr(rec, http.StatusNotFound, -1000, fmt.Sprintf("fakebinance: no endpoint %s %s", r.Method, r.URL.Path))
		rec.flush(w)
		return
	}
	s.dispatch(rec, r, rt, body)
	rec.flush(w)
}

// dispatch authenticates and runs the endpoint into rec.
func (s *Server) dispatch(rec *recorder, r *http.Request, rt route, body []byte) {
	params, err := s.authenticate(r, body, rt.sec)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			apiErr(rec, ae.status, ae.code, ae.msg)
		} else {
			apiErr(rec, http.StatusBadRequest, -1100, err.Error())
		}
		return
	}
	req := &request{s: s, r: r, p: params}
	res, err := rt.fn(req)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			apiErr(rec, ae.status, ae.code, ae.msg)
			return
		}
		apiErr(rec, http.StatusInternalServerError, -1000, err.Error())
		return
	}
	rec.header.Set("Content-Type", "application/json")
	rec.header.Set("X-MBX-USED-WEIGHT-1M", fmt.Sprint(s.weight(r.URL.Path)))
	if strings.HasPrefix(r.URL.Path, "/sapi") {
		rec.header.Set("X-SAPI-USED-IP-WEIGHT-1M", fmt.Sprint(s.weight(r.URL.Path)))
	}
	rec.status = http.StatusOK
	if raw, ok := res.(json.RawMessage); ok {
		rec.body.Write(raw)
		return
	}
	_ = json.NewEncoder(&rec.body).Encode(res)
}

// weight reports the requests to the same API in the last minute (a stand-in for request weight).
func (s *Server) weight(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	api := func(p string) bool { return strings.HasPrefix(p, "/fapi") == strings.HasPrefix(path, "/fapi") }
	since := time.Now().Add(-time.Minute)
	n := 0
	for i := len(s.requests) - 1; i >= 0 && s.requests[i].Time.After(since); i-- {
		if api(s.requests[i].Path) {
			n++
		}
	}
	return n
}

func (s *Server) record(r *http.Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, RequestRecord{Time: time.Now(), Method: r.Method, Path: r.URL.Path})
	return len(s.requests) - 1
}

func (s *Server) setStatus(i, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i < len(s.requests) {
		s.requests[i].Status = status
	}
}

// Requests returns the requests received for a path ("" for all), oldest first.
func (s *Server) Requests(path string) []RequestRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RequestRecord
	for _, r := range s.requests {
		if path == "" || r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// sleepReq waits d unless the client goes away first (false then).
func sleepReq(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// recorder buffers a response so a fault can hold or replace it.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (rec *recorder) flush(w http.ResponseWriter) {
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

// apiError is a Binance error answer.
type apiError struct {
	status int
	code   int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %d %s", e.status, e.code, e.msg) }

func errBadRequest(code int, format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, code: code, msg: fmt.Sprintf(format, args...)}
}

func apiErr(rec *recorder, status, code int, msg string) {
	rec.header.Set("Content-Type", "application/json")
	rec.status = status
	_ = json.NewEncoder(&rec.body).Encode(map[string]any{"code": code, "msg": msg})
}

// route is one REST endpoint.
type route struct {
	sec security
	fn  func(*request) (any, error)
}

type routeKey struct{ method, path string }

type security int

const (
	secNone security = iota
	secAPIKey
	secSigned
)

var routes map[routeKey]route

func init() {
	routes = make(map[routeKey]route)
	add := func(method, path string, sec security, fn func(*request) (any, error)) {
		routes[routeKey{method, path}] = route{sec: sec, fn: fn}
	}
	// spot market data
	add("GET", "/api/v3/ping", secNone, func(*request) (any, error) { return map[string]any{}, nil })
	add("GET", "/api/v3/time", secNone, getTime)
	add("GET", "/api/v3/exchangeInfo", secNone, spotExchangeInfo)
	add("GET", "/api/v3/ticker/bookTicker", secNone, spotBookTicker)
	// spot account and trading
	add("GET", "/api/v3/account", secSigned, spotAccount)
	add("GET", "/api/v3/account/commission", secSigned, spotCommission)
	add("POST", "/api/v3/order", secSigned, spotNewOrder)
	add("GET", "/api/v3/order", secSigned, getOrder(exchange.Spot))
	add("DELETE", "/api/v3/order", secSigned, cancelOrder(exchange.Spot))
	add("GET", "/api/v3/myTrades", secSigned, listTrades(exchange.Spot))
	// wallet (sapi)
	add("GET", "/sapi/v1/account/apiRestrictions", secSigned, apiRestrictions)
	add("POST", "/sapi/v1/asset/transfer", secSigned, newTransfer)
	add("GET", "/sapi/v1/asset/transfer", secSigned, listTransfers)
	// cross margin (sapi; rest_margin.go)
	addMarginRoutes(add)
	// futures market data
	add("GET", "/fapi/v1/ping", secNone, func(*request) (any, error) { return map[string]any{}, nil })
	add("GET", "/fapi/v1/time", secNone, getTime)
	add("GET", "/fapi/v1/exchangeInfo", secNone, futExchangeInfo)
	add("GET", "/fapi/v1/ticker/bookTicker", secNone, futBookTicker)
	add("GET", "/fapi/v1/premiumIndex", secNone, premiumIndex)
	add("GET", "/fapi/v1/fundingRate", secNone, fundingRate)
	add("GET", "/fapi/v1/fundingInfo", secNone, fundingInfo)
	// futures account and trading
	add("GET", "/fapi/v1/leverageBracket", secSigned, leverageBracket)
	add("GET", "/fapi/v1/commissionRate", secSigned, futCommission)
	add("GET", "/fapi/v1/accountConfig", secSigned, futAccountConfig)
	add("GET", "/fapi/v1/symbolConfig", secSigned, futSymbolConfig)
	add("GET", "/fapi/v1/positionSide/dual", secSigned, getPositionMode)
	add("POST", "/fapi/v1/positionSide/dual", secSigned, setPositionMode)
	add("POST", "/fapi/v1/marginType", secSigned, setMarginType)
	add("POST", "/fapi/v1/leverage", secSigned, setLeverage)
	add("GET", "/fapi/v3/account", secSigned, futAccount)
	add("GET", "/fapi/v3/balance", secSigned, futBalance)
	add("GET", "/fapi/v2/positionRisk", secSigned, positionRisk)
	add("GET", "/fapi/v3/positionRisk", secSigned, positionRisk)
	add("POST", "/fapi/v1/order", secSigned, futNewOrder)
	add("GET", "/fapi/v1/order", secSigned, getOrder(exchange.Futures))
	add("DELETE", "/fapi/v1/order", secSigned, cancelOrder(exchange.Futures))
	add("GET", "/fapi/v1/userTrades", secSigned, listTrades(exchange.Futures))
	add("GET", "/fapi/v1/income", secSigned, income)
	add("POST", "/fapi/v1/listenKey", secAPIKey, newListenKey)
	add("PUT", "/fapi/v1/listenKey", secAPIKey, keepListenKey)
	add("DELETE", "/fapi/v1/listenKey", secAPIKey, closeListenKey)
}

// Endpoints lists the REST endpoints the fake serves ("METHOD /path"), sorted.
func Endpoints() []string {
	out := make([]string, 0, len(routes))
	for k := range routes {
		out = append(out, k.method+" "+k.path)
	}
	sort.Strings(out)
	return out
}
