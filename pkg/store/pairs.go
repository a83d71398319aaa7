package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/strategy/pair"
)

// ErrSymbolBusy: the account already has a live pair on the symbol.
var ErrSymbolBusy = errors.New("the symbol already has a live pair")

// ErrStale: the pair is no longer in the state the transition expected (another writer moved it).
var ErrStale = errors.New("pair changed since it was read")

const pairCols = `id, account_id, symbol, direction, state, intent, target_qty, spot_qty, perp_qty, attempt,
	entry_spot_price, entry_perp_price, entry_basis, reason, created_at, updated_at, opened_at, closed_at`

func scanPair(row pgx.Row) (pair.Pair, error) {
	var p pair.Pair
	var opened, closed *time.Time
	err := row.Scan(&p.ID, &p.AccountID, &p.Symbol, &p.Direction, &p.State, &p.Intent, &p.TargetQty, &p.SpotQty, &p.PerpQty,
		&p.Attempt, &p.EntrySpotPrice, &p.EntryPerpPrice, &p.EntryBasis, &p.Reason, &p.CreatedAt, &p.UpdatedAt, &opened, &closed)
	if opened != nil {
		p.OpenedAt = *opened
	}
	if closed != nil {
		p.ClosedAt = *closed
	}
	return p, err
}

// CreatePair inserts a pending pair and returns it with its id. ErrSymbolBusy when the symbol has a live pair.
func (s *Store) CreatePair(ctx context.Context, p pair.Pair) (pair.Pair, error) {
	if p.State == "" {
		p.State = pair.Pending
	}
	if p.Intent == "" {
		p.Intent = pair.IntentOpen
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = time.Now()
	}
	out, err := scanPair(s.pool.QueryRow(ctx, `
		INSERT INTO pairs (account_id, symbol, direction, state, intent, target_qty, reason, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
		RETURNING `+pairCols, p.AccountID, p.Symbol, p.Direction, p.State, p.Intent, p.TargetQty, p.Reason, p.CreatedAt))
	if IsUniqueViolation(err) {
		return pair.Pair{}, fmt.Errorf("creating a %s pair on %s: %w", p.Direction, p.Symbol, ErrSymbolBusy)
	}
	if err != nil {
		return pair.Pair{}, fmt.Errorf("creating a %s pair on %s: %w", p.Direction, p.Symbol, err)
	}
	return out, nil
}

// GetPair reads one pair.
func (s *Store) GetPair(ctx context.Context, id int64) (pair.Pair, error) {
	p, err := scanPair(s.pool.QueryRow(ctx, "SELECT "+pairCols+" FROM pairs WHERE id = $1", id))
	if err != nil {
		return pair.Pair{}, fmt.Errorf("reading pair %d: %w", id, notFound(err))
	}
	return p, nil
}

// LivePairs returns the account's pairs that are not closed, oldest first.
func (s *Store) LivePairs(ctx context.Context, accountID int64) ([]pair.Pair, error) {
	return s.queryPairs(ctx, "SELECT "+pairCols+" FROM pairs WHERE account_id = $1 AND state <> 'closed' ORDER BY id", accountID)
}

// BelowExitCounts returns, for each of the account's live pairs, how many consecutive settlements its carry
// has been below the exit threshold (pairs at zero are left out).
func (s *Store) BelowExitCounts(ctx context.Context, accountID int64) (map[int64]int, error) {
	rows, err := queryRows(ctx, s, "exit counters", `SELECT id, below_exit FROM pairs
		WHERE account_id = $1 AND state <> 'closed' AND below_exit > 0`, []any{accountID},
		func(row pgx.Row) ([2]int64, error) {
			var r [2]int64
			err := row.Scan(&r[0], &r[1])
			return r, err
		})
	if err != nil {
		return nil, err
	}
	out := make(map[int64]int, len(rows))
	for _, r := range rows {
		out[r[0]] = int(r[1])
	}
	return out, nil
}

// SetBelowExit records a live pair's count of consecutive settlements below the exit threshold.
func (s *Store) SetBelowExit(ctx context.Context, pairID int64, n int) error {
	if _, err := s.pool.Exec(ctx, `UPDATE pairs SET below_exit = $2 WHERE id = $1 AND state <> 'closed'`, pairID, n); err != nil {
		return fmt.Errorf("recording pair %d's exit counter (%d): %w", pairID, n, err)
	}
	return nil
}

// Pairs returns the account's pairs created in [from, to), oldest first (all when both are zero).
func (s *Store) Pairs(ctx context.Context, accountID int64, from, to time.Time) ([]pair.Pair, error) {
	if to.IsZero() {
		to = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return s.queryPairs(ctx, "SELECT "+pairCols+" FROM pairs WHERE account_id = $1 AND created_at >= $2 AND created_at < $3 ORDER BY id", accountID, from, to)
}

func (s *Store) queryPairs(ctx context.Context, sql string, args ...any) ([]pair.Pair, error) {
	return queryRows(ctx, s, "pairs", sql, args, scanPair)
}

// Commit writes a transition ahead of the orders it names: in one transaction it checks the pair is still in
// tr.From, applies tr.Updated, appends the transition log and records each order as an intent. Only after
// Commit returns may the orders be sent. A client id that was ever recorded can never be recorded again.
func (s *Store) Commit(ctx context.Context, tr pair.Transition) error {
	if err := pair.CheckTransition(tr.From, tr.To); err != nil {
		return fmt.Errorf("pair %d: %w", tr.PairID, err)
	}
	if tr.At.IsZero() {
		tr.At = time.Now()
	}
	u := tr.Updated
	var opened, closed any
	if !u.OpenedAt.IsZero() {
		opened = u.OpenedAt
	} else if tr.To == pair.Open {
		opened = tr.At
	}
	if tr.To == pair.Closed {
		closed = tr.At
	}
	n := len(tr.Orders)
	ids, legs, purposes, venues, symbols, sides, types := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	qtys, prices, reduceOnly, sideEffects := make([]decimal.Decimal, n), make([]decimal.Decimal, n), make([]bool, n), make([]string, n)
	for i, o := range tr.Orders {
		ids[i], legs[i], purposes[i], venues[i], symbols[i] = o.ClientID, string(o.Leg), string(o.Purpose), string(o.Venue), o.Symbol
		sides[i], types[i], qtys[i], prices[i] = string(o.Side), string(o.Type), o.Qty, o.Price
		reduceOnly[i], sideEffects[i] = o.ReduceOnly, string(o.SideEffect)
	}
	// One statement, so one round trip and one implicit transaction: the pair moves only from the state the
	// caller saw (the row lock of the UPDATE serialises concurrent commits), and its orders and the log
	// entry are written with it or not at all. A client id used before fails the whole statement.
	var moved, recorded int
	err := s.pool.QueryRow(ctx, `
		WITH upd AS (
			UPDATE pairs SET state = $2, intent = $3, target_qty = $4, spot_qty = $5, perp_qty = $6, attempt = $7,
				entry_spot_price = $8, entry_perp_price = $9, entry_basis = $10, reason = $11, updated_at = $12,
				opened_at = COALESCE(opened_at, $13), closed_at = $14
			WHERE id = $1 AND state = $15
			RETURNING account_id
		), ord AS (
			INSERT INTO orders (account_id, pair_id, client_order_id, leg, purpose, venue, symbol, side, type, qty, price,
				reduce_only, side_effect, status, created_at, updated_at)
			SELECT upd.account_id, $1, o.cid, o.leg, o.purpose, o.venue, o.symbol, o.side, o.type, o.qty, o.price, o.ro, o.se,
				'intent', $12, $12
			FROM upd, unnest($16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[], $22::text[],
				$23::numeric[], $24::numeric[], $25::boolean[], $26::text[]) WITH ORDINALITY
				AS o(cid, leg, purpose, venue, symbol, side, type, qty, price, ro, se, n)
			ORDER BY o.n
			RETURNING 1
		), log AS (
			INSERT INTO pair_transitions (pair_id, from_state, to_state, attempt, reason, client_order_ids, at)
			SELECT $1, $15, $2, $7, $11, $16::text[], $12 FROM upd
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM upd), (SELECT count(*) FROM ord)`,
		tr.PairID, tr.To, u.Intent, u.TargetQty, u.SpotQty, u.PerpQty, u.Attempt, u.EntrySpotPrice, u.EntryPerpPrice,
		u.EntryBasis, tr.Reason, tr.At, opened, closed, tr.From,
		ids, legs, purposes, venues, symbols, sides, types, qtys, prices, reduceOnly, sideEffects).Scan(&moved, &recorded)
	if err != nil {
		if IsUniqueViolation(err) {
			return fmt.Errorf("pair %d: a client order id of this round (%s) was already used; refusing to send it again: %w",
				tr.PairID, strings.Join(ids, ", "), err)
		}
		return fmt.Errorf("pair %d %s→%s: committing: %w", tr.PairID, tr.From, tr.To, err)
	}
	if moved == 0 {
		var state pair.State
		if err := s.pool.QueryRow(ctx, "SELECT state FROM pairs WHERE id = $1", tr.PairID).Scan(&state); err != nil {
			return fmt.Errorf("pair %d %s→%s: %w", tr.PairID, tr.From, tr.To, notFound(err))
		}
		return fmt.Errorf("pair %d %s→%s: it is %s: %w", tr.PairID, tr.From, tr.To, state, ErrStale)
	}
	if recorded != n {
		return fmt.Errorf("pair %d %s→%s: %d of %d orders recorded", tr.PairID, tr.From, tr.To, recorded, n)
	}
	return nil
}

// TransitionRecord is one row of a pair's transition log.
type TransitionRecord struct {
	From, To pair.State
	Attempt  int
	Reason   string
	OrderIDs []string
	At       time.Time
}

// Transitions returns a pair's transition log, oldest first.
func (s *Store) Transitions(ctx context.Context, pairID int64) ([]TransitionRecord, error) {
	return queryRows(ctx, s, fmt.Sprintf("transitions of pair %d", pairID), `SELECT from_state, to_state, attempt, reason,
		client_order_ids, at FROM pair_transitions WHERE pair_id = $1 ORDER BY id`, []any{pairID},
		func(row pgx.Row) (TransitionRecord, error) {
			var r TransitionRecord
			err := row.Scan(&r.From, &r.To, &r.Attempt, &r.Reason, &r.OrderIDs, &r.At)
			return r, err
		})
}

const orderCols = `account_id, COALESCE(pair_id, 0), client_order_id, leg, purpose, venue, symbol, side, type, qty, price,
	reduce_only, side_effect, status, venue_order_id, executed_qty, cum_quote, error, created_at, updated_at`

func scanOrder(row pgx.Row) (pair.OrderRecord, error) {
	var o pair.OrderRecord
	err := row.Scan(&o.AccountID, &o.PairID, &o.ClientID, &o.Leg, &o.Purpose, &o.Venue, &o.Symbol, &o.Side, &o.Type, &o.Qty,
		&o.Price, &o.ReduceOnly, &o.SideEffect, &o.Status, &o.VenueOrderID, &o.ExecutedQty, &o.CumQuote, &o.Error, &o.CreatedAt, &o.UpdatedAt)
	return o, err
}

// PairOrders returns a pair's orders in the order they were committed.
func (s *Store) PairOrders(ctx context.Context, pairID int64) ([]pair.OrderRecord, error) {
	return queryRows(ctx, s, fmt.Sprintf("orders of pair %d", pairID), "SELECT "+orderCols+" FROM orders WHERE pair_id = $1 ORDER BY id",
		[]any{pairID}, scanOrder)
}

// GetOrder reads an order by client id.
func (s *Store) GetOrder(ctx context.Context, clientID string) (pair.OrderRecord, error) {
	o, err := scanOrder(s.pool.QueryRow(ctx, "SELECT "+orderCols+" FROM orders WHERE client_order_id = $1", clientID))
	if err != nil {
		return pair.OrderRecord{}, fmt.Errorf("reading order %s: %w", clientID, notFound(err))
	}
	return o, nil
}

// recordOrderState stores what the venue said about an order: its status moves forward (a final status is
// never replaced by a live one: answers can arrive out of order) and the largest executed quantities seen are
// kept; orderStateArgs are its arguments.
const recordOrderState = `
		UPDATE orders SET
			status = CASE WHEN status IN ('FILLED','CANCELED','REJECTED','EXPIRED') AND $2 NOT IN ('FILLED','CANCELED','REJECTED','EXPIRED') THEN status ELSE $2 END,
			venue_order_id = CASE WHEN $3 = '' THEN venue_order_id ELSE $3 END,
			executed_qty = GREATEST(executed_qty, $4), cum_quote = GREATEST(cum_quote, $5), updated_at = $6
		WHERE client_order_id = $1`

func orderStateArgs(o exchange.Order, at time.Time) []any {
	return []any{o.ClientID, string(o.Status), o.VenueOrderID, o.ExecutedQty, o.CumQuote, at}
}

// MarkOrder sets an order's status to unknown or rejected (with the reason), unless it is already final.
func (s *Store) MarkOrder(ctx context.Context, clientID, status, reason string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE orders SET status = $2, error = $3, updated_at = $4
		WHERE client_order_id = $1 AND status NOT IN ('FILLED','CANCELED','REJECTED','EXPIRED')`, clientID, status, reason, at)
	if err != nil {
		return fmt.Errorf("marking order %s %s: %w", clientID, status, err)
	}
	return nil
}

// ClosedSince returns the account's pairs closed at or after since, oldest first.
func (s *Store) ClosedSince(ctx context.Context, accountID int64, since time.Time) ([]pair.Pair, error) {
	return s.queryPairs(ctx, "SELECT "+pairCols+" FROM pairs WHERE account_id = $1 AND state = 'closed' AND closed_at >= $2 ORDER BY closed_at", accountID, since)
}
