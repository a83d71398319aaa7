package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange/binance/fakebinance"
)

// TestReverseBacktestChargesInterestHourly: over the negative funding of November 2022 the backtest opens a
// reverse pair (borrow BTC, sell it, long the perp); the loan is charged at the borrow and at every hour
// boundary until it is repaid, each charge principal × hourly rate (rounded up to 1e-8 BTC, as the paper
// venue charges), the total equals that hand computation, the loan is repaid with its interest, and the report
// counts the interest against the carry.
func TestReverseBacktestChargesInterestHourly(t *testing.T) {
	res, _, db := backtest(t, []string{"CARRY_STRATEGY_REVERSE=true", "CARRY_FEES_BORROW_HOURLY=0.000005"},
		"--from", "2022-11-01", "--to", "2022-12-15", "--no-chart", "--no-baseline")
	ctx := context.Background()
	b := &paperBot{db: db}
	c := b.conn(t)
	var reverse int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM pairs WHERE direction = 'reverse' AND opened_at IS NOT NULL").Scan(&reverse); err != nil || reverse == 0 {
		t.Fatalf("no reverse pair opened over November 2022 (%v)", err)
	}
	type tx struct {
		kind   string
		amount decimal.Decimal
		at     time.Time
	}
	var txs []tx
	rows, err := c.Query(ctx, "SELECT kind, amount, at FROM loan_txs ORDER BY at, id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var x tx
		_ = rows.Scan(&x.kind, &x.amount, &x.at)
		txs = append(txs, x)
	}
	rows.Close()
	rate := decimal.RequireFromString("0.000005")
	total, handTotal := decimal.Zero, decimal.Zero
	var borrowed decimal.Decimal
	var since time.Time
	interest := []tx{}
	for _, x := range txs {
		switch x.kind {
		case "borrow":
			borrowed, since = x.amount, x.at
			handTotal = handTotal.Add(borrowed.Mul(rate).RoundCeil(8)) // charged at the borrow
		case "interest":
			interest = append(interest, x)
			total = total.Add(x.amount)
		case "repay":
			// Every hour boundary after the borrow, up to and including the repayment's time.
			for h := since.Truncate(time.Hour).Add(time.Hour); !h.After(x.at); h = h.Add(time.Hour) {
				handTotal = handTotal.Add(borrowed.Mul(rate).RoundCeil(8))
			}
			if !x.amount.GreaterThanOrEqual(borrowed) {
				t.Fatalf("repaid %s of a %s loan", x.amount, borrowed)
			}
			borrowed = decimal.Zero
		}
	}
	if len(interest) == 0 || !total.Equal(handTotal) {
		t.Fatalf("interest charged %s over %d charges, hand computation %s", total, len(interest), handTotal)
	}
	for i := 1; i < len(interest); i++ {
		if d := interest[i].at.Sub(interest[i-1].at); d > time.Hour {
			t.Fatalf("an hour without interest between %s and %s", interest[i-1].at, interest[i].at)
		}
	}
	if !borrowed.IsZero() {
		t.Fatal("the loan was never repaid")
	}
	s := res.Summary.Strategy
	if !s.Interest.IsPositive() || !s.NetPnL.Equal(s.Funding.Sub(s.Fees).Sub(s.Interest).Add(s.BasisPnL)) {
		t.Fatalf("the report must count the interest: %+v", s)
	}
}

// reverseBot is a bot that sees strongly negative funding and may trade reverse carry.
func reverseFunding(t *testing.T, f *fakebinance.Server) {
	t.Helper()
	setMarket(t, f, "60000", "59940", "-0.001")
}

// TestReverseLivePathRepaysTheLoan: against the fake Binance, live mode opens a reverse pair (margin sell with
// auto-borrow, perp long) and an operator's unwind closes it with the loan fully repaid.
func TestReverseLivePathRepaysTheLoan(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	b := liveBot(t, "CARRY_STRATEGY_REVERSE=true")
	reverseFunding(t, b.fake)
	p := b.start(t)
	b.waitPairs(t, p, "one open pair", hasOpen)
	loans := b.fake.State().Loans
	if len(loans) == 0 || !loans[0].Principal.IsPositive() {
		t.Fatalf("no loan after opening a reverse pair: %+v\n%s", loans, tail(grepOut(p.logs.String(), `"evaluated"`), 30))
	}
	r := runCarry(t, b.env, "unwind", "BTCUSDT", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "closed") {
		t.Fatalf("unwind: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	b.stop(t, p)
	for _, l := range b.fake.State().Loans {
		if l.Principal.IsPositive() || l.Interest.IsPositive() {
			t.Fatalf("the loan is not repaid: %+v", l)
		}
	}
	for _, pos := range b.fake.State().Positions {
		if !pos.Qty.IsZero() {
			t.Fatalf("a position is left: %+v", pos)
		}
	}
}

// TestKillDuringReverse: SIGKILL during a reverse open and a reverse close; after a restart the pair is hedged
// or flat, the venue's loan is what the pairs owe, and the loan transactions are recorded.
func TestKillDuringReverse(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	for _, point := range []string{"open.after_first_leg", "close.after_first_leg"} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			b := newPaperBot(t, "CARRY_STRATEGY_REVERSE=true")
			reverseFunding(t, b.fake)
			if strings.HasPrefix(point, "open") {
				waitKilled(t, b.start(t, envCrashpoint+"="+point), point)
				p := b.start(t)
				p.waitFor(t, "recovery done", 60*time.Second)
				b.waitPairs(t, p, "one open pair", hasOpen)
				b.stop(t, p)
			} else {
				p := b.start(t, envCrashpoint+"="+point)
				b.waitPairs(t, p, "one open pair", hasOpen)
				_ = runCarry(t, b.env, "unwind", "BTCUSDT", "--yes", "--timeout", "20s")
				waitKilled(t, p, point)
				p = b.start(t)
				p.waitFor(t, "recovery done", 60*time.Second)
				b.waitPairs(t, p, "the pair closed", allClosed)
				b.stop(t, p)
			}
			b.checkVenueAgrees(t)
			b.checkLoansAgree(t)
		})
	}
}

// checkLoansAgree: every borrow, repayment and interest charge in the paper venue's journal is recorded in
// loan_txs, and what is owed equals what the open reverse pairs sold (nothing when all are closed).
func (b *paperBot) checkLoansAgree(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	c := b.conn(t)
	venueTx := map[string]bool{}
	rows, err := c.Query(ctx, "SELECT kind, payload FROM paper_journal WHERE kind IN ('margin_order', 'borrow', 'repay', 'interest')")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var kind string
		var raw []byte
		_ = rows.Scan(&kind, &raw)
		var p struct {
			TranID string `json:"tran_id"`
			Borrow *struct {
				TranID string `json:"tran_id"`
			} `json:"borrow"`
			Repay *struct {
				TranID string `json:"tran_id"`
			} `json:"repay"`
			Charges []struct {
				TranID string `json:"tran_id"`
			} `json:"charges"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{p.TranID} {
			if id != "" {
				venueTx[id] = true
			}
		}
		if p.Borrow != nil {
			venueTx[p.Borrow.TranID] = true
		}
		if p.Repay != nil {
			venueTx[p.Repay.TranID] = true
		}
		for _, ch := range p.Charges {
			venueTx[ch.TranID] = true
		}
	}
	rows.Close()
	recorded := map[string]bool{}
	rows, err = c.Query(ctx, "SELECT tran_id FROM loan_txs")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		recorded[id] = true
	}
	rows.Close()
	if len(venueTx) == 0 {
		t.Fatal("the venue lent nothing")
	}
	for id := range venueTx {
		if !recorded[id] {
			t.Fatalf("loan transaction %s happened on the venue but is not recorded", id)
		}
	}
	var sold, borrowed, repaid decimal.Decimal
	_ = c.QueryRow(ctx, "SELECT COALESCE(sum(spot_qty), 0) FROM pairs WHERE state = 'open'").Scan(&sold)
	_ = c.QueryRow(ctx, "SELECT COALESCE(sum(amount) FILTER (WHERE kind = 'borrow'), 0), COALESCE(sum(amount) FILTER (WHERE kind = 'repay'), 0) FROM loan_txs").Scan(&borrowed, &repaid)
	owed := borrowed.Sub(repaid)
	if sold.IsZero() && owed.IsPositive() {
		t.Fatalf("no open pair, yet %s is still owed (borrowed %s, repaid %s)", owed, borrowed, repaid)
	}
	if sold.IsPositive() && !owed.Equal(sold) {
		t.Fatalf("the open reverse pair sold %s but %s is owed", sold, owed)
	}
}
