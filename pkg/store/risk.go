package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// RiskEvent is one entry of the risk log: a refused order, a ladder action, a trading-state change, a
// liquidation-price divergence, a skipped action. The CLI lists them.
type RiskEvent struct {
	ID        int64
	AccountID int64
	PairID    int64  // 0 when none
	Symbol    string // "" for account-wide events
	Kind      string // refused | topup | deleverage | flatten | halt | hedge | state_change | divergence | skipped | ...
	Severity  string // info | warning | critical
	Actor     string // risk | operator | system | strategy
	Detail    string // the human reason, with the numbers
	Amount    decimal.Decimal
	Qty       decimal.Decimal
	// Numbers are the figures behind the event (mark, liquidation_price, distance, limit, ...), stored as
	// decimal strings in jsonb.
	Numbers map[string]decimal.Decimal
	// Key, when set, makes the event idempotent: a second event with the same key on the account is ignored.
	Key string
	At  time.Time
}

// Risk event severities.
const (
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Risk event kinds the store itself writes.
const (
	RiskEventStateChange = "state_change"
	RiskEventRefused     = "refused"
)

// RecordRiskEvent stores an event and returns its id; with a Key already recorded it stores nothing and
// reports isNew false (with id 0).
func (s *Store) RecordRiskEvent(ctx context.Context, e RiskEvent) (id int64, isNew bool, err error) {
	return recordRiskEvent(ctx, s.pool, e)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func recordRiskEvent(ctx context.Context, q querier, e RiskEvent) (int64, bool, error) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if e.Severity == "" {
		e.Severity = SeverityInfo
	}
	nums := make(map[string]string, len(e.Numbers))
	for k, v := range e.Numbers {
		nums[k] = v.String()
	}
	raw, err := json.Marshal(nums)
	if err != nil {
		return 0, false, fmt.Errorf("encoding the numbers of a %s risk event: %w", e.Kind, err)
	}
	var key any
	if e.Key != "" {
		key = e.Key
	}
	var id int64
	err = q.QueryRow(ctx, `
		INSERT INTO risk_events (account_id, pair_id, symbol, kind, severity, actor, detail, amount, qty, numbers, event_key, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (account_id, event_key) WHERE event_key IS NOT NULL DO NOTHING
		RETURNING id`,
		e.AccountID, nullID(e.PairID), e.Symbol, e.Kind, e.Severity, e.Actor, e.Detail, nullDec(e.Amount), nullDec(e.Qty), raw, key, e.At).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("recording a %s risk event for account %d: %w", e.Kind, e.AccountID, err)
	}
	return id, true, nil
}

// RiskEventFilter narrows RiskEvents. Zero fields do not filter.
type RiskEventFilter struct {
	PairID int64
	Symbol string
	Kinds  []string
	Since  time.Time // at ≥ Since
	Until  time.Time // at < Until
	// Limit keeps the newest Limit events (still returned oldest first); 0 means all.
	Limit int
}

// RiskEvents lists the account's risk events, oldest first.
func (s *Store) RiskEvents(ctx context.Context, accountID int64, f RiskEventFilter) ([]RiskEvent, error) {
	until := f.Until
	if until.IsZero() {
		until = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	limit := any(nil)
	if f.Limit > 0 {
		limit = f.Limit
	}
	kinds := f.Kinds
	if kinds == nil {
		kinds = []string{}
	}
	return queryRows(ctx, s, fmt.Sprintf("risk events of account %d", accountID), `
		SELECT * FROM (
			SELECT id, account_id, COALESCE(pair_id, 0), symbol, kind, severity, actor, detail, COALESCE(amount, 0), COALESCE(qty, 0),
				numbers, COALESCE(event_key, ''), at
			FROM risk_events
			WHERE account_id = $1 AND ($2 = 0 OR pair_id = $2) AND ($3 = '' OR symbol = $3)
				AND (cardinality($4::text[]) = 0 OR kind = ANY($4)) AND at >= $5 AND at < $6
			ORDER BY at DESC, id DESC
			LIMIT $7
		) newest ORDER BY at, id`,
		[]any{accountID, f.PairID, f.Symbol, kinds, f.Since, until, limit}, scanRiskEvent)
}

func scanRiskEvent(row pgx.Row) (RiskEvent, error) {
	var e RiskEvent
	var raw []byte
	if err := row.Scan(&e.ID, &e.AccountID, &e.PairID, &e.Symbol, &e.Kind, &e.Severity, &e.Actor, &e.Detail, &e.Amount, &e.Qty,
		&raw, &e.Key, &e.At); err != nil {
		return e, err
	}
	var nums map[string]string
	if err := json.Unmarshal(raw, &nums); err != nil {
		return e, fmt.Errorf("risk event %d: decoding its numbers: %w", e.ID, err)
	}
	if len(nums) > 0 {
		e.Numbers = make(map[string]decimal.Decimal, len(nums))
		for k, v := range nums {
			d, err := decimal.NewFromString(v)
			if err != nil {
				return e, fmt.Errorf("risk event %d: number %s = %q: %w", e.ID, k, v, err)
			}
			e.Numbers[k] = d
		}
	}
	return e, nil
}

// TradingStateRecord is an account's persisted trading state.
type TradingStateRecord struct {
	State  string // active | reducing | halted
	Reason string
	By     string // who set it: operator | risk | system ("" before anyone changed it)
	At     time.Time
}

// TradingState reads the account's trading state, who set it, why and when.
func (s *Store) TradingState(ctx context.Context, accountID int64) (TradingStateRecord, error) {
	var r TradingStateRecord
	err := s.pool.QueryRow(ctx, `SELECT trading_state, state_reason, state_changed_by, state_changed_at FROM accounts WHERE id = $1`,
		accountID).Scan(&r.State, &r.Reason, &r.By, &r.At)
	if err != nil {
		return TradingStateRecord{}, fmt.Errorf("reading the trading state of account %d: %w", accountID, notFound(err))
	}
	return r, nil
}

// ChangeTradingState moves the account from `from` to `to` if it still is in `from` (compare-and-set;
// ErrStale otherwise) and logs a state_change risk event, in one transaction. The legality of the change
// is the caller's (risk.CheckStateChange); the store only guarantees nobody changed it meanwhile.
func (s *Store) ChangeTradingState(ctx context.Context, accountID int64, from, to, by, reason string, at time.Time) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("changing the trading state of account %d: %w", accountID, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	tag, err := tx.Exec(ctx, `UPDATE accounts SET trading_state = $3, state_reason = $4, state_changed_by = $5, state_changed_at = $6
		WHERE id = $1 AND trading_state = $2`, accountID, from, to, reason, by, at)
	if err != nil {
		return fmt.Errorf("changing the trading state of account %d from %s to %s: %w", accountID, from, to, err)
	}
	if tag.RowsAffected() != 1 {
		var cur string
		if err := tx.QueryRow(ctx, "SELECT trading_state FROM accounts WHERE id = $1", accountID).Scan(&cur); err != nil {
			return fmt.Errorf("changing the trading state of account %d: %w", accountID, notFound(err))
		}
		return fmt.Errorf("changing the trading state of account %d from %s to %s: it is %s: %w", accountID, from, to, cur, ErrStale)
	}
	severity := SeverityInfo
	switch to {
	case "halted":
		severity = SeverityCritical
	case "reducing":
		severity = SeverityWarning
	}
	if _, _, err := recordRiskEvent(ctx, tx, RiskEvent{AccountID: accountID, Kind: RiskEventStateChange, Severity: severity, Actor: by,
		Detail: fmt.Sprintf("trading state %s → %s by %s: %s", from, to, by, reason), At: at}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("changing the trading state of account %d: committing: %w", accountID, err)
	}
	return nil
}
