package store

import (
	"context"
	"fmt"
	"time"

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
	rows, err := s.pool.Query(ctx, `SELECT symbol, COALESCE(pair_id, 0), mark, liquidation_price, distance, margin_ratio, hedge_ratio,
		next_funding, at FROM risk_snapshots WHERE account_id = $1`, accountID)
	if err != nil {
		return nil, fmt.Errorf("reading risk snapshots: %w", err)
	}
	defer rows.Close()
	out := map[string]RiskSnapshot{}
	for rows.Next() {
		var r RiskSnapshot
		var next *time.Time
		if err := rows.Scan(&r.Symbol, &r.PairID, &r.Mark, &r.LiquidationPrice, &r.Distance, &r.MarginRatio, &r.HedgeRatio, &next, &r.At); err != nil {
			return nil, fmt.Errorf("reading a risk snapshot: %w", err)
		}
		if next != nil {
			r.NextFunding = *next
		}
		out[r.Symbol] = r
	}
	return out, rows.Err()
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
	rows, err := s.pool.Query(ctx, `
		SELECT symbol, date_trunc('day', at AT TIME ZONE 'UTC') AS day, SUM(amount), COUNT(*)
		FROM funding_payments WHERE account_id = $1 AND ($2 = '' OR symbol = $2) AND at >= $3
		GROUP BY symbol, day ORDER BY day DESC, symbol`, accountID, symbol, since)
	if err != nil {
		return nil, fmt.Errorf("summing funding by day: %w", err)
	}
	defer rows.Close()
	var out []FundingDay
	for rows.Next() {
		var r FundingDay
		if err := rows.Scan(&r.Symbol, &r.Day, &r.Amount, &r.Payments); err != nil {
			return nil, fmt.Errorf("reading a funding day: %w", err)
		}
		r.Day = time.Date(r.Day.Year(), r.Day.Month(), r.Day.Day(), 0, 0, 0, 0, time.UTC)
		out = append(out, r)
	}
	return out, rows.Err()
}
