-- The ledger's first schema, the PostgreSQL twin of the SQLite backend's.
-- Times are timestamptz holding UTC instants at millisecond precision (the
-- store truncates them); a NULL time means "not yet". Text that is sorted
-- or compared for order (IDs, names) uses the "C" collation, so the order
-- is byte order whatever the database's locale, as with SQLite.

-- +goose Up
CREATE TABLE nonprofits (
    id              text COLLATE "C" NOT NULL PRIMARY KEY,
    name            text COLLATE "C" NOT NULL,
    registration_id text             NOT NULL,
    country         text             NOT NULL,
    verified        boolean          NOT NULL DEFAULT false,
    created_at      timestamptz      NOT NULL,
    verified_at     timestamptz,
    CHECK (verified = (verified_at IS NOT NULL))
);

CREATE INDEX nonprofits_by_name ON nonprofits (name, id);

CREATE TABLE broadcasters (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    name       text             NOT NULL,
    token_hash bytea            NOT NULL UNIQUE,
    created_at timestamptz      NOT NULL
);

CREATE TABLE fundraisers (
    id             text COLLATE "C" NOT NULL PRIMARY KEY,
    broadcaster_id text COLLATE "C" NOT NULL REFERENCES broadcasters (id),
    nonprofit_id   text COLLATE "C" NOT NULL REFERENCES nonprofits (id),
    title          text             NOT NULL,
    goal_amount    bigint           NOT NULL CHECK (goal_amount >= 0),
    currency       text             NOT NULL,
    status         text             NOT NULL DEFAULT 'scheduled'
                                    CHECK (status IN ('scheduled', 'live', 'ended')),
    stream_key     text             NOT NULL UNIQUE,
    created_at     timestamptz      NOT NULL,
    started_at     timestamptz,
    ended_at       timestamptz
);

-- ListFundraisers reads newest first, optionally by status or broadcaster;
-- the broadcaster index also serves the foreign key.
CREATE INDEX fundraisers_by_created ON fundraisers (created_at DESC, id DESC);
CREATE INDEX fundraisers_by_status ON fundraisers (status, created_at DESC, id DESC);
CREATE INDEX fundraisers_by_broadcaster ON fundraisers (broadcaster_id, created_at DESC, id DESC);
CREATE INDEX fundraisers_by_nonprofit ON fundraisers (nonprofit_id);

CREATE TABLE sessions (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    name       text             NOT NULL,
    created_at timestamptz      NOT NULL
);

CREATE TABLE secrets (
    name       text        NOT NULL PRIMARY KEY,
    value      bytea       NOT NULL,
    created_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE secrets;
DROP TABLE sessions;
DROP TABLE fundraisers;
DROP TABLE broadcasters;
DROP TABLE nonprofits;
