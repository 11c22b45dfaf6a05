// Package stripetest is a local stand-in for Stripe, for tests that cannot
// reach it: a loopback server that plays the parts of Stripe's API that
// GiveLive's server and Stripe.js use, keeping state as Stripe does
// (distinct PaymentIntents, idempotency keys, 3-D Secure challenges, bank
// redirects, refunds, connected accounts), posting signed webhooks to the
// server under test, and serving a stand-in of Stripe.js for browser
// tests: the Payment Element in a frame of its own origin, the 3-D Secure
// challenge and a bank's redirect page.
//
// Stripe's own stripe-mock checks the shape of requests against Stripe's
// description of its API, but keeps no state: every PaymentIntent comes
// back with one fixed id. Tests that need a payment to move through its
// states use this package; the provider's tests also run against
// stripe-mock.
//
// Entry points: Start, then Server.URL for GIVELIVE_STRIPE_API_URL,
// Server.JSURL for GIVELIVE_STRIPE_JS_URL and Server.SetWebhookURL once the
// server under test listens. Test cards follow Stripe's:
//
//	4242 4242 4242 4242  succeeds
//	4000 0027 6000 3184  asks for 3-D Secure authentication
//	4000 0000 0000 0002  is declined (card_declined)
//	4000 0000 0000 9995  is declined (insufficient_funds)
//
// All methods are safe for concurrent use. Close (also run by the test's
// cleanup) stops the server and the webhook sender.
package stripetest

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"
)

//go:embed assets
var assets embed.FS

// Config configures Start.
type Config struct {
	// SecretKey is the key GiveLive's server must present (sk_test_…).
	SecretKey string
	// PublishableKey is the key Stripe.js must present (pk_test_…).
	PublishableKey string
	// WebhookSecret signs webhooks (whsec_…).
	WebhookSecret string
	// WebhookURL receives the events; it can also be set later.
	WebhookURL string
}

// PaymentIntent is the stand-in's record of one PaymentIntent.
type PaymentIntent struct {
	ID, ClientSecret string
	Amount           int64
	Currency         string
	Status           string // as Stripe's: requires_payment_method, requires_action, succeeded, canceled
	Description      string
	Metadata         map[string]string
	Destination      string // transfer_data[destination]: a destination charge
	NextAction       string // "use_stripe_sdk" (3-D Secure) or "redirect_to_url" while requires_action
	ReturnURL        string
	LastError        *apiError
	Refunded         bool
	Created          time.Time
	idemKey, params  string
}

// Event is a webhook event the stand-in sent or will send.
type Event struct {
	ID, Type  string
	Payload   []byte
	Delivered int // how many times the endpoint answered 2xx
}

// Server is the stand-in. See the package documentation.
type Server struct {
	cfg Config
	srv *httptest.Server

	mu       sync.Mutex
	intents  map[string]*PaymentIntent
	byKey    map[string]string // idempotency key → PaymentIntent id
	accounts map[string]bool   // connected account → transfers active
	events   []*Event
	hold     bool
	webhook  string

	queue  chan *Event
	wake   chan struct{}
	done   chan struct{}
	ctx    context.Context // cancelled by Close: stops a delivery under way
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start starts a stand-in on a loopback port; the test's cleanup closes it.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.SecretKey == "" || cfg.PublishableKey == "" || cfg.WebhookSecret == "" {
		t.Fatal("stripetest: SecretKey, PublishableKey and WebhookSecret are required")
	}
	s := &Server{
		cfg:      cfg,
		intents:  map[string]*PaymentIntent{},
		byKey:    map[string]string{},
		accounts: map[string]bool{},
		webhook:  cfg.WebhookURL,
		queue:    make(chan *Event, 1024),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.srv = httptest.NewServer(s.routes())
	s.wg.Go(s.send)
	t.Cleanup(s.Close)
	return s
}

// URL is the base URL of the stand-in's API (GIVELIVE_STRIPE_API_URL).
func (s *Server) URL() string { return s.srv.URL }

// JSURL is where the stand-in serves Stripe.js (GIVELIVE_STRIPE_JS_URL).
func (s *Server) JSURL() string { return s.srv.URL + "/v3/" }

// SetWebhookURL sets where events are posted.
func (s *Server) SetWebhookURL(u string) {
	s.mu.Lock()
	s.webhook = u
	s.mu.Unlock()
	s.kick()
}

// AddAccount makes a connected account known; transfersActive says
// whether it can receive destination charges yet.
func (s *Server) AddAccount(id string, transfersActive bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[id] = transfersActive
}

// HoldWebhooks keeps events queued until ReleaseWebhooks, as when Stripe's
// delivery is late.
func (s *Server) HoldWebhooks() {
	s.mu.Lock()
	s.hold = true
	s.mu.Unlock()
}

// ReleaseWebhooks sends the events held back, in order.
func (s *Server) ReleaseWebhooks() {
	s.mu.Lock()
	s.hold = false
	s.mu.Unlock()
	s.kick()
}

// Redeliver sends every event of type typ again, as Stripe does when it
// is unsure an endpoint got one.
func (s *Server) Redeliver(typ string) int {
	s.mu.Lock()
	var again []*Event
	for _, e := range s.events {
		if e.Type == typ {
			again = append(again, e)
		}
	}
	s.mu.Unlock()
	for _, e := range again {
		s.queue <- e
	}
	s.kick()
	return len(again)
}

// Events returns copies of the events made so far.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Event, len(s.events))
	for i, e := range s.events {
		out[i] = *e
	}
	return out
}

// PaymentIntents returns copies of every PaymentIntent, oldest first.
func (s *Server) PaymentIntents() []PaymentIntent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PaymentIntent, 0, len(s.intents))
	for _, pi := range s.intents {
		out = append(out, *pi)
	}
	slices.SortFunc(out, func(a, b PaymentIntent) int { return a.Created.Compare(b.Created) })
	return out
}

// Close stops the server and the webhook sender.
func (s *Server) Close() {
	select {
	case <-s.done:
		return
	default:
	}
	close(s.done)
	s.cancel()
	s.wg.Wait()
	s.srv.Close()
}

func (s *Server) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/payment_intents", s.secret(s.createIntent))
	mux.HandleFunc("GET /v1/payment_intents/{id}", s.retrieveIntent)
	mux.HandleFunc("POST /v1/payment_intents/{id}/confirm", s.confirmIntent)
	mux.HandleFunc("POST /v1/refunds", s.secret(s.refund))
	mux.HandleFunc("GET /v1/accounts/{id}", s.secret(s.account))
	mux.HandleFunc("POST /3ds/{id}/{outcome}", s.finishAction)
	mux.HandleFunc("POST /bank/{id}/{outcome}", s.finishAction)
	mux.HandleFunc("GET /v3/", s.asset("assets/stripe.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /elements/payment", s.asset("assets/payment.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /3ds/{id}", s.asset("assets/3ds.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /bank/{id}", s.asset("assets/bank.html", "text/html; charset=utf-8"))
	return mux
}

func (s *Server) asset(name, ctype string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := assets.ReadFile(name)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(b)
	}
}

// secret lets through requests with the secret key, as Stripe's API
// does for server-side calls.
func (s *Server) secret(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.SecretKey)) != 1 {
			writeError(w, http.StatusUnauthorized, apiError{Type: "invalid_request_error", Message: "Invalid API Key provided."})
			return
		}
		h(w, r)
	}
}

// apiError is Stripe's error object.
type apiError struct {
	Type        string `json:"type"`
	Code        string `json:"code,omitempty"`
	DeclineCode string `json:"decline_code,omitempty"`
	Message     string `json:"message"`
	Param       string `json:"param,omitempty"`
}

func writeError(w http.ResponseWriter, status int, e apiError) {
	writeJSON(w, status, map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_"+token(12))
	// Stripe.js calls the API from the page's origin.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func token(n int) string { return strings.ToLower(rand.Text())[:n] }

// createIntent is POST /v1/payment_intents.
func (s *Server) createIntent(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, 400, apiError{Type: "invalid_request_error", Message: "Invalid form body."})
		return
	}
	f := r.PostForm
	amount, err := strconv.ParseInt(f.Get("amount"), 10, 64)
	if err != nil || amount < 50 {
		writeError(w, 400, apiError{Type: "invalid_request_error", Code: "amount_too_small", Param: "amount",
			Message: "Amount must be at least 50 cents."})
		return
	}
	cur := f.Get("currency")
	if len(cur) != 3 || cur != strings.ToLower(cur) {
		writeError(w, 400, apiError{Type: "invalid_request_error", Param: "currency", Message: "Invalid currency: " + cur})
		return
	}
	dest := f.Get("transfer_data[destination]")
	s.mu.Lock()
	defer s.mu.Unlock()
	if dest != "" {
		if _, ok := s.accounts[dest]; !ok {
			writeError(w, 400, apiError{Type: "invalid_request_error", Code: "resource_missing", Param: "transfer_data[destination]",
				Message: "No such destination: '" + dest + "'"})
			return
		}
	}
	key := r.Header.Get("Idempotency-Key")
	params := canonical(f)
	if id, ok := s.byKey[key]; key != "" && ok {
		pi := s.intents[id]
		if pi.params != params {
			writeError(w, 400, apiError{Type: "idempotency_error",
				Message: "Keys for idempotent requests can only be used with the same parameters they were first used with."})
			return
		}
		w.Header().Set("Idempotent-Replayed", "true")
		writeJSON(w, 200, s.object(pi, true))
		return
	}
	id := "pi_" + token(24)
	pi := &PaymentIntent{
		ID: id, ClientSecret: id + "_secret_" + token(24), Amount: amount, Currency: cur,
		Status: "requires_payment_method", Description: f.Get("description"), Metadata: map[string]string{},
		Destination: dest, Created: time.Now(), idemKey: key, params: params,
	}
	for k, vs := range f {
		if name, ok := strings.CutPrefix(k, "metadata["); ok && strings.HasSuffix(name, "]") {
			pi.Metadata[strings.TrimSuffix(name, "]")] = vs[0]
		}
	}
	s.intents[id] = pi
	if key != "" {
		s.byKey[key] = id
	}
	writeJSON(w, 200, s.object(pi, true))
}

// canonical writes a form in a fixed order, to compare the parameters of
// two requests with one idempotency key.
func canonical(f url.Values) string { return f.Encode() }

// retrieveIntent is GET /v1/payment_intents/{id}: with the secret key, or
// with the publishable key and the client secret (Stripe.js).
func (s *Server) retrieveIntent(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, full, ok := s.authorized(w, r, r.URL.Query())
	if !ok {
		return
	}
	writeJSON(w, 200, s.object(pi, full))
}

// authorized finds the PaymentIntent of the request, for the secret key
// (full view) or the publishable key with its client secret (the public
// view Stripe.js gets). s.mu is held.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request, f url.Values) (*PaymentIntent, bool, bool) {
	pi := s.intents[r.PathValue("id")]
	if key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && key == s.cfg.SecretKey {
		if pi == nil {
			writeError(w, 404, apiError{Type: "invalid_request_error", Code: "resource_missing", Message: "No such payment_intent"})
			return nil, false, false
		}
		return pi, true, true
	}
	if f.Get("key") != s.cfg.PublishableKey {
		writeError(w, 401, apiError{Type: "invalid_request_error", Message: "Invalid API Key provided."})
		return nil, false, false
	}
	if pi == nil || subtle.ConstantTimeCompare([]byte(f.Get("client_secret")), []byte(pi.ClientSecret)) != 1 {
		writeError(w, 404, apiError{Type: "invalid_request_error", Code: "resource_missing",
			Message: "No such payment_intent, or the client secret does not match."})
		return nil, false, false
	}
	return pi, false, true
}

// Test card numbers and what they do.
const (
	cardSucceeds     = "4242424242424242"
	cardThreeDS      = "4000002760003184"
	cardDeclined     = "4000000000000002"
	cardInsufficient = "4000000000009995"
)

// confirmIntent is POST /v1/payment_intents/{id}/confirm, as Stripe.js
// sends it from the Payment Element with the publishable key.
func (s *Server) confirmIntent(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, 400, apiError{Type: "invalid_request_error", Message: "Invalid form body."})
		return
	}
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, _, ok := s.authorized(w, r, f)
	if !ok {
		return
	}
	if pi.Status != "requires_payment_method" && pi.Status != "requires_confirmation" {
		writeError(w, 400, apiError{Type: "invalid_request_error", Code: "payment_intent_unexpected_state",
			Message: "This PaymentIntent's status is " + pi.Status + ", so it cannot be confirmed."})
		return
	}
	// With a deferred intent, Stripe.js refuses to confirm a
	// PaymentIntent for another amount than the one elements show.
	if a := f.Get("expected_amount"); a != "" && (a != strconv.FormatInt(pi.Amount, 10) || f.Get("expected_currency") != pi.Currency) {
		writeError(w, 400, apiError{Type: "invalid_request_error", Code: "amount_mismatch",
			Message: fmt.Sprintf("The amount in the payment form (%s %s) does not match the PaymentIntent's (%d %s).",
				a, f.Get("expected_currency"), pi.Amount, pi.Currency)})
		return
	}
	ret := f.Get("return_url")
	if u, err := url.Parse(ret); err != nil || !u.IsAbs() {
		writeError(w, 400, apiError{Type: "invalid_request_error", Param: "return_url", Message: "return_url must be an absolute URL."})
		return
	}
	pi.ReturnURL = ret
	switch f.Get("payment_method_data[type]") {
	case "bank_redirect":
		pi.Status, pi.NextAction, pi.LastError = "requires_action", "redirect_to_url", nil
	case "card":
		switch number := f.Get("payment_method_data[card][number]"); number {
		case cardThreeDS:
			pi.Status, pi.NextAction, pi.LastError = "requires_action", "use_stripe_sdk", nil
		case cardDeclined, cardInsufficient:
			e := apiError{Type: "card_error", Code: "card_declined", DeclineCode: "generic_decline", Message: "Your card was declined."}
			if number == cardInsufficient {
				e.DeclineCode, e.Message = "insufficient_funds", "Your card has insufficient funds."
			}
			pi.LastError = &e
			s.emit("payment_intent.payment_failed", s.object(pi, true))
			writeJSON(w, 402, map[string]any{"error": map[string]any{
				"type": e.Type, "code": e.Code, "decline_code": e.DeclineCode, "message": e.Message,
				"payment_intent": s.object(pi, false)}})
			return
		default:
			pi.Status, pi.NextAction, pi.LastError = "succeeded", "", nil
			s.succeeded(pi)
		}
	default:
		writeError(w, 400, apiError{Type: "invalid_request_error", Param: "payment_method_data[type]", Message: "Unknown payment method type."})
		return
	}
	writeJSON(w, 200, s.object(pi, false))
}

// finishAction completes or fails a 3-D Secure challenge or a bank
// redirect: POST /3ds/{id}/{complete|fail}, POST /bank/{id}/{authorize|fail}.
func (s *Server) finishAction(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, 400, apiError{Type: "invalid_request_error", Message: "Invalid form body."})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pi := s.intents[r.PathValue("id")]
	if pi == nil || subtle.ConstantTimeCompare([]byte(r.PostForm.Get("client_secret")), []byte(pi.ClientSecret)) != 1 {
		writeError(w, 404, apiError{Type: "invalid_request_error", Code: "resource_missing", Message: "No such payment_intent."})
		return
	}
	if pi.Status != "requires_action" {
		writeError(w, 400, apiError{Type: "invalid_request_error", Code: "payment_intent_unexpected_state",
			Message: "This PaymentIntent does not wait for an action."})
		return
	}
	status := "succeeded"
	switch r.PathValue("outcome") {
	case "complete", "authorize":
		pi.Status, pi.NextAction = "succeeded", ""
		s.succeeded(pi)
	case "fail":
		status = "failed"
		pi.Status, pi.NextAction = "requires_payment_method", ""
		pi.LastError = &apiError{Type: "card_error", Code: "payment_intent_authentication_failure",
			Message: "We are unable to authenticate your payment method. Please choose a different payment method and try again."}
		s.emit("payment_intent.payment_failed", s.object(pi, true))
	default:
		writeError(w, 404, apiError{Type: "invalid_request_error", Message: "Unknown outcome."})
		return
	}
	ret, _ := url.Parse(pi.ReturnURL)
	q := ret.Query()
	q.Set("payment_intent", pi.ID)
	q.Set("payment_intent_client_secret", pi.ClientSecret)
	q.Set("redirect_status", status)
	ret.RawQuery = q.Encode()
	writeJSON(w, 200, map[string]any{"payment_intent": s.object(pi, false), "return_url": ret.String()})
}

// succeeded emits the events of a payment that went through. s.mu is held.
func (s *Server) succeeded(pi *PaymentIntent) {
	s.emit("payment_intent.succeeded", s.object(pi, true))
}

// refund is POST /v1/refunds.
func (s *Server) refund(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, 400, apiError{Type: "invalid_request_error", Message: "Invalid form body."})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pi := s.intents[r.PostForm.Get("payment_intent")]
	switch {
	case pi == nil:
		writeError(w, 400, apiError{Type: "invalid_request_error", Code: "resource_missing", Message: "No such payment_intent."})
		return
	case pi.Refunded:
		writeError(w, 400, apiError{Type: "invalid_request_error", Code: "charge_already_refunded",
			Message: "Charge has already been refunded."})
		return
	case pi.Status != "succeeded":
		writeError(w, 400, apiError{Type: "invalid_request_error", Message: "This PaymentIntent has no successful charge to refund."})
		return
	}
	pi.Refunded = true
	chargeID := "ch_" + strings.TrimPrefix(pi.ID, "pi_")
	s.emit("charge.refunded", map[string]any{
		"id": chargeID, "object": "charge", "amount": pi.Amount, "amount_refunded": pi.Amount,
		"currency": pi.Currency, "refunded": true, "payment_intent": pi.ID, "metadata": pi.Metadata,
	})
	writeJSON(w, 200, map[string]any{"id": "re_" + token(24), "object": "refund", "amount": pi.Amount,
		"currency": pi.Currency, "payment_intent": pi.ID, "charge": chargeID, "status": "succeeded"})
}

// account is GET /v1/accounts/{id}.
func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	active, ok := s.accounts[id]
	if !ok {
		writeError(w, 404, apiError{Type: "invalid_request_error", Code: "resource_missing", Message: "No such account: '" + id + "'"})
		return
	}
	transfers := "inactive"
	if active {
		transfers = "active"
	}
	writeJSON(w, 200, map[string]any{"id": id, "object": "account", "charges_enabled": active, "payouts_enabled": active,
		"capabilities": map[string]string{"card_payments": transfers, "transfers": transfers}})
}

// object is the PaymentIntent as Stripe's API writes it: in full for the
// secret key, the public part for Stripe.js.
func (s *Server) object(pi *PaymentIntent, full bool) map[string]any {
	o := map[string]any{
		"id": pi.ID, "object": "payment_intent", "amount": pi.Amount, "currency": pi.Currency,
		"status": pi.Status, "client_secret": pi.ClientSecret, "livemode": false,
		"created": pi.Created.Unix(), "payment_method_types": []string{"card"},
		"automatic_payment_methods": map[string]any{"enabled": true}, "next_action": nil, "last_payment_error": nil,
	}
	if pi.Status == "succeeded" {
		o["amount_received"] = pi.Amount
	} else {
		o["amount_received"] = 0
	}
	switch pi.NextAction {
	case "use_stripe_sdk":
		o["next_action"] = map[string]any{"type": "use_stripe_sdk", "use_stripe_sdk": map[string]any{"type": "three_d_secure_redirect"}}
	case "redirect_to_url":
		o["next_action"] = map[string]any{"type": "redirect_to_url", "redirect_to_url": map[string]any{
			"url": s.srv.URL + "/bank/" + pi.ID + "?client_secret=" + url.QueryEscape(pi.ClientSecret), "return_url": pi.ReturnURL}}
	}
	if pi.LastError != nil {
		o["last_payment_error"] = pi.LastError
	}
	if full {
		o["description"] = pi.Description
		o["metadata"] = pi.Metadata
		o["transfer_data"] = nil
		if pi.Destination != "" {
			o["transfer_data"] = map[string]any{"destination": pi.Destination}
		}
	}
	return o
}

// emit records an event and queues it for delivery. s.mu is held.
func (s *Server) emit(typ string, object any) {
	data, err := json.Marshal(object)
	if err != nil {
		panic(err) // maps of plain values always encode
	}
	id := "evt_" + token(24)
	payload := fmt.Appendf(nil, `{"id":%q,"object":"event","api_version":"2025-01-27.acacia","created":%d,`+
		`"livemode":false,"pending_webhooks":1,"type":%q,"data":{"object":%s}}`, id, time.Now().Unix(), typ, data)
	e := &Event{ID: id, Type: typ, Payload: payload}
	s.events = append(s.events, e)
	select {
	case s.queue <- e:
	default:
		panic("stripetest: more than 1024 webhooks waiting")
	}
	s.kick()
}

// send delivers queued events in order, each until the endpoint answers
// 2xx (as Stripe retries), while deliveries are not held.
func (s *Server) send() {
	client := &http.Client{Timeout: 10 * time.Second}
	var pending []*Event
	for {
		for drained := false; !drained; {
			select {
			case e := <-s.queue:
				pending = append(pending, e)
			default:
				drained = true
			}
		}
		s.mu.Lock()
		hold, target := s.hold, s.webhook
		s.mu.Unlock()
		for !hold && target != "" && len(pending) > 0 {
			if !s.deliver(client, target, pending[0]) {
				break
			}
			pending = pending[1:]
		}
		wait := time.Duration(0)
		if !hold && target != "" && len(pending) > 0 {
			wait = 100 * time.Millisecond // the endpoint failed: retry soon
		}
		var retry <-chan time.Time
		if wait > 0 {
			retry = time.After(wait)
		}
		select {
		case <-s.done:
			return
		case <-s.wake:
		case <-retry:
		}
	}
}

// deliver posts one event, signed as Stripe signs them.
func (s *Server) deliver(client *http.Client, target string, e *Event) bool {
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: e.Payload, Secret: s.cfg.WebhookSecret})
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, target, strings.NewReader(string(e.Payload)))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Stripe-Signature", signed.Header)
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	res, err := client.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		return false
	}
	s.mu.Lock()
	e.Delivered++
	s.mu.Unlock()
	return true
}
