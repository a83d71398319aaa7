package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/carry-trading/carry/pkg/pgtest"
	"github.com/carry-trading/carry/pkg/store"
)

// A CLI that stops waiting cancels its command only while it is pending: once a trader claimed it, the
// cancel changes nothing and says so; a cancelled command is never claimed.
func TestCancelCommandOnlyWhilePending(t *testing.T) {
	st, _ := pg.NewStore(t)
	ctx := context.Background()
	acct, _ := st.EnsureAccount(ctx, "main", "paper")

	id, err := st.SubmitCommand(ctx, acct.ID, "unwind", map[string]int{"pair_id": 1}, "cli")
	if err != nil {
		t.Fatal(err)
	}
	c, cancelled, err := st.CancelCommand(ctx, id, "cancelled by the CLI: no outcome within 1s", t0)
	if err != nil || !cancelled || c.Status != store.CommandCancelled || c.Result != "cancelled by the CLI: no outcome within 1s" || !c.FinishedAt.Equal(t0) {
		t.Fatalf("cancel a pending command: %+v cancelled=%v err=%v", c, cancelled, err)
	}
	if _, ok, err := st.ClaimCommand(ctx, acct.ID, t0); ok || err != nil {
		t.Fatalf("a cancelled command was claimed (ok=%v err=%v)", ok, err)
	}
	if _, ok, _ := st.ClaimCommandByID(ctx, id, t0); ok {
		t.Fatal("a cancelled command was claimed by id")
	}

	id2, _ := st.SubmitCommand(ctx, acct.ID, "halt", map[string]string{}, "cli")
	if _, ok, err := st.ClaimCommand(ctx, acct.ID, t0); !ok || err != nil {
		t.Fatalf("claim: ok=%v err=%v", ok, err)
	}
	c, cancelled, err = st.CancelCommand(ctx, id2, "too late", t0)
	if err != nil || cancelled || c.Status != store.CommandRunning || c.Result != "" {
		t.Fatalf("cancelling a running command must change nothing: %+v cancelled=%v err=%v", c, cancelled, err)
	}
	if err := st.FinishCommand(ctx, id2, store.CommandDone, "trading state active → halted", t0); err != nil {
		t.Fatal(err)
	}
	if c, cancelled, _ = st.CancelCommand(ctx, id2, "too late", t0); cancelled || c.Status != store.CommandDone {
		t.Fatalf("cancelling a finished command: %+v cancelled=%v", c, cancelled)
	}
	if _, _, err := st.CancelCommand(ctx, 999999, "x", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cancelling no command: %v, want ErrNotFound", err)
	}
	for _, s := range []string{store.CommandExpired, store.CommandCancelled} {
		if !store.CommandFinal(s) {
			t.Fatalf("%s is an outcome", s)
		}
	}
	if store.CommandFinal(store.CommandPending) || store.CommandFinal(store.CommandRunning) {
		t.Fatal("pending and running are not outcomes")
	}
}

// A command is claimed by id: exactly that one, once; the queue order of the others is untouched.
func TestClaimCommandByID(t *testing.T) {
	st, _ := pg.NewStore(t)
	ctx := context.Background()
	acct, _ := st.EnsureAccount(ctx, "main", "paper")
	older, _ := st.SubmitCommand(ctx, acct.ID, "halt", map[string]string{}, "cli:old")
	mine, _ := st.SubmitCommand(ctx, acct.ID, "reduce_only", map[string]string{}, "cli:me")
	c, ok, err := st.ClaimCommandByID(ctx, mine, t0)
	if err != nil || !ok || c.ID != mine || c.Status != store.CommandRunning || !c.StartedAt.Equal(t0) {
		t.Fatalf("claim by id: %+v ok=%v err=%v", c, ok, err)
	}
	if _, ok, _ := st.ClaimCommandByID(ctx, mine, t0); ok {
		t.Fatal("a command must not be claimed twice")
	}
	if c, _ := st.GetCommand(ctx, older); c.Status != store.CommandPending {
		t.Fatalf("the older command was touched: %+v", c)
	}
	if c, ok, _ := st.ClaimCommand(ctx, acct.ID, t0); !ok || c.ID != older {
		t.Fatalf("the queue should still hand out the older command: %+v ok=%v", c, ok)
	}
}

// The status values are constrained (migration 00007 adds cancelled and expired).
func TestCommandStatusIsChecked(t *testing.T) {
	st, _ := pg.NewStore(t)
	ctx := context.Background()
	acct, _ := st.EnsureAccount(ctx, "main", "paper")
	id, _ := st.SubmitCommand(ctx, acct.ID, "halt", map[string]string{}, "cli")
	if _, ok, _ := st.ClaimCommand(ctx, acct.ID, t0); !ok {
		t.Fatal("no command to claim")
	}
	if err := st.FinishCommand(ctx, id, store.CommandExpired, "expired: queued before the bot started", t0); err != nil {
		t.Fatalf("expired is a status: %v", err)
	}
	if err := st.FinishCommand(ctx, id, "lost", "", t0); err == nil {
		t.Fatal("an unknown status must be refused")
	}
}

// TestStatusCheckOfTheAccountLockOnlyLooks: AccountLocked sees a lock held by another session, on this database only, for this (name, mode) only —
// and never takes the lock itself: a bot trying to start while it is being checked over and over is never
// refused.
func TestStatusCheckOfTheAccountLockOnlyLooks(t *testing.T) {
	st, url := pg.NewStore(t)
	elsewhere, _ := pg.NewStore(t) // another database on the same server
	ctx := context.Background()
	if held, err := st.AccountLocked(ctx, "main", "paper"); err != nil || held {
		t.Fatalf("nobody holds it: held=%v err=%v", held, err)
	}
	bot, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bot.Close)
	held := func(on *store.Store, name, mode string) bool {
		t.Helper()
		h, err := on.AccountLocked(ctx, name, mode)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	l, err := bot.TryLockAccount(ctx, "main", "paper")
	if err != nil {
		t.Fatal(err)
	}
	seen := [...]bool{held(st, "main", "paper"), held(st, "main", "live"), held(st, "other", "paper"), held(elsewhere, "main", "paper")}
	l.Unlock(ctx)
	if seen != [...]bool{true, false, false, false} {
		t.Fatalf("held by a bot on main/paper; seen as held: main/paper %v, main/live %v, other/paper %v, main/paper on another database %v",
			seen[0], seen[1], seen[2], seen[3])
	}
	if held(st, "main", "paper") {
		t.Fatal("released, yet seen as held")
	}
	// Key halves with the high bit set are shown as oids above 2^31: check such keys too.
	var hiBit, loBit string
	for i := 0; hiBit == "" || loBit == ""; i++ {
		name := fmt.Sprintf("acct-%d", i)
		k := uint64(store.LockKey(name, "live"))
		if k>>63 == 1 && hiBit == "" {
			hiBit = name
		}
		if k&(1<<31) != 0 && loBit == "" {
			loBit = name
		}
	}
	for _, name := range []string{hiBit, loBit} {
		l, err := bot.TryLockAccount(ctx, name, "live")
		if err != nil {
			t.Fatal(err)
		}
		h, err := st.AccountLocked(ctx, name, "live")
		l.Unlock(ctx)
		if err != nil || !h {
			t.Fatalf("key %016x (%s/live): held=%v err=%v", uint64(store.LockKey(name, "live")), name, h, err)
		}
	}

	// Checks in a loop while a bot starts and stops in a loop: the bot is never refused.
	pgtest.CheckProbeNeverRefusesABot(t, bot, "main", "paper", func(ctx context.Context) error {
		_, err := st.AccountLocked(ctx, "main", "paper")
		return err
	})
}

// ExpireCommands expires exactly the account's pending commands queued before the boundary, in one
// statement; FinishCommand finishes only a running command.
func TestExpireCommandsAndFinishOnlyRunning(t *testing.T) {
	st, _ := pg.NewStore(t)
	ctx := context.Background()
	acct, _ := st.EnsureAccount(ctx, "main", "paper")
	other, _ := st.EnsureAccount(ctx, "other", "paper")
	old, _ := st.SubmitCommand(ctx, acct.ID, "halt", map[string]int{}, "cli")
	elsewhere, _ := st.SubmitCommand(ctx, other.ID, "halt", map[string]int{}, "cli")
	time.Sleep(5 * time.Millisecond)
	boundary := time.Now()
	time.Sleep(5 * time.Millisecond)
	fresh, _ := st.SubmitCommand(ctx, acct.ID, "resume", map[string]int{}, "cli")

	if err := st.FinishCommand(ctx, old, store.CommandDone, "done", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("finishing a pending command: %v, want ErrNotFound (only a running command is finished)", err)
	}
	expired, err := st.ExpireCommands(ctx, acct.ID, boundary, "expired: too old", t0)
	if err != nil || len(expired) != 1 || expired[0].ID != old || expired[0].Status != store.CommandExpired {
		t.Fatalf("expired %+v, err %v; want only command %d", expired, err, old)
	}
	for id, want := range map[int64]string{old: store.CommandExpired, elsewhere: "pending", fresh: "pending"} {
		if c, _ := st.GetCommand(ctx, id); c.Status != want {
			t.Errorf("command %d: %s, want %s", id, c.Status, want)
		}
	}
	if c, cancelled, _ := st.CancelCommand(ctx, old, "gave up", t0); cancelled || c.Status != store.CommandExpired {
		t.Fatalf("cancelling an expired command: cancelled=%v status %s; want it left expired", cancelled, c.Status)
	}
}
