package stripe

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	stripeapi "github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/givelive/givelive/internal/payment"
)

// MaxWebhookPayload is the largest webhook body ParseWebhook accepts. Stripe's
// events are a few KiB; the HTTP layer should refuse larger bodies too.
const MaxWebhookPayload = 1 << 20

const defaultTolerance = webhook.DefaultTolerance

// Failure reasons a donor may read.
const (
	reasonFailed   = "payment failed"
	reasonCanceled = "payment canceled"
)

// ParseWebhook verifies the Stripe-Signature header over the raw body with
// the webhook secret and reduces the event to a payment.Event (see the
// package doc for the events acted on). An ignored event carries its ID and
// Type, and Ref when known, for logs. The event's API version is not checked
// against stripe-go's: only a few long-stable fields are read.
func (p *Provider) ParseWebhook(payload []byte, header http.Header) (payment.Event, error) {
	if len(payload) > MaxWebhookPayload {
		return payment.Event{}, fmt.Errorf("stripe webhook payload of %d bytes exceeds %d", len(payload), MaxWebhookPayload)
	}
	if p.webhookSecret == "" {
		// An empty HMAC key is a key anyone knows: refuse instead.
		return payment.Event{}, fmt.Errorf("%w: no stripe webhook secret configured", payment.ErrBadSignature)
	}
	ev, err := webhook.ConstructEventWithOptions(payload, header.Get("Stripe-Signature"), p.webhookSecret,
		webhook.ConstructEventOptions{Tolerance: p.tolerance, IgnoreAPIVersionMismatch: true})
	if err != nil {
		if isSignatureError(err) {
			return payment.Event{}, fmt.Errorf("%w: %w", payment.ErrBadSignature, err)
		}
		return payment.Event{}, fmt.Errorf("failed to parse stripe webhook: %w", err)
	}
	return reduce(ev)
}

// reduce turns a verified Stripe event into what the ledger needs.
func reduce(ev stripeapi.Event) (payment.Event, error) {
	e := payment.Event{ID: ev.ID, Type: string(ev.Type), Kind: payment.EventIgnored}
	if ev.Account != "" {
		// A connected account's own event (a Connect endpoint sharing the
		// secret): its payments are not the platform's donations, whatever
		// their metadata says.
		return e, nil
	}
	switch e.Type {
	case "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled":
		var pi paymentIntent
		if err := decodeObject(ev.Data, &pi); err != nil {
			return payment.Event{}, fmt.Errorf("failed to parse stripe webhook %s %s: %w", e.Type, e.ID, err)
		}
		e.Ref, e.DonationID = pi.ID, pi.Metadata[metaDonationID]
		e.Amount, e.Currency = pi.Amount, strings.ToUpper(pi.Currency)
		switch e.Type {
		case "payment_intent.succeeded":
			e.Kind = payment.EventSucceeded
		case "payment_intent.payment_failed":
			// One attempt failed; the PaymentIntent stays open for the
			// payer to try again with the same client secret, so the
			// donation stays pending. The reason is kept for the logs.
			e.Kind, e.FailureReason = payment.EventIgnored, reasonFailed
			if pi.LastPaymentError != nil {
				e.FailureReason = shortReason(pi.LastPaymentError.Message, reasonFailed)
			}
		default:
			e.Kind, e.FailureReason = payment.EventFailed, reasonCanceled
		}
	case "charge.refunded":
		var ch charge
		if err := decodeObject(ev.Data, &ch); err != nil {
			return payment.Event{}, fmt.Errorf("failed to parse stripe webhook %s %s: %w", e.Type, e.ID, err)
		}
		e.Ref, e.DonationID = ch.PaymentIntent.ID, ch.Metadata[metaDonationID]
		e.Amount, e.Currency = ch.Amount, strings.ToUpper(ch.Currency)
		// A partial refund is ignored: the ledger only knows refunded in
		// full, which the next charge.refunded (with refunded: true) says.
		// A charge without a PaymentIntent was not made by GiveLive.
		if ch.Refunded && e.Ref != "" {
			e.Kind = payment.EventRefunded
		}
	}
	if e.Kind == payment.EventIgnored {
		e.Amount, e.Currency = 0, "" // only the events applied say how much
	}
	if e.Kind != payment.EventIgnored && (e.ID == "" || e.Ref == "") {
		return payment.Event{}, fmt.Errorf("failed to parse stripe webhook %s: event id or payment id missing", e.Type)
	}
	return e, nil
}

// isSignatureError reports whether err is one of the webhook package's
// errors about the Stripe-Signature header, rather than about the payload.
func isSignatureError(err error) bool {
	return errors.Is(err, webhook.ErrNotSigned) || errors.Is(err, webhook.ErrInvalidHeader) ||
		errors.Is(err, webhook.ErrNoValidSignature) || errors.Is(err, webhook.ErrTooOld)
}

// paymentIntent and charge hold the few fields of Stripe's objects that
// ParseWebhook reads, decoded on their own so that fields added or changed
// in other API versions cannot break them.
type paymentIntent struct {
	ID               string            `json:"id"`
	Amount           int64             `json:"amount"`
	Currency         string            `json:"currency"`
	Metadata         map[string]string `json:"metadata"`
	LastPaymentError *struct {
		Message string `json:"message"`
	} `json:"last_payment_error"`
}

type charge struct {
	ID            string            `json:"id"`
	Amount        int64             `json:"amount"`
	Currency      string            `json:"currency"`
	Refunded      bool              `json:"refunded"`
	PaymentIntent expandableID      `json:"payment_intent"`
	Metadata      map[string]string `json:"metadata"`
}

// expandableID is a Stripe reference to another object: its id as a string,
// the whole object when expanded, or null.
type expandableID struct{ ID string }

func (x *expandableID) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var obj struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		x.ID = obj.ID
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	return json.Unmarshal(b, &x.ID)
}

// decodeObject decodes the event's data.object into v.
func decodeObject(data *stripeapi.EventData, v any) error {
	if data == nil || len(data.Raw) == 0 {
		return errors.New("event without data.object")
	}
	return json.Unmarshal(data.Raw, v)
}

// shortReason makes a provider's message fit for a donor's eyes: its first
// line and first sentence, at most maxReason bytes; def when empty.
func shortReason(msg, def string) string {
	msg, _, _ = strings.Cut(msg, "\n")
	if i := strings.Index(msg, ". "); i >= 0 {
		msg = msg[:i+1]
	}
	msg = strings.TrimSpace(msg)
	if len(msg) > maxReason {
		cut := maxReason
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = strings.TrimSpace(msg[:cut]) + "…"
	}
	if msg == "" || !utf8.ValidString(msg) {
		return def
	}
	return msg
}

// maxReason bounds a failure reason, which is shown to donors and stored.
const maxReason = 120
