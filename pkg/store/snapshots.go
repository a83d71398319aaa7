package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// RiskSnapshot is the bot's latest risk view of one symbol.
type RiskSnapshot struct {
	Symbol           string
	PairID           int64
	Mark             decimal.Decimal
	LiquidationPrice decimal.Decimal
	Distance         decimal.Decimal
	MarginRatio      decimal.Decimal
	HedgeRatio       decimal.Decimal
	NextFunding      time.Time
	At               time.Time
}

// SaveRiskSnapshots replaces the account's snapshots with these (symbols not listed are dropped: they no
// longer hold a position).
func (s *Store) SaveRiskSnapshots(ctx context.Context, accountID int64, snaps []RiskSnapshot) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("saving risk snapshots: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "DELETE FROM risk_snapshots WHERE account_id = $1", accountID); err != nil {
		return fmt.Errorf("saving risk snapshots: %w", err)
	}
	for _, r := range snaps {
		var next any
		if !r.NextFunding.IsZero() {
			next = r.NextFunding
		}
		if _, err := tx.Exec(ctx, `INSERT INTO risk_snapshots (account_id, symbol, pair_id, mark, liquidation_price, distance, margin_ratio,
			hedge_ratio, next_funding, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			accountID, r.Symbol, nullID(r.PairID), r.Mark, r.LiquidationPrice, r.Distance, r.MarginRatio, r.HedgeRatio, next, r.At); err != nil {
			return fmt.Errorf("saving the %s risk snapshot: %w", r.Symbol, err)
		}
	}
	return tx.Commit(ctx)
}

// RiskSnapshots returns the account's latest snapshots by symbol.
func (s *Store) RiskSnapshots(ctx context.Context, accountID int64) (map[string]RiskSnapshot, error) {
	snaps, err := queryRows(ctx, s, "risk snapshots", `SELECT symbol, COALESCE(pair_id, 0), mark, liquidation_price, distance,
		margin_ratio, hedge_ratio, next_funding, at FROM risk_snapshots WHERE account_id = $1`, []any{accountID},
		func(row pgx.Row) (RiskSnapshot, error) {
			var r RiskSnapshot
			var next *time.Time
			err := row.Scan(&r.Symbol, &r.PairID, &r.Mark, &r.LiquidationPrice, &r.Distance, &r.MarginRatio, &r.HedgeRatio, &next, &r.At)
			if next != nil {
				r.NextFunding = *next
			}
			return r, err
		})
	if err != nil {
		return nil, err
	}
	out := make(map[string]RiskSnapshot, len(snaps))
	for _, r := range snaps {
		out[r.Symbol] = r
	}
	return out, nil
}

// FundingDay is funding received on one symbol on one UTC day.
type FundingDay struct {
	Symbol   string
	Day      time.Time
	Amount   decimal.Decimal
	Payments int
}

// FundingByDay sums the account's funding payments per symbol and UTC day since a time, newest first.
func (s *Store) FundingByDay(ctx context.Context, accountID int64, symbol string, since time.Time) ([]FundingDay, error) {
	return queryRows(ctx, s, "funding by day", `
		SELECT symbol, date_trunc('day', at AT TIME ZONE 'UTC') AS day, SUM(amount), COUNT(*)
		FROM funding_payments WHERE account_id = $1 AND ($2 = '' OR symbol = $2) AND at >= $3
		GROUP BY symbol, day ORDER BY day DESC, symbol`, []any{accountID, symbol, since},
		func(row pgx.Row) (FundingDay, error) {
			var r FundingDay
			err := row.Scan(&r.Symbol, &r.Day, &r.Amount, &r.Payments)
			r.Day = time.Date(r.Day.Year(), r.Day.Month(), r.Day.Day(), 0, 0, 0, 0, time.UTC)
			return r, err
		})
}
