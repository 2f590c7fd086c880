-- One retry path for order creation: a correspondence whose gateway was unavailable waits in the
-- outbox until retry_at (exponential backoff), then the relay sends it again like new work.
-- (Before: a Celery countdown message, which RabbitMQ quorum queues cannot hold back.)
ALTER TABLE notification_outbox ADD COLUMN retry_at timestamptz;
