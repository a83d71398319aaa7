package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	pgxdecimal "github.com/jackc/pgx-shopspring-decimal"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange/binance/fakebinance"
)

// paperBot is a paper-mode bot against a fake Binance, on a database of its own.
type paperBot struct {
	fake *fakebinance.Server
	db   string
	env  []string
}

func newPaperBot(t *testing.T, extra ...string) *paperBot {
	t.Helper()
	fake := startFake(t)
	db := pg.NewDB(t)
	env := fakeEnv(fake, append([]string{"DATABASE_URL=" + db, "CARRY_STRATEGY_EVAL_INTERVAL=1s", "CARRY_EXECUTION_MAX_UNHEDGED_SECONDS=5"}, extra...)...)
	return &paperBot{fake: fake, db: db, env: env}
}

func (b *paperBot) start(t *testing.T, extra ...string) *proc {
	t.Helper()
	return startCarry(t, append(append([]string{}, b.env...), extra...), "run", "--log-level", "debug")
}

// stop sends SIGTERM and expects exit 0.
func (b *paperBot) stop(t *testing.T, p *proc) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0:\n%s", code, tail(p.logs.String(), 40))
	}
}

func (b *paperBot) conn(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, b.db)
	if err != nil {
		t.Fatal(err)
	}
	pgxdecimal.Register(c.TypeMap())
	t.Cleanup(func() { c.Close(ctx) })
	return c
}

// waitPairs polls until the pairs satisfy ok, or fails with the bot's logs.
func (b *paperBot) waitPairs(t *testing.T, p *proc, what string, ok func(states map[string]int) bool) {
	t.Helper()
	c := b.conn(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		states := map[string]int{}
		rows, err := c.Query(context.Background(), "SELECT state FROM pairs")
		if err == nil {
			for rows.Next() {
				var s string
				_ = rows.Scan(&s)
				states[s]++
			}
			rows.Close()
			if ok(states) {
				return
			}
		}
		if time.Now().After(deadline) {
			logs := ""
			if p != nil {
				logs = tail(grepOut(p.logs.String(), `"evaluated"`), 60)
			}
			t.Fatalf("pairs never got %s (now %v):\n%s", what, states, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func hasOpen(s map[string]int) bool { return s["open"] == 1 && settled(s) }
func allClosed(s map[string]int) bool {
	return s["closed"] >= 1 && s["open"] == 0 && settled(s)
}
func settled(s map[string]int) bool {
	return s["pending"]+s["opening"]+s["closing"]+s["repairing"]+s["halted"] == 0
}

// waitKilled waits for the process to die of the crash point's SIGKILL.
func waitKilled(t *testing.T, p *proc, point string) {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		if err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("the bot should have been killed at %s, it ended with %v:\n%s", point, err, tail(p.logs.String(), 40))
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the bot never reached %s:\n%s", point, tail(p.logs.String(), 40))
	}
}

// checkVenueAgrees compares the bot's records with the paper venue's own journal (the venue's truth):
// every order the venue executed was committed by the bot first and only once; the bot's fills and
// funding payments are exactly the venue's; open pairs are hedged and hold what the venue holds.
func (b *paperBot) checkVenueAgrees(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	c := b.conn(t)
	type jorder struct {
		ClientID string `json:"client_id"`
		Venue    string `json:"venue"`
		Fills    []struct {
			TradeID string          `json:"trade_id"`
			Side    string          `json:"side"`
			Qty     decimal.Decimal `json:"qty"`
		} `json:"fills"`
	}
	venueOrders := map[string]time.Time{}
	venueFills := map[string]bool{}
	perpPosition := decimal.Zero
	rows, err := c.Query(ctx, "SELECT kind, at, payload FROM paper_journal ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	var venueFunding []string
	for rows.Next() {
		var kind string
		var at time.Time
		var raw []byte
		if err := rows.Scan(&kind, &at, &raw); err != nil {
			t.Fatal(err)
		}
		switch kind {
		case "order", "liquidation", "margin_order":
			var o jorder
			if kind == "margin_order" {
				var mo struct {
					Order json.RawMessage `json:"order"`
				}
				if err := json.Unmarshal(raw, &mo); err != nil {
					t.Fatal(err)
				}
				raw = mo.Order
			}
			if err := json.Unmarshal(raw, &o); err != nil {
				t.Fatal(err)
			}
			if _, dup := venueOrders[o.ClientID]; dup {
				t.Fatalf("the venue received client order id %s twice", o.ClientID)
			}
			venueOrders[o.ClientID] = at
			for _, f := range o.Fills {
				venueFills[o.Venue+"/"+f.TradeID] = true
				if o.Venue == "futures" {
					if f.Side == "BUY" {
						perpPosition = perpPosition.Add(f.Qty)
					} else {
						perpPosition = perpPosition.Sub(f.Qty)
					}
				}
			}
		case "funding":
			var f struct {
				TranID string `json:"tran_id"`
			}
			_ = json.Unmarshal(raw, &f)
			venueFunding = append(venueFunding, f.TranID)
		}
	}
	rows.Close()

	committed := map[string]time.Time{}
	rows, err = c.Query(ctx, "SELECT client_order_id, created_at FROM orders")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var at time.Time
		_ = rows.Scan(&id, &at)
		committed[id] = at
	}
	rows.Close()
	for id, at := range venueOrders {
		if strings.HasPrefix(id, "autoclose-") {
			continue
		}
		cat, ok := committed[id]
		if !ok {
			t.Fatalf("the venue executed order %s that the bot never committed", id)
		}
		if cat.After(at) {
			t.Fatalf("order %s was committed at %s, after the venue executed it at %s", id, cat, at)
		}
	}

	botFills := map[string]bool{}
	rows, err = c.Query(ctx, "SELECT venue, trade_id FROM fills")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v, id string
		_ = rows.Scan(&v, &id)
		botFills[v+"/"+id] = true
	}
	rows.Close()
	for k := range venueFills {
		if !botFills[k] {
			t.Fatalf("fill %s happened on the venue but is not recorded (lost)", k)
		}
	}
	for k := range botFills {
		if !venueFills[k] {
			t.Fatalf("fill %s is recorded but never happened on the venue", k)
		}
	}

	var stored []string
	rows, err = c.Query(ctx, "SELECT tran_id FROM funding_payments ORDER BY tran_id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		stored = append(stored, id)
	}
	rows.Close()
	if fmt.Sprint(sortedStrings(venueFunding)) != fmt.Sprint(stored) {
		t.Fatalf("funding: the venue paid %v, the bot stored %v", venueFunding, stored)
	}

	var pairsPerp decimal.Decimal
	prow, err := c.Query(ctx, "SELECT state, direction, spot_qty, perp_qty FROM pairs")
	if err != nil {
		t.Fatal(err)
	}
	for prow.Next() {
		var state, direction string
		var spot, perp decimal.Decimal
		_ = prow.Scan(&state, &direction, &spot, &perp)
		if direction == "reverse" {
			perp = perp.Neg() // long: counted against the carry pairs' shorts below
		}
		switch state {
		case "open":
			if spot.Sub(perp.Abs()).Abs().GreaterThanOrEqual(decimal.RequireFromString("0.001")) {
				t.Fatalf("an open pair is not hedged: spot %s perp %s", spot, perp)
			}
			pairsPerp = pairsPerp.Add(perp)
		case "closed":
		default:
			t.Fatalf("a pair was left %s", state)
		}
	}
	prow.Close()
	if !perpPosition.Neg().Equal(pairsPerp) {
		t.Fatalf("the venue holds a perp position of %s, the pairs %s", perpPosition, pairsPerp.Neg())
	}
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// TestKillDuringOpen kills the bot with SIGKILL at each step of opening a pair; the restarted bot
// reconciles with the venue and ends hedged, with no order sent twice and nothing lost or doubled.
func TestKillDuringOpen(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	for _, point := range []string{"transfer.after_intent", "open.after_intent", "open.after_first_leg", "open.after_legs", "open.after_record"} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			b := newPaperBot(t)
			waitKilled(t, b.start(t, envCrashpoint+"="+point), point)
			p := b.start(t)
			p.waitFor(t, "recovery done", 60*time.Second)
			b.waitPairs(t, p, "one open pair", hasOpen)
			b.stop(t, p)
			b.checkVenueAgrees(t)
		})
	}
}

// TestKillDuringClose kills the bot at each step of closing (an operator's unwind through the bot); the
// restarted bot finishes the close.
func TestKillDuringClose(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	for _, point := range []string{"close.after_intent", "close.after_first_leg", "close.after_legs", "close.after_record"} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			b := newPaperBot(t)
			p := b.start(t, envCrashpoint+"="+point)
			b.waitPairs(t, p, "one open pair", hasOpen)
			// A funding settlement while the pair is open: it must be stored once across the crash.
			if _, err := b.fake.Settle("BTCUSDT", decimal.RequireFromString("0.0003"), decimal.Zero); err != nil {
				t.Fatal(err)
			}
			waitFunding(t, b, 1)
			r := runCarry(t, b.env, "unwind", "BTCUSDT", "--yes", "--timeout", "20s")
			waitKilled(t, p, point)
			if r.code == 0 {
				t.Fatalf("the unwind cannot have completed through a killed bot: %s", r.stdout)
			}
			p = b.start(t)
			p.waitFor(t, "recovery done", 60*time.Second)
			// The close completes, and the symbol is not reopened right after an operator's unwind.
			b.waitPairs(t, p, "the pair closed", allClosed)
			time.Sleep(3 * time.Second)
			b.waitPairs(t, p, "no new pair during the re-entry cooldown", allClosed)
			b.stop(t, p)
			b.checkVenueAgrees(t)
		})
	}
}

// waitFunding waits until n funding payments are stored.
func waitFunding(t *testing.T, b *paperBot, n int) {
	t.Helper()
	c := b.conn(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got int
		_ = c.QueryRow(context.Background(), "SELECT count(*) FROM funding_payments").Scan(&got)
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d funding payments stored, want %d", got, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// grepOut drops the lines containing s (the per-evaluation debug lines drown the interesting ones).
func grepOut(logs, s string) string {
	var keep []string
	for _, l := range strings.Split(logs, "\n") {
		if !strings.Contains(l, s) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
