-- The rows written per recipient keep no foreign key either (0011 dropped the work tables'): a
-- correspondence and its status are written by the same statement as their Initialize, an order by
-- the worker that has just read its correspondence, and correspondences and initializations are never
-- deleted, so no check can fail. Each one ran a trigger that locked the parent row (FOR KEY SHARE: a
-- WAL record, and the parent's page written again): 300,000 checks for 100,000 recipients, about 7 %
-- of PostgreSQL's statement time and an eighth of the Initialize's (pg_stat_statements, issue 29).
-- Rows written one at a time (later statuses' parents are read first; attachment links, fetches,
-- forwarding events, idempotency keys, deliveries) keep theirs.
ALTER TABLE correspondences DROP CONSTRAINT IF EXISTS correspondences_initialization_fk;
ALTER TABLE correspondence_statuses DROP CONSTRAINT IF EXISTS correspondence_statuses_correspondence_id_fkey;
ALTER TABLE notification_orders DROP CONSTRAINT IF EXISTS notification_orders_correspondence_id_fkey;
