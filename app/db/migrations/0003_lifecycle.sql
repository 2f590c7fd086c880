-- Lifecycle after Initialize: publishing at requestedPublishTime, due-date checks, events
-- (SPEC.md §1.5–§1.6, §5.8). Scheduling is a due-row scan, never a broker ETA hours ahead.

-- Every correspondence waits here until its publish job has run once (Published or Failed).
CREATE TABLE pending_publications (
    correspondence_id   uuid PRIMARY KEY REFERENCES correspondences (id) ON DELETE CASCADE,
    due_at              timestamptz NOT NULL,
    checks              integer NOT NULL DEFAULT 0
);
CREATE INDEX pending_publications_due_idx ON pending_publications (due_at);

-- Correspondences with a dueDateTime wait here until their due-date check has run.
CREATE TABLE pending_due_dates (
    correspondence_id   uuid PRIMARY KEY REFERENCES correspondences (id) ON DELETE CASCADE,
    due_at              timestamptz NOT NULL
);
CREATE INDEX pending_due_dates_due_idx ON pending_due_dates (due_at);

-- Published is written once per correspondence, whatever runs twice.
CREATE UNIQUE INDEX correspondence_statuses_published_once
    ON correspondence_statuses (correspondence_id) WHERE status = 2;

-- Events the real service posts to Altinn Events (SPEC.md §5.8), kept here for a forwarder.
CREATE TABLE correspondence_events (
    id                  bigserial PRIMARY KEY,
    event_type          text NOT NULL,
    correspondence_id   uuid NOT NULL REFERENCES correspondences (id) ON DELETE CASCADE,
    subject             text,
    created             timestamptz NOT NULL DEFAULT now(),
    forwarded_at        timestamptz
);
CREATE INDEX correspondence_events_corr_idx ON correspondence_events (correspondence_id);

-- Correspondences created before this migration get their publish job too.
INSERT INTO pending_publications (correspondence_id, due_at)
SELECT c.id, c.requested_publish_time FROM correspondences c
WHERE NOT EXISTS (SELECT 1 FROM correspondence_statuses s
                  WHERE s.correspondence_id = c.id AND s.status IN (2, 7, 8, 11));
INSERT INTO pending_due_dates (correspondence_id, due_at)
SELECT id, due_date_time FROM correspondences WHERE due_date_time IS NOT NULL;
