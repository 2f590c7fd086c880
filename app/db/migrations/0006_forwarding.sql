-- Forwarding events (SPEC.md §3.10): a recipient forwarded a correspondence to an e-mail address.
-- `forwarded_to_key` is the address trimmed and lower-cased (by the application, so that the rule does
-- not depend on the database's collation): one forwarding per address and correspondence (1064).
CREATE TABLE correspondence_forwarding_events (
    id                          uuid PRIMARY KEY,
    correspondence_id           uuid NOT NULL REFERENCES correspondences (id) ON DELETE CASCADE,
    forwarded_on_date           timestamptz NOT NULL,
    forwarded_by_party_urn      text NOT NULL,
    forwarded_to_email_address  text NOT NULL,
    forwarded_to_key            text NOT NULL,
    forwarding_text             text,
    CONSTRAINT correspondence_forwarding_events_once UNIQUE (correspondence_id, forwarded_to_key)
);
