package stripe_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/givelive/givelive/internal/payment"
	"github.com/givelive/givelive/internal/payment/stripe"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// reply is one answer of the fake Stripe API.
type reply struct {
	status int
	body   string
}

// request is what the fake Stripe API received.
type request struct {
	method, path string
	header       http.Header
	form         url.Values
}

// fakeAPI starts a loopback server that plays Stripe's API: it records each
// request and answers with the replies in turn, repeating the last. It
// returns a Provider pointed at it and a function returning the requests.
func fakeAPI(t *testing.T, cfg stripe.Config, replies ...reply) (*stripe.Provider, func() []request) {
	t.Helper()
	var (
		mu   sync.Mutex
		reqs []request
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("fake stripe: read body: %v", err)
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			t.Errorf("fake stripe: body is not form-encoded: %v", err)
		}
		mu.Lock()
		rep := replies[min(len(reqs), len(replies)-1)]
		reqs = append(reqs, request{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), form: form})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_test")
		w.WriteHeader(rep.status)
		io.WriteString(w, rep.body)
	}))
	t.Cleanup(srv.Close)

	cfg.SecretKey = testKey
	cfg.APIURL = srv.URL
	cfg.HTTPClient = srv.Client() // closed with the server
	if cfg.MaxNetworkRetries == 0 {
		cfg.MaxNetworkRetries = -1 // tests of retries ask for them
	}
	p, err := stripe.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p, func() []request {
		mu.Lock()
		defer mu.Unlock()
		return append([]request(nil), reqs...)
	}
}

// Minimal bodies in the shapes of https://docs.stripe.com/api/payment_intents/object,
// https://docs.stripe.com/api/refunds/object and https://docs.stripe.com/api/errors.
func paymentIntentJSON(status string) string {
	return `{"id":"pi_1","object":"payment_intent","amount":2500,"currency":"eur","status":"` + status + `",` +
		`"client_secret":"pi_1_secret_xyz","livemode":false,"metadata":{"donation_id":"don_1","fundraiser_id":"fr_1"}}`
}

const (
	cardErrorJSON = `{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds",` +
		`"message":"Your card has insufficient funds.","doc_url":"https://stripe.com/docs/error-codes/card-declined",` +
		`"payment_intent":{"id":"pi_1","object":"payment_intent","status":"requires_payment_method","client_secret":"pi_1_secret_xyz"}}}`
	apiErrorJSON       = `{"error":{"type":"api_error","message":"An unknown error occurred"}}`
	amountTooSmallJSON = `{"error":{"type":"invalid_request_error","code":"amount_too_small","param":"amount",` +
		`"message":"Amount must be at least €0.50 eur"}}`
)

var donation = payment.Request{
	DonationID:   "don_1",
	FundraiserID: "fr_1",
	Amount:       2500,
	Currency:     "EUR",
	Description:  "Donation to Run for Rivers",
}

func TestCharge(t *testing.T) {
	cases := []struct {
		name    string
		reply   reply
		want    payment.Charge
		wantErr bool
	}{
		{
			name:  "requires payment method",
			reply: reply{200, paymentIntentJSON("requires_payment_method")},
			want:  payment.Charge{Status: payment.Pending, Ref: "pi_1", ClientSecret: "pi_1_secret_xyz"},
		},
		{
			name:  "processing",
			reply: reply{200, paymentIntentJSON("processing")},
			want:  payment.Charge{Status: payment.Pending, Ref: "pi_1", ClientSecret: "pi_1_secret_xyz"},
		},
		{
			name:  "succeeded",
			reply: reply{200, paymentIntentJSON("succeeded")},
			want:  payment.Charge{Status: payment.Succeeded, Ref: "pi_1"},
		},
		{
			name:  "canceled",
			reply: reply{200, paymentIntentJSON("canceled")},
			want:  payment.Charge{Status: payment.Failed, Ref: "pi_1", FailureReason: "payment canceled"},
		},
		{
			name:  "card declined",
			reply: reply{402, cardErrorJSON},
			want:  payment.Charge{Status: payment.Failed, Ref: "pi_1", FailureReason: "Your card has insufficient funds."},
		},
		{name: "server error", reply: reply{500, apiErrorJSON}, wantErr: true},
		{name: "invalid request", reply: reply{400, amountTooSmallJSON}, wantErr: true},
		{name: "not JSON", reply: reply{200, `<html>`}, wantErr: true},
		{name: "no id", reply: reply{200, `{"object":"payment_intent","status":"requires_payment_method"}`}, wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, requests := fakeAPI(t, stripe.Config{}, c.reply)
			got, err := p.Charge(context.Background(), donation)
			if c.wantErr {
				if err == nil {
					t.Fatalf("Charge = %+v, want an error", got)
				}
				if strings.Contains(err.Error(), "secret_xyz") {
					t.Errorf("error leaks the client secret: %v", err)
				}
			} else if err != nil {
				t.Fatalf("Charge: %v", err)
			}
			if got != c.want {
				t.Errorf("Charge\n got %+v\nwant %+v", got, c.want)
			}

			reqs := requests()
			if len(reqs) != 1 {
				t.Fatalf("fake stripe got %d requests, want 1 (retries are off)", len(reqs))
			}
			checkChargeRequest(t, reqs[0])
		})
	}
}

func checkChargeRequest(t *testing.T, r request) {
	t.Helper()
	if r.method != http.MethodPost || r.path != "/v1/payment_intents" {
		t.Errorf("request %s %s, want POST /v1/payment_intents", r.method, r.path)
	}
	checkHeaders(t, r, "donation-don_1")
	want := map[string]string{
		"amount":                             "2500",
		"currency":                           "eur",
		"description":                        "Donation to Run for Rivers",
		"metadata[donation_id]":              "don_1",
		"metadata[fundraiser_id]":            "fr_1",
		"automatic_payment_methods[enabled]": "true",
	}
	for k, v := range want {
		if got := r.form.Get(k); got != v {
			t.Errorf("form %s = %q, want %q", k, got, v)
		}
	}
	if r.form.Has("confirm") {
		t.Errorf("form has confirm=%s: the browser confirms", r.form.Get("confirm"))
	}
	if r.form.Has("transfer_data[destination]") {
		t.Errorf("a donation without a destination is a destination charge to %s", r.form.Get("transfer_data[destination]"))
	}
}

// A nonprofit with its own Stripe account gets destination charges: the
// money lands with it, not with the platform.
func TestChargeToAConnectedAccount(t *testing.T) {
	p, requests := fakeAPI(t, stripe.Config{}, reply{200, paymentIntentJSON("requires_payment_method")})
	r := donation
	r.Destination = "acct_1RiverCharity"
	if _, err := p.Charge(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	reqs := requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	if got := reqs[0].form.Get("transfer_data[destination]"); got != "acct_1RiverCharity" {
		t.Errorf("transfer_data[destination] = %q, want the nonprofit's account", got)
	}
	if reqs[0].form.Has("on_behalf_of") || reqs[0].form.Has("application_fee_amount") {
		t.Errorf("unexpected connect parameters: %v", reqs[0].form)
	}
}

func TestCheckAccount(t *testing.T) {
	account := func(transfers string) string {
		return `{"id":"acct_1","object":"account","charges_enabled":true,"capabilities":{"card_payments":"active","transfers":"` + transfers + `"}}`
	}
	cases := []struct {
		name     string
		reply    reply
		unusable bool // errors.Is(err, payment.ErrAccountUnusable)
		ok       bool
	}{
		{name: "active", reply: reply{200, account("active")}, ok: true},
		{name: "onboarding unfinished", reply: reply{200, account("inactive")}, unusable: true},
		{name: "no capabilities", reply: reply{200, `{"id":"acct_1","object":"account"}`}, unusable: true},
		{name: "unknown", reply: reply{404, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such account: 'acct_1'"}}`}, unusable: true},
		{name: "not connected to this platform", reply: reply{403, `{"error":{"type":"invalid_request_error","code":"account_invalid","message":"The provided key does not have access to account 'acct_1'"}}`}, unusable: true},
		{name: "stripe down", reply: reply{500, apiErrorJSON}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, requests := fakeAPI(t, stripe.Config{}, c.reply)
			err := p.CheckAccount(context.Background(), "acct_1")
			switch {
			case c.ok && err != nil:
				t.Fatalf("CheckAccount: %v", err)
			case !c.ok && err == nil:
				t.Fatal("CheckAccount = nil, want an error")
			case !c.ok && errors.Is(err, payment.ErrAccountUnusable) != c.unusable:
				t.Fatalf("CheckAccount = %v; unusable %v, want %v", err, !c.unusable, c.unusable)
			}
			if reqs := requests(); len(reqs) != 1 || reqs[0].method != http.MethodGet || reqs[0].path != "/v1/accounts/acct_1" {
				t.Fatalf("requests %+v, want GET /v1/accounts/acct_1", reqs)
			}
		})
	}
}

func checkHeaders(t *testing.T, r request, idempotencyKey string) {
	t.Helper()
	if got := r.header.Get("Authorization"); got != "Bearer "+testKey {
		t.Errorf("Authorization = %q, want the bearer key", got)
	}
	if got := r.header.Get("Idempotency-Key"); got != idempotencyKey {
		t.Errorf("Idempotency-Key = %q, want %q", got, idempotencyKey)
	}
	if got := r.header.Get("Content-Type"); got != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q, want form-encoded", got)
	}
}

// TestChargeRetry shows stripe-go's own retry (here of a proxy's 502 page)
// sends the same idempotency key, so Stripe answers it with the same
// PaymentIntent.
func TestChargeRetry(t *testing.T) {
	p, requests := fakeAPI(t, stripe.Config{MaxNetworkRetries: 1},
		reply{502, "<html>502 Bad Gateway</html>"}, reply{200, paymentIntentJSON("requires_payment_method")})
	got, err := p.Charge(context.Background(), donation)
	if err != nil {
		t.Fatalf("Charge: %v", err)
	}
	if got.Status != payment.Pending || got.Ref != "pi_1" {
		t.Errorf("Charge = %+v, want pending pi_1", got)
	}
	reqs := requests()
	if len(reqs) != 2 {
		t.Fatalf("fake stripe got %d requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		checkChargeRequest(t, r)
	}
}

func TestChargeWithoutDonationID(t *testing.T) {
	p, requests := fakeAPI(t, stripe.Config{}, reply{200, paymentIntentJSON("requires_payment_method")})
	r := donation
	r.DonationID = ""
	if _, err := p.Charge(context.Background(), r); err == nil {
		t.Error("Charge without a donation id succeeded")
	}
	if n := len(requests()); n != 0 {
		t.Errorf("fake stripe got %d requests, want 0", n)
	}
}

func TestChargeCanceledContext(t *testing.T) {
	p, _ := fakeAPI(t, stripe.Config{}, reply{200, paymentIntentJSON("requires_payment_method")})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Charge(ctx, donation)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Charge = %v, want context.Canceled", err)
	}
}

func TestRefund(t *testing.T) {
	refundJSON := func(status string) string {
		return `{"id":"re_1","object":"refund","amount":2500,"currency":"eur","payment_intent":"pi_1","status":"` + status + `","metadata":{"donation_id":"don_1"}}`
	}
	cases := []struct {
		name    string
		reply   reply
		wantErr bool
	}{
		{name: "succeeded", reply: reply{200, refundJSON("succeeded")}},
		{name: "pending", reply: reply{200, refundJSON("pending")}},
		{name: "already refunded", reply: reply{400, `{"error":{"type":"invalid_request_error","code":"charge_already_refunded","message":"Charge ch_1 has already been refunded."}}`}},
		{name: "failed", reply: reply{200, refundJSON("failed")}, wantErr: true},
		{name: "server error", reply: reply{500, apiErrorJSON}, wantErr: true},
		{name: "unknown payment", reply: reply{404, `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"payment_intent","message":"No such payment_intent: 'pi_1'"}}`}, wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, requests := fakeAPI(t, stripe.Config{}, c.reply)
			err := p.Refund(context.Background(), "don_1", "pi_1")
			if c.wantErr != (err != nil) {
				t.Fatalf("Refund = %v, want error %v", err, c.wantErr)
			}
			reqs := requests()
			if len(reqs) != 1 {
				t.Fatalf("fake stripe got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.method != http.MethodPost || r.path != "/v1/refunds" {
				t.Errorf("request %s %s, want POST /v1/refunds", r.method, r.path)
			}
			checkHeaders(t, r, "refund-don_1")
			if got := r.form.Get("payment_intent"); got != "pi_1" {
				t.Errorf("form payment_intent = %q, want pi_1", got)
			}
			if r.form.Has("amount") {
				t.Errorf("form amount = %s, want none (refund in full)", r.form.Get("amount"))
			}
		})
	}
}

func TestNew(t *testing.T) {
	// Every key below that must not be echoed ends in "abc".
	cases := []struct {
		name string
		cfg  stripe.Config
		ok   bool
	}{
		{"test key", stripe.Config{SecretKey: "sk_test_abc", WebhookSecret: "whsec_abc"}, true},
		{"live key", stripe.Config{SecretKey: "sk_live_abc"}, true},
		{"restricted key", stripe.Config{SecretKey: "rk_live_abc"}, true},
		{"no key", stripe.Config{}, false},
		{"publishable key", stripe.Config{SecretKey: "pk_live_abc"}, false},
		{"webhook secret as key", stripe.Config{SecretKey: "whsec_abc"}, false},
		{"prefix only", stripe.Config{SecretKey: "sk_test_"}, false},
		{"secret key as webhook secret", stripe.Config{SecretKey: "sk_test_abc", WebhookSecret: "sk_test_abc"}, false},
		{"bad API URL", stripe.Config{SecretKey: "sk_test_abc", APIURL: "api.stripe.com"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := stripe.New(c.cfg)
			if c.ok != (err == nil) {
				t.Fatalf("New = %v, want ok %v", err, c.ok)
			}
			if err != nil && strings.Contains(err.Error(), "abc") {
				t.Errorf("error %q echoes the key", err)
			}
			if err == nil && p.Name() != "stripe" {
				t.Errorf("Name = %q, want stripe", p.Name())
			}
		})
	}
}

// TestLoggerHidesSecrets: stripe-go logs whole response bodies at debug
// level, client secrets included; the Provider drops those lines.
func TestLoggerHidesSecrets(t *testing.T) {
	var (
		mu  sync.Mutex
		buf bytes.Buffer
	)
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, _ := fakeAPI(t, stripe.Config{Logger: logger},
		reply{200, paymentIntentJSON("requires_payment_method")})
	if _, err := p.Charge(context.Background(), donation); err != nil {
		t.Fatalf("Charge: %v", err)
	}
	p2, _ := fakeAPI(t, stripe.Config{Logger: logger}, reply{500, apiErrorJSON})
	if _, err := p2.Charge(context.Background(), donation); err == nil {
		t.Fatal("Charge succeeded against a 500")
	}

	mu.Lock()
	defer mu.Unlock()
	out := buf.String()
	if strings.Contains(out, "secret_xyz") || strings.Contains(out, testKey) {
		t.Errorf("log holds a secret:\n%s", out)
	}
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "status 500") {
		t.Errorf("log lacks the 500 as an error:\n%s", out)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
