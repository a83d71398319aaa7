package strategy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/store"
	"github.com/carry-trading/carry/strategy/executor"
	"github.com/carry-trading/carry/strategy/pair"
)

// Operator command kinds (the CLI writes them to the commands table; the bot holding the account runs them).
const (
	CmdUnwind     = "unwind"      // close one pair (by id or symbol), optionally in slices
	CmdFlattenAll = "flatten_all" // close every live pair
	CmdHalt       = "halt"        // trading state → halted
	CmdResume     = "resume"      // trading state → active
	CmdReduceOnly = "reduce_only" // trading state → reducing
)

// CommandArgs are the arguments of an operator command.
type CommandArgs struct {
	PairID int64  `json:"pair_id,omitempty"`
	Symbol string `json:"symbol,omitempty"`
	Slices int    `json:"slices,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// ErrNoSuchPair: an unwind named no live pair.
var ErrNoSuchPair = errors.New("no live pair matches")

// CommandSource hands the loop operator commands queued for the account.
type CommandSource interface {
	// Run executes every pending command with the loop's executor and trading state.
	Run(ctx context.Context, e *Engine) error
}

// CommandQueue is the store's commands table as the loop reads it.
type CommandQueue interface {
	ClaimCommand(ctx context.Context, accountID int64, at time.Time) (store.Command, bool, error)
	FinishCommand(ctx context.Context, id int64, status, result string, at time.Time) error
	RunningCommands(ctx context.Context, accountID int64) ([]store.Command, error)
	ExpireCommands(ctx context.Context, accountID int64, before time.Time, result string, at time.Time) ([]store.Command, error)
}

// StoreCommands runs commands from the commands table.
type StoreCommands struct {
	Queue CommandQueue
	// Since: commands queued before it were addressed to an earlier holder of the account (a bot that
	// stopped, or a CLI that died, before running them); they are expired, never run. Zero expires nothing.
	// (Compared with the command's created_at, the database's clock: a skew between the hosts shifts the
	// boundary by as much.)
	Since time.Time
	swept bool // the commands left by an earlier holder were dealt with (at the first Run)
}

// Run claims and executes pending commands one by one, in the order they were queued. At its first call it
// deals with what an earlier holder of the account left: a command queued before Since is expired (nobody
// is waiting for it any more, and an old unwind must not fire hours later), and a command left running by a
// bot that stopped mid-command is finished as failed with a note (its effects, if any, were reconciled at
// start-up).
func (c *StoreCommands) Run(ctx context.Context, e *Engine) error {
	acct := e.Exec.Account().ID
	if !c.swept {
		if err := c.sweep(ctx, e, acct); err != nil {
			return err
		}
		c.swept = true
	}
	for {
		cmd, ok, err := c.Queue.ClaimCommand(ctx, acct, e.Clock.Now())
		if err != nil || !ok {
			return err
		}
		if cmd.CreatedAt.Before(c.Since) {
			// Queued before Since yet still pending after the sweep (the hosts' clocks disagree): claimed (so
			// no one else can run it) and finished at once: it never runs.
			logExpired(e, cmd)
			if err := c.Queue.FinishCommand(ctx, cmd.ID, store.CommandExpired, c.expiredResult(), e.Clock.Now()); err != nil {
				return err
			}
			continue
		}
		result, runErr := e.RunCommand(ctx, cmd.Kind, cmd.Args, cmd.RequestedBy)
		status := store.CommandDone
		if runErr != nil {
			status, result = store.CommandFailed, runErr.Error()
		}
		e.Log.Info().Int64("command", cmd.ID).Str("kind", cmd.Kind).Str("status", status).Str("result", result).Msg("operator command")
		if err := c.Queue.FinishCommand(ctx, cmd.ID, status, result, e.Clock.Now()); err != nil {
			return err
		}
	}
}

// jsonOrEmpty is raw when it is valid JSON (a log field), else {}.
func jsonOrEmpty(raw json.RawMessage) []byte {
	if len(raw) == 0 || !json.Valid(raw) {
		return []byte("{}")
	}
	return raw
}

// RunCommand executes one operator command with the loop's executor. It is also what the CLI runs itself
// when no bot holds the account.
func (e *Engine) RunCommand(ctx context.Context, kind string, raw json.RawMessage, by string) (string, error) {
	var args CommandArgs
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &args); err != nil {
			return "", fmt.Errorf("%s command: bad arguments %s: %w", kind, raw, err)
		}
	}
	reason := args.Reason
	if reason == "" {
		reason = fmt.Sprintf("%s by %s", kind, operatorName(by))
	}
	ctx = executor.WithOrigin(ctx, "operator")
	now := e.Clock.Now()
	switch kind {
	case CmdHalt:
		return e.setState(ctx, StateHalted, reason, now)
	case CmdResume:
		return e.setState(ctx, StateActive, reason, now)
	case CmdReduceOnly:
		return e.setState(ctx, StateReducing, reason, now)
	case CmdUnwind:
		p, ok := e.findPair(args)
		if !ok {
			return "", fmt.Errorf("unwind %s: %w", args.target(), ErrNoSuchPair)
		}
		return e.unwind(ctx, p, args.Slices, reason)
	case CmdFlattenAll:
		var done []string
		var errs []error
		for _, p := range e.Pairs() {
			out, err := e.unwind(ctx, p, 1, reason)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			done = append(done, out)
		}
		if len(done) == 0 && len(errs) == 0 {
			return "no live pairs", nil
		}
		return strings.Join(done, "; "), errors.Join(errs...)
	}
	return "", fmt.Errorf("unknown command %q", kind)
}

func (e *Engine) setState(ctx context.Context, to, reason string, at time.Time) (string, error) {
	from := e.State.Current()
	if from == to {
		return "trading state already " + to, nil
	}
	if err := e.State.Set(ctx, to, "operator", reason, at); err != nil {
		return "", err
	}
	return fmt.Sprintf("trading state %s → %s", from, to), nil
}

// unwind closes a pair, in equal slices when asked (each slice is a full, hedged round on both legs).
func (e *Engine) unwind(ctx context.Context, p pair.Pair, slices int, reason string) (string, error) {
	m, ok := e.Exec.Market(p.Symbol)
	if !ok {
		return "", fmt.Errorf("pair %d: no market for %s", p.ID, p.Symbol)
	}
	if slices > 1 && p.State == pair.Open {
		slice := exchange.FloorToStep(p.PerpQty.Div(decimal.NewFromInt(int64(slices))), m.LotStep())
		for i := 1; i < slices && slice.IsPositive(); i++ {
			target := p.PerpQty.Sub(slice)
			np, err := e.Exec.Reduce(ctx, p.ID, target, fmt.Sprintf("%s (slice %d/%d)", reason, i, slices))
			if err := e.afterOp(ctx, np, err); err != nil {
				return "", err
			}
			if np.State != pair.Open {
				return fmt.Sprintf("pair %d %s: %s after slice %d", p.ID, p.Symbol, np.State, i), nil
			}
			p = np
		}
	}
	np, err := e.Exec.Close(ctx, p.ID, reason)
	if aerr := e.afterOp(ctx, np, err); aerr != nil {
		return "", aerr
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("pair %d %s: %s", np.ID, np.Symbol, np.State), nil
}

func (e *Engine) findPair(a CommandArgs) (pair.Pair, bool) {
	for _, p := range e.Pairs() {
		if (a.PairID != 0 && p.ID == a.PairID) || (a.PairID == 0 && strings.EqualFold(p.Symbol, a.Symbol)) {
			return p, true
		}
	}
	return pair.Pair{}, false
}

func (a CommandArgs) target() string {
	if a.PairID != 0 {
		return fmt.Sprintf("pair %d", a.PairID)
	}
	return a.Symbol
}

func operatorName(by string) string {
	if by == "" {
		return "operator"
	}
	return by
}

// sweep finishes the commands an earlier holder of the account left running, as failed, and expires those
// queued before Since.
func (c *StoreCommands) sweep(ctx context.Context, e *Engine, acct int64) error {
	stale, err := c.Queue.RunningCommands(ctx, acct)
	if err != nil {
		return err
	}
	for _, cmd := range stale {
		if cmd.StartedAt.Before(e.started) {
			if err := c.Queue.FinishCommand(ctx, cmd.ID, store.CommandFailed, "interrupted: the bot stopped while running it; check status and submit it again", e.Clock.Now()); err != nil {
				return err
			}
		}
	}
	if c.Since.IsZero() {
		return nil
	}
	expired, err := c.Queue.ExpireCommands(ctx, acct, c.Since, c.expiredResult(), e.Clock.Now())
	if err != nil {
		return err
	}
	for _, cmd := range expired {
		logExpired(e, cmd)
	}
	return nil
}

// expiredResult is the result an expired command is given.
func (c *StoreCommands) expiredResult() string {
	return fmt.Sprintf("expired: queued before this bot started (%s), for an earlier bot that never ran it; not carried out",
		c.Since.UTC().Format(time.RFC3339))
}

func logExpired(e *Engine, cmd store.Command) {
	e.Log.Warn().Int64("command", cmd.ID).Str("kind", cmd.Kind).RawJSON("args", jsonOrEmpty(cmd.Args)).Str("requested_by", cmd.RequestedBy).
		Time("queued_at", cmd.CreatedAt).Msg("operator command expired: queued before this bot started, not carried out")
}

func (e *Engine) runCommands(ctx context.Context) error { return e.Commands.Run(ctx, e) }
