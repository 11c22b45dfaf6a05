-- Money: donations, the totals kept beside each fundraiser, the donor list,
-- milestones, moderation, and the outbox of events for the hub. Times are
-- integer Unix milliseconds (UTC); a NULL time means "not yet". Amounts are
-- integer minor units of the fundraiser's currency.

-- +goose Up

-- The running totals live on the fundraiser row and change in the same
-- transaction as the donation that moves them, so reading a fundraiser never
-- sums donations. Existing fundraisers get the default milestones.
ALTER TABLE fundraisers ADD COLUMN raised INTEGER NOT NULL DEFAULT 0 CHECK (raised >= 0);
ALTER TABLE fundraisers ADD COLUMN refunded INTEGER NOT NULL DEFAULT 0 CHECK (refunded >= 0);
ALTER TABLE fundraisers ADD COLUMN donors INTEGER NOT NULL DEFAULT 0 CHECK (donors >= 0);
ALTER TABLE fundraisers ADD COLUMN donation_count INTEGER NOT NULL DEFAULT 0 CHECK (donation_count >= 0);
-- Percents of the goal, ascending, comma-separated ("25,50,75,100"); '' is none.
ALTER TABLE fundraisers ADD COLUMN milestones TEXT NOT NULL DEFAULT '25,50,75,100';
ALTER TABLE fundraisers ADD COLUMN slow_mode_seconds INTEGER NOT NULL DEFAULT 0 CHECK (slow_mode_seconds >= 0);

-- A NULL idempotency_key is a donation recorded without one (UNIQUE lets
-- NULLs repeat); request_hash is NULL when none was given. user_id is the
-- viewer session that gave, '' if not signed in: not a foreign key, since a
-- viewer is known by a signed token, not by a row.
CREATE TABLE donations (
    id              TEXT    NOT NULL PRIMARY KEY,
    fundraiser_id   TEXT    NOT NULL REFERENCES fundraisers (id),
    idempotency_key TEXT,
    request_hash    BLOB,
    user_id         TEXT    NOT NULL DEFAULT '',
    amount          INTEGER NOT NULL CHECK (amount > 0),
    currency        TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    message         TEXT    NOT NULL,
    public_message  TEXT    NOT NULL,
    anonymous       INTEGER NOT NULL CHECK (anonymous IN (0, 1)),
    message_hidden  INTEGER NOT NULL DEFAULT 0 CHECK (message_hidden IN (0, 1)),
    status          TEXT    NOT NULL
                            CHECK (status IN ('pending', 'succeeded', 'failed', 'refunded')),
    provider        TEXT    NOT NULL,
    provider_ref    TEXT    NOT NULL DEFAULT '',
    client_secret   TEXT    NOT NULL DEFAULT '',
    failure_reason  TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    settled_at      INTEGER,
    refunded_at     INTEGER,
    CHECK ((status = 'pending') = (settled_at IS NULL)),
    CHECK ((status = 'refunded') = (refunded_at IS NOT NULL)),
    UNIQUE (fundraiser_id, idempotency_key)
) STRICT;

-- A provider's payment belongs to one donation; most pending donations have
-- no ref yet, so they are left out of the index.
CREATE UNIQUE INDEX donations_by_provider_ref ON donations (provider, provider_ref)
    WHERE provider_ref <> '';
-- ListDonations pages newest first (IDs are UUIDv7, so by id).
CREATE INDEX donations_by_fundraiser ON donations (fundraiser_id, id DESC);
-- RecentDonations: succeeded, the most recently settled first.
CREATE INDEX donations_recent ON donations (fundraiser_id, settled_at DESC, id DESC)
    WHERE status = 'succeeded';
-- A signed-in donor's name is recomputed from their latest donation when one
-- is refunded.
CREATE INDEX donations_by_user ON donations (fundraiser_id, user_id, settled_at DESC, id DESC)
    WHERE user_id <> '';

-- The donor list, kept incrementally by the transactions that settle and
-- refund. donor_key is 'u:' || user_id for a signed-in viewer's named
-- donations, 'a:' || user_id for their anonymous ones (an anonymous gift is
-- never added to a named total), and 'd:' || donation id for a donation of
-- someone not signed in. A row exists while it has a succeeded, unrefunded
-- donation, so fundraisers.donors is the number of rows.
CREATE TABLE donors (
    fundraiser_id TEXT    NOT NULL REFERENCES fundraisers (id),
    donor_key     TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    amount        INTEGER NOT NULL CHECK (amount > 0),
    donations     INTEGER NOT NULL CHECK (donations > 0),
    PRIMARY KEY (fundraiser_id, donor_key)
) STRICT, WITHOUT ROWID;

CREATE INDEX donors_by_amount ON donors (fundraiser_id, amount DESC, donor_key);

-- Milestone amounts already announced: each is announced once, ever.
CREATE TABLE milestones_reached (
    fundraiser_id TEXT    NOT NULL REFERENCES fundraisers (id),
    amount        INTEGER NOT NULL,
    PRIMARY KEY (fundraiser_id, amount)
) STRICT, WITHOUT ROWID;

-- Payment providers' webhook events already applied.
CREATE TABLE provider_events (
    provider   TEXT    NOT NULL,
    event_id   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (provider, event_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE bans (
    fundraiser_id TEXT    NOT NULL REFERENCES fundraisers (id),
    user_id       TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (fundraiser_id, user_id)
) STRICT, WITHOUT ROWID;

-- Events for the hub, written by the transactions that cause them and
-- deleted once published. AUTOINCREMENT: a seq is never reused, even after
-- the newest events are deleted, so seqs only grow.
CREATE TABLE outbox (
    seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    room       TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    data       BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE outbox;
DROP TABLE bans;
DROP TABLE provider_events;
DROP TABLE milestones_reached;
DROP TABLE donors;
DROP TABLE donations;
ALTER TABLE fundraisers DROP COLUMN slow_mode_seconds;
ALTER TABLE fundraisers DROP COLUMN milestones;
ALTER TABLE fundraisers DROP COLUMN donation_count;
ALTER TABLE fundraisers DROP COLUMN donors;
ALTER TABLE fundraisers DROP COLUMN refunded;
ALTER TABLE fundraisers DROP COLUMN raised;
