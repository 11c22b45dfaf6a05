-- Moderation that holds and chat modes, for the viewer pages and the
-- studio (issue 16).
--
-- A viewer session remembers the browser it was made in (device_id, an
-- opaque id the server keeps in an HttpOnly cookie), so a ban also holds
-- against a new session from the same browser. A ban keeps the banned
-- viewer's name for the broadcaster's list, and may end (expires_at, Unix
-- ms; 0 is never): a timeout. Fundraisers get the optional chat modes
-- (donors only; new chatters wait) and the host's closing thanks.

-- +goose Up
ALTER TABLE sessions ADD COLUMN device_id TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_by_device ON sessions (device_id) WHERE device_id <> '';
ALTER TABLE bans ADD COLUMN device_id TEXT NOT NULL DEFAULT '';
ALTER TABLE bans ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE bans ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0 CHECK (expires_at >= 0);
CREATE INDEX bans_by_device ON bans (fundraiser_id, device_id) WHERE device_id <> '';
ALTER TABLE fundraisers ADD COLUMN chat_donors_only INTEGER NOT NULL DEFAULT 0 CHECK (chat_donors_only IN (0, 1));
ALTER TABLE fundraisers ADD COLUMN chat_wait_seconds INTEGER NOT NULL DEFAULT 0 CHECK (chat_wait_seconds >= 0);
ALTER TABLE fundraisers ADD COLUMN thanks TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE fundraisers DROP COLUMN thanks;
ALTER TABLE fundraisers DROP COLUMN chat_wait_seconds;
ALTER TABLE fundraisers DROP COLUMN chat_donors_only;
DROP INDEX bans_by_device;
ALTER TABLE bans DROP COLUMN expires_at;
ALTER TABLE bans DROP COLUMN name;
ALTER TABLE bans DROP COLUMN device_id;
DROP INDEX sessions_by_device;
ALTER TABLE sessions DROP COLUMN device_id;
