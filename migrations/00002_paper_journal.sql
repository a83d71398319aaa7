-- +goose Up
-- The paper venue's journal (exchange/paper): every change of a simulated exchange account, in order, so a
-- restarted paper venue rebuilds its balances, positions, orders, funding payments and transfers by replaying
-- it. Payloads are JSON written by exchange/paper; decimals in them are strings, never floats.
CREATE TABLE paper_journal (
    account_id bigint      NOT NULL REFERENCES accounts (id),
    seq        bigint      NOT NULL CHECK (seq > 0),
    kind       text        NOT NULL,
    at         timestamptz NOT NULL,
    payload    jsonb       NOT NULL,
    PRIMARY KEY (account_id, seq)
);

-- +goose Down
DROP TABLE paper_journal;
