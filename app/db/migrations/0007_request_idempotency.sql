-- Replayable retries of Initialize: the `Idempotency-Key` request header (IETF httpapi
-- idempotency-key draft), scoped to the sender. `result` is null while the first request is in
-- flight; it is written in the same transaction as the correspondences, so a stored result always
-- means a committed Initialize. Rows older than IDEMPOTENCY_KEY_TTL_HOURS are removed by beat.
CREATE TABLE request_idempotency (
    sender          text NOT NULL,
    key             text NOT NULL,
    fingerprint     bytea NOT NULL,      -- SHA-256 of the request body
    started         timestamptz NOT NULL DEFAULT now(),
    completed       timestamptz,
    result          jsonb,
    PRIMARY KEY (sender, key)
);
CREATE INDEX request_idempotency_started_idx ON request_idempotency (started);
