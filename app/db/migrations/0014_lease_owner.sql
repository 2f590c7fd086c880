-- Leases name their holder (issue 28). A worker renews the lease on the rows it works on while it
-- works (every 5 s, 20 s ahead) only where it is still the owner, and records outcomes only for rows
-- it still owns: a row taken over after its lease passed is neither renewed nor recorded by the
-- worker that lost it. A dead worker's rows are free once its last renewal's lease passes.
ALTER TABLE notification_outbox ADD COLUMN lease_owner uuid;
ALTER TABLE event_deliveries ADD COLUMN lease_owner uuid;
