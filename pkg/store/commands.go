package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// CommandChannel is the NOTIFY channel a submitted command is announced on; the payload is the account id.
const CommandChannel = "carry_commands"

// Command is an operator command for the bot holding the account.
type Command struct {
	ID          int64
	AccountID   int64
	Kind        string
	Args        json.RawMessage
	Status      string // pending | running | done | failed | cancelled | expired
	Result      string
	RequestedBy string
	CreatedAt   time.Time
	StartedAt   time.Time
	FinishedAt  time.Time
}

// Command statuses. A command is pending until a trader claims it (running), then done or failed. It can
// also end without ever running: cancelled by the CLI that sent it when it stopped waiting, or expired by a
// bot at start when it was queued for an earlier holder of the account (migration 00007).
const (
	CommandPending   = "pending"
	CommandRunning   = "running"
	CommandDone      = "done"
	CommandFailed    = "failed"
	CommandCancelled = "cancelled"
	CommandExpired   = "expired"
)

// CommandFinal reports whether a command status is an outcome (nothing more will happen to the command).
func CommandFinal(status string) bool {
	switch status {
	case CommandDone, CommandFailed, CommandCancelled, CommandExpired:
		return true
	}
	return false
}

const commandCols = "id, account_id, kind, args, status, result, requested_by, created_at, started_at, finished_at"

func scanCommand(row pgx.Row) (Command, error) {
	var c Command
	var started, finished *time.Time
	err := row.Scan(&c.ID, &c.AccountID, &c.Kind, &c.Args, &c.Status, &c.Result, &c.RequestedBy, &c.CreatedAt, &started, &finished)
	if started != nil {
		c.StartedAt = *started
	}
	if finished != nil {
		c.FinishedAt = *finished
	}
	return c, err
}

// SubmitCommand stores a command and announces it with NOTIFY in the same transaction.
func (s *Store) SubmitCommand(ctx context.Context, accountID int64, kind string, args any, requestedBy string) (int64, error) {
	raw, err := json.Marshal(args)
	if err != nil {
		return 0, fmt.Errorf("encoding %s command arguments: %w", kind, err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("submitting %s command: %w", kind, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO commands (account_id, kind, args, requested_by) VALUES ($1, $2, $3, $4) RETURNING id`,
		accountID, kind, raw, requestedBy).Scan(&id); err != nil {
		return 0, fmt.Errorf("submitting %s command: %w", kind, err)
	}
	if _, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", CommandChannel, strconv.FormatInt(accountID, 10)); err != nil {
		return 0, fmt.Errorf("announcing %s command: %w", kind, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("submitting %s command: %w", kind, err)
	}
	return id, nil
}

// ClaimCommand marks the account's oldest pending command running and returns it; ok is false when none waits.
func (s *Store) ClaimCommand(ctx context.Context, accountID int64, at time.Time) (Command, bool, error) {
	c, err := scanCommand(s.pool.QueryRow(ctx, `
		UPDATE commands SET status = 'running', started_at = $2
		WHERE id = (SELECT id FROM commands WHERE account_id = $1 AND status = 'pending' ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
		RETURNING `+commandCols, accountID, at))
	if errors.Is(err, pgx.ErrNoRows) {
		return Command{}, false, nil
	}
	if err != nil {
		return Command{}, false, fmt.Errorf("claiming a command: %w", err)
	}
	return c, true, nil
}

// ClaimCommandByID marks one command running if it is still pending and returns it; ok is false when it is
// not pending any more (claimed, cancelled or finished meanwhile). The CLI carrying out its own command
// claims exactly that one, never an older command queued for someone else.
func (s *Store) ClaimCommandByID(ctx context.Context, id int64, at time.Time) (Command, bool, error) {
	c, err := scanCommand(s.pool.QueryRow(ctx, `
		UPDATE commands SET status = 'running', started_at = $2
		WHERE id = $1 AND status = 'pending'
		RETURNING `+commandCols, id, at))
	if errors.Is(err, pgx.ErrNoRows) {
		return Command{}, false, nil
	}
	if err != nil {
		return Command{}, false, fmt.Errorf("claiming command %d: %w", id, err)
	}
	return c, true, nil
}

// CancelCommand cancels a command if, and only if, it is still pending: atomically against a trader
// claiming it, so a command is either cancelled (and will never run) or claimed (and runs), never both.
// cancelled reports which; c is the command as it stands afterwards.
func (s *Store) CancelCommand(ctx context.Context, id int64, reason string, at time.Time) (c Command, cancelled bool, err error) {
	c, err = scanCommand(s.pool.QueryRow(ctx, `
		UPDATE commands SET status = 'cancelled', result = $2, finished_at = $3
		WHERE id = $1 AND status = 'pending'
		RETURNING `+commandCols, id, reason, at))
	if err == nil {
		return c, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Command{}, false, fmt.Errorf("cancelling command %d: %w", id, err)
	}
	c, err = s.GetCommand(ctx, id)
	return c, false, err
}

// RunningCommands returns commands left running (by a bot that stopped mid-command), oldest first.
func (s *Store) RunningCommands(ctx context.Context, accountID int64) ([]Command, error) {
	return queryRows(ctx, s, "running commands", "SELECT "+commandCols+" FROM commands WHERE account_id = $1 AND status = 'running' ORDER BY id",
		[]any{accountID}, scanCommand)
}

// FinishCommand records the outcome of a running command (ErrNotFound when no such command is running).
func (s *Store) FinishCommand(ctx context.Context, id int64, status, result string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, "UPDATE commands SET status = $2, result = $3, finished_at = $4 WHERE id = $1 AND status = 'running'",
		id, status, result, at)
	if err != nil {
		return fmt.Errorf("finishing command %d: %w", id, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("finishing command %d: it is not running: %w", id, ErrNotFound)
	}
	return nil
}

// ExpireCommands expires, in one statement, the account's pending commands queued before before (with
// result as the reason) and returns them: they never run, and a CLI cancelling one meanwhile sees it
// expired, not started.
func (s *Store) ExpireCommands(ctx context.Context, accountID int64, before time.Time, result string, at time.Time) ([]Command, error) {
	return queryRows(ctx, s, "expired commands", `
		UPDATE commands SET status = 'expired', result = $3, finished_at = $4
		WHERE account_id = $1 AND status = 'pending' AND created_at < $2
		RETURNING `+commandCols, []any{accountID, before, result, at}, scanCommand)
}

// GetCommand reads one command.
func (s *Store) GetCommand(ctx context.Context, id int64) (Command, error) {
	c, err := scanCommand(s.pool.QueryRow(ctx, "SELECT "+commandCols+" FROM commands WHERE id = $1", id))
	if err != nil {
		return Command{}, fmt.Errorf("reading command %d: %w", id, notFound(err))
	}
	return c, nil
}

// ListenCommands delivers a signal on the returned channel whenever a command is submitted for the account,
// until ctx ends. It holds one pool connection.
func (s *Store) ListenCommands(ctx context.Context, accountID int64) (<-chan struct{}, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("listening for commands: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+CommandChannel); err != nil {
		conn.Release()
		return nil, fmt.Errorf("listening for commands: %w", err)
	}
	out := make(chan struct{}, 1)
	want := strconv.FormatInt(accountID, 10)
	go func() {
		defer close(out)
		defer conn.Release()
		for {
			n, err := conn.Conn().WaitForNotification(ctx)
			if err != nil {
				if ctx.Err() == nil {
					conn.Conn().Close(context.Background()) // a broken connection must not return to the pool
				}
				return
			}
			if n.Payload == want {
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out, nil
}
