-- The thin write path: what one Initialize shares across its recipients is stored once, in
-- `initializations`; each recipient's correspondence is a thin row that references it (DESIGN.md §1).
-- The raw request is no longer stored. Rows written through the old schema become one
-- initialization each (their content already has the recipient's name filled in).

CREATE TABLE initializations (
    id                          uuid PRIMARY KEY,
    resource_id                 text NOT NULL,
    sender                      text NOT NULL,
    service_owner_id            text,
    senders_reference           text NOT NULL,
    message_sender              text,
    requested_publish_time      timestamptz NOT NULL,
    due_date_time               timestamptz,
    property_list               json NOT NULL DEFAULT '{}'::json,  -- json keeps key order as given
    ignore_reservation          boolean,
    is_confirmation_needed      boolean NOT NULL DEFAULT false,
    is_confidential             boolean NOT NULL DEFAULT false,
    allow_forwarding            boolean NOT NULL DEFAULT false,
    created                     timestamptz NOT NULL,
    notification_request        jsonb,
    language                    text NOT NULL,
    -- May hold the {{recipientName}} placeholder: filled in per recipient when read.
    message_title               text NOT NULL,
    message_summary             text NOT NULL DEFAULT '',
    message_body                text NOT NULL,
    -- [{"reference_type": n, "reference_value": "..."}, ...] and [{"link_url": "...", "link_text": ...}, ...]
    external_references         jsonb NOT NULL DEFAULT '[]'::jsonb,
    reply_options               jsonb NOT NULL DEFAULT '[]'::jsonb
);
CREATE INDEX initializations_resource_idx ON initializations (resource_id);
CREATE INDEX initializations_sender_idx ON initializations (sender);

INSERT INTO initializations
    (id, resource_id, sender, service_owner_id, senders_reference, message_sender, requested_publish_time,
     due_date_time, property_list, ignore_reservation, is_confirmation_needed, is_confidential, allow_forwarding,
     created, notification_request, language, message_title, message_summary, message_body,
     external_references, reply_options)
SELECT c.id, c.resource_id, c.sender, c.service_owner_id, c.senders_reference, c.message_sender,
       c.requested_publish_time, c.due_date_time, c.property_list, c.ignore_reservation, c.is_confirmation_needed,
       c.is_confidential, c.allow_forwarding, c.created, c.notification_request,
       ct.language, ct.message_title, ct.message_summary, ct.message_body,
       COALESCE((SELECT jsonb_agg(jsonb_build_object('reference_type', r.reference_type,
                                                     'reference_value', r.reference_value) ORDER BY r.id)
                 FROM external_references r WHERE r.correspondence_id = c.id), '[]'::jsonb),
       COALESCE((SELECT jsonb_agg(jsonb_build_object('link_url', o.link_url, 'link_text', o.link_text) ORDER BY o.id)
                 FROM reply_options o WHERE o.correspondence_id = c.id), '[]'::jsonb)
FROM correspondences c JOIN correspondence_contents ct ON ct.correspondence_id = c.id;

-- Attachment links belong to the initialization: every recipient of it sees the same attachments.
CREATE TABLE initialization_attachments (
    initialization_id   uuid NOT NULL REFERENCES initializations (id) ON DELETE CASCADE,
    attachment_id       uuid NOT NULL REFERENCES attachments (id),
    created             timestamptz NOT NULL,
    expiration_time     timestamptz,
    PRIMARY KEY (initialization_id, attachment_id)
);
CREATE INDEX initialization_attachments_att_idx ON initialization_attachments (attachment_id);
CREATE INDEX initialization_attachments_expiry_idx ON initialization_attachments (expiration_time);

INSERT INTO initialization_attachments (initialization_id, attachment_id, created, expiration_time)
SELECT ct.correspondence_id, ca.attachment_id, ca.created, ca.expiration_time
FROM correspondence_attachments ca JOIN correspondence_contents ct ON ct.id = ca.correspondence_content_id;

-- The thin correspondence: id, recipient, the recipient's display name where the content asks for
-- it, and its own state.
ALTER TABLE correspondences ADD COLUMN initialization_id uuid;
ALTER TABLE correspondences ADD COLUMN recipient_name text;
UPDATE correspondences SET initialization_id = id;
ALTER TABLE correspondences ALTER COLUMN initialization_id SET NOT NULL;
ALTER TABLE correspondences ADD CONSTRAINT correspondences_initialization_fk
    FOREIGN KEY (initialization_id) REFERENCES initializations (id);
CREATE INDEX correspondences_initialization_idx ON correspondences (initialization_id);

DROP VIEW live_links;
DROP TABLE correspondence_attachments;
DROP TABLE correspondence_contents;
DROP TABLE external_references;
DROP TABLE reply_options;
ALTER TABLE correspondences
    DROP COLUMN resource_id,
    DROP COLUMN recipient_type,
    DROP COLUMN sender,
    DROP COLUMN service_owner_id,
    DROP COLUMN senders_reference,
    DROP COLUMN message_sender,
    DROP COLUMN requested_publish_time,
    DROP COLUMN due_date_time,
    DROP COLUMN property_list,
    DROP COLUMN ignore_reservation,
    DROP COLUMN is_confirmation_needed,
    DROP COLUMN is_confidential,
    DROP COLUMN allow_forwarding,
    DROP COLUMN created,
    DROP COLUMN party_id,
    DROP COLUMN notification_request,
    DROP COLUMN original_request;

-- The unique constraint (correspondence_id, status, status_changed, party_urn) already indexes by
-- correspondence: the second index only cost every write.
DROP INDEX correspondence_statuses_corr_idx;

-- The publish and due-date scans work per initialization: its recipients share the publish time,
-- the due date and the attachments, so one row each stands for all of them.
CREATE TABLE publication_queue (
    initialization_id   uuid PRIMARY KEY REFERENCES initializations (id) ON DELETE CASCADE,
    due_at              timestamptz NOT NULL,
    checks              integer NOT NULL DEFAULT 0
);
CREATE INDEX publication_queue_due_idx ON publication_queue (due_at);
INSERT INTO publication_queue (initialization_id, due_at, checks)
SELECT c.initialization_id, min(p.due_at), max(p.checks)
FROM pending_publications p JOIN correspondences c ON c.id = p.correspondence_id
GROUP BY c.initialization_id;

CREATE TABLE due_date_queue (
    initialization_id   uuid PRIMARY KEY REFERENCES initializations (id) ON DELETE CASCADE,
    due_at              timestamptz NOT NULL
);
CREATE INDEX due_date_queue_due_idx ON due_date_queue (due_at);
INSERT INTO due_date_queue (initialization_id, due_at)
SELECT c.initialization_id, min(d.due_at)
FROM pending_due_dates d JOIN correspondences c ON c.id = d.correspondence_id
GROUP BY c.initialization_id;

DROP TABLE pending_publications;
DROP TABLE pending_due_dates;

-- The relay takes undispatched rows in creation order; the sweep takes old undispatched rows and
-- rows dispatched long ago. One index serves both (NULL first: the relay's rows lead).
DROP INDEX notification_outbox_pending_idx;
CREATE INDEX notification_outbox_pending_idx ON notification_outbox (dispatched_at NULLS FIRST, created)
    WHERE completed_at IS NULL;

-- Links of attachments to correspondences that are not purged: what keeps an attachment alive
-- (SPEC.md §4.7: it expires only when every such link has passed its expiration time).
CREATE VIEW live_links AS
SELECT ia.attachment_id, ia.expiration_time, c.id AS correspondence_id
FROM initialization_attachments ia
JOIN correspondences c ON c.initialization_id = ia.initialization_id
WHERE NOT EXISTS (SELECT 1 FROM correspondence_statuses s
                  WHERE s.correspondence_id = c.id AND s.status IN (7, 8));
