-- Initial schema: local registries, correspondences and their children, attachments,
-- idempotency keys, notification templates (SPEC.md §1.2, DESIGN.md §5).

CREATE TABLE resources (
    id                          text PRIMARY KEY,
    service_owner_org_number    char(9) NOT NULL,
    service_owner_org_code      text,
    service_owner_name          text,
    resource_type               text NOT NULL DEFAULT 'CorrespondenceService',
    title                       jsonb NOT NULL DEFAULT '{}'::jsonb,
    confidentiality             text NOT NULL DEFAULT 'NotConfidential'
        CHECK (confidentiality IN ('NotConfidential', 'Confidential', 'ExplicitlyDelegated')),
    minimum_auth_level          integer NOT NULL DEFAULT 0,
    updated                     timestamptz NOT NULL DEFAULT now()
);

-- Register + contact points + KRR reservation, keyed by normalized party URN.
CREATE TABLE parties (
    urn         text PRIMARY KEY,
    name        text NOT NULL,
    emails      text[] NOT NULL DEFAULT '{}',
    mobiles     text[] NOT NULL DEFAULT '{}',
    reserved    boolean NOT NULL DEFAULT false,
    updated     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE correspondences (
    id                          uuid PRIMARY KEY,
    resource_id                 text NOT NULL,
    recipient                   text NOT NULL,
    recipient_type              text NOT NULL,
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
    published                   timestamptz,
    altinn2_correspondence_id   integer UNIQUE,
    party_id                    integer NOT NULL DEFAULT 0,
    notification_request        jsonb,
    original_request            jsonb NOT NULL
);
CREATE INDEX correspondences_resource_idx ON correspondences (resource_id);
CREATE INDEX correspondences_recipient_idx ON correspondences (recipient);
CREATE INDEX correspondences_sender_idx ON correspondences (sender);
CREATE INDEX correspondences_publish_idx ON correspondences (requested_publish_time);

CREATE TABLE correspondence_contents (
    id                  uuid PRIMARY KEY,
    correspondence_id   uuid NOT NULL UNIQUE REFERENCES correspondences (id) ON DELETE CASCADE,
    language            text NOT NULL,
    message_title       text NOT NULL,
    message_summary     text NOT NULL DEFAULT '',
    message_body        text NOT NULL
);

-- Append-only status history. party_urn: who caused the change (we keep the URN, not a Register uuid).
CREATE TABLE correspondence_statuses (
    id                  uuid PRIMARY KEY,
    correspondence_id   uuid NOT NULL REFERENCES correspondences (id) ON DELETE CASCADE,
    status              smallint NOT NULL CHECK (status BETWEEN 0 AND 13 AND status <> 3),
    status_text         text NOT NULL,
    status_changed      timestamptz NOT NULL,
    party_urn           text,
    synced_from_altinn2 timestamptz,
    CONSTRAINT correspondence_statuses_once
        UNIQUE NULLS NOT DISTINCT (correspondence_id, status, status_changed, party_urn)
);
CREATE INDEX correspondence_statuses_corr_idx ON correspondence_statuses (correspondence_id);

-- Fetched(3) events live apart from the status history (SPEC.md §1.2).
CREATE TABLE correspondence_fetched (
    id                  uuid PRIMARY KEY,
    correspondence_id   uuid NOT NULL REFERENCES correspondences (id) ON DELETE CASCADE,
    status_text         text NOT NULL DEFAULT 'Fetched',
    status_changed      timestamptz NOT NULL,
    party_urn           text
);
CREATE INDEX correspondence_fetched_corr_idx ON correspondence_fetched (correspondence_id);

CREATE TABLE external_references (
    id                  uuid PRIMARY KEY,
    correspondence_id   uuid NOT NULL REFERENCES correspondences (id) ON DELETE CASCADE,
    reference_type      smallint NOT NULL,
    reference_value     text NOT NULL
);
CREATE INDEX external_references_corr_idx ON external_references (correspondence_id);

CREATE TABLE reply_options (
    id                  uuid PRIMARY KEY,
    correspondence_id   uuid NOT NULL REFERENCES correspondences (id) ON DELETE CASCADE,
    link_url            text NOT NULL,
    link_text           text
);
CREATE INDEX reply_options_corr_idx ON reply_options (correspondence_id);

CREATE TABLE attachments (
    id                  uuid PRIMARY KEY,
    resource_id         text NOT NULL,
    file_name           text NOT NULL,
    display_name        text,
    is_encrypted        boolean NOT NULL DEFAULT false,
    checksum            text,
    senders_reference   text NOT NULL,
    sender              text NOT NULL,
    data_location_type  smallint NOT NULL DEFAULT 0,
    data_location_url   text,
    attachment_size     bigint NOT NULL DEFAULT 0,
    expiration_in_days  integer,
    created             timestamptz NOT NULL,
    service_owner_id    text,
    altinn2_attachment_id text UNIQUE
);

CREATE TABLE attachment_statuses (
    id              uuid PRIMARY KEY,
    attachment_id   uuid NOT NULL REFERENCES attachments (id) ON DELETE CASCADE,
    status          smallint NOT NULL CHECK (status BETWEEN 0 AND 5),
    status_text     text NOT NULL,
    status_changed  timestamptz NOT NULL,
    party_urn       text
);
CREATE INDEX attachment_statuses_att_idx ON attachment_statuses (attachment_id, status_changed);

CREATE TABLE correspondence_attachments (
    id                          uuid PRIMARY KEY,
    correspondence_content_id   uuid NOT NULL REFERENCES correspondence_contents (id) ON DELETE CASCADE,
    attachment_id               uuid NOT NULL REFERENCES attachments (id),
    created                     timestamptz NOT NULL,
    expiration_time             timestamptz,
    UNIQUE (correspondence_content_id, attachment_id)
);
CREATE INDEX correspondence_attachments_att_idx ON correspondence_attachments (attachment_id);

-- One global key space: a client key colliding with any row is a 409 (SPEC.md §4.8).
CREATE TABLE idempotency_keys (
    id                  uuid PRIMARY KEY,
    correspondence_id   uuid REFERENCES correspondences (id) ON DELETE CASCADE,
    attachment_id       uuid REFERENCES attachments (id) ON DELETE CASCADE,
    party_urn           text,
    status_action       smallint,
    idempotency_type    smallint NOT NULL,
    created             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_keys_corr_idx ON idempotency_keys (correspondence_id);

CREATE TABLE notification_templates (
    id                      serial PRIMARY KEY,
    template                smallint NOT NULL,
    recipient_type          smallint,
    language                text,
    email_subject           text NOT NULL,
    email_body              text NOT NULL,
    sms_body                text NOT NULL,
    reminder_email_subject  text NOT NULL,
    reminder_email_body     text NOT NULL,
    reminder_sms_body       text NOT NULL
);

INSERT INTO notification_templates
    (template, recipient_type, language, email_subject, email_body, sms_body,
     reminder_email_subject, reminder_email_body, reminder_sms_body)
VALUES
    (0, NULL, NULL, '{textToken}', '{textToken}', '{textToken}', '{textToken}', '{textToken}', '{textToken}');

INSERT INTO notification_templates
    (template, recipient_type, language, email_subject, email_body, sms_body,
     reminder_email_subject, reminder_email_body, reminder_sms_body)
SELECT 1, rt, t.language, t.subject, t.body, t.body, t.reminder_subject, t.reminder_body, t.reminder_body
FROM (VALUES
    ('nb',
     'En melding har blitt mottatt i Altinn {textToken}',
     'Hei. $correspondenceRecipientName$ har mottatt en ny melding fra $sendersName$. {textToken}Logg deg inn i Altinn for å se denne meldingen.',
     'Påminnelse - en melding har blitt mottatt i Altinn {textToken}',
     'Hei. Dette er en påminnelse om at $correspondenceRecipientName$ har mottatt en ny melding fra $sendersName$. {textToken}Logg deg inn i Altinn for å se denne meldingen.'),
    ('nn',
     'Ein melding har blitt motteke i Altinn {textToken}',
     'Hei. $correspondenceRecipientName$ har motteke ei ny melding frå $sendersName$. {textToken}Logg deg inn i Altinn for å sjå denne meldinga.',
     'Påminning - ein melding har blitt motteke i Altinn {textToken}',
     'Hei. Dette er ei påminning om at $correspondenceRecipientName$ har motteke ei ny melding frå $sendersName$. {textToken}Logg deg inn i Altinn for å sjå denne meldinga.'),
    ('en',
     'A message has been received in Altinn {textToken}',
     'Hello. $correspondenceRecipientName$ has received a new message from $sendersName$. {textToken}Log in to Altinn to see this message.',
     'Reminder - a message has been received in Altinn {textToken}',
     'Hello. This is a reminder that $correspondenceRecipientName$ has received a new message from $sendersName$. {textToken}Log in to Altinn to see this message.')
) AS t(language, subject, body, reminder_subject, reminder_body)
CROSS JOIN (VALUES (0), (1)) AS r(rt);
