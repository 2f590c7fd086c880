-- Order creation claims its outbox rows with a lease and commits before calling the gateway (no
-- transaction is held over the HTTP calls); another worker may take the rows once the lease passes.
ALTER TABLE notification_outbox ADD COLUMN claimed_until timestamptz;
