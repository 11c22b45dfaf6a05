// Package stripe collects GiveLive donations through Stripe: a
// payment.Provider that creates one PaymentIntent per donation, and a
// payment.Webhook that verifies Stripe's signed webhook requests and reduces
// them to payment.Events for the ledger.
//
// Entry points: New(Config) returns a *Provider, whose Charge, Refund and
// ParseWebhook implement the payment package's contract.
//
// Charge only creates the PaymentIntent and answers pending with its client
// secret; the payer's browser completes the payment with Stripe.js, and the
// outcome arrives by webhook. On the webhook endpoint in the Stripe dashboard
// (Developers → Webhooks), enable exactly these events:
//
//   - payment_intent.succeeded      → payment.EventSucceeded
//   - payment_intent.payment_failed → payment.EventIgnored (one attempt
//     failed; the PaymentIntent stays open for another, so the donation
//     stays pending; FailureReason says why, for the logs)
//   - payment_intent.canceled       → payment.EventFailed
//   - charge.refunded               → payment.EventRefunded
//
// Any other correctly signed event is returned as payment.EventIgnored.
// GiveLive's ledger has no partial refunds: a charge.refunded event for a
// charge that is not refunded in full is ignored, so refund in full (Refund
// always does, and so should anyone refunding from the dashboard).
//
// Retries never charge twice: every request carries a Stripe idempotency
// key derived from the donation id ("donation-<id>", "refund-<id>"), both for
// stripe-go's own network retries and for the caller's. Stripe keeps
// idempotency keys for at least 24 hours: a retry later than that creates a
// new PaymentIntent instead of returning the first.
//
// Money straight to the nonprofit (Stripe Connect): a Request with a
// Destination (a connected account, acct_…) becomes a destination charge
// (transfer_data[destination]), so Stripe moves the money to that account
// when the payment succeeds. CheckAccount tells whether an account can
// receive such charges (it exists, is connected, and its transfers
// capability is active).
//
// Concurrency: a Provider is immutable after New and safe for concurrent use.
package stripe
