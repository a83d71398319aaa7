package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// nullID stores 0 as NULL for optional references.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// insertFill stores a fill once: a second insert of the same venue trade is a no-op; fillArgs are its
// arguments.
const insertFill = `
		INSERT INTO fills (account_id, pair_id, client_order_id, venue_order_id, venue, symbol, trade_id, side, qty, price,
			fee, fee_asset, realized_pnl, maker, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (account_id, venue, symbol, trade_id) DO NOTHING`

func fillArgs(accountID, pairID int64, f exchange.Fill) []any {
	return []any{accountID, nullID(pairID), f.ClientID, f.VenueOrderID, f.Venue, f.Symbol, f.TradeID, f.Side, f.Qty, f.Price,
		f.Fee, f.FeeAsset, f.RealizedPnL, f.Maker, f.Time}
}

// InsertFill stores a fill once: a second insert of the same venue trade is a no-op. It reports whether the
// row was new.
func (s *Store) InsertFill(ctx context.Context, accountID, pairID int64, f exchange.Fill) (bool, error) {
	fresh, err := s.InsertFills(ctx, accountID, pairID, []exchange.Fill{f})
	return len(fresh) == 1, err
}

// InsertFills stores fills once each (as InsertFill), in one round trip and one implicit transaction, and
// returns the new ones.
func (s *Store) InsertFills(ctx context.Context, accountID, pairID int64, fills []exchange.Fill) ([]exchange.Fill, error) {
	return s.writeFills(ctx, accountID, pairID, fills, nil, time.Time{})
}

// RecordOrders stores what came back for a round of orders, in one round trip: each order's fills (once each,
// as InsertFill) and its state (recordOrderState). The statements run in one implicit transaction: a failed
// one leaves nothing of the round written. It returns the fills that were new. An order never committed is
// store.ErrNotFound (its fills and the other orders are written, as they would be one by one).
func (s *Store) RecordOrders(ctx context.Context, accountID, pairID int64, orders []exchange.Order, at time.Time) ([]exchange.Fill, error) {
	var fills []exchange.Fill
	for _, o := range orders {
		fills = append(fills, o.Fills...)
	}
	return s.writeFills(ctx, accountID, pairID, fills, orders, at)
}

// writeFills sends the fills' inserts and the orders' state updates as one batch (one implicit transaction)
// and returns the new fills; an order never committed is ErrNotFound, returned with the new fills.
func (s *Store) writeFills(ctx context.Context, accountID, pairID int64, fills []exchange.Fill, orders []exchange.Order, at time.Time) ([]exchange.Fill, error) {
	if len(fills)+len(orders) == 0 {
		return nil, nil
	}
	b := &pgx.Batch{}
	for _, f := range fills {
		b.Queue(insertFill, fillArgs(accountID, pairID, f)...)
	}
	for _, o := range orders {
		b.Queue(recordOrderState, orderStateArgs(o, at)...)
	}
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	var fresh []exchange.Fill
	for _, f := range fills {
		tag, err := br.Exec()
		if err != nil {
			return nil, fmt.Errorf("storing fill %s %s %s: %w", f.Venue, f.Symbol, f.TradeID, err)
		}
		if tag.RowsAffected() == 1 {
			fresh = append(fresh, f)
		}
	}
	var missing error
	for _, o := range orders {
		tag, err := br.Exec()
		if err != nil {
			return nil, fmt.Errorf("recording order %s as %s: %w", o.ClientID, o.Status, err)
		}
		if tag.RowsAffected() != 1 && missing == nil {
			missing = fmt.Errorf("recording order %s: it was never committed: %w", o.ClientID, ErrNotFound)
		}
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("storing %d fills and %d order states: %w", len(fills), len(orders), err)
	}
	return fresh, missing
}

// FillRecord is a stored fill.
type FillRecord struct {
	exchange.Fill
	PairID int64
}

// Fills returns the account's fills (of one pair when pairID > 0) in time order.
func (s *Store) Fills(ctx context.Context, accountID, pairID int64) ([]FillRecord, error) {
	return queryRows(ctx, s, "fills", `
		SELECT COALESCE(pair_id, 0), client_order_id, venue_order_id, venue, symbol, trade_id, side, qty, price, fee, fee_asset,
			realized_pnl, maker, at
		FROM fills WHERE account_id = $1 AND ($2 = 0 OR pair_id = $2) ORDER BY at, id`, []any{accountID, pairID},
		func(row pgx.Row) (FillRecord, error) {
			var r FillRecord
			err := row.Scan(&r.PairID, &r.ClientID, &r.VenueOrderID, &r.Venue, &r.Symbol, &r.TradeID, &r.Side, &r.Qty, &r.Price,
				&r.Fee, &r.FeeAsset, &r.RealizedPnL, &r.Maker, &r.Time)
			return r, err
		})
}

// InsertFunding stores a funding payment once per tranId and reports whether it was new.
func (s *Store) InsertFunding(ctx context.Context, accountID, pairID int64, p exchange.FundingPayment) (bool, error) {
	n, err := s.insertFunding(ctx, accountID, []FundingRow{{PairID: pairID, Payment: p}})
	if err != nil {
		return false, fmt.Errorf("storing funding payment %s (%s %s): %w", p.TranID, p.Symbol, p.Amount, err)
	}
	return n == 1, nil
}

// FundingRecord is a stored funding payment.
type FundingRecord struct {
	exchange.FundingPayment
	PairID int64
}

// FundingPayments returns the account's funding payments (of one pair when pairID > 0) in time order.
func (s *Store) FundingPayments(ctx context.Context, accountID, pairID int64) ([]FundingRecord, error) {
	return queryRows(ctx, s, "funding payments", `
		SELECT COALESCE(pair_id, 0), tran_id, symbol, amount, asset, COALESCE(rate, 0), COALESCE(mark_price, 0), COALESCE(position_qty, 0), at
		FROM funding_payments WHERE account_id = $1 AND ($2 = 0 OR pair_id = $2) ORDER BY at, id`, []any{accountID, pairID},
		func(row pgx.Row) (FundingRecord, error) {
			var r FundingRecord
			err := row.Scan(&r.PairID, &r.TranID, &r.Symbol, &r.Amount, &r.Asset, &r.Rate, &r.MarkPrice, &r.PositionQty, &r.Time)
			return r, err
		})
}

// LastFundingTime is the time of the account's newest stored funding payment (zero when none).
func (s *Store) LastFundingTime(ctx context.Context, accountID int64) (time.Time, error) {
	return s.newest(ctx, "SELECT MAX(at) FROM funding_payments WHERE account_id = $1", accountID, "funding payment")
}

// newest runs a MAX(at) query over the account's records of one kind (zero time when there are none).
func (s *Store) newest(ctx context.Context, sql string, accountID int64, what string) (time.Time, error) {
	var t *time.Time
	if err := s.pool.QueryRow(ctx, sql, accountID).Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("reading the time of the newest %s: %w", what, err)
	}
	if t == nil {
		return time.Time{}, nil
	}
	return *t, nil
}

func nullDec(v decimal.Decimal) any {
	if v.IsZero() {
		return nil
	}
	return v
}

// TransferRecord is a wallet move as carry recorded it.
type TransferRecord struct {
	ClientID  string
	TranID    string
	PairID    int64
	Kind      exchange.TransferKind
	Asset     string
	Amount    decimal.Decimal
	Status    string // intent | done | failed | unknown
	Reason    string
	Error     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Transfer statuses.
const (
	TransferIntent  = "intent"
	TransferDone    = "done"
	TransferFailed  = "failed"
	TransferUnknown = "unknown"
)

// CommitTransfer records a transfer before it is requested. The client id is ours and unique.
func (s *Store) CommitTransfer(ctx context.Context, accountID int64, t TransferRecord) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO transfers (account_id, pair_id, client_id, kind, asset, amount, status, reason, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'intent', $7, $8, $8)`,
		accountID, nullID(t.PairID), t.ClientID, t.Kind, t.Asset, t.Amount, t.Reason, t.CreatedAt)
	if IsUniqueViolation(err) {
		return fmt.Errorf("transfer %s was already committed; refusing to request it twice", t.ClientID)
	}
	if err != nil {
		return fmt.Errorf("committing transfer %s (%s %s %s): %w", t.ClientID, t.Kind, t.Amount, t.Asset, err)
	}
	return nil
}

// FinishTransfer records the outcome of a committed transfer.
func (s *Store) FinishTransfer(ctx context.Context, clientID, status, tranID, errText string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE transfers SET status = $2, tran_id = CASE WHEN $3 = '' THEN tran_id ELSE $3 END,
		error = $4, updated_at = $5 WHERE client_id = $1`, clientID, status, tranID, errText, at)
	if err != nil {
		return fmt.Errorf("recording transfer %s as %s: %w", clientID, status, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("recording transfer %s: %w", clientID, ErrNotFound)
	}
	return nil
}

// Transfers returns the account's transfers, oldest first; only unresolved ones when pending is set.
func (s *Store) Transfers(ctx context.Context, accountID int64, pending bool) ([]TransferRecord, error) {
	return queryRows(ctx, s, "transfers", `
		SELECT client_id, tran_id, COALESCE(pair_id, 0), kind, asset, amount, status, reason, error, created_at, updated_at
		FROM transfers WHERE account_id = $1 AND (NOT $2 OR status IN ('intent', 'unknown')) ORDER BY id`, []any{accountID, pending},
		func(row pgx.Row) (TransferRecord, error) {
			var r TransferRecord
			err := row.Scan(&r.ClientID, &r.TranID, &r.PairID, &r.Kind, &r.Asset, &r.Amount, &r.Status, &r.Reason, &r.Error, &r.CreatedAt, &r.UpdatedAt)
			return r, err
		})
}

// PairAt returns the id of the account's pair that held symbol at time at (0 when none): created before it
// and not closed more than the settlement tolerance (15 s) before it.
func (s *Store) PairAt(ctx context.Context, accountID int64, symbol string, at time.Time) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `
		SELECT id FROM pairs
		WHERE account_id = $1 AND symbol = $2 AND created_at <= $3
		  AND (closed_at IS NULL OR closed_at >= $3 - interval '15 seconds')
		ORDER BY id DESC LIMIT 1`, accountID, symbol, at).Scan(&id)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("finding the %s pair at %s: %w", symbol, at, err)
	}
	return id, nil
}

// FundingRow is one payment for InsertFundingBatch.
type FundingRow struct {
	PairID  int64
	Payment exchange.FundingPayment
}

// insertFundingRows stores funding payments once per (account, tranId) in one statement: the columns travel
// as arrays (one per column, row i at index i); a pair id of 0 and a zero rate, mark or quantity are stored as
// NULL. One statement for a whole batch: the server plans and executes once (a batch of 512 single-row
// inserts took ~28 ms on a local server, this takes a few).
const insertFundingRows = `
		INSERT INTO funding_payments (account_id, pair_id, tran_id, symbol, amount, asset, rate, mark_price, position_qty, at)
		SELECT $1, NULLIF(u.pair_id, 0), u.tran_id, u.symbol, u.amount, u.asset, NULLIF(u.rate, 0), NULLIF(u.mark, 0),
			NULLIF(u.qty, 0), u.at
		FROM unnest($2::bigint[], $3::text[], $4::text[], $5::numeric[], $6::text[], $7::numeric[], $8::numeric[],
			$9::numeric[], $10::timestamptz[]) AS u(pair_id, tran_id, symbol, amount, asset, rate, mark, qty, at)
		ON CONFLICT (account_id, tran_id) DO NOTHING`

// InsertFundingBatch stores many funding payments in one statement (each once per tranId, like
// InsertFunding) and reports how many were new.
func (s *Store) InsertFundingBatch(ctx context.Context, accountID int64, rows []FundingRow) (int, error) {
	n, err := s.insertFunding(ctx, accountID, rows)
	if err != nil {
		return 0, fmt.Errorf("storing %d funding payments: %w", len(rows), err)
	}
	return n, nil
}

func (s *Store) insertFunding(ctx context.Context, accountID int64, rows []FundingRow) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	n := len(rows)
	pairs, times := make([]int64, n), make([]time.Time, n)
	tranIDs, symbols, assets := make([]string, n), make([]string, n), make([]string, n)
	amounts, rates, marks, qtys := make([]decimal.Decimal, n), make([]decimal.Decimal, n), make([]decimal.Decimal, n), make([]decimal.Decimal, n)
	for i, r := range rows {
		p := r.Payment
		pairs[i], tranIDs[i], symbols[i], amounts[i], assets[i], times[i] = r.PairID, p.TranID, p.Symbol, p.Amount, p.Asset, p.Time
		rates[i], marks[i], qtys[i] = p.Rate, p.MarkPrice, p.PositionQty
	}
	tag, err := s.pool.Exec(ctx, insertFundingRows, accountID, pairs, tranIDs, symbols, amounts, assets, rates, marks, qtys, times)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}
