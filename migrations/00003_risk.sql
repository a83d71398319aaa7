-- +goose Up
-- Risk: who last changed an account's trading state, and the risk event log (refused orders, ladder
-- actions, state changes, divergences, ...) that the CLI shows. Money and quantities are NUMERIC: the
-- numbers of an event are stored as a jsonb object of decimal STRINGS (never JSON numbers, which readers
-- parse as floats), plus amount/qty columns for the common cases.

ALTER TABLE accounts ADD COLUMN state_changed_by text NOT NULL DEFAULT '';

CREATE TABLE risk_events (
    id               bigserial PRIMARY KEY,
    account_id       bigint      NOT NULL REFERENCES accounts (id),
    pair_id          bigint      REFERENCES pairs (id),
    symbol           text        NOT NULL DEFAULT '',
    -- refused | topup | deleverage | flatten | halt | hedge | state_change | divergence | skipped | ...
    kind             text        NOT NULL CHECK (kind ~ '^[a-z][a-z_]*$'),
    severity         text        NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    -- who raised it: risk, operator, system, strategy
    actor            text        NOT NULL DEFAULT '',
    detail           text        NOT NULL,
    amount           numeric,
    qty              numeric,
    numbers          jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(numbers) = 'object'),
    -- Optional idempotency key: an event with a key is recorded once per account (replays, restarts).
    event_key        text,
    at               timestamptz NOT NULL
);
CREATE INDEX risk_events_account_time ON risk_events (account_id, at, id);
CREATE INDEX risk_events_account_kind ON risk_events (account_id, kind, at);
CREATE UNIQUE INDEX risk_events_key ON risk_events (account_id, event_key) WHERE event_key IS NOT NULL;

-- +goose Down
DROP TABLE risk_events;
ALTER TABLE accounts DROP COLUMN state_changed_by;
