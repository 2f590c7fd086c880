-- An Idempotency-Key in flight is leased by the request that claimed it (issue 24): `owner` is that
-- request's token, `lease_until` the end of its lease, renewed while the request is still being
-- processed (a long multipart upload). A retry takes the key over only once the lease has passed,
-- and the first request then can neither renew it nor store its result: its transaction stores
-- nothing, so the correspondences are never stored twice. Rows claimed before this migration have
-- no lease: they count from `started`, as before.
ALTER TABLE request_idempotency ADD COLUMN owner uuid;
ALTER TABLE request_idempotency ADD COLUMN lease_until timestamptz;
