package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/carry-trading/carry/pkg/pgtest"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/strategy"
)

// newOpAccount is the paper account "main" on a fresh, migrated database with no bot: the store the test
// reads and writes, its URL, and the environment a carry process needs to reach it.
func newOpAccount(t *testing.T) (*store.Store, string, store.Account, []string) {
	t.Helper()
	st, url := pg.NewStore(t)
	acct, err := st.EnsureAccount(context.Background(), "main", "paper")
	if err != nil {
		t.Fatal(err)
	}
	return st, url, acct, cleanEnv("DATABASE_URL=" + url)
}

// holdAccount takes the account's lock as a bot would, and never runs a command: the CLI sends its
// commands to this "bot" and waits.
func holdAccount(t *testing.T, st *store.Store) {
	t.Helper()
	l, err := st.TryLockAccount(context.Background(), "main", "paper")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Unlock(context.Background()) })
}

// commandsOf returns the account's commands, oldest first.
func commandsOf(t *testing.T, st *store.Store, accountID int64) []store.Command {
	t.Helper()
	ctx := context.Background()
	rows, err := st.Pool().Query(ctx, "SELECT id FROM commands WHERE account_id = $1 ORDER BY id", accountID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	out := make([]store.Command, 0, len(ids))
	for _, id := range ids {
		c, err := st.GetCommand(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func tradingStateOf(t *testing.T, st *store.Store, accountID int64) store.TradingStateRecord {
	t.Helper()
	s, err := st.TradingState(context.Background(), accountID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOperatorCommandNobodyRunsIsCancelled: a bot holds the account but does not take the command (hung,
// or busy); when --timeout expires, or the operator presses Ctrl-C, the CLI cancels it, says nothing was
// done, and exits 1 — and the command is never run afterwards.
func TestOperatorCommandNobodyRunsIsCancelled(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	st, _, acct, env := newOpAccount(t)
	holdAccount(t, st)

	r := runCarry(t, env, "halt", "--timeout", "1s", "--reason", "nobody answers")
	if r.code != exitFailure || !strings.Contains(r.stdout, "sent to the running bot") ||
		!strings.Contains(r.stderr, "cancelled before the bot started it") || !strings.Contains(r.stderr, "nothing was done") {
		t.Fatalf("halt with nobody answering: exit %d, want %d\n%s\n%s", r.code, exitFailure, r.stdout, r.stderr)
	}
	cmds := commandsOf(t, st, acct.ID)
	if len(cmds) != 1 || cmds[0].Status != "cancelled" || !strings.Contains(cmds[0].Result, "--timeout 1s") || cmds[0].FinishedAt.IsZero() {
		t.Fatalf("the timed-out command: %+v, want cancelled with the reason", cmds)
	}

	p := startCarry(t, env, "halt", "--timeout", "10m")
	p.waitFor(t, "sent to the running bot", 30*time.Second)
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != exitFailure || !strings.Contains(p.logs.String(), "interrupted while waiting") ||
		!strings.Contains(p.logs.String(), "cancelled before the bot started it") {
		t.Fatalf("halt interrupted while waiting: exit %d, want %d\n%s", code, exitFailure, p.logs.String())
	}
	cmds = commandsOf(t, st, acct.ID)
	if len(cmds) != 2 || cmds[1].Status != "cancelled" || !strings.Contains(cmds[1].Result, "interrupted") {
		t.Fatalf("the interrupted command: %+v, want cancelled", cmds)
	}

	// The bot, whenever it gets to the queue, finds nothing to run.
	if c, ok, err := st.ClaimCommand(context.Background(), acct.ID, time.Now()); ok || err != nil {
		t.Fatalf("a cancelled command was handed to the bot: %+v %v", c, err)
	}
	if s := tradingStateOf(t, st, acct.ID); s.State != "active" {
		t.Fatalf("trading state %s, want active: nothing was carried out", s.State)
	}
}

// TestOperatorCommandTheBotStartedIsLeftToFinish: when --timeout expires after the bot has started the
// command, the CLI does not pretend to cancel it: it says the bot started it, how to see the outcome, exits
// 1, and the command stays the bot's.
func TestOperatorCommandTheBotStartedIsLeftToFinish(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	st, _, acct, env := newOpAccount(t)
	holdAccount(t, st)

	p := startCarry(t, env, "halt", "--timeout", "4s")
	p.waitFor(t, "sent to the running bot", 30*time.Second)
	c, ok, err := st.ClaimCommand(context.Background(), acct.ID, time.Now()) // the bot starts it and takes its time
	if err != nil || !ok {
		t.Fatalf("claiming the CLI's command: ok=%v err=%v", ok, err)
	}
	code := p.wait(t, 60*time.Second)
	out := p.logs.String()
	if code != exitFailure || !strings.Contains(out, "the bot had already started command") || !strings.Contains(out, "still running") ||
		!strings.Contains(out, "carry events") || strings.Contains(out, "cancelled before") {
		t.Fatalf("halt started by the bot, unfinished at --timeout: exit %d, want %d\n%s", code, exitFailure, out)
	}
	if got, _ := st.GetCommand(context.Background(), c.ID); got.Status != "running" {
		t.Fatalf("the started command: %+v, want still running (the bot's)", got)
	}
}

// TestBotExpiresCommandsQueuedBeforeItStarted: an unwind left pending while no bot ran it (its CLI gave up
// or died) is not carried out by the next bot, which expires it and logs it; what is sent to the new bot
// runs.
func TestBotExpiresCommandsQueuedBeforeItStarted(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	b := newPaperBot(t)
	p := b.start(t)
	b.waitPairs(t, p, "one open pair", hasOpen)
	b.stop(t, p)

	ctx := context.Background()
	st, err := store.Open(ctx, b.db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acct, err := st.FindAccount(ctx, "main", "paper")
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := st.LivePairs(ctx, acct.ID)
	if err != nil || len(pairs) != 1 {
		t.Fatalf("live pairs: %v %v", pairs, err)
	}
	old, err := st.SubmitCommand(ctx, acct.ID, strategy.CmdUnwind, strategy.CommandArgs{PairID: pairs[0].ID}, "cli:gave-up")
	if err != nil {
		t.Fatal(err)
	}

	p = b.start(t)
	p.waitFor(t, "carry running", 60*time.Second)
	r := runCarry(t, b.env, "reduce-only", "--reason", "after the restart")
	if r.code != 0 || !strings.Contains(r.stdout, "sent to the running bot") || !strings.Contains(r.stdout, "reduce-only done") {
		t.Fatalf("reduce-only through the new bot: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// The bot takes commands in order: the old one was dealt with before the reduce-only.
	c, err := st.GetCommand(ctx, old)
	if err != nil || c.Status != "expired" || !strings.Contains(c.Result, "before this bot started") {
		t.Fatalf("the unwind queued before the bot started: %+v %v, want expired\n%s", c, err, tail(p.logs.String(), 30))
	}
	p.waitFor(t, "operator command expired", 10*time.Second)
	b.waitPairs(t, p, "the pair still open", hasOpen)
	b.stop(t, p)
	b.checkVenueAgrees(t)
}

// TestCLIWithoutABotCarriesOutItsOwnCommand: with no bot running and an older command left pending, the
// CLI claims and carries out its own command, and leaves the older one alone (pending, for the next bot to
// expire) instead of marking it running without ever executing it.
func TestCLIWithoutABotCarriesOutItsOwnCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	st, _, acct, env := newOpAccount(t)
	old, err := st.SubmitCommand(context.Background(), acct.ID, strategy.CmdHalt, strategy.CommandArgs{Reason: "left over"}, "cli:old")
	if err != nil {
		t.Fatal(err)
	}
	r := runCarry(t, env, "reduce-only", "--reason", "mine")
	if r.code != 0 || !strings.Contains(r.stdout, "no bot is running") || !strings.Contains(r.stdout, "reduce-only done: trading state active → reducing") {
		t.Fatalf("reduce-only without a bot: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	cmds := commandsOf(t, st, acct.ID)
	if len(cmds) != 2 || cmds[0].ID != old || cmds[0].Status != "pending" || !cmds[0].StartedAt.IsZero() {
		t.Fatalf("the older command: %+v, want untouched (pending)", cmds)
	}
	if cmds[1].Status != "done" || cmds[1].Kind != strategy.CmdReduceOnly || cmds[1].StartedAt.IsZero() {
		t.Fatalf("the CLI's own command: %+v, want done", cmds[1])
	}
	if s := tradingStateOf(t, st, acct.ID); s.State != "reducing" || s.Reason != "mine" {
		t.Fatalf("trading state %+v, want reducing (mine)", s)
	}
}

// TestStatusChecksForABotWithoutTakingTheLock: `carry status` sees a bot holding the account, and checking never takes the
// lock, so a bot starting while status is being checked over and over is never refused as a second bot.
func TestStatusChecksForABotWithoutTakingTheLock(t *testing.T) {
	t.Parallel()
	st, url, acct, _ := newOpAccount(t)
	c := &cli{db: &database{Store: st}, acct: acct}
	ctx := context.Background()
	bot, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bot.Close)
	running := func() bool {
		t.Helper()
		ok, err := c.botRunning(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	before := running()
	l, err := bot.TryLockAccount(ctx, acct.Name, acct.Mode)
	if err != nil {
		t.Fatal(err)
	}
	during := running()
	l.Unlock(ctx)
	if before || !during || running() {
		t.Fatalf("bot running: before %v, while it holds the account %v, after %v", before, during, running())
	}

	pgtest.CheckProbeNeverRefusesABot(t, bot, acct.Name, acct.Mode, func(ctx context.Context) error {
		_, err := c.botRunning(ctx)
		return err
	})
}

// TestStateCommandsSayWhatTheOperatorTyped: halt, resume and reduce-only say in --help that they never
// ask, accept --yes, and --dry-run names the command as typed (reduce-only, not reduce_only).
func TestStateCommandsSayWhatTheOperatorTyped(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	st, _, acct, env := newOpAccount(t)
	for _, name := range []string{"halt", "resume", "reduce-only"} {
		r := runCarry(t, env, name, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "does not ask for confirmation") || !strings.Contains(r.stdout, "accepted and ignored") {
			t.Fatalf("%s --help should say it never asks:\n%s", name, r.stdout)
		}
		r = runCarry(t, env, name, "--dry-run")
		if want := "would run " + name + " on account main (paper): nothing sent"; r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Fatalf("%s --dry-run: exit %d %q, want %q", name, r.code, r.stdout, want)
		}
	}
	if cmds := commandsOf(t, st, acct.ID); len(cmds) != 0 {
		t.Fatalf("dry runs sent %+v", cmds)
	}
	r := runCarry(t, env, "halt", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "halt done: trading state active → halted") {
		t.Fatalf("halt --yes: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
