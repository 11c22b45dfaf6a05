-- The ledger's first schema. Times are integer Unix milliseconds (UTC); a
-- NULL time means "not yet". Tables are STRICT so a wrong type is an error,
-- not a silent conversion.

-- +goose Up
CREATE TABLE nonprofits (
    id              TEXT    NOT NULL PRIMARY KEY,
    name            TEXT    NOT NULL,
    registration_id TEXT    NOT NULL,
    country         TEXT    NOT NULL,
    verified        INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
    created_at      INTEGER NOT NULL,
    verified_at     INTEGER,
    CHECK ((verified = 1) = (verified_at IS NOT NULL))
) STRICT;

CREATE INDEX nonprofits_by_name ON nonprofits (name, id);

CREATE TABLE broadcasters (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    token_hash BLOB    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE fundraisers (
    id             TEXT    NOT NULL PRIMARY KEY,
    broadcaster_id TEXT    NOT NULL REFERENCES broadcasters (id),
    nonprofit_id   TEXT    NOT NULL REFERENCES nonprofits (id),
    title          TEXT    NOT NULL,
    goal_amount    INTEGER NOT NULL CHECK (goal_amount >= 0),
    currency       TEXT    NOT NULL,
    status         TEXT    NOT NULL DEFAULT 'scheduled'
                           CHECK (status IN ('scheduled', 'live', 'ended')),
    stream_key     TEXT    NOT NULL UNIQUE,
    created_at     INTEGER NOT NULL,
    started_at     INTEGER,
    ended_at       INTEGER
) STRICT;

-- ListFundraisers reads newest first, optionally by status or broadcaster;
-- the broadcaster index also serves the foreign key.
CREATE INDEX fundraisers_by_created ON fundraisers (created_at DESC, id DESC);
CREATE INDEX fundraisers_by_status ON fundraisers (status, created_at DESC, id DESC);
CREATE INDEX fundraisers_by_broadcaster ON fundraisers (broadcaster_id, created_at DESC, id DESC);
CREATE INDEX fundraisers_by_nonprofit ON fundraisers (nonprofit_id);

CREATE TABLE sessions (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE secrets (
    name       TEXT    NOT NULL PRIMARY KEY,
    value      BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE secrets;
DROP TABLE sessions;
DROP TABLE fundraisers;
DROP TABLE broadcasters;
DROP TABLE nonprofits;
