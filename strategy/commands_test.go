package strategy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/strategy"
)

// A bot never runs a command queued before it started (for an earlier bot that never ran it: an old unwind
// must not fire hours later): it expires it, with the reason, and runs what was sent to it, in order. With no
// boundary set, the boundary is when the process started, so what is sent while it runs is carried out.
func TestStoreCommandsExpireWhatWasQueuedBeforeTheBot(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	submit := func(kind, by string) int64 {
		t.Helper()
		id, err := r.st.SubmitCommand(ctx, r.acct.ID, kind, strategy.CommandArgs{}, by)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	get := func(id int64) store.Command {
		t.Helper()
		c, err := r.st.GetCommand(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	old := submit(strategy.CmdHalt, "cli:old")
	time.Sleep(5 * time.Millisecond) // created_at has microseconds; keep the boundary clear of both commands
	started := time.Now()
	time.Sleep(5 * time.Millisecond)
	fresh := submit(strategy.CmdReduceOnly, "cli:new")

	if err := (&strategy.StoreCommands{Queue: r.st, Since: started}).Run(ctx, r.engine); err != nil {
		t.Fatal(err)
	}
	if c := get(old); c.Status != store.CommandExpired || !strings.Contains(c.Result, "before this bot started") || c.FinishedAt.IsZero() {
		t.Fatalf("the command queued before the bot: %+v, want expired with the reason", c)
	}
	if c := get(fresh); c.Status != store.CommandDone || c.Result != "trading state active → reducing" {
		t.Fatalf("the command sent to the bot: %+v, want done", c)
	}
	if s := r.engine.State.Current(); s != strategy.StateReducing {
		t.Fatalf("trading state %s: the old halt must not have run, the reduce-only must have", s)
	}

	resume := submit(strategy.CmdResume, "cli:new")
	if err := (&strategy.StoreCommands{Queue: r.st}).Run(ctx, r.engine); err != nil {
		t.Fatal(err)
	}
	if c := get(resume); c.Status != store.CommandDone || r.engine.State.Current() != strategy.StateActive {
		t.Fatalf("a command sent while this process runs: %+v (state %s), want done", c, r.engine.State.Current())
	}
}
