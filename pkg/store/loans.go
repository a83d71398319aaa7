package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
)

// Cross-margin loan transactions (migrations/00004_loans.sql): borrows, repayments and interest charges as
// the venue reports them (exchange.Borrowing.LoanHistory, or the answers of Borrow and Repay), each stored
// once per account, kind and venue transaction id.

// LoanRecord is a stored loan transaction.
type LoanRecord struct {
	exchange.LoanTx
	PairID int64 // 0 when not attributed to a pair
}

// InsertLoanTx stores a loan transaction once: a second insert of the same (kind, tranId) is a no-op. It
// reports whether the row was new. A zero Rate or Principal is stored as NULL (unknown).
func (s *Store) InsertLoanTx(ctx context.Context, accountID, pairID int64, tx exchange.LoanTx) (bool, error) {
	switch tx.Kind {
	case exchange.LoanBorrow, exchange.LoanRepay, exchange.LoanInterest:
	default:
		return false, fmt.Errorf("storing loan transaction %s: unknown kind %q", tx.TranID, tx.Kind)
	}
	if tx.TranID == "" || tx.Asset == "" || tx.Amount.IsNegative() || tx.Time.IsZero() {
		return false, fmt.Errorf("storing %s %s %s: a loan transaction needs a tranId, an asset, an amount ≥ 0 and a time", tx.Kind, tx.Amount, tx.Asset)
	}
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO loan_txs (account_id, pair_id, asset, kind, amount, tran_id, rate, principal, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (account_id, kind, tran_id) DO NOTHING`,
		accountID, nullID(pairID), tx.Asset, string(tx.Kind), tx.Amount, tx.TranID, nullDec(tx.Rate), nullDec(tx.Principal), tx.Time)
	if err != nil {
		return false, fmt.Errorf("storing %s %s (%s %s): %w", tx.Kind, tx.TranID, tx.Amount, tx.Asset, err)
	}
	return tag.RowsAffected() == 1, nil
}

// LoanFilter selects loan transactions; zero fields select everything.
type LoanFilter struct {
	PairID int64  // > 0: of this pair only
	Asset  string // of this asset only
	From   time.Time
	To     time.Time // exclusive
}

// LoanTxs returns the account's loan transactions matching f, oldest first.
func (s *Store) LoanTxs(ctx context.Context, accountID int64, f LoanFilter) ([]LoanRecord, error) {
	var from, to *time.Time
	if !f.From.IsZero() {
		from = &f.From
	}
	if !f.To.IsZero() {
		to = &f.To
	}
	return queryRows(ctx, s, "loan transactions", `
		SELECT COALESCE(pair_id, 0), tran_id, kind, asset, amount, COALESCE(rate, 0), COALESCE(principal, 0), at
		FROM loan_txs
		WHERE account_id = $1 AND ($2 = 0 OR pair_id = $2) AND ($3 = '' OR asset = $3)
		  AND ($4::timestamptz IS NULL OR at >= $4) AND ($5::timestamptz IS NULL OR at < $5)
		ORDER BY at, id`, []any{accountID, f.PairID, f.Asset, from, to},
		func(row pgx.Row) (LoanRecord, error) {
			var r LoanRecord
			var kind string
			err := row.Scan(&r.PairID, &r.TranID, &kind, &r.Asset, &r.Amount, &r.Rate, &r.Principal, &r.Time)
			r.Kind, r.Time = exchange.LoanKind(kind), r.Time.UTC()
			return r, err
		})
}

// LoanSummary is what one pair (PairID 0: transactions not attributed to a pair) borrowed, repaid and was
// charged in one asset. Outstanding = Borrowed + Interest − Repaid: what the records say is still owed.
type LoanSummary struct {
	PairID      int64
	Asset       string
	Borrowed    decimal.Decimal
	Repaid      decimal.Decimal
	Interest    decimal.Decimal
	Outstanding decimal.Decimal
	Count       int       // transactions
	First, Last time.Time // times of the first and last transaction
}

// LoanSummaries sums the account's loan transactions per pair and asset (one pair when pairID > 0),
// ordered by pair and asset.
func (s *Store) LoanSummaries(ctx context.Context, accountID, pairID int64) ([]LoanSummary, error) {
	return queryRows(ctx, s, "loan summaries", `
		SELECT COALESCE(pair_id, 0) AS pair, asset,
			COALESCE(SUM(amount) FILTER (WHERE kind = 'borrow'), 0),
			COALESCE(SUM(amount) FILTER (WHERE kind = 'repay'), 0),
			COALESCE(SUM(amount) FILTER (WHERE kind = 'interest'), 0),
			COUNT(*), MIN(at), MAX(at)
		FROM loan_txs
		WHERE account_id = $1 AND ($2 = 0 OR pair_id = $2)
		GROUP BY pair, asset
		ORDER BY pair, asset`, []any{accountID, pairID},
		func(row pgx.Row) (LoanSummary, error) {
			var r LoanSummary
			err := row.Scan(&r.PairID, &r.Asset, &r.Borrowed, &r.Repaid, &r.Interest, &r.Count, &r.First, &r.Last)
			r.Outstanding = r.Borrowed.Add(r.Interest).Sub(r.Repaid)
			r.First, r.Last = r.First.UTC(), r.Last.UTC()
			return r, err
		})
}

// LastLoanTime is the time of the account's newest recorded loan transaction (zero when none).
func (s *Store) LastLoanTime(ctx context.Context, accountID int64) (time.Time, error) {
	return s.newest(ctx, "SELECT MAX(at) FROM loan_txs WHERE account_id = $1", accountID, "loan transaction")
}
