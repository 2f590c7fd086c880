-- People who may act for an organization on some resources (`*`: all): the registry file's `access`
-- entries, the local stand-in for Altinn Authorization's delegations (README, "People who act for an
-- organization"). Loading an entry with an empty resource list removes it.
CREATE TABLE party_access (
    person text NOT NULL,        -- 11-digit national identity number
    organization text NOT NULL,  -- 9-digit organization number
    resources text[] NOT NULL,
    updated timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person, organization)
);
