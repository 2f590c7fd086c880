-- Notification orders (one row per order, SPEC.md §1.2 CorrespondenceNotification; DESIGN.md §6)
-- and the transactional outbox that drives their creation (DESIGN.md §6-7).

-- One row per correspondence whose orders must be created. Written in the Initialize transaction;
-- dispatched_at is set once a message for it reached the broker; completed_at once every order
-- of the correspondence is recorded. The relay re-sends rows that stay incomplete.
CREATE TABLE notification_outbox (
    correspondence_id   uuid PRIMARY KEY REFERENCES correspondences (id) ON DELETE CASCADE,
    created             timestamptz NOT NULL DEFAULT now(),
    dispatched_at       timestamptz,
    dispatch_count      integer NOT NULL DEFAULT 0,
    attempts            integer NOT NULL DEFAULT 0,
    completed_at        timestamptz,
    request_id          text
);
CREATE INDEX notification_outbox_pending_idx ON notification_outbox (created) WHERE completed_at IS NULL;

-- id is deterministic (uuid5 of correspondence id and plan), so a retried or duplicated task can
-- never record a second order: the primary key says "exactly once".
CREATE TABLE notification_orders (
    id                      uuid PRIMARY KEY,
    correspondence_id       uuid NOT NULL REFERENCES correspondences (id) ON DELETE CASCADE,
    is_reminder             boolean NOT NULL,
    recipient_key           text NOT NULL,
    notification_template   smallint NOT NULL,
    notification_channel    smallint NOT NULL,
    requested_send_time     timestamptz NOT NULL,
    created                 timestamptz NOT NULL DEFAULT now(),
    status                  text NOT NULL CHECK (status IN ('Success', 'MissingContact', 'Failure')),
    failure_reason          text,
    addresses               text[] NOT NULL DEFAULT '{}',
    notification_order_id   uuid,
    shipment_id             uuid,
    order_request           jsonb NOT NULL,
    gateway                 text NOT NULL,
    notification_sent       timestamptz,
    delivery_status         text
);
CREATE INDEX notification_orders_corr_idx ON notification_orders (correspondence_id);
CREATE INDEX notification_orders_due_idx ON notification_orders (requested_send_time)
    WHERE notification_sent IS NULL AND delivery_status IS NULL AND status = 'Success';
