-- Every correspondence is Initialized at its Initialize's `created`; the status is derived on reads
-- (statusHistory, status sets, search) instead of stored as one row per correspondence. Later statuses
-- (ReadyForPublish, Published, ...) are stored as before.
DELETE FROM correspondence_statuses WHERE status = 0;
