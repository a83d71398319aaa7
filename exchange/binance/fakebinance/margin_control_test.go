package fakebinance_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance/fakebinance"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func post(t *testing.T, srv *fakebinance.Server, op, body string, out any) {
	t.Helper()
	res, err := http.Post(srv.URLs().Control+"/"+op, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST /_fake/%s: HTTP %d", op, res.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

// The margin control API over HTTP: rate, borrow limit, an hour of interest; the signed endpoints see them.
func TestMarginControlAPI(t *testing.T) {
	srv := start(t)
	key, secret := srv.APIKey(), srv.APISecret()
	post(t, srv, "balance", `{"venue":"margin","asset":"USDT","free":"10000"}`, nil)
	post(t, srv, "book", `{"venue":"spot","symbol":"BTCUSDT","bid":"60000","bid_qty":"2","ask":"60000.01","ask_qty":"2"}`, nil)
	post(t, srv, "interest_rate", `{"asset":"BTC","rate":"0.00000417"}`, nil)
	post(t, srv, "borrow_limit", `{"asset":"BTC","limit":"0.2"}`, nil)

	status, body := call{method: "GET", path: "/sapi/v1/margin/maxBorrowable", query: "asset=BTC", key: key, secret: secret}.do(t, srv)
	if status != 200 || body["amount"] != "0.20000000" || body["borrowLimit"] != "0.20000000" {
		t.Fatalf("maxBorrowable %d %v", status, body)
	}
	status, body = call{method: "POST", path: "/sapi/v1/margin/borrow-repay", body: "asset=BTC&amount=0.3&type=BORROW&isIsolated=FALSE", key: key, secret: secret}.do(t, srv)
	if status != 400 || body["code"] != float64(-3006) {
		t.Fatalf("borrow past the limit: %d %v", status, body)
	}
	status, body = call{method: "POST", path: "/sapi/v1/margin/borrow-repay", body: "asset=BTC&amount=0.1&type=BORROW", key: key, secret: secret}.do(t, srv)
	if status != 200 || body["tranId"] == nil {
		t.Fatalf("borrow: %d %v", status, body)
	}
	var charges []fakebinance.InterestCharge
	post(t, srv, "interest", `{"hours":2}`, &charges)
	if len(charges) != 2 || !charges[0].Interest.Equal(d("0.00000042")) || charges[0].Asset != "BTC" {
		t.Fatalf("charges %+v", charges)
	}
	loans := srv.State().Loans
	if len(loans) != 1 || !loans[0].Principal.Equal(d("0.1")) || !loans[0].Interest.Equal(d("0.00000126")) {
		t.Fatalf("loans %+v", loans)
	}
	status, body = call{method: "GET", path: "/sapi/v1/margin/account", key: key, secret: secret}.do(t, srv)
	if status != 200 || body["marginLevel"] == "999.00000000" {
		t.Fatalf("margin account %d %v", status, body)
	}
	// Isolated margin is refused rather than silently treated as cross.
	status, _ = call{method: "GET", path: "/sapi/v1/margin/next-hourly-interest-rate", query: "assets=BTC&isIsolated=TRUE", key: key, secret: secret}.do(t, srv)
	if status != 400 {
		t.Errorf("isolated rate: %d", status)
	}
	if got := srv.Balance(exchange.Margin, "BTC").Free; !got.Equal(d("0.1")) {
		t.Errorf("margin BTC %s", got)
	}
}
