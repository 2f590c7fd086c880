-- Order ids become time-ordered (the correspondence id's first 8 bytes, then 8 of the old uuid5; see
-- app/domain/notification_orders.py). A worker looks recorded orders up only for an outbox row some
-- worker claimed before (lease_owner set: a first claim cannot find any), under both ids. A row
-- already here may have been claimed by a worker before its lease owner was recorded (0014): mark
-- every one as claimed, so that its orders are looked up under both ids too.
UPDATE notification_outbox SET lease_owner = '00000000-0000-0000-0000-000000000000' WHERE lease_owner IS NULL;
