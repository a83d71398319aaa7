package fakebinance_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance/fakebinance"
)

func start(t *testing.T) *fakebinance.Server {
	t.Helper()
	srv, err := fakebinance.Start(fakebinance.Options{TickInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func TestEmbeddedSamplesAreTheTestdataFiles(t *testing.T) {
	for _, name := range fakebinance.SampleNames() {
		want, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "binance", "api-samples", name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := fakebinance.Sample(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("embedded %s differs from testdata (regenerate with gzip -9n)", name)
		}
	}
}

type call struct {
	method, path, query, body string
	key, secret               string
	timestamp                 int64
}

// do sends a request signed the way go-binance signs it.
func (c call) do(t *testing.T, srv *fakebinance.Server) (int, map[string]any) {
	t.Helper()
	q := c.query
	if c.secret != "" {
		ts := c.timestamp
		if ts == 0 {
			ts = time.Now().UnixMilli()
		}
		if q != "" {
			q += "&"
		}
		q += "timestamp=" + strconv.FormatInt(ts, 10)
		mac := hmac.New(sha256.New, []byte(c.secret))
		mac.Write([]byte(q + c.body))
		q += "&signature=" + hex.EncodeToString(mac.Sum(nil))
	}
	req, err := http.NewRequest(c.method, srv.URLs().SpotREST+c.path+"?"+q, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.key != "" {
		req.Header.Set("X-MBX-APIKEY", c.key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(b, &out)
	return res.StatusCode, out
}

func TestSignedRequestsAreCheckedLikeBinance(t *testing.T) {
	srv := start(t)
	key, secret := srv.APIKey(), srv.APISecret()
	cases := []struct {
		name   string
		c      call
		status int
		code   float64
	}{
		{"good", call{method: "GET", path: "/api/v3/account", key: key, secret: secret}, 200, 0},
		{"signed body", call{method: "POST", path: "/fapi/v1/leverage", body: "leverage=5&symbol=BTCUSDT", key: key, secret: secret}, 200, 0},
		{"no key", call{method: "GET", path: "/api/v3/account", secret: secret}, 401, -2014},
		{"unknown key", call{method: "GET", path: "/api/v3/account", key: "other", secret: secret}, 401, -2015},
		{"bad signature", call{method: "GET", path: "/api/v3/account", key: key, secret: "wrong"}, 400, -1022},
		{"body signed with another secret", call{method: "POST", path: "/fapi/v1/leverage", body: "leverage=5&symbol=BTCUSDT", key: key, secret: secret + "x"}, 400, -1022},
		{"old timestamp", call{method: "GET", path: "/api/v3/account", key: key, secret: secret, timestamp: time.Now().Add(-6 * time.Second).UnixMilli()}, 400, -1021},
		{"future timestamp", call{method: "GET", path: "/api/v3/account", key: key, secret: secret, timestamp: time.Now().Add(2 * time.Second).UnixMilli()}, 400, -1021},
		{"wide recvWindow", call{method: "GET", path: "/api/v3/account", query: "recvWindow=10000", key: key, secret: secret, timestamp: time.Now().Add(-6 * time.Second).UnixMilli()}, 200, 0},
		{"public needs nothing", call{method: "GET", path: "/fapi/v1/premiumIndex", query: "symbol=BTCUSDT"}, 200, 0},
		{"unknown endpoint", call{method: "GET", path: "/sapi/v1/margin/isolated/account"}, 404, -1000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := tc.c.do(t, srv)
			if status != tc.status {
				t.Fatalf("status %d, want %d (%v)", status, tc.status, body)
			}
			if tc.code != 0 && body["code"] != tc.code {
				t.Errorf("code %v, want %v (%v)", body["code"], tc.code, body)
			}
		})
	}
}

func TestControlAPIOverHTTP(t *testing.T) {
	srv := start(t)
	ctl := srv.URLs().Control
	post := func(path, body string) (int, string) {
		t.Helper()
		res, err := http.Post(ctl+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for _, c := range []struct{ path, body string }{
		{"/book", `{"venue":"spot","symbol":"BTCUSDT","bid":"60000","bid_qty":"2","ask":"60001","ask_qty":"3"}`},
		{"/balance", `{"venue":"futures","asset":"USDT","free":"1000"}`},
		{"/position", `{"symbol":"BTCUSDT","qty":"-0.5","entry":"60000"}`},
		{"/fault", `{"kind":"timeout","method":"POST","path":"/fapi/v1/order","times":1,"delay":"2s","execute":true}`},
		{"/ws", `{"action":"silence","groups":["spot"]}`},
		{"/time", `{"offset":"-1s"}`},
		{"/permissions", `{"enableReading":true,"enableWithdrawals":true}`},
	} {
		if status, body := post(c.path, c.body); status != 200 {
			t.Fatalf("%s: %d %s", c.path, status, body)
		}
	}
	status, body := post("/settle", `{"symbol":"BTCUSDT","rate":"0.0001","mark":"60000"}`)
	var s fakebinance.Settlement
	if status != 200 || json.Unmarshal([]byte(body), &s) != nil || !s.Paid || !s.Amount.Equal(decimal.RequireFromString("3")) || s.TranID == 0 {
		t.Fatalf("settle: %d %s", status, body)
	}
	if status, body := post("/book", `{"venue":"spot","symbol":"NOPE"}`); status != 400 || !strings.Contains(body, "NOPE") {
		t.Errorf("bad book: %d %s", status, body)
	}
	if status, body := post("/fault", `{"kind":"explode"}`); status != 400 || !strings.Contains(body, "explode") {
		t.Errorf("bad fault: %d %s", status, body)
	}
	if status, _ := post("/nothing", `{}`); status != 404 {
		t.Errorf("unknown control endpoint: %d", status)
	}
	res, err := http.Get(ctl + "/state")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var st fakebinance.Snapshot
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if len(st.Faults) != 1 || st.Faults[0].Kind != fakebinance.FaultTimeout || st.Faults[0].Delay != 2*time.Second || !st.Faults[0].Execute {
		t.Errorf("faults %+v", st.Faults)
	}
	if len(st.Positions) != 1 || !st.Positions[0].Qty.Equal(decimal.RequireFromString("-0.5")) {
		t.Errorf("positions %+v", st.Positions)
	}
	if len(st.Income) != 1 || !st.Permissions.EnableWithdrawals {
		t.Errorf("state %+v", st)
	}
	if got := srv.Balance(exchange.Futures, "USDT").Free; !got.Equal(decimal.RequireFromString("1003")) {
		t.Errorf("wallet after funding %s", got)
	}
}

func TestWebsocketRoutesAreTheLibrarys(t *testing.T) {
	srv := start(t)
	u := srv.URLs()
	dial := func(url string) (*websocket.Conn, int) {
		c, res, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			if res == nil {
				t.Fatal(err)
			}
			return nil, res.StatusCode
		}
		t.Cleanup(func() { _ = c.Close() })
		return c, 101
	}
	read := func(c *websocket.Conn) map[string]any {
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, msg, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.Unmarshal(msg, &m)
		return m
	}
	c, _ := dial(u.FuturesWS + "/market/stream?streams=btcusdt@markPrice@1s")
	if m := read(c); m["stream"] != "btcusdt@markPrice@1s" || m["data"].(map[string]any)["e"] != "markPriceUpdate" {
		t.Errorf("combined mark %v", m)
	}
	c, _ = dial(u.FuturesWS + "/public/ws/btcusdt@bookTicker")
	if m := read(c); m["e"] != "bookTicker" || m["s"] != "BTCUSDT" {
		t.Errorf("raw perp book %v", m)
	}
	c, _ = dial(u.SpotWS + "/btcusdt@bookTicker")
	if m := read(c); m["s"] != "BTCUSDT" || m["b"] == nil {
		t.Errorf("raw spot book %v", m)
	}
	// Binance's 2026 split: book tickers only on /public, mark prices only on /market.
	if _, status := dial(u.FuturesWS + "/public/ws/btcusdt@markPrice@1s"); status != 400 {
		t.Errorf("mark price on /public: %d", status)
	}
	if _, status := dial(u.FuturesWS + "/market/ws/btcusdt@bookTicker"); status != 400 {
		t.Errorf("book ticker on /market: %d", status)
	}
	if _, status := dial(u.FuturesWS + "/private/ws?listenKey=nope"); status != 400 {
		t.Errorf("unknown listenKey: %d", status)
	}
	srv.RefuseWS(true, fakebinance.WSSpot)
	if _, status := dial(u.SpotWS + "/btcusdt@bookTicker"); status != 503 {
		t.Errorf("refused: %d", status)
	}
}

func TestFaultsAreOneShotOrPersistent(t *testing.T) {
	srv := start(t)
	get := func() int {
		res, err := http.Get(srv.URLs().FuturesREST + "/fapi/v1/time")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if err := srv.InjectFault(fakebinance.Fault{Kind: fakebinance.FaultStatus, Path: "/fapi/*", Status: 502, Times: 2}); err != nil {
		t.Fatal(err)
	}
	if a, b, c := get(), get(), get(); a != 502 || b != 502 || c != 200 {
		t.Errorf("two-shot fault: %d %d %d", a, b, c)
	}
	if err := srv.InjectFault(fakebinance.Fault{Kind: fakebinance.FaultStatus, Path: "/fapi/v1/time", Status: 500}); err != nil {
		t.Fatal(err)
	}
	if a, b := get(), get(); a != 500 || b != 500 {
		t.Errorf("persistent fault: %d %d", a, b)
	}
	srv.ClearFaults()
	if get() != 200 {
		t.Error("cleared fault still active")
	}
	if err := srv.InjectFault(fakebinance.Fault{Kind: fakebinance.FaultRateLimit}); err == nil {
		t.Error("a rate limit without Retry-After must be refused")
	}
	if len(fakebinance.Endpoints()) < 40 {
		t.Errorf("endpoints: %v", fakebinance.Endpoints())
	}
}

// An order that does not exist is -2013 to a query and -2011 to a cancel, as on Binance; a request that names
// no order is -1102 to both, and a malformed orderId is a parameter error, not an unknown order.
func TestUnknownOrdersAnswerLikeBinance(t *testing.T) {
	srv := start(t)
	key, secret := srv.APIKey(), srv.APISecret()
	for _, tc := range []struct {
		method, path, query string
		code                float64
	}{
		{"GET", "/api/v3/order", "symbol=BTCUSDT&origClientOrderId=nope", -2013},
		{"DELETE", "/api/v3/order", "symbol=BTCUSDT&origClientOrderId=nope", -2011},
		{"DELETE", "/fapi/v1/order", "symbol=BTCUSDT&orderId=123456", -2011},
		{"GET", "/api/v3/order", "symbol=BTCUSDT", -1102},
		{"DELETE", "/api/v3/order", "symbol=BTCUSDT", -1102},
		{"DELETE", "/fapi/v1/order", "symbol=BTCUSDT&orderId=abc", -1100},
	} {
		status, body := call{method: tc.method, path: tc.path, query: tc.query, key: key, secret: secret}.do(t, srv)
		if status != 400 || body["code"] != tc.code {
			t.Errorf("%s %s?%s: %d %v, want 400 code %v", tc.method, tc.path, tc.query, status, body, tc.code)
		}
	}
}
