package stripetest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/givelive/givelive/internal/payment"
	"github.com/givelive/givelive/internal/payment/stripe"
	"github.com/givelive/givelive/internal/payment/stripe/stripetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	sk    = "sk_test_standin"
	pk    = "pk_test_standin"
	whsec = "whsec_standin"
)

// received collects the events the stand-in posts, parsed by GiveLive's
// own webhook code (so signatures and shapes are checked as in
// production).
type received struct {
	mu     sync.Mutex
	events []payment.Event
	fail   int // answer 500 to this many deliveries first
}

func (r *received) handler(p *stripe.Provider) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		ev, err := p.ParseWebhook(body, req.Header)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil || r.fail > 0 {
			r.fail--
			http.Error(w, "no", 500)
			return
		}
		r.events = append(r.events, ev)
	})
}

func (r *received) wait(t *testing.T, n int) []payment.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		got := append([]payment.Event(nil), r.events...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d webhook events, want %d: %+v", len(got), n, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func start(t *testing.T) (*stripetest.Server, *stripe.Provider, *received) {
	t.Helper()
	s := stripetest.Start(t, stripetest.Config{SecretKey: sk, PublishableKey: pk, WebhookSecret: whsec})
	p, err := stripe.New(stripe.Config{SecretKey: sk, WebhookSecret: whsec, APIURL: s.URL(), MaxNetworkRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	rec := &received{}
	hook := httptest.NewServer(rec.handler(p))
	t.Cleanup(hook.Close)
	s.SetWebhookURL(hook.URL)
	return s, p, rec
}

// confirm does what Stripe.js does from the Payment Element.
func confirm(t *testing.T, s *stripetest.Server, clientSecret string, form url.Values) (int, map[string]any) {
	t.Helper()
	id := clientSecret[:strings.Index(clientSecret, "_secret_")]
	form.Set("key", pk)
	form.Set("client_secret", clientSecret)
	form.Set("return_url", "http://127.0.0.1:1/f/f_1")
	res, err := http.PostForm(s.URL()+"/v1/payment_intents/"+id+"/confirm", form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, out
}

func card(number string) url.Values {
	return url.Values{"payment_method_data[type]": {"card"}, "payment_method_data[card][number]": {number}}
}

func request(id string) payment.Request {
	return payment.Request{DonationID: id, FundraiserID: "f_1", Amount: 2000, Currency: "USD"}
}

// The stand-in keeps state as Stripe does: distinct PaymentIntents, the
// same one for a repeated idempotency key, a refusal for a key reused with
// other parameters; a card confirmed from the page succeeds and the
// signed webhook reaches GiveLive's parser, retried until it answers 2xx.
func TestPaymentIntentsMoveAndWebhooksArrive(t *testing.T) {
	s, p, rec := start(t)
	ctx := context.Background()
	a, err := p.Charge(ctx, request("d_a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Charge(ctx, request("d_b"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := p.Charge(ctx, request("d_a"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Ref == b.Ref || again.Ref != a.Ref || a.Status != payment.Pending || a.ClientSecret == "" {
		t.Fatalf("charges %+v %+v %+v: want two distinct pending intents and a replay", a, b, again)
	}
	other := request("d_a")
	other.Amount = 3000
	if _, err := p.Charge(ctx, other); err == nil || !strings.Contains(err.Error(), "idempotency_error") {
		t.Fatalf("reused key with another amount: %v", err)
	}

	rec.mu.Lock()
	rec.fail = 2 // the endpoint is down twice: Stripe retries
	rec.mu.Unlock()
	if code, pi := confirm(t, s, a.ClientSecret, card("4242424242424242")); code != 200 || pi["status"] != "succeeded" {
		t.Fatalf("confirm: %d %v", code, pi)
	}
	ev := rec.wait(t, 1)[0]
	if ev.Kind != payment.EventSucceeded || ev.Ref != a.Ref || ev.DonationID != "d_a" {
		t.Fatalf("event %+v", ev)
	}
	if code, _ := confirm(t, s, a.ClientSecret, card("4242424242424242")); code != 400 {
		t.Fatalf("a second confirmation of a succeeded intent: %d", code)
	}

	// A decline leaves the intent open; 3-D Secure waits for the donor.
	if code, body := confirm(t, s, b.ClientSecret, card("4000000000000002")); code != 402 {
		t.Fatalf("declined card: %d %v", code, body)
	}
	if code, pi := confirm(t, s, b.ClientSecret, card("4000002760003184")); code != 200 || pi["status"] != "requires_action" {
		t.Fatalf("3-D Secure card: %d %v", code, pi)
	}
	res, err := http.PostForm(s.URL()+"/3ds/"+b.Ref+"/complete", url.Values{"client_secret": {b.ClientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	evs := rec.wait(t, 3) // payment_failed (ignored kind), then succeeded
	if evs[2].Kind != payment.EventSucceeded || evs[2].Ref != b.Ref {
		t.Fatalf("after 3-D Secure: %+v", evs)
	}

	if err := p.Refund(ctx, "d_a", a.Ref); err != nil {
		t.Fatal(err)
	}
	if err := p.Refund(ctx, "d_a", a.Ref); err != nil {
		t.Fatalf("refunding twice counts as refunded: %v", err)
	}
	if ev := rec.wait(t, 4)[3]; ev.Kind != payment.EventRefunded || ev.Ref != a.Ref {
		t.Fatalf("refund event %+v", ev)
	}
	if n := s.Redeliver("payment_intent.succeeded"); n != 2 {
		t.Fatalf("redelivered %d", n)
	}
	rec.wait(t, 6)
}

// Destination charges need a connected account Stripe knows.
func TestConnectedAccounts(t *testing.T) {
	s, p, _ := start(t)
	ctx := context.Background()
	s.AddAccount("acct_ready", true)
	s.AddAccount("acct_new", false)
	if err := p.CheckAccount(ctx, "acct_ready"); err != nil {
		t.Fatal(err)
	}
	for _, acct := range []string{"acct_new", "acct_unknown"} {
		if err := p.CheckAccount(ctx, acct); !errors.Is(err, payment.ErrAccountUnusable) {
			t.Fatalf("CheckAccount(%s) = %v", acct, err)
		}
	}
	r := request("d_c")
	r.Destination = "acct_ready"
	c, err := p.Charge(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if pis := s.PaymentIntents(); len(pis) != 1 || pis[0].ID != c.Ref || pis[0].Destination != "acct_ready" {
		t.Fatalf("intents %+v", pis)
	}
}
