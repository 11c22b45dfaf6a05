-- Money: donations, the totals kept beside each fundraiser, the donor list,
-- milestones, moderation, and the outbox of events for the hub. Amounts are
-- bigint minor units of the fundraiser's currency; times as in 00001.

-- +goose Up

-- The running totals live on the fundraiser row and change in the same
-- transaction as the donation that moves them, so reading a fundraiser never
-- sums donations. The transactions that change them lock the row first.
ALTER TABLE fundraisers
    ADD COLUMN raised bigint NOT NULL DEFAULT 0 CHECK (raised >= 0),
    ADD COLUMN refunded bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0),
    ADD COLUMN donors bigint NOT NULL DEFAULT 0 CHECK (donors >= 0),
    ADD COLUMN donation_count bigint NOT NULL DEFAULT 0 CHECK (donation_count >= 0),
    -- Percents of the goal, ascending; '{}' is none.
    ADD COLUMN milestones integer[] NOT NULL DEFAULT '{25,50,75,100}',
    ADD COLUMN slow_mode_seconds integer NOT NULL DEFAULT 0 CHECK (slow_mode_seconds >= 0);

-- A NULL idempotency_key is a donation recorded without one (UNIQUE lets
-- NULLs repeat); request_hash is NULL when none was given. user_id is the
-- viewer session that gave, '' if not signed in: not a foreign key, since a
-- viewer is known by a signed token, not by a row.
CREATE TABLE donations (
    id              text COLLATE "C" NOT NULL PRIMARY KEY,
    fundraiser_id   text COLLATE "C" NOT NULL REFERENCES fundraisers (id),
    idempotency_key text,
    request_hash    bytea,
    user_id         text             NOT NULL DEFAULT '',
    amount          bigint           NOT NULL CHECK (amount > 0),
    currency        text             NOT NULL,
    name            text             NOT NULL,
    message         text             NOT NULL,
    public_message  text             NOT NULL,
    anonymous       boolean          NOT NULL,
    message_hidden  boolean          NOT NULL DEFAULT false,
    status          text             NOT NULL
                                     CHECK (status IN ('pending', 'succeeded', 'failed', 'refunded')),
    provider        text             NOT NULL,
    provider_ref    text             NOT NULL DEFAULT '',
    client_secret   text             NOT NULL DEFAULT '',
    failure_reason  text             NOT NULL DEFAULT '',
    created_at      timestamptz      NOT NULL,
    settled_at      timestamptz,
    refunded_at     timestamptz,
    CHECK ((status = 'pending') = (settled_at IS NULL)),
    CHECK ((status = 'refunded') = (refunded_at IS NOT NULL)),
    UNIQUE (fundraiser_id, idempotency_key)
);

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
    fundraiser_id text COLLATE "C" NOT NULL REFERENCES fundraisers (id),
    donor_key     text COLLATE "C" NOT NULL,
    name          text             NOT NULL,
    amount        bigint           NOT NULL CHECK (amount > 0),
    donations     bigint           NOT NULL CHECK (donations > 0),
    PRIMARY KEY (fundraiser_id, donor_key)
);

CREATE INDEX donors_by_amount ON donors (fundraiser_id, amount DESC, donor_key);

-- Milestone amounts already announced: each is announced once, ever.
CREATE TABLE milestones_reached (
    fundraiser_id text COLLATE "C" NOT NULL REFERENCES fundraisers (id),
    amount        bigint           NOT NULL,
    PRIMARY KEY (fundraiser_id, amount)
);

-- Payment providers' webhook events already applied.
CREATE TABLE provider_events (
    provider   text        NOT NULL,
    event_id   text        NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (provider, event_id)
);

CREATE TABLE bans (
    fundraiser_id text COLLATE "C" NOT NULL REFERENCES fundraisers (id),
    user_id       text             NOT NULL,
    created_at    timestamptz      NOT NULL,
    PRIMARY KEY (fundraiser_id, user_id)
);

-- Events for the hub, written by the transactions that cause them and
-- deleted once published. seq comes from a sequence, so it is never reused
-- and only grows. Sequence values are taken in insertion order, not commit
-- order: the store serialises the writers of each room with an advisory
-- lock held to commit, so within a room seq order is commit order.
CREATE TABLE outbox (
    seq        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room       text        NOT NULL,
    type       text        NOT NULL,
    data       bytea       NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE INDEX outbox_by_room ON outbox (room, seq);

-- +goose Down
DROP TABLE outbox;
DROP TABLE bans;
DROP TABLE provider_events;
DROP TABLE milestones_reached;
DROP TABLE donors;
DROP TABLE donations;
ALTER TABLE fundraisers
    DROP COLUMN slow_mode_seconds,
    DROP COLUMN milestones,
    DROP COLUMN donation_count,
    DROP COLUMN donors,
    DROP COLUMN refunded,
    DROP COLUMN raised;
