package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/givelive/givelive/api"
	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/donation"
	"github.com/givelive/givelive/internal/payment"
	"github.com/givelive/givelive/internal/payment/stripe"
)

const whsec = "whsec_test_secret_for_givelive"

// fakeStripe answers the two Stripe API calls GiveLive makes, creating
// PaymentIntents and Refunds, the way Stripe's API documents them.
type fakeStripe struct {
	mu      sync.Mutex
	intents map[string]string // idempotency key → PaymentIntent id
	refunds int
}

func (f *fakeStripe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = r.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/v1/payment_intents":
		key := r.Header.Get("Idempotency-Key")
		id, ok := f.intents[key]
		if !ok {
			id = fmt.Sprintf("pi_%d", len(f.intents)+1)
			f.intents[key] = id
		}
		fmt.Fprintf(w, `{"id":%q,"object":"payment_intent","amount":%s,"currency":%q,"status":"requires_payment_method",`+
			`"client_secret":"%s_secret_abc","metadata":{"donation_id":%q}}`,
			id, r.Form.Get("amount"), r.Form.Get("currency"), id, r.Form.Get("metadata[donation_id]"))
	case "/v1/refunds":
		f.refunds++
		fmt.Fprintf(w, `{"id":"re_%d","object":"refund","status":"succeeded","payment_intent":%q}`, f.refunds, r.Form.Get("payment_intent"))
	default:
		w.WriteHeader(404)
		fmt.Fprint(w, `{"error":{"type":"invalid_request_error","message":"Unrecognized request URL"}}`)
	}
}

func newStripeEnv(t *testing.T, edit ...func(*api.Config)) (*donationEnv, *fakeStripe) {
	t.Helper()
	fake := &fakeStripe{intents: map[string]string{}}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	p, err := stripe.New(stripe.Config{SecretKey: "sk_test_givelive", WebhookSecret: whsec, APIURL: srv.URL, MaxNetworkRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWithDonations(t, func(c *donation.Config) { c.Provider = p },
		append([]func(*api.Config){func(c *api.Config) { c.Webhooks = map[string]payment.Webhook{"stripe": p} }}, edit...)...)
	np := e.nonprofit(t, true)
	owner, token := e.broadcaster(t, "Streamer")
	f := e.fundraiser(t, token, np)
	return &donationEnv{env: e, fid: f.ID, owner: owner, ownerToken: token, nonprofitID: np}, fake
}

// deliver signs an event as Stripe would and posts it to the webhook.
func (e *donationEnv) deliver(t *testing.T, id, typ, object string, secret string) response {
	t.Helper()
	body := `{"id":"` + id + `","object":"event","api_version":"2024-06-20","created":1767225600,"livemode":false,` +
		`"type":"` + typ + `","data":{"object":` + object + `}}`
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: secret, Timestamp: time.Now()})
	return e.do(t, "POST", "/api/v1/payments/stripe/webhook", "", body, "Stripe-Signature", sp.Header)
}

func TestStripeDonationCountsWhenTheWebhookSaysSo(t *testing.T) {
	e, fake := newStripeEnv(t)
	d := e.give(t, "k1", "", map[string]any{"amount": 2500, "name": "Ada"})
	if d.Status != "pending" || d.Payment.Provider != "stripe" || d.Payment.ClientSecret != "pi_1_secret_abc" {
		t.Fatalf("stripe receipt = %+v", d)
	}
	// A retry gets the same PaymentIntent's secret, and Stripe saw the same key.
	var again donationOut
	e.donate(t, "k1", "", map[string]any{"amount": 2500, "currency": "USD", "name": "Ada"}).want(t, 200).json(t, &again)
	if again.ID != d.ID || again.Payment.ClientSecret != d.Payment.ClientSecret || len(fake.intents) != 1 {
		t.Fatalf("retry = %+v; intents %v", again, fake.intents)
	}
	if s := e.snapshot(t); s.Totals.Raised != 0 {
		t.Fatalf("a pending payment counted: %+v", s.Totals)
	}

	pi := `{"id":"pi_1","object":"payment_intent","status":"succeeded","metadata":{"donation_id":"` + d.ID + `"}}`
	// A bad signature changes nothing.
	e.deliver(t, "evt_1", "payment_intent.succeeded", pi, "whsec_wrong").problem(t, 400)
	if s := e.snapshot(t); s.Totals.Raised != 0 {
		t.Fatalf("an unsigned event counted: %+v", s.Totals)
	}
	// Stripe delivers the success twice: it counts once.
	for range 2 {
		e.deliver(t, "evt_1", "payment_intent.succeeded", pi, whsec).want(t, 200)
	}
	// A second event id for the same success is a no-op too.
	e.deliver(t, "evt_2", "payment_intent.succeeded", pi, whsec).want(t, 200)
	if s := e.snapshot(t); s.Totals.Raised != 2500 || s.Totals.Donations != 1 {
		t.Fatalf("after the webhook: %+v", s.Totals)
	}
	if n := len(ofType(e.outbox(t), wire.TypeDonation)); n != 1 {
		t.Fatalf("%d donation events, want 1", n)
	}
	var got donationOut
	e.do(t, "GET", "/api/v1/fundraisers/"+e.fid+"/donations/"+d.ID, "", nil).want(t, 200).json(t, &got)
	if got.Status != "succeeded" || got.Payment.ClientSecret != "" || strings.Contains(fmt.Sprint(got), "secret") {
		t.Fatalf("public view after success = %+v", got)
	}

	// A full refund made in Stripe's dashboard is applied, once.
	charge := `{"id":"ch_1","object":"charge","payment_intent":"pi_1","refunded":true,"amount_refunded":2500}`
	for range 2 {
		e.deliver(t, "evt_3", "charge.refunded", charge, whsec).want(t, 200)
	}
	if s := e.snapshot(t); s.Totals.Raised != 0 || s.Totals.Donations != 0 {
		t.Fatalf("after the refund webhook: %+v", s.Totals)
	}
	if n := len(ofType(e.outbox(t), wire.TypeDonationRefunded)); n != 1 {
		t.Fatalf("%d refund events, want 1", n)
	}
	// Events about payments GiveLive does not know are acknowledged.
	e.deliver(t, "evt_4", "payment_intent.succeeded", `{"id":"pi_other","object":"payment_intent","metadata":{}}`, whsec).want(t, 200)
	e.deliver(t, "evt_5", "customer.created", `{"id":"cus_1","object":"customer"}`, whsec).want(t, 200)
}

func TestStripeCanceledPaymentFailsAndAdminRefundGoesThroughStripe(t *testing.T) {
	e, fake := newStripeEnv(t)
	lost := e.give(t, "k1", "", map[string]any{"amount": 1000})
	kept := e.give(t, "k2", "", map[string]any{"amount": 3000})
	e.deliver(t, "evt_a", "payment_intent.payment_failed",
		`{"id":"pi_1","object":"payment_intent","status":"requires_payment_method","last_payment_error":{"message":"Your card was declined."}}`, whsec).want(t, 200)
	var d donationOut
	e.do(t, "GET", "/api/v1/fundraisers/"+e.fid+"/donations/"+lost.ID, "", nil).want(t, 200).json(t, &d)
	if d.Status != "pending" {
		t.Fatalf("after one failed attempt the donation is %s, want pending (the payer may try again)", d.Status)
	}
	e.deliver(t, "evt_b", "payment_intent.canceled", `{"id":"pi_1","object":"payment_intent","status":"canceled"}`, whsec).want(t, 200)
	e.do(t, "GET", "/api/v1/fundraisers/"+e.fid+"/donations/"+lost.ID, "", nil).want(t, 200).json(t, &d)
	if d.Status != "failed" {
		t.Fatalf("after cancellation the donation is %s, want failed", d.Status)
	}

	e.deliver(t, "evt_c", "payment_intent.succeeded", `{"id":"pi_2","object":"payment_intent","status":"succeeded"}`, whsec).want(t, 200)
	e.do(t, "POST", "/api/v1/fundraisers/"+e.fid+"/donations/"+kept.ID+"/refund", adminToken, nil).want(t, 200).json(t, &d)
	if d.Status != "refunded" || fake.refunds != 1 {
		t.Fatalf("admin refund = %+v, stripe refunds %d", d, fake.refunds)
	}
	// Stripe then reports the refund: nothing changes twice.
	e.deliver(t, "evt_d", "charge.refunded", `{"id":"ch_2","object":"charge","payment_intent":"pi_2","refunded":true}`, whsec).want(t, 200)
	if n := len(ofType(e.outbox(t), wire.TypeDonationRefunded)); n != 1 {
		t.Fatalf("%d refund events, want 1", n)
	}
}

func TestWebhookOfAnUnconfiguredProviderIs404(t *testing.T) {
	e := newDonationEnv(t) // sandbox: no webhooks
	p := e.do(t, "POST", "/api/v1/payments/stripe/webhook", "", `{}`, "Stripe-Signature", "t=1,v1=00").problem(t, 404)
	if !strings.Contains(p.Detail, "stripe") {
		t.Fatalf("404 detail %q", p.Detail)
	}
}

func TestStripeRefundThatOvertakesTheSuccessIsRedelivered(t *testing.T) {
	e, _ := newStripeEnv(t)
	d := e.give(t, "k1", "", map[string]any{"amount": 2500, "name": "Ada"})
	meta := `"metadata":{"donation_id":"` + d.ID + `"}`
	refund := `{"id":"ch_1","object":"charge","payment_intent":"pi_1","refunded":true,` + meta + `}`
	// Stripe does not promise order: the refund arrives first. It must not
	// be acknowledged (Stripe would never send it again)...
	if r := e.deliver(t, "evt_refund", "charge.refunded", refund, whsec); r.status < 500 {
		t.Fatalf("refund before success answered %d, want a 5xx so that Stripe delivers it again", r.status)
	}
	e.deliver(t, "evt_ok", "payment_intent.succeeded", `{"id":"pi_1","object":"payment_intent","status":"succeeded",`+meta+`}`, whsec).want(t, 200)
	// ...and when Stripe delivers it again, after the success, it applies.
	e.deliver(t, "evt_refund", "charge.refunded", refund, whsec).want(t, 200)
	if s := e.snapshot(t); s.Totals.Raised != 0 || s.Totals.Donations != 0 {
		t.Fatalf("refunded money still counted: %+v", s.Totals)
	}
}

func TestStripeWebhooksAreNotRateLimited(t *testing.T) {
	fake := &fakeStripe{intents: map[string]string{}}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	p, err := stripe.New(stripe.Config{SecretKey: "sk_test_givelive", WebhookSecret: whsec, APIURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWithDonations(t, func(c *donation.Config) { c.Provider = p }, func(c *api.Config) {
		c.Webhooks = map[string]payment.Webhook{"stripe": p}
		c.RateLimit = api.RateLimit{PerSecond: 1, Burst: 2} // tight, and on
	})
	de := &donationEnv{env: e}
	// A burst of deliveries from Stripe's one address all get through.
	for i := range 20 {
		de.deliver(t, fmt.Sprintf("evt_%d", i), "customer.created", `{"id":"cus_1","object":"customer"}`, whsec).want(t, 200)
	}
	// The rest of the API is still limited.
	codes := map[int]int{}
	for range 5 {
		codes[e.do(t, "GET", "/api/v1/nonprofits", "", nil).status]++
	}
	if codes[http.StatusTooManyRequests] == 0 {
		t.Fatalf("the API was not rate limited in this test: %v", codes)
	}
}
