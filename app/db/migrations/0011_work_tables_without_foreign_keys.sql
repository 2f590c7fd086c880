-- The work tables (notification outbox, publication and due-date queues) and the events outbox keep
-- no foreign keys. Their rows are written by the same statement as the rows they point to (or, for
-- order events, next to orders that keep theirs), and correspondences, initializations and attachments
-- are never deleted, so a check can never fail; each one still ran a trigger that locked the parent
-- row (FOR KEY SHARE, a WAL record), about a third of an Initialize's INSERT. The domain tables
-- (correspondences, statuses, orders, attachment links) keep theirs.
ALTER TABLE notification_outbox DROP CONSTRAINT IF EXISTS notification_outbox_correspondence_id_fkey;
ALTER TABLE publication_queue DROP CONSTRAINT IF EXISTS publication_queue_initialization_id_fkey;
ALTER TABLE due_date_queue DROP CONSTRAINT IF EXISTS due_date_queue_initialization_id_fkey;
ALTER TABLE correspondence_events DROP CONSTRAINT IF EXISTS correspondence_events_correspondence_id_fkey;
ALTER TABLE correspondence_events DROP CONSTRAINT IF EXISTS correspondence_events_initialization_id_fkey;
ALTER TABLE correspondence_events DROP CONSTRAINT IF EXISTS correspondence_events_attachment_id_fkey;
