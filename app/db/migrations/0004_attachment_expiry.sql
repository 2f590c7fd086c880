-- Links of attachments to correspondences that are not purged: what keeps an attachment alive
-- (SPEC.md §4.7: it expires only when every such link has passed its expiration time).
CREATE VIEW live_links AS
SELECT ca.attachment_id, ca.expiration_time, ct.correspondence_id
FROM correspondence_attachments ca
JOIN correspondence_contents ct ON ct.id = ca.correspondence_content_id
WHERE NOT EXISTS (SELECT 1 FROM correspondence_statuses s
                  WHERE s.correspondence_id = ct.correspondence_id AND s.status IN (7, 8));
CREATE INDEX correspondence_attachments_expiry_idx ON correspondence_attachments (expiration_time);
