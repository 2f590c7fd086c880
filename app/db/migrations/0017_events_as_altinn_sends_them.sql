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
