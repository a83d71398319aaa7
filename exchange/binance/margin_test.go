package binance_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance"
	"github.com/carry-trading/carry/exchange/binance/fakebinance"
)

// marginFake is a fake with a funded cross-margin wallet and BTC lent at 0.00000417 an hour
// (0.1 BTC → 0.000000417 → 0.00000042 charged, rounded up to 8 decimals).
func marginFake(t *testing.T, usdt string) (*fakebinance.Server, *binance.Client) {
	t.Helper()
	srv := startFake(t, fakebinance.Options{})
	must(t, srv.SetBalance(exchange.Margin, "USDT", d(usdt)))
	must(t, srv.SetInterestRate("BTC", d("0.00000417")))
	return srv, newClient(t, fakeConfig(srv))
}

func requireRejected(t *testing.T, err error, kind exchange.RejectKind, code int) {
	t.Helper()
	var rej *exchange.RejectError
	if !errors.As(err, &rej) {
		t.Fatalf("%v: want a rejection (%s, %d)", err, kind, code)
	}
	if rej.Kind != kind || rej.Code != code {
		t.Fatalf("rejection %s %d (%s), want %s %d", rej.Kind, rej.Code, rej.Reason, kind, code)
	}
}

func fakeLoan(srv *fakebinance.Server, asset string) fakebinance.Loan {
	for _, l := range srv.Loans() {
		if l.Asset == asset {
			return l
		}
	}
	return fakebinance.Loan{Asset: asset}
}

func marginBalance(t *testing.T, c *binance.Client, asset string) exchange.Balance {
	t.Helper()
	bs, err := c.Balances(ctxT(t, 5*time.Second), exchange.Margin)
	must(t, err)
	for _, b := range bs {
		if b.Venue != exchange.Margin {
			t.Fatalf("balance of venue %s", b.Venue)
		}
		if b.Asset == asset {
			return b
		}
	}
	return exchange.Balance{Venue: exchange.Margin, Asset: asset}
}

func TestMarginBorrowRepayThroughGoBinance(t *testing.T) {
	srv, c := marginFake(t, "10000")
	ctx := ctxT(t, 20*time.Second)
	since := time.Now().Add(-time.Minute)

	// Cross Margin Classic 3x: 10000 of equity may owe 20000, 0.33333330 BTC at the mid 60000.005.
	m, err := c.MaxBorrowable(ctx, "BTC")
	must(t, err)
	eq(t, "max borrowable", m, d("0.33333330"))

	tx, err := c.Borrow(ctx, "BTC", d("0.1"))
	must(t, err)
	if tx.Kind != exchange.LoanBorrow || tx.Asset != "BTC" || !tx.Amount.Equal(d("0.1")) || tx.TranID == "" || tx.Time.IsZero() {
		t.Fatalf("borrow %+v", tx)
	}
	_, err = c.Borrow(ctx, "BTC", d("1"))
	requireRejected(t, err, exchange.RejectInsufficient, -3006)
	eq(t, "principal after a refused borrow", fakeLoan(srv, "BTC").Principal, d("0.1"))

	rate, err := c.HourlyInterestRate(ctx, "BTC")
	must(t, err)
	eq(t, "hourly rate", rate, d("0.00000417"))

	loans, err := c.Loans(ctx)
	must(t, err)
	if len(loans) != 1 || !loans[0].Principal.Equal(d("0.1")) || !loans[0].Interest.Equal(d("0.00000042")) {
		t.Fatalf("loans %+v", loans)
	}
	charges := srv.ChargeInterest(1) // the next hour boundary
	if len(charges) != 1 || !charges[0].Interest.Equal(d("0.00000042")) {
		t.Fatalf("charges %+v", charges)
	}
	b := marginBalance(t, c, "BTC")
	eq(t, "BTC free", b.Free, d("0.1"))
	eq(t, "BTC borrowed", b.Borrowed, d("0.1"))
	eq(t, "BTC interest", b.Interest, d("0.00000084"))
	eq(t, "USDT free", marginBalance(t, c, "USDT").Free, d("10000"))

	// Margin level = (10000 + 0.1 × 60000.005) ÷ (0.10000084 × 60000.005) = 16000.0005 ÷ 6000.0509000042.
	lvl, err := c.MarginLevel(ctx)
	must(t, err)
	eq(t, "margin level", lvl, d("2.66664413"))

	// Repay 0.05: interest (0.00000084) first, the rest principal.
	rtx, err := c.Repay(ctx, "BTC", d("0.05"))
	must(t, err)
	if rtx.Kind != exchange.LoanRepay || !rtx.Amount.Equal(d("0.05")) {
		t.Fatalf("repay %+v", rtx)
	}
	eq(t, "principal part of the repayment", rtx.Principal, d("0.04999916"))
	eq(t, "principal left", fakeLoan(srv, "BTC").Principal, d("0.05000084"))
	eq(t, "interest left", fakeLoan(srv, "BTC").Interest, decimal.Zero)
	_, err = c.Repay(ctx, "BTC", d("1"))
	requireRejected(t, err, exchange.RejectOther, -3015)
	_, err = c.Repay(ctx, "USDT", d("1"))
	requireRejected(t, err, exchange.RejectOther, -3015)

	hist, err := c.LoanHistory(ctx, "BTC", since)
	must(t, err)
	kinds := map[exchange.LoanKind]decimal.Decimal{}
	n := map[exchange.LoanKind]int{}
	for i, h := range hist {
		if i > 0 && h.Time.Before(hist[i-1].Time) {
			t.Errorf("history not oldest first: %+v", hist)
		}
		kinds[h.Kind] = kinds[h.Kind].Add(h.Amount)
		n[h.Kind]++
	}
	if n[exchange.LoanBorrow] != 1 || n[exchange.LoanRepay] != 1 || n[exchange.LoanInterest] != 2 {
		t.Fatalf("history %+v", hist)
	}
	eq(t, "borrowed", kinds[exchange.LoanBorrow], d("0.1"))
	eq(t, "repaid", kinds[exchange.LoanRepay], d("0.05"))
	eq(t, "interest", kinds[exchange.LoanInterest], d("0.00000084"))
	for _, h := range hist {
		if h.Kind == exchange.LoanInterest && (!h.Rate.Equal(d("0.00000417")) || !h.Principal.Equal(d("0.1"))) {
			t.Errorf("interest row %+v", h)
		}
		if h.Kind == exchange.LoanRepay && !h.Principal.Equal(d("0.04999916")) {
			t.Errorf("repay row %+v", h)
		}
	}
	all, err := c.LoanHistory(ctx, "", since)
	must(t, err)
	if len(all) != len(hist) {
		t.Errorf("history of every asset has %d rows, of BTC %d", len(all), len(hist))
	}
	if later, err := c.LoanHistory(ctx, "BTC", time.Now().Add(time.Minute)); err != nil || len(later) != 0 {
		t.Errorf("history from the future: %+v %v", later, err)
	}
}

// The reverse pair's spot leg through the real client: a margin SELL with MARGIN_BUY borrows what it sells,
// a BUY with AUTO_REPAY grossed up for the fee and the interest repays the loan in full.
func TestMarginOrdersWithSideEffects(t *testing.T) {
	srv, c := marginFake(t, "3100")
	ctx := ctxT(t, 20*time.Second)

	sell, err := c.PlaceOrder(ctx, exchange.OrderRequest{ClientID: "m-sell-1", Venue: exchange.Margin, Symbol: "BTCUSDT", Side: exchange.Sell,
		Type: exchange.Market, Qty: d("0.1"), SideEffect: exchange.AutoBorrow})
	must(t, err)
	qty, fee := sumFills(sell)
	if sell.Venue != exchange.Margin || sell.Status != exchange.StatusFilled || !qty.Equal(d("0.1")) || !fee.Equal(d("6")) || sell.Fills[0].Venue != exchange.Margin {
		t.Fatalf("margin sell %+v", sell)
	}
	eq(t, "borrowed by MARGIN_BUY", fakeLoan(srv, "BTC").Principal, d("0.1"))
	eq(t, "margin USDT after the sell", srv.Balance(exchange.Margin, "USDT").Free, d("9094"))
	eq(t, "spot USDT untouched", srv.Balance(exchange.Spot, "USDT").Free, decimal.Zero)

	q, err := c.QueryOrder(ctx, exchange.Margin, "BTCUSDT", "m-sell-1")
	must(t, err)
	qty, fee = sumFills(q)
	if q.Venue != exchange.Margin || q.Status != exchange.StatusFilled || !qty.Equal(d("0.1")) || !fee.Equal(d("6")) || q.Fills[0].FeeAsset != "USDT" {
		t.Fatalf("queried %+v", q)
	}
	if _, err := c.QueryOrder(ctx, exchange.Spot, "BTCUSDT", "m-sell-1"); !errors.Is(err, exchange.ErrNotFound) {
		t.Errorf("margin order on spot: %v", err)
	}

	srv.ChargeInterest(3)
	loans, err := c.Loans(ctx)
	must(t, err)
	if len(loans) != 1 {
		t.Fatalf("loans %+v", loans)
	}
	eq(t, "interest after 4 hours", loans[0].Interest, d("0.00000168"))
	buyQty := exchange.SpotBuyGrossUp(loans[0].Principal.Add(loans[0].Interest), d("0.001"), d("0.00001"))
	eq(t, "gross-up", buyQty, d("0.10011"))
	buy, err := c.PlaceOrder(ctx, exchange.OrderRequest{ClientID: "m-buy-1", Venue: exchange.Margin, Symbol: "BTCUSDT", Side: exchange.Buy,
		Type: exchange.Market, Qty: buyQty, SideEffect: exchange.AutoRepay})
	must(t, err)
	if _, fee := sumFills(buy); !fee.Equal(d("0.00010011")) || buy.Fills[0].FeeAsset != "BTC" {
		t.Fatalf("buy %+v", buy)
	}
	if loans, err := c.Loans(ctx); err != nil || len(loans) != 0 {
		t.Fatalf("loans after AUTO_REPAY: %+v %v", loans, err)
	}
	eq(t, "BTC dust", marginBalance(t, c, "BTC").Free, d("0.00000821"))
	// 9094 − 0.10011 × 60000.01 (6006.6010011) = 3087.3989989.
	eq(t, "margin USDT", marginBalance(t, c, "USDT").Free, d("3087.3989989"))
	if lvl, err := c.MarginLevel(ctx); err != nil || !lvl.Equal(d("999")) {
		t.Errorf("margin level with no debt %s %v", lvl, err)
	}

	// Refusals: nothing sent or nothing happened.
	_, err = c.PlaceOrder(ctx, exchange.OrderRequest{ClientID: "m-sell-2", Venue: exchange.Margin, Symbol: "BTCUSDT", Side: exchange.Sell,
		Type: exchange.Market, Qty: d("0.1")})
	requireRejected(t, err, exchange.RejectInsufficient, -2010)
	_, err = c.PlaceOrder(ctx, exchange.OrderRequest{ClientID: "m-sell-3", Venue: exchange.Margin, Symbol: "BTCUSDT", Side: exchange.Sell,
		Type: exchange.Market, Qty: d("1"), SideEffect: exchange.AutoBorrow})
	requireRejected(t, err, exchange.RejectInsufficient, -3006)
	if len(srv.Loans()) != 0 {
		t.Errorf("a refused auto-borrow left a loan: %+v", srv.Loans())
	}
	before := len(srv.Requests(""))
	_, err = c.PlaceOrder(ctx, exchange.OrderRequest{ClientID: "s-se", Venue: exchange.Spot, Symbol: "BTCUSDT", Side: exchange.Sell,
		Type: exchange.Market, Qty: d("0.1"), SideEffect: exchange.AutoBorrow})
	if !exchange.IsRejected(err) || len(srv.Requests("")) != before {
		t.Errorf("a side effect on spot: %v (requests %d → %d)", err, before, len(srv.Requests("")))
	}

	// A resting margin order can be cancelled; its auto-borrow goes back (autoRepayAtCancel).
	_, err = c.PlaceOrder(ctx, exchange.OrderRequest{ClientID: "m-rest-1", Venue: exchange.Margin, Symbol: "BTCUSDT", Side: exchange.Sell,
		Type: exchange.LimitMaker, Qty: d("0.01"), Price: d("61000"), SideEffect: exchange.AutoBorrow})
	must(t, err)
	eq(t, "locked by the resting sell", marginBalance(t, c, "BTC").Locked, d("0.01"))
	co, err := c.CancelOrder(ctx, exchange.Margin, "BTCUSDT", "m-rest-1")
	must(t, err)
	if co.Status != exchange.StatusCanceled {
		t.Errorf("cancelled %+v", co)
	}
	l := fakeLoan(srv, "BTC")
	// The sell borrowed 0.00999179 (the 0.00000821 of dust covered the rest) and was charged 0.00000005; the
	// cancel repaid the 0.00999179, interest first: 0.00000005 of principal is left.
	eq(t, "principal after the cancel", l.Principal, d("0.00000005"))
}

func TestMarginFaults(t *testing.T) {
	srv, c0 := marginFake(t, "10000")
	cfg := fakeConfig(srv)
	cfg.HTTPTimeout = 300 * time.Millisecond
	c := newClient(t, cfg)
	ctx := ctxT(t, 20*time.Second)
	const path = "/sapi/v1/margin/order"
	sell := func(id, qty string) exchange.OrderRequest {
		return exchange.OrderRequest{ClientID: id, Venue: exchange.Margin, Symbol: "BTCUSDT", Side: exchange.Sell, Type: exchange.Market,
			Qty: d(qty), SideEffect: exchange.AutoBorrow}
	}

	// Timed out after it executed: unknown, not retried, then found by client id with the loan it made.
	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultTimeout, Method: "POST", Path: path, Execute: true, Times: 1})
	_, err := c.PlaceOrder(ctx, sell("mf-1", "0.01"))
	requireUnknown(t, err)
	if n := posts(srv, path); n != 1 {
		t.Errorf("%d margin order posts", n)
	}
	o, err := c.QueryOrder(ctx, exchange.Margin, "BTCUSDT", "mf-1")
	must(t, err)
	if qty, _ := sumFills(o); o.Status != exchange.StatusFilled || !qty.Equal(d("0.01")) {
		t.Fatalf("queried after the timeout %+v", o)
	}
	eq(t, "borrowed by the timed-out order", fakeLoan(srv, "BTC").Principal, d("0.01"))

	// Timed out and never executed: unknown, and not found.
	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultTimeout, Method: "POST", Path: path, Times: 1})
	_, err = c.PlaceOrder(ctx, sell("mf-2", "0.01"))
	requireUnknown(t, err)
	if _, err := c.QueryOrder(ctx, exchange.Margin, "BTCUSDT", "mf-2"); !errors.Is(err, exchange.ErrNotFound) {
		t.Errorf("query of a lost margin order: %v", err)
	}

	// 5xx after executing: unknown, then found.
	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultStatus, Method: "POST", Path: path, Status: http.StatusServiceUnavailable, Execute: true, Times: 1})
	_, err = c.PlaceOrder(ctx, sell("mf-3", "0.01"))
	requireUnknown(t, err)
	if o, err := c.QueryOrder(ctx, exchange.Margin, "BTCUSDT", "mf-3"); err != nil || o.Status != exchange.StatusFilled {
		t.Errorf("query after a 5xx: %+v %v", o, err)
	}
	eq(t, "borrowed after two executed orders", fakeLoan(srv, "BTC").Principal, d("0.02"))

	// Rejected: Binance's lending pool is dry (-3045): a rejection, nothing happened.
	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultReject, Method: "POST", Path: path, Code: -3045, Msg: "The system does not have enough asset now.", Times: 1})
	_, err = c.PlaceOrder(ctx, sell("mf-4", "0.01"))
	requireRejected(t, err, exchange.RejectInsufficient, -3045)
	if _, err := c.QueryOrder(ctx, exchange.Margin, "BTCUSDT", "mf-4"); !errors.Is(err, exchange.ErrNotFound) {
		t.Errorf("a rejected order exists: %v", err)
	}

	// A partial fill: the unfilled half's borrow goes back (autoRepayAtCancel).
	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultPartial, Method: "POST", Path: path, Ratio: d("0.5"), Times: 1})
	p, err := c.PlaceOrder(ctx, sell("mf-5", "0.02"))
	must(t, err)
	if p.Status != exchange.StatusExpired || !p.ExecutedQty.Equal(d("0.01")) {
		t.Fatalf("partial %+v", p)
	}
	// Debt: 0.01 + 0.01 + 0.02 borrowed, 0.00000005 + 0.00000005 + 0.00000009 charged when borrowed, 0.01 of
	// the 0.02 repaid when the order expired half-filled.
	l := fakeLoan(srv, "BTC")
	eq(t, "debt after the partial", l.Principal.Add(l.Interest), d("0.04").Add(d("0.00000019")).Sub(d("0.01")))

	// A borrow whose answer is lost: unknown; the loan history resolves it.
	since := time.Now().Add(-time.Minute)
	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultTimeout, Method: "POST", Path: "/sapi/v1/margin/borrow-repay", Execute: true, Times: 1})
	_, err = c.Borrow(ctx, "USDT", d("100"))
	requireUnknown(t, err)
	hist, err := c0.LoanHistory(ctx, "USDT", since)
	must(t, err)
	if len(hist) != 2 || hist[0].Kind != exchange.LoanBorrow || !hist[0].Amount.Equal(d("100")) {
		t.Fatalf("history after a lost borrow %+v", hist)
	}
	// A 5xx on a read is an error, not a guess.
	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultStatus, Path: "/sapi/v1/margin/account", Status: 500, Times: 1})
	if _, err := c.MarginLevel(ctx); err == nil {
		t.Error("margin level during a 500")
	}
	// A borrow rejected outright.
	inject(t, srv, fakebinance.Fault{Kind: fakebinance.FaultReject, Method: "POST", Path: "/sapi/v1/margin/borrow-repay", Code: -3045, Msg: "The system does not have enough asset now.", Times: 1})
	_, err = c.Borrow(ctx, "BTC", d("0.001"))
	requireRejected(t, err, exchange.RejectInsufficient, -3045)
}
