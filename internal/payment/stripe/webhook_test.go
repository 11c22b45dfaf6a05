package stripe_test

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/givelive/givelive/internal/payment"
	"github.com/givelive/givelive/internal/payment/stripe"
)

const (
	testKey    = "sk_test_givelive"
	testSecret = "whsec_givelive_test"
)

// eventJSON builds a Stripe event around a data.object, in the shape of
// https://docs.stripe.com/api/events/object. Its api_version is not the one
// stripe-go pins, as a dashboard endpoint's often is not.
func eventJSON(id, typ, object string, account ...string) []byte {
	acct := ""
	if len(account) > 0 && account[0] != "" {
		acct = `"account":"` + account[0] + `",`
	}
	return []byte(`{"id":"` + id + `","object":"event",` + acct + `"api_version":"2024-06-20","created":1767225600,` +
		`"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},` +
		`"type":"` + typ + `","data":{"object":` + object + `}}`)
}

// webhookCases is the one table of events: it drives TestParseWebhook and
// seeds FuzzParseWebhook.
var webhookCases = []struct {
	name    string
	typ     string
	object  string
	account string // the event's account: a connected account's own event
	want    payment.Event
}{
	{
		name:   "succeeded",
		typ:    "payment_intent.succeeded",
		object: `{"id":"pi_1","object":"payment_intent","amount":2500,"currency":"eur","status":"succeeded","metadata":{"donation_id":"don_1","fundraiser_id":"fr_1"}}`,
		want:   payment.Event{Kind: payment.EventSucceeded, Ref: "pi_1", DonationID: "don_1", Amount: 2500, Currency: "EUR"},
	},
	{
		name:    "a connected account's own event ignored",
		typ:     "payment_intent.succeeded",
		object:  `{"id":"pi_9","object":"payment_intent","amount":2500,"currency":"eur","status":"succeeded","metadata":{"donation_id":"don_1"}}`,
		account: "acct_1Other",
		want:    payment.Event{Kind: payment.EventIgnored},
	},
	{
		name: "payment failed, card declined",
		typ:  "payment_intent.payment_failed",
		object: `{"id":"pi_1","object":"payment_intent","status":"requires_payment_method","metadata":{"donation_id":"don_1"},` +
			`"last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}`,
		want: payment.Event{Kind: payment.EventIgnored, Ref: "pi_1", DonationID: "don_1", FailureReason: "Your card has insufficient funds."},
	},
	{
		name: "payment failed, long message cut to its first sentence",
		typ:  "payment_intent.payment_failed",
		object: `{"id":"pi_1","object":"payment_intent","status":"requires_payment_method","metadata":{"donation_id":"don_1"},` +
			`"last_payment_error":{"type":"card_error","code":"payment_intent_authentication_failure","message":"The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again."}}`,
		want: payment.Event{Kind: payment.EventIgnored, Ref: "pi_1", DonationID: "don_1", FailureReason: "The provided PaymentMethod has failed authentication."},
	},
	{
		name: "payment failed, long message cut on a rune boundary",
		typ:  "payment_intent.payment_failed",
		object: `{"id":"pi_1","object":"payment_intent","metadata":{"donation_id":"don_1"},` +
			`"last_payment_error":{"type":"card_error","message":"` + strings.Repeat("é", 100) + `"}}`,
		want: payment.Event{Kind: payment.EventIgnored, Ref: "pi_1", DonationID: "don_1", FailureReason: strings.Repeat("é", 60) + "…"},
	},
	{
		name:   "payment failed without an error",
		typ:    "payment_intent.payment_failed",
		object: `{"id":"pi_1","object":"payment_intent","status":"requires_payment_method","metadata":{"donation_id":"don_1"},"last_payment_error":null}`,
		want:   payment.Event{Kind: payment.EventIgnored, Ref: "pi_1", DonationID: "don_1", FailureReason: "payment failed"},
	},
	{
		name:   "canceled",
		typ:    "payment_intent.canceled",
		object: `{"id":"pi_1","object":"payment_intent","status":"canceled","cancellation_reason":"abandoned","metadata":{"donation_id":"don_1"}}`,
		want:   payment.Event{Kind: payment.EventFailed, Ref: "pi_1", DonationID: "don_1", FailureReason: "payment canceled"},
	},
	{
		name:   "succeeded without metadata",
		typ:    "payment_intent.succeeded",
		object: `{"id":"pi_2","object":"payment_intent","status":"succeeded","metadata":{}}`,
		want:   payment.Event{Kind: payment.EventSucceeded, Ref: "pi_2"},
	},
	{
		name:   "refunded in full",
		typ:    "charge.refunded",
		object: `{"id":"ch_1","object":"charge","amount":2500,"currency":"usd","amount_refunded":2500,"refunded":true,"payment_intent":"pi_1","metadata":{}}`,
		want:   payment.Event{Kind: payment.EventRefunded, Ref: "pi_1", Amount: 2500, Currency: "USD"},
	},
	{
		name:   "refunded in full, payment intent expanded",
		typ:    "charge.refunded",
		object: `{"id":"ch_1","object":"charge","amount":2500,"amount_refunded":2500,"refunded":true,"payment_intent":{"id":"pi_1","object":"payment_intent"},"metadata":{"donation_id":"don_1"}}`,
		want:   payment.Event{Kind: payment.EventRefunded, Ref: "pi_1", DonationID: "don_1", Amount: 2500},
	},
	{
		name:   "partial refund ignored",
		typ:    "charge.refunded",
		object: `{"id":"ch_1","object":"charge","amount":2500,"amount_refunded":1000,"refunded":false,"payment_intent":"pi_1","metadata":{}}`,
		want:   payment.Event{Kind: payment.EventIgnored, Ref: "pi_1"},
	},
	{
		name:   "refund of a charge without payment intent ignored",
		typ:    "charge.refunded",
		object: `{"id":"ch_1","object":"charge","amount":2500,"amount_refunded":2500,"refunded":true,"payment_intent":null,"metadata":{}}`,
		want:   payment.Event{Kind: payment.EventIgnored},
	},
	{
		name:   "payment intent created ignored",
		typ:    "payment_intent.created",
		object: `{"id":"pi_1","object":"payment_intent","status":"requires_payment_method","metadata":{"donation_id":"don_1"}}`,
		want:   payment.Event{Kind: payment.EventIgnored},
	},
	{
		name:   "other object ignored",
		typ:    "customer.created",
		object: `{"id":"cus_1","object":"customer","email":null}`,
		want:   payment.Event{Kind: payment.EventIgnored},
	},
}

// malformedCases are correctly signed payloads that are not events
// GiveLive can read: ParseWebhook answers a plain error.
var malformedCases = []struct {
	name    string
	payload string
}{
	{"not JSON", `not json`},
	{"truncated", `{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1"`},
	{"not an event", `{"id":"pi_1","object":"payment_intent","status":"succeeded"}`},
	{"no data", `{"id":"evt_1","object":"event","type":"payment_intent.succeeded"}`},
	{"null data", `{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":null}`},
	{"object of wrong shape", `{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":5}}}`},
	{"metadata of wrong shape", `{"id":"evt_1","object":"event","type":"charge.refunded","data":{"object":{"id":"ch_1","refunded":true,"payment_intent":"pi_1","metadata":[1]}}}`},
	{"payment intent without id", `{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"object":"payment_intent"}}}`},
	{"event without id", `{"object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1"}}}`},
}

func newWebhookProvider(tb testing.TB, cfg stripe.Config) *stripe.Provider {
	tb.Helper()
	if cfg.SecretKey == "" {
		cfg.SecretKey = testKey
	}
	p, err := stripe.New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return p
}

// signed returns the headers of a request Stripe signed at t with secret.
func signed(payload []byte, secret string, t time.Time) http.Header {
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: t})
	h := http.Header{}
	h.Set("Stripe-Signature", sp.Header)
	return h
}

func TestParseWebhook(t *testing.T) {
	p := newWebhookProvider(t, stripe.Config{WebhookSecret: testSecret})
	for _, c := range webhookCases {
		t.Run(c.name, func(t *testing.T) {
			body := eventJSON("evt_1", c.typ, c.object, c.account)
			got, err := p.ParseWebhook(body, signed(body, testSecret, time.Now()))
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			want := c.want
			want.ID, want.Type = "evt_1", c.typ
			if got != want {
				t.Errorf("ParseWebhook\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseWebhookMalformed(t *testing.T) {
	p := newWebhookProvider(t, stripe.Config{WebhookSecret: testSecret})
	for _, c := range malformedCases {
		t.Run(c.name, func(t *testing.T) {
			body := []byte(c.payload)
			_, err := p.ParseWebhook(body, signed(body, testSecret, time.Now()))
			if err == nil {
				t.Fatal("ParseWebhook accepted a malformed payload")
			}
			if errors.Is(err, payment.ErrBadSignature) {
				t.Errorf("ParseWebhook = %v, want an error other than ErrBadSignature", err)
			}
		})
	}
}

func TestParseWebhookBadSignature(t *testing.T) {
	body := eventJSON("evt_1", "payment_intent.succeeded", webhookCases[0].object)
	now := time.Now()
	cases := []struct {
		name   string
		secret string // of the provider; testSecret when empty
		body   []byte // sent; body when nil
		header http.Header
	}{
		{name: "missing header", header: http.Header{}},
		{name: "nil header", header: nil},
		{name: "garbage header", header: http.Header{"Stripe-Signature": {"nonsense"}}},
		{name: "timestamp only", header: http.Header{"Stripe-Signature": {"t=1767225600"}}},
		{name: "wrong secret", header: signed(body, "whsec_someone_else", now)},
		{name: "payload changed after signing", header: signed(body, testSecret, now),
			body: bytes.Replace(body, []byte("pi_1"), []byte("pi_2"), 1)},
		{name: "stale timestamp", header: signed(body, testSecret, now.Add(-301*time.Second))},
		{name: "only a v0 signature", header: func() http.Header {
			sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: testSecret, Scheme: "v0"})
			return http.Header{"Stripe-Signature": {sp.Header}}
		}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newWebhookProvider(t, stripe.Config{WebhookSecret: testSecret})
			sent := body
			if c.body != nil {
				sent = c.body
			}
			_, err := p.ParseWebhook(sent, c.header)
			if !errors.Is(err, payment.ErrBadSignature) {
				t.Errorf("ParseWebhook = %v, want ErrBadSignature", err)
			}
		})
	}

	t.Run("no webhook secret configured", func(t *testing.T) {
		p := newWebhookProvider(t, stripe.Config{})
		// Signed with the empty key, which anyone could do.
		_, err := p.ParseWebhook(body, signed(body, "", now))
		if !errors.Is(err, payment.ErrBadSignature) {
			t.Errorf("ParseWebhook = %v, want ErrBadSignature", err)
		}
	})
}

func TestParseWebhookTolerance(t *testing.T) {
	body := eventJSON("evt_1", "payment_intent.succeeded", webhookCases[0].object)
	cases := []struct {
		name      string
		tolerance time.Duration
		age       time.Duration
		ok        bool
	}{
		{"default accepts 4 minutes", 0, 4 * time.Minute, true},
		{"default refuses 6 minutes", 0, 6 * time.Minute, false},
		{"1 hour accepts 10 minutes", time.Hour, 10 * time.Minute, true},
		{"1 minute refuses 2 minutes", time.Minute, 2 * time.Minute, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newWebhookProvider(t, stripe.Config{WebhookSecret: testSecret, Tolerance: c.tolerance})
			_, err := p.ParseWebhook(body, signed(body, testSecret, time.Now().Add(-c.age)))
			if c.ok && err != nil {
				t.Errorf("ParseWebhook: %v", err)
			}
			if !c.ok && !errors.Is(err, payment.ErrBadSignature) {
				t.Errorf("ParseWebhook = %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestParseWebhookTooLarge(t *testing.T) {
	p := newWebhookProvider(t, stripe.Config{WebhookSecret: testSecret})
	object := `{"id":"pi_1","object":"payment_intent","description":"` + strings.Repeat("x", stripe.MaxWebhookPayload) + `"}`
	body := eventJSON("evt_1", "payment_intent.succeeded", object)
	_, err := p.ParseWebhook(body, signed(body, testSecret, time.Now()))
	if err == nil || errors.Is(err, payment.ErrBadSignature) {
		t.Errorf("ParseWebhook(%d bytes) = %v, want a size error", len(body), err)
	}
}

// FuzzParseWebhook signs each body with the test secret, so the fuzzer
// explores the parsing behind the signature check.
func FuzzParseWebhook(f *testing.F) {
	for _, c := range webhookCases {
		f.Add(eventJSON("evt_1", c.typ, c.object))
	}
	for _, c := range malformedCases {
		f.Add([]byte(c.payload))
	}
	p := newWebhookProvider(f, stripe.Config{WebhookSecret: testSecret})
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := p.ParseWebhook(body, signed(body, testSecret, time.Now()))
		if err != nil {
			if errors.Is(err, payment.ErrBadSignature) {
				t.Fatalf("correctly signed body refused as badly signed: %v", err)
			}
			return
		}
		switch e.Kind {
		case payment.EventIgnored:
		case payment.EventSucceeded, payment.EventFailed, payment.EventRefunded:
			if e.ID == "" || e.Ref == "" {
				t.Fatalf("%s event without id or ref: %+v", e.Kind, e)
			}
			if e.Kind == payment.EventFailed && (e.FailureReason == "" || len(e.FailureReason) > 130) {
				t.Fatalf("failure reason %q: want 1 to 130 bytes", e.FailureReason)
			}
		default:
			t.Fatalf("unknown kind %q", e.Kind)
		}
	})
}
