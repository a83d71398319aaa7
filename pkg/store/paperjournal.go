package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/carry-trading/carry/exchange/paper"
)

// PaperJournal is the journal of one account's paper venue, in the paper_journal table: paper.New replays it
// on start-up, and the venue appends every change before answering. It implements paper.Journal.
type PaperJournal struct {
	s         *Store
	accountID int64
}

var _ paper.Journal = (*PaperJournal)(nil)

// PaperJournal returns the paper venue journal of an account.
func (s *Store) PaperJournal(accountID int64) *PaperJournal {
	return &PaperJournal{s: s, accountID: accountID}
}

// Append stores an entry. Storing the same entry again (a retry after a lost answer) is a success; a
// different entry with a stored sequence number is an error: two venues are writing one account's journal.
func (j *PaperJournal) Append(ctx context.Context, e paper.Entry) error {
	if !json.Valid(e.Payload) {
		return fmt.Errorf("paper journal entry %d (%s): payload is not JSON", e.Seq, e.Kind)
	}
	tag, err := j.s.pool.Exec(ctx, `
		INSERT INTO paper_journal (account_id, seq, kind, at, payload) VALUES ($1, $2, $3, $4, $5::jsonb)
		ON CONFLICT (account_id, seq) DO NOTHING`,
		j.accountID, e.Seq, string(e.Kind), e.Time, string(e.Payload))
	if err != nil {
		return fmt.Errorf("appending paper journal entry %d (%s) of account %d: %w", e.Seq, e.Kind, j.accountID, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var same bool
	err = j.s.pool.QueryRow(ctx, `SELECT kind = $3 AND payload = $4::jsonb FROM paper_journal WHERE account_id = $1 AND seq = $2`,
		j.accountID, e.Seq, string(e.Kind), string(e.Payload)).Scan(&same)
	if err != nil {
		return fmt.Errorf("checking paper journal entry %d of account %d: %w", e.Seq, j.accountID, err)
	}
	if !same {
		return fmt.Errorf("paper journal entry %d of account %d is already stored with different content: is another paper venue running on this account?", e.Seq, j.accountID)
	}
	return nil
}

// Load returns the account's entries by sequence number.
func (j *PaperJournal) Load(ctx context.Context) ([]paper.Entry, error) {
	return queryRows(ctx, j.s, fmt.Sprintf("the paper journal of account %d", j.accountID),
		`SELECT seq, kind, at, payload FROM paper_journal WHERE account_id = $1 ORDER BY seq`, []any{j.accountID},
		func(row pgx.Row) (paper.Entry, error) {
			var e paper.Entry
			var kind string
			var payload []byte
			err := row.Scan(&e.Seq, &kind, &e.Time, &payload)
			e.Kind, e.Payload, e.Time = paper.EntryKind(kind), json.RawMessage(payload), e.Time.UTC()
			return e, err
		})
}
