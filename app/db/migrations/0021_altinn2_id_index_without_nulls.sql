-- Only correspondences migrated from Altinn 2 have an Altinn 2 id; nothing this service makes has one.
-- The UNIQUE constraint's index still took an entry for every NULL: one insert per recipient of each
-- Initialize and ~20 bytes at rest each (issue 29). A partial unique index keeps the rule (NULLs never
-- conflicted) and still serves the search by Altinn 2 id (`= value` implies NOT NULL).
ALTER TABLE correspondences DROP CONSTRAINT IF EXISTS correspondences_altinn2_correspondence_id_key;
CREATE UNIQUE INDEX IF NOT EXISTS correspondences_altinn2_id_idx ON correspondences (altinn2_correspondence_id)
    WHERE altinn2_correspondence_id IS NOT NULL;
