-- Events to subscribers (SPEC.md §5.8, issue 13): the events outbox, subscriptions and deliveries.
--
-- `correspondence_events` is the outbox: every change writes its row in its own transaction. A row
-- names one correspondence, or one initialization (correspondenceinitialized: ONE row per Initialize,
-- expanded into one CloudEvent per correspondence by the fan-out), or one attachment.
ALTER TABLE correspondence_events ALTER COLUMN correspondence_id DROP NOT NULL;
ALTER TABLE correspondence_events
    ADD COLUMN initialization_id uuid REFERENCES initializations (id) ON DELETE CASCADE,
    ADD COLUMN attachment_id uuid REFERENCES attachments (id) ON DELETE CASCADE,
    ADD CONSTRAINT correspondence_events_one_item CHECK (
        num_nonnulls(correspondence_id, initialization_id, attachment_id) = 1);
-- The fan-out takes rows not yet forwarded, oldest first.
CREATE INDEX correspondence_events_unforwarded_idx ON correspondence_events (id) WHERE forwarded_at IS NULL;
-- Rows written before subscriptions existed have nobody to go to.
UPDATE correspondence_events SET forwarded_at = now() WHERE forwarded_at IS NULL;

-- Attachment events come with every attachment status row, whichever path writes it.
CREATE FUNCTION attachment_status_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO correspondence_events (event_type, attachment_id, subject, created)
    SELECT CASE NEW.status WHEN 0 THEN 'attachmentinitialized' WHEN 1 THEN 'attachmentuploadprocessing'
                           WHEN 2 THEN 'attachmentpublished' WHEN 3 THEN 'attachmentpurged'
                           WHEN 4 THEN 'attachmentuploadfailed' WHEN 5 THEN 'attachmentexpired' END,
           NEW.attachment_id, a.sender, NEW.status_changed
    FROM attachments a WHERE a.id = NEW.attachment_id AND NEW.status BETWEEN 0 AND 5;
    RETURN NULL;
END $$;
CREATE TRIGGER attachment_statuses_event AFTER INSERT ON attachment_statuses
    FOR EACH ROW EXECUTE FUNCTION attachment_status_event();

-- Subscriptions (Altinn Events' shape). status: pending until the validation event is answered 2xx.
CREATE TABLE event_subscriptions (
    id                  bigserial PRIMARY KEY,
    end_point           text NOT NULL,
    resource_filter     text NOT NULL,        -- urn:altinn:resource:<id>
    type_filter         text,
    subject_filter      text,
    consumer            text NOT NULL,        -- the caller's party URN
    created_by          text NOT NULL,        -- 'sender' or 'recipient'
    secret              text NOT NULL,        -- whsec_<base64>
    status              text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'failed')),
    created             timestamptz NOT NULL DEFAULT now(),
    validated           timestamptz,
    deleted             timestamptz
);
CREATE INDEX event_subscriptions_match_idx ON event_subscriptions (resource_filter) WHERE status = 'active'
    AND deleted IS NULL;
CREATE INDEX event_subscriptions_consumer_idx ON event_subscriptions (consumer);

-- One row per (subscription, CloudEvent): a 2xx is recorded once and never sent again.
CREATE TABLE event_deliveries (
    id                  bigserial PRIMARY KEY,
    subscription_id     bigint NOT NULL REFERENCES event_subscriptions (id) ON DELETE CASCADE,
    event_id            uuid NOT NULL,
    event_type          text NOT NULL,
    payload             jsonb NOT NULL,
    created             timestamptz NOT NULL DEFAULT now(),
    attempts            integer NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    locked_until        timestamptz,          -- a worker's lease while it posts
    delivered_at        timestamptz,
    failed_at           timestamptz,
    last_status         integer,
    last_error          text,
    CONSTRAINT event_deliveries_once UNIQUE (subscription_id, event_id)
);
CREATE INDEX event_deliveries_due_idx ON event_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX event_deliveries_failed_idx ON event_deliveries (failed_at) WHERE failed_at IS NOT NULL;
CREATE INDEX event_deliveries_subscription_idx ON event_deliveries (subscription_id, id);
