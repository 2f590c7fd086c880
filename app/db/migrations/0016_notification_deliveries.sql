-- Delivery per address (issue 25): what became of each address an order was sent to. Altinn's
-- names: New, Sending, Succeeded, Delivered, Failed (with the reason). Rows of the smtp gateway are
-- written with the order (New) and sent by the e-mail worker under a lease (app/usecases/lease.py);
-- rows of the altinn gateway are written from Notifications' shipment status.
--
-- `Sending` is committed right before the message's last bytes go to the server: a row found in
-- Sending after its holder's lease passed was handed over (the server has it) and is never sent again.
CREATE TABLE notification_deliveries (
    id                  bigserial PRIMARY KEY,
    order_id            uuid NOT NULL REFERENCES notification_orders (id) ON DELETE CASCADE,
    correspondence_id   uuid NOT NULL,
    channel             text NOT NULL CHECK (channel IN ('Email', 'Sms')),
    address             text NOT NULL,
    recipient_name      text,
    status              text NOT NULL CHECK (status IN ('New', 'Sending', 'Succeeded', 'Delivered', 'Failed')),
    reason              text,
    -- A short, bounded label of the reason (metrics): an SMTP reply code, 'unsupported', 'gave-up', ...
    reason_code         text,
    message_id          text,
    updated             timestamptz NOT NULL DEFAULT now(),
    created             timestamptz NOT NULL DEFAULT now(),
    attempts            integer NOT NULL DEFAULT 0,
    retry_at            timestamptz,
    locked_until        timestamptz,
    lease_owner         uuid,
    UNIQUE (order_id, channel, address)
);
CREATE INDEX notification_deliveries_corr_idx ON notification_deliveries (correspondence_id);
CREATE INDEX notification_deliveries_open_idx ON notification_deliveries (created)
    WHERE status IN ('New', 'Sending');

