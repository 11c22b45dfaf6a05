-- Money straight to the nonprofit: a nonprofit may have a payment
-- provider account of its own (a Stripe Connect account, acct_…) that
-- receives its donations directly; each donation records the account it
-- was charged to, fixed when it was created, so the payout report can tell
-- money already with the nonprofit from money the platform collected and
-- owes.

-- +goose Up
ALTER TABLE nonprofits ADD COLUMN payout_account text NOT NULL DEFAULT '';
ALTER TABLE donations ADD COLUMN destination text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE donations DROP COLUMN destination;
ALTER TABLE nonprofits DROP COLUMN payout_account;
