package main

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance/fakebinance"
)

// liveBot is a live-mode bot trading the fake Binance's account with the fake's key.
func liveBot(t *testing.T, extra ...string) *paperBot {
	t.Helper()
	b := newPaperBot(t, append([]string{"CARRY_MODE=live", "CARRY_ACCOUNT_API_KEY=" + fakebinance.DefaultAPIKey,
		"CARRY_ACCOUNT_API_SECRET=" + fakebinance.DefaultAPISecret}, extra...)...)
	if err := b.fake.SetBalance(exchange.Spot, "USDT", decimal.NewFromInt(100000)); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLiveModeAgainstTheFake: `carry run --mode live` against the fake Binance opens a pair, is paid
// funding, and closes the pair through an operator's unwind. The order that opens the perp times out after
// it executed and the websockets drop mid-open: the fills and the funding payment still land in Postgres
// exactly once each, equal to the fake's own trades and income.
func TestLiveModeAgainstTheFake(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	b := liveBot(t)
	if err := b.fake.InjectFault(fakebinance.Fault{Kind: fakebinance.FaultTimeout, Method: "POST", Path: "/fapi/v1/order", Times: 1,
		Execute: true, Delay: 500 * time.Millisecond, Status: 504}); err != nil {
		t.Fatal(err)
	}
	p := b.start(t)
	p.waitFor(t, `"to":"opening"`, 60*time.Second)
	b.fake.DropWS(fakebinance.Groups()...)
	b.waitPairs(t, p, "one open pair", hasOpen)
	if !strings.Contains(p.logs.String(), "order outcome unknown") {
		t.Fatalf("the injected timeout did not happen:\n%s", tail(grepOut(p.logs.String(), `"evaluated"`), 30))
	}

	if _, err := b.fake.Settle("BTCUSDT", decimal.RequireFromString("0.0003"), decimal.Zero); err != nil {
		t.Fatal(err)
	}
	waitFunding(t, b, 1)
	r := runCarry(t, b.env, "unwind", "BTCUSDT", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "closed") {
		t.Fatalf("unwind: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	b.stop(t, p)

	snap := b.fake.State()
	ctx := context.Background()
	c := b.conn(t)
	var fakeTrades, botTrades []string
	for _, tr := range snap.Trades {
		fakeTrades = append(fakeTrades, string(tr.Venue)+"/"+strconv.FormatInt(tr.TradeID, 10)+"/"+tr.Qty.String())
	}
	rows, err := c.Query(ctx, "SELECT venue, trade_id, qty FROM fills")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v, id string
		var q decimal.Decimal
		_ = rows.Scan(&v, &id, &q)
		botTrades = append(botTrades, v+"/"+id+"/"+q.String())
	}
	rows.Close()
	sort.Strings(fakeTrades)
	sort.Strings(botTrades)
	if strings.Join(fakeTrades, " ") != strings.Join(botTrades, " ") || len(fakeTrades) != 4 {
		t.Fatalf("fills: the venue has %v, the bot recorded %v", fakeTrades, botTrades)
	}
	var funding []string
	for _, in := range snap.Income {
		if in.IncomeType == "FUNDING_FEE" {
			funding = append(funding, strconv.FormatInt(in.TranID, 10)+"/"+in.Income)
		}
	}
	var stored []string
	rows, err = c.Query(ctx, "SELECT tran_id, amount FROM funding_payments")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var amt decimal.Decimal
		_ = rows.Scan(&id, &amt)
		stored = append(stored, id+"/"+decimal.RequireFromString(amt.String()).StringFixed(8))
	}
	rows.Close()
	for i := range funding {
		id, amt, _ := strings.Cut(funding[i], "/")
		funding[i] = id + "/" + decimal.RequireFromString(amt).StringFixed(8)
	}
	if len(funding) != 1 || strings.Join(funding, " ") != strings.Join(stored, " ") {
		t.Fatalf("funding: the venue paid %v, the bot stored %v", funding, stored)
	}
	for _, pos := range snap.Positions {
		if !pos.Qty.IsZero() {
			t.Fatalf("a position is left on the venue: %+v", pos)
		}
	}
}

// TestLiveRefusesAKeyThatCanWithdraw: start-up stops before any order when the key may withdraw.
func TestLiveRefusesAKeyThatCanWithdraw(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	b := liveBot(t)
	perms := fakebinance.DefaultPermissions()
	perms.EnableWithdrawals = true
	b.fake.SetPermissions(perms)
	r := runCarry(t, b.env, "run")
	if r.code != exitRefused || !strings.Contains(strings.ToLower(r.stderr), "withdraw") {
		t.Fatalf("exit %d, want %d with a clear message:\n%s", r.code, exitRefused, r.stderr)
	}
	for _, o := range b.fake.State().Orders {
		t.Fatalf("an order reached the venue: %+v", o)
	}
}
