-- Events as Altinn sends them (README, "Events to subscribers"):
-- * notificationcreated names its notification order (the CloudEvent's resourceinstance);
-- * a subscription that keeps failing is backed off as a whole: one probe at a time, after
--   `next_probe_at`, until a delivery succeeds again;
-- * why a subscription failed for good (its validation was never answered) is kept for the API.
ALTER TABLE correspondence_events ADD COLUMN order_id uuid;
ALTER TABLE event_subscriptions
    ADD COLUMN failures integer NOT NULL DEFAULT 0,
    ADD COLUMN next_probe_at timestamptz,
    ADD COLUMN status_reason text;
-- Pending subscriptions collect deliveries too (they wait until it is validated).
DROP INDEX event_subscriptions_match_idx;
CREATE INDEX event_subscriptions_match_idx ON event_subscriptions (resource_filter)
    WHERE status IN ('pending', 'active') AND deleted IS NULL;
-- Claims take each subscription's first due deliveries (a LATERAL per subscription), so a backlog at
-- one subscriber costs the others nothing.
CREATE INDEX event_deliveries_pending_by_subscription_idx
    ON event_deliveries (subscription_id, next_attempt_at, id) WHERE delivered_at IS NULL AND failed_at IS NULL;
-- What a claim counts (a subscription's deliveries in flight) and what it gives up (the too old),
-- without reading every waiting delivery.
CREATE INDEX event_deliveries_leased_idx ON event_deliveries (subscription_id)
    WHERE locked_until IS NOT NULL AND delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX event_deliveries_pending_created_idx ON event_deliveries (created)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
