-- Work that is done leaves no dead version per step (issue 29: with autovacuum off, 1,000,000
-- recipients left 3.0 M dead events, 2.6 M dead outbox versions and 1.0 M dead correspondences).
--
-- * The relay and the events fan-out read their tables in commit order through a cursor instead of
--   marking each row: a row carries the id of the transaction that wrote it (`xid`), and a reader
--   takes rows past its cursor whose transaction ended before every running one began
--   (`xid < pg_snapshot_xmin(pg_current_snapshot())`: all of them are committed and visible, none can
--   still appear below it), in (xid, key) order, and moves its cursor in the transaction that handed
--   them on. One cursor row per reader is updated per page, never a row per correspondence or event.
-- * An outbox row whose orders are recorded is deleted by the statement that records them (it was
--   updated to `completed_at`); `dispatched_at` and `retry_at` are written only on the rare paths (a
--   retry after the gateway was unavailable, a row whose worker died, a lost message).
-- * `correspondences.published` is the Published status row's time (unique per correspondence):
--   derived on reads, no longer an UPDATE of every published correspondence.

CREATE TABLE work_cursors (
    name            text PRIMARY KEY,
    position_xid    xid8 NOT NULL DEFAULT '0',
    position_uuid   uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
    position_id     bigint NOT NULL DEFAULT 0
);
INSERT INTO work_cursors (name) VALUES ('notification_outbox'), ('correspondence_events');

-- The events outbox. Rows not yet forwarded get the lowest transaction id, so they go first; rows
-- already forwarded keep none and are never read again.
ALTER TABLE correspondence_events ADD COLUMN xid xid8;
UPDATE correspondence_events SET xid = '1' WHERE forwarded_at IS NULL;
ALTER TABLE correspondence_events ALTER COLUMN xid SET DEFAULT pg_current_xact_id();
DROP INDEX correspondence_events_unforwarded_idx;
CREATE INDEX correspondence_events_xid_idx ON correspondence_events (xid, id);

-- The notification outbox. Completed rows are gone. Rows not yet dispatched are past the relay's
-- cursor; rows dispatched (or waiting for a retry) before this migration are behind it, and go again
-- on the rare paths (a retry when due, a lease that passed, a message lost long ago).
DELETE FROM notification_outbox WHERE completed_at IS NOT NULL;
ALTER TABLE notification_outbox ADD COLUMN xid xid8;
UPDATE notification_outbox SET xid = '2' WHERE dispatched_at IS NULL AND retry_at IS NULL;
UPDATE notification_outbox SET xid = '1' WHERE xid IS NULL;
UPDATE work_cursors SET position_xid = '1', position_uuid = 'ffffffff-ffff-ffff-ffff-ffffffffffff'
    WHERE name = 'notification_outbox';
ALTER TABLE notification_outbox ALTER COLUMN xid SET NOT NULL;
ALTER TABLE notification_outbox ALTER COLUMN xid SET DEFAULT pg_current_xact_id();
DROP INDEX notification_outbox_pending_idx;
CREATE INDEX notification_outbox_xid_idx ON notification_outbox (xid, correspondence_id);
-- The rare paths: retries waiting for their time, leases that passed (a worker died).
CREATE INDEX notification_outbox_retry_idx ON notification_outbox (retry_at) WHERE retry_at IS NOT NULL;
CREATE INDEX notification_outbox_claimed_idx ON notification_outbox (claimed_until) WHERE claimed_until IS NOT NULL;
-- The sweep's low-water mark: no row of the outbox is older (the rows before it are all deleted).
INSERT INTO work_cursors (name) VALUES ('notification_outbox_oldest');

-- Published is derived from the status row.
INSERT INTO correspondence_statuses (id, correspondence_id, status, status_text, status_changed)
SELECT gen_random_uuid(), c.id, 2, 'Published', c.published FROM correspondences c
WHERE c.published IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM correspondence_statuses s WHERE s.correspondence_id = c.id AND s.status = 2);
ALTER TABLE correspondences DROP COLUMN published;
