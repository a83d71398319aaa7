-- +goose Up
-- Operator commands can end without running: 'cancelled' by the CLI that sent it, when it stopped waiting
-- before the bot started it; 'expired' by a bot at start, for commands queued before it started (they were
-- addressed to an earlier bot that never ran them). result says why.
ALTER TABLE commands DROP CONSTRAINT commands_status_check;
ALTER TABLE commands ADD CONSTRAINT commands_status_check
    CHECK (status IN ('pending', 'running', 'done', 'failed', 'cancelled', 'expired'));

-- +goose Down
UPDATE commands SET status = 'failed' WHERE status IN ('cancelled', 'expired');
ALTER TABLE commands DROP CONSTRAINT commands_status_check;
ALTER TABLE commands ADD CONSTRAINT commands_status_check CHECK (status IN ('pending', 'running', 'done', 'failed'));
