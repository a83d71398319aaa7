-- +goose Up
-- Cross-margin loans (reverse carry): every borrow, repayment and interest charge the venue reports, stored
-- once on its natural key (the venue's transaction id per kind: Binance's borrow/repay txId and interest
-- txId are separate sequences; the paper venue's ids are deterministic). Money is NUMERIC; rate is the
-- hourly rate of an interest charge; principal is what a charge was computed on, or the principal part of
-- a repayment (amount − principal paid interest).
CREATE TABLE loan_txs (
    id         bigserial PRIMARY KEY,
    account_id bigint      NOT NULL REFERENCES accounts (id),
    pair_id    bigint      REFERENCES pairs (id),
    asset      text        NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('borrow', 'repay', 'interest')),
    amount     numeric     NOT NULL CHECK (amount >= 0),
    tran_id    text        NOT NULL CHECK (tran_id <> ''),
    rate       numeric,
    principal  numeric,
    at         timestamptz NOT NULL,
    UNIQUE (account_id, kind, tran_id)
);
CREATE INDEX loan_txs_account_asset_time ON loan_txs (account_id, asset, at);
CREATE INDEX loan_txs_pair ON loan_txs (pair_id);

-- +goose Down
DROP TABLE loan_txs;
