package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Account is one (name, mode) trading account.
type Account struct {
	ID             int64
	Name           string
	Mode           string
	ClientPrefix   string
	TradingState   string // active | reducing | halted
	StateReason    string
	StateChangedAt time.Time
	CreatedAt      time.Time
}

const accountCols = "id, name, mode, client_prefix, trading_state, state_reason, state_changed_at, created_at"

func scanAccount(row pgx.Row) (Account, error) {
	var a Account
	err := row.Scan(&a.ID, &a.Name, &a.Mode, &a.ClientPrefix, &a.TradingState, &a.StateReason, &a.StateChangedAt, &a.CreatedAt)
	return a, err
}

// EnsureAccount returns the account (name, mode), creating it with a fresh random client-id prefix.
func (s *Store) EnsureAccount(ctx context.Context, name, mode string) (Account, error) {
	for range 5 {
		a, err := scanAccount(s.pool.QueryRow(ctx, `
			INSERT INTO accounts (name, mode, client_prefix) VALUES ($1, $2, $3)
			ON CONFLICT (name, mode) DO UPDATE SET name = EXCLUDED.name
			RETURNING `+accountCols, name, mode, randomPrefix()))
		if IsUniqueViolation(err) { // prefix collision: draw again
			continue
		}
		if err != nil {
			return Account{}, fmt.Errorf("creating account %s/%s: %w", name, mode, err)
		}
		return a, nil
	}
	return Account{}, errors.New("creating account: could not draw a unique client prefix")
}

// FindAccount returns an existing account; ErrNotFound if there is none.
func (s *Store) FindAccount(ctx context.Context, name, mode string) (Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, "SELECT "+accountCols+" FROM accounts WHERE name = $1 AND mode = $2", name, mode))
	if errors.Is(err, pgx.ErrNoRows) {
		return Account{}, fmt.Errorf("account %s (%s mode): %w", name, mode, ErrNotFound)
	}
	if err != nil {
		return Account{}, fmt.Errorf("reading account %s/%s: %w", name, mode, err)
	}
	return a, nil
}

// GetAccount reads an account by id.
func (s *Store) GetAccount(ctx context.Context, id int64) (Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, "SELECT "+accountCols+" FROM accounts WHERE id = $1", id))
	if err != nil {
		return Account{}, fmt.Errorf("reading account %d: %w", id, notFound(err))
	}
	return a, nil
}

// ErrNotFound: no such row.
var ErrNotFound = errors.New("not found")

func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

const prefixAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

func randomPrefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = prefixAlphabet[int(b[i])%len(prefixAlphabet)]
	}
	return string(b)
}
