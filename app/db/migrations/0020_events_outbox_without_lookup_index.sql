-- The events outbox is read only in commit order, past the fan-out's cursor (migration 0019): nothing
-- looks its rows up by correspondence. The index cost an entry per event written (two or three per
-- recipient) and ~40 bytes at rest each (issue 29).
DROP INDEX IF EXISTS correspondence_events_corr_idx;
