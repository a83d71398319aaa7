package executor_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/strategy/executor"
)

// lostTransferAnswer moves the money and then loses the answer (a timeout after the venue acted).
type lostTransferAnswer struct{ executor.Venue }

func (v lostTransferAnswer) Transfer(ctx context.Context, req exchange.TransferRequest) (exchange.Transfer, error) {
	if _, err := v.Venue.Transfer(ctx, req); err != nil {
		return exchange.Transfer{}, err
	}
	return exchange.Transfer{}, errors.New("injected: read timeout after the transfer was made")
}

// unreadableAfterDone is the journal whose transfer list cannot be read once a transfer was recorded done.
type unreadableAfterDone struct {
	*store.Store
	mu   sync.Mutex
	done bool
}

func (j *unreadableAfterDone) FinishTransfer(ctx context.Context, clientID, status, tranID, errText string, at time.Time) error {
	err := j.Store.FinishTransfer(ctx, clientID, status, tranID, errText, at)
	j.mu.Lock()
	j.done = j.done || (err == nil && status == store.TransferDone)
	j.mu.Unlock()
	return err
}

func (j *unreadableAfterDone) Transfers(ctx context.Context, accountID int64, pending bool) ([]store.TransferRecord, error) {
	j.mu.Lock()
	done := j.done
	j.mu.Unlock()
	if done {
		return nil, errors.New("injected: the journal cannot be read")
	}
	return j.Store.Transfers(ctx, accountID, pending)
}

// A transfer whose answer was lost is resolved from the venue's history; once that finds it and records it
// done, the transfer happened, and Transfer says so — it does not read the journal again to learn what it
// just wrote (a read that, failing, used to turn a transfer that moved the money into "did not happen").
func TestLostTransferAnswerFoundDone(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	exec := executor.New(executor.Config{MaxUnhedged: 2 * time.Second, OrderTimeout: time.Second, MaxRepairAttempts: 2, QuoteAsset: "USDT", Leverage: 2},
		lostTransferAnswer{r.venue}, &unreadableAfterDone{Store: r.st}, r.clock, zerolog.Nop(), r.acct, executor.Options{})
	if err := exec.Transfer(ctx, 0, exchange.SpotToFutures, "USDT", d("1234"), "test"); err != nil {
		t.Fatalf("the transfer happened, but Transfer reports: %v", err)
	}
	recs, err := r.st.Transfers(ctx, r.acct.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Status != store.TransferDone || recs[0].TranID == "" {
		t.Fatalf("transfer records %+v, want one done with the venue's id", recs)
	}
	acct, err := r.venue.FuturesAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !acct.WalletBalance.Equal(d("1234")) {
		t.Fatalf("futures wallet %s, want the 1234 moved", acct.WalletBalance)
	}
}
