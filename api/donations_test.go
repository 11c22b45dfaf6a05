package api_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/donation"
	"github.com/givelive/givelive/internal/moderation"
)

// donationOut is a donation receipt or record as a client decodes it.
type donationOut struct {
	ID            string  `json:"id"`
	FundraiserID  string  `json:"fundraiser_id"`
	Status        string  `json:"status"`
	Name          string  `json:"name"`
	Amount        int64   `json:"amount"`
	Currency      string  `json:"currency"`
	Message       string  `json:"message"`
	Anonymous     bool    `json:"anonymous"`
	FailureReason string  `json:"failure_reason"`
	SettledAt     *string `json:"settled_at"`
	RefundedAt    *string `json:"refunded_at"`
	Payment       struct {
		Provider     string `json:"provider"`
		ClientSecret string `json:"client_secret"`
	} `json:"payment"`
}

type snapshotOut struct {
	Status string `json:"status"`
	Totals struct {
		Raised    int64  `json:"raised"`
		Goal      int64  `json:"goal"`
		Donors    int64  `json:"donors"`
		Donations int64  `json:"donations"`
		Currency  string `json:"currency"`
	} `json:"totals"`
	RecentDonations []struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Amount  int64  `json:"amount"`
		Message string `json:"message"`
	} `json:"recent_donations"`
	TopDonors []struct {
		Name      string `json:"name"`
		Amount    int64  `json:"amount"`
		Donations int64  `json:"donations"`
	} `json:"top_donors"`
	Milestones []int `json:"milestones"`
	Chat       struct {
		SlowModeSeconds int `json:"slow_mode_seconds"`
	} `json:"chat"`
	Thanks string `json:"thanks"`
}

// donationEnv is an env with a verified nonprofit, a broadcaster and one
// of its fundraisers.
type donationEnv struct {
	*env
	fid         string
	owner       string // broadcaster id
	ownerToken  string
	otherToken  string // another broadcaster
	nonprofitID string
}

func newDonationEnv(t *testing.T, money ...func(*donation.Config)) *donationEnv {
	t.Helper()
	var m func(*donation.Config)
	if len(money) > 0 {
		m = money[0]
	}
	e := newEnvWithDonations(t, m)
	np := e.nonprofit(t, true)
	owner, token := e.broadcaster(t, "Streamer")
	_, other := e.broadcaster(t, "Someone else")
	f := e.fundraiser(t, token, np)
	return &donationEnv{env: e, fid: f.ID, owner: owner, ownerToken: token, otherToken: other, nonprofitID: np}
}

func (e *donationEnv) donate(t testing.TB, key, token string, body any) response {
	t.Helper()
	headers := []string{}
	if key != "" {
		headers = append(headers, "Idempotency-Key", key)
	}
	return e.do(t, "POST", "/api/v1/fundraisers/"+e.fid+"/donations", token, body, headers...)
}

func (e *donationEnv) give(t testing.TB, key, token string, body map[string]any) donationOut {
	t.Helper()
	if _, ok := body["currency"]; !ok {
		body["currency"] = "USD"
	}
	var d donationOut
	e.donate(t, key, token, body).want(t, 201).json(t, &d)
	return d
}

func (e *donationEnv) snapshot(t testing.TB) snapshotOut {
	t.Helper()
	var s snapshotOut
	e.do(t, "GET", "/api/v1/fundraisers/"+e.fid, "", nil).want(t, 200).json(t, &s)
	return s
}

// outbox returns the events waiting in the outbox (no dispatcher runs in
// these tests), as type and decoded data.
type outboxEvent struct {
	Room, Type string
	Data       map[string]any
}

func (e *donationEnv) outbox(t testing.TB) []outboxEvent {
	t.Helper()
	evs, err := e.store.PendingEvents(t.Context(), 10_000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]outboxEvent, len(evs))
	for i, ev := range evs {
		out[i] = outboxEvent{Room: ev.Room, Type: ev.Type}
		if err := json.Unmarshal(ev.Data, &out[i].Data); err != nil {
			t.Fatalf("outbox event %d: %v: %s", ev.Seq, err, ev.Data)
		}
	}
	return out
}

// ofType keeps the events of one type.
func ofType(evs []outboxEvent, typ string) []outboxEvent {
	var out []outboxEvent
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func TestDonationSucceedsAndIsAnnouncedWithTheNewTotal(t *testing.T) {
	e := newDonationEnv(t)
	viewer := e.viewer(t, "Ada")
	d := e.give(t, "k1", viewer, map[string]any{"amount": 2500, "message": "Go go go!"})
	if d.Status != "succeeded" || d.Amount != 2500 || d.Currency != "USD" || d.Name != "Ada" ||
		d.Message != "Go go go!" || d.Payment.Provider != "sandbox" || d.SettledAt == nil || d.FundraiserID != e.fid {
		t.Fatalf("receipt = %+v", d)
	}
	e.give(t, "k2", "", map[string]any{"amount": 1000, "name": "Grace"})

	s := e.snapshot(t)
	if s.Totals.Raised != 3500 || s.Totals.Donors != 2 || s.Totals.Donations != 2 || s.Totals.Goal != 500000 || s.Totals.Currency != "USD" {
		t.Fatalf("totals = %+v", s.Totals)
	}
	if len(s.RecentDonations) != 2 || s.RecentDonations[0].Name != "Grace" || s.RecentDonations[1].ID != d.ID {
		t.Fatalf("recent donations = %+v, want Grace's then Ada's", s.RecentDonations)
	}
	if len(s.TopDonors) != 2 || s.TopDonors[0].Name != "Ada" || s.TopDonors[0].Amount != 2500 {
		t.Fatalf("top donors = %+v", s.TopDonors)
	}

	dons := ofType(e.outbox(t), wire.TypeDonation)
	if len(dons) != 2 {
		t.Fatalf("donation events = %d, want 2", len(dons))
	}
	want := map[string]any{
		"id": d.ID, "name": "Ada", "amount": 2500.0, "currency": "USD", "message": "Go go go!",
		"total": map[string]any{"raised": 2500.0, "goal": 500000.0, "donors": 1.0, "currency": "USD"},
	}
	if diff := cmp.Diff(want, dons[0].Data); diff != "" || dons[0].Room != e.fid {
		t.Fatalf("first donation event (-want +got):\n%s", diff)
	}
	if total := dons[1].Data["total"].(map[string]any); total["raised"] != 3500.0 || total["donors"] != 2.0 {
		t.Fatalf("second event's total = %v", total)
	}
}

func TestDonationRetriesNeverCountTwice(t *testing.T) {
	e := newDonationEnv(t)
	body := map[string]any{"amount": 700, "currency": "USD", "name": "Ada", "message": "hi"}
	var first, again donationOut
	e.donate(t, "same-key", "", body).want(t, 201).json(t, &first)
	r := e.donate(t, "same-key", "", body).want(t, 200)
	r.json(t, &again)
	if again.ID != first.ID || r.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry = %+v (replayed header %q), want donation %s", again, r.header.Get("Idempotent-Replayed"), first.ID)
	}
	p := e.donate(t, "same-key", "", map[string]any{"amount": 701, "currency": "USD", "name": "Ada", "message": "hi"}).problem(t, 409)
	if !strings.Contains(p.Detail, "Idempotency-Key") {
		t.Fatalf("409 detail %q does not name the key", p.Detail)
	}
	if s := e.snapshot(t); s.Totals.Raised != 700 || s.Totals.Donations != 1 {
		t.Fatalf("totals after retries = %+v, want one donation of 700", s.Totals)
	}

	// Concurrent retries of one key: one donation, every answer names it.
	var wg sync.WaitGroup
	ids := make([]string, 16)
	codes := make([]int, 16)
	for i := range ids {
		wg.Go(func() {
			r := e.donate(t, "burst", "", map[string]any{"amount": 300, "currency": "USD"})
			codes[i] = r.status
			var d donationOut
			if r.status < 300 {
				r.json(t, &d)
			}
			ids[i] = d.ID
		})
	}
	wg.Wait()
	created := 0
	for i := range ids {
		if ids[i] != ids[0] || ids[i] == "" {
			t.Fatalf("concurrent retries got different donations: %v (codes %v)", ids, codes)
		}
		if codes[i] == 201 {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("%d of 16 concurrent retries answered 201, want exactly 1 (codes %v)", created, codes)
	}
	if s := e.snapshot(t); s.Totals.Raised != 1000 || s.Totals.Donations != 2 {
		t.Fatalf("totals = %+v, want 700+300 in 2 donations", s.Totals)
	}
	if n := len(ofType(e.outbox(t), wire.TypeDonation)); n != 2 {
		t.Fatalf("donation events = %d, want 2", n)
	}
}

func TestMalformedDonationsAreRefusedAndRecordNothing(t *testing.T) {
	e := newDonationEnv(t)
	ended := e.fundraiser(t, e.ownerToken, e.nonprofitID)
	e.do(t, "POST", "/api/v1/fundraisers/"+ended.ID+"/end", e.ownerToken, nil).want(t, 200)
	ok := func() map[string]any { return map[string]any{"amount": 500, "currency": "USD", "name": "Ada"} }
	with := func(k string, v any) map[string]any { b := ok(); b[k] = v; return b }
	tests := []struct {
		name   string
		path   string // default: the open fundraiser
		key    string
		token  string
		body   any
		status int
		field  string // the field the problem names, if any
	}{
		{name: "no idempotency key", body: ok(), status: 400, field: "Idempotency-Key"},
		{name: "key with spaces", key: "a b", body: ok(), status: 400, field: "Idempotency-Key"},
		{name: "key too long", key: strings.Repeat("k", 129), body: ok(), status: 400, field: "Idempotency-Key"},
		{name: "fractional amount", body: with("amount", 5.5), status: 400, field: "amount"},
		{name: "amount as a string", body: with("amount", "500"), status: 400, field: "amount"},
		{name: "amount missing", body: map[string]any{"currency": "USD"}, status: 400, field: "amount"},
		{name: "amount below the minimum", body: with("amount", 99), status: 400, field: "amount"},
		{name: "negative amount", body: with("amount", -500), status: 400, field: "amount"},
		{name: "amount above the maximum", body: with("amount", 1_000_001), status: 400, field: "amount"},
		{name: "amount beyond int64", body: `{"amount": 99999999999999999999, "currency": "USD"}`, status: 400, field: "amount"},
		{name: "another supported currency", body: with("currency", "EUR"), status: 422, field: "currency"},
		{name: "unknown currency", body: with("currency", "XXX"), status: 400, field: "currency"},
		{name: "name too long", body: with("name", strings.Repeat("é", 65)), status: 400, field: "name"},
		{name: "message too long", body: with("message", strings.Repeat("m", 501)), status: 400, field: "message"},
		{name: "invalid UTF-8", body: "{\"amount\": 500, \"currency\": \"USD\", \"name\": \"A\xff\xfe\"}", status: 400, field: "body"},
		{name: "unknown member", body: with("amout", 5), status: 400, field: "amout"},
		{name: "not JSON", body: "amount=500", status: 400, field: "body"},
		{name: "trailing bytes", body: `{"amount": 500, "currency": "USD"} x`, status: 400, field: "body"},
		{name: "two objects", body: `{"amount": 500, "currency": "USD"}{"amount": 500, "currency": "USD"}`, status: 400, field: "body"},
		{name: "two objects on two lines", body: "{\"amount\": 500, \"currency\": \"USD\"}\n{\"amount\": 900, \"currency\": \"USD\"}\n", status: 400, field: "body"},
		{name: "duplicate member", body: `{"amount": 500, "currency": "USD", "amount": 900}`, status: 400, field: "amount"},
		{name: "duplicate member in other spelling", body: `{"amount": 500, "currency": "USD", "Amount": 900}`, status: 400, field: "Amount"},
		{name: "amount with an exponent", body: `{"amount": 5e2, "currency": "USD"}`, status: 400, field: "amount"},
		{name: "amount with a fraction of zero", body: `{"amount": 500.0, "currency": "USD"}`, status: 400, field: "amount"},
		{name: "anonymous not a boolean", body: with("anonymous", "yes"), status: 400, field: "anonymous"},
		{name: "invalid viewer token", token: "not-a-token", body: ok(), status: 401},
		{name: "unknown fundraiser", path: "/api/v1/fundraisers/f_00000000000000000000000000000000/donations", body: ok(), status: 404},
		{name: "ended fundraiser", path: "/api/v1/fundraisers/" + ended.ID + "/donations", body: ok(), status: 409},
	}
	before := e.store.writeCount()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if path == "" {
				path = "/api/v1/fundraisers/" + e.fid + "/donations"
			}
			key := tt.key
			if key == "" && tt.name != "no idempotency key" {
				key = fmt.Sprintf("key-%d", i)
			}
			var headers []string
			if key != "" {
				headers = []string{"Idempotency-Key", key}
			}
			p := e.do(t, "POST", path, tt.token, tt.body, headers...).problem(t, tt.status)
			for _, jargon := range []string{"nmarshal", "int64", "expected=", "minor units", "Idempotency-Key.", "JSON value"} {
				if strings.Contains(p.Detail, jargon) {
					t.Errorf("detail %q says %q: not plain words", p.Detail, jargon)
				}
			}
			if tt.field != "" {
				found := false
				for _, f := range p.Errors {
					found = found || f.Field == tt.field
				}
				if !found {
					t.Fatalf("problem does not name %s: %+v", tt.field, p)
				}
			}
		})
	}
	if w := e.store.writeCount(); w != before {
		t.Fatalf("refused donations wrote to the ledger %d times", w-before)
	}
	if s := e.snapshot(t); s.Totals.Raised != 0 || s.Totals.Donations != 0 {
		t.Fatalf("totals after refusals = %+v", s.Totals)
	}
	if evs := ofType(e.outbox(t), wire.TypeDonation); len(evs) != 0 {
		t.Fatalf("refusals left donation events: %+v", evs)
	}
}

func TestDonationTextIsCleaned(t *testing.T) {
	e := newDonationEnv(t)
	d := e.give(t, "k", "", map[string]any{"amount": 500, "name": "  Ada\u202e\u0007 L. ", "message": "line one\nline\ttwo\u200b!"})
	if d.Name != "Ada L." || d.Message != "line one line two!" {
		t.Fatalf("cleaned name %q, message %q", d.Name, d.Message)
	}
}

func TestAnonymousDonorsNameIsNeverShown(t *testing.T) {
	e := newDonationEnv(t)
	viewer := e.viewer(t, "Secret Sam")
	d := e.give(t, "k", viewer, map[string]any{"amount": 4200, "name": "Samuel Secret", "anonymous": true, "message": "shh"})
	if d.Name != "Anonymous" {
		t.Fatalf("receipt name %q", d.Name)
	}
	bodies := []response{
		e.do(t, "GET", "/api/v1/fundraisers/"+e.fid, "", nil).want(t, 200),
		e.do(t, "GET", "/api/v1/fundraisers/"+e.fid+"/donations", e.ownerToken, nil).want(t, 200),
		e.do(t, "GET", "/api/v1/fundraisers/"+e.fid+"/donations/"+d.ID, "", nil).want(t, 200),
		e.do(t, "GET", "/api/v1/fundraisers/"+e.fid+"/report.csv", e.ownerToken, nil).want(t, 200),
	}
	for _, r := range bodies {
		if strings.Contains(string(r.body), "Samuel") || strings.Contains(string(r.body), "Secret Sam") {
			t.Fatalf("an anonymous donor's name leaked: %s", r.body)
		}
	}
	for _, ev := range e.outbox(t) {
		if raw, _ := json.Marshal(ev.Data); strings.Contains(string(raw), "Samuel") || strings.Contains(string(raw), "Secret Sam") {
			t.Fatalf("an anonymous donor's name leaked into an event: %s", raw)
		}
	}
	if s := e.snapshot(t); len(s.TopDonors) != 1 || s.TopDonors[0].Name != "Anonymous" {
		t.Fatalf("top donors = %+v", s.TopDonors)
	}
}

func TestSandboxTestAmounts(t *testing.T) {
	e := newDonationEnv(t)
	declined := e.give(t, "declined", "", map[string]any{"amount": 9902})
	if declined.Status != "failed" || declined.FailureReason == "" {
		t.Fatalf("99.02 = %+v, want failed with a reason", declined)
	}
	pending := e.give(t, "pending", "", map[string]any{"amount": 9903})
	if pending.Status != "pending" || pending.SettledAt != nil {
		t.Fatalf("99.03 = %+v, want pending", pending)
	}
	for range 2 { // the retry asks the provider again, and records nothing new
		e.donate(t, "down", "", map[string]any{"amount": 9904, "currency": "USD"}).problem(t, 502)
	}
	var page struct{ Items []donationOut }
	e.do(t, "GET", "/api/v1/fundraisers/"+e.fid+"/donations", e.ownerToken, nil).want(t, 200).json(t, &page)
	if len(page.Items) != 3 {
		t.Fatalf("ledger has %d donations, want 3 (declined, pending, unreachable)", len(page.Items))
	}
	if s := e.snapshot(t); s.Totals.Raised != 0 || s.Totals.Donations != 0 || len(s.RecentDonations) != 0 {
		t.Fatalf("uncounted donations moved the totals: %+v", s)
	}
	if n := len(ofType(e.outbox(t), wire.TypeDonation)); n != 0 {
		t.Fatalf("%d donation events for donations that did not succeed", n)
	}
}

func TestListDonationsPagesThroughEveryDonation(t *testing.T) {
	e := newDonationEnv(t)
	want := map[string]bool{}
	for i := range 7 {
		want[e.give(t, fmt.Sprint(i), "", map[string]any{"amount": 100 + i}).ID] = true
	}
	e.give(t, "failed", "", map[string]any{"amount": 9902})
	seen := map[string]bool{}
	before, pages := "", 0
	for {
		path := "/api/v1/fundraisers/" + e.fid + "/donations?status=succeeded&limit=3"
		if before != "" {
			path += "&before=" + before
		}
		var page struct {
			Items []donationOut
			Next  *string
		}
		e.do(t, "GET", path, e.ownerToken, nil).want(t, 200).json(t, &page)
		pages++
		for _, d := range page.Items {
			if seen[d.ID] || !want[d.ID] {
				t.Fatalf("page %d: donation %s repeated or unexpected", pages, d.ID)
			}
			seen[d.ID] = true
		}
		if page.Next == nil {
			break
		}
		before = *page.Next
	}
	if len(seen) != 7 || pages != 3 {
		t.Fatalf("saw %d donations in %d pages, want 7 in 3", len(seen), pages)
	}
	// Only the owner and admins may list.
	e.do(t, "GET", "/api/v1/fundraisers/"+e.fid+"/donations", e.otherToken, nil).problem(t, 403)
	e.do(t, "GET", "/api/v1/fundraisers/"+e.fid+"/donations", e.viewer(t, "V"), nil).problem(t, 403)
	e.do(t, "GET", "/api/v1/fundraisers/"+e.fid+"/donations", "", nil).problem(t, 401)
	e.do(t, "GET", "/api/v1/fundraisers/"+e.fid+"/donations", adminToken, nil).want(t, 200)
}

func TestRefundReversesTotalsAndIsAnnounced(t *testing.T) {
	e := newDonationEnv(t)
	d := e.give(t, "k", "", map[string]any{"amount": 5000})
	e.give(t, "k2", "", map[string]any{"amount": 1000})
	path := "/api/v1/fundraisers/" + e.fid + "/donations/" + d.ID + "/refund"
	e.do(t, "POST", path, e.ownerToken, nil).problem(t, 403) // admins only
	var r donationOut
	e.do(t, "POST", path, adminToken, nil).want(t, 200).json(t, &r)
	if r.Status != "refunded" || r.RefundedAt == nil {
		t.Fatalf("refund = %+v", r)
	}
	e.do(t, "POST", path, adminToken, nil).want(t, 200) // twice is fine
	if s := e.snapshot(t); s.Totals.Raised != 1000 || s.Totals.Donors != 1 || s.Totals.Donations != 1 {
		t.Fatalf("totals after refund = %+v", s.Totals)
	}
	refunds := ofType(e.outbox(t), wire.TypeDonationRefunded)
	if len(refunds) != 1 || refunds[0].Data["id"] != d.ID || refunds[0].Data["total"].(map[string]any)["raised"] != 1000.0 {
		t.Fatalf("refund events = %+v", refunds)
	}
	failed := e.give(t, "f", "", map[string]any{"amount": 9902})
	e.do(t, "POST", "/api/v1/fundraisers/"+e.fid+"/donations/"+failed.ID+"/refund", adminToken, nil).problem(t, 409)
	other := e.fundraiser(t, e.ownerToken, e.nonprofitID)
	e.do(t, "POST", "/api/v1/fundraisers/"+other.ID+"/donations/"+d.ID+"/refund", adminToken, nil).problem(t, 404)
}

func TestOwnerActionsAreAnnouncedThroughTheOutbox(t *testing.T) {
	e := newDonationEnv(t)
	d := e.give(t, "k", "", map[string]any{"amount": 2000, "name": "Ada", "message": "for the water"})
	base := "/api/v1/fundraisers/" + e.fid

	var so struct{ DonationID, Text string }
	e.do(t, "POST", base+"/shoutouts", e.ownerToken, map[string]any{"donation_id": d.ID, "text": "Thank you Ada!"}).want(t, 201).json(t, &so)
	e.do(t, "POST", base+"/shoutouts", e.ownerToken, map[string]any{"donation_id": "d_nope", "text": "x"}).problem(t, 422)
	e.do(t, "POST", base+"/shoutouts", e.otherToken, map[string]any{"donation_id": d.ID, "text": "x"}).problem(t, 403)

	var hidden donationOut
	e.do(t, "POST", base+"/donations/"+d.ID+"/hide", e.ownerToken, nil).want(t, 200).json(t, &hidden)
	if hidden.Message != "" {
		t.Fatalf("hidden message still shown: %q", hidden.Message)
	}
	if s := e.snapshot(t); s.RecentDonations[0].Message != "" {
		t.Fatalf("snapshot still shows the hidden message")
	}
	var listed struct {
		Items []map[string]any `json:"items"`
	}
	e.do(t, "GET", base+"/donations", e.ownerToken, nil).want(t, 200).json(t, &listed)
	if listed.Items[0]["message_hidden"] != true {
		t.Fatalf("the owner's list does not say the message is hidden: %v", listed.Items[0])
	}
	// Shown again, then hidden once more.
	var shown donationOut
	e.do(t, "POST", base+"/donations/"+d.ID+"/unhide", e.otherToken, nil).problem(t, 403)
	e.do(t, "POST", base+"/donations/"+d.ID+"/unhide", e.ownerToken, nil).want(t, 200).json(t, &shown)
	if shown.Message != "for the water" || e.snapshot(t).RecentDonations[0].Message != "for the water" {
		t.Fatalf("the message shown again: %q", shown.Message)
	}
	e.do(t, "POST", base+"/donations/"+d.ID+"/hide", e.ownerToken, nil).want(t, 200)

	e.do(t, "DELETE", base+"/chat/c_123", e.ownerToken, nil).want(t, 204)
	e.do(t, "PUT", base+"/bans/u_troll", e.ownerToken, nil).want(t, 204)
	e.do(t, "PUT", base+"/bans/"+e.owner, e.ownerToken, nil).problem(t, 422)
	var slow struct{ Seconds int }
	e.do(t, "PUT", base+"/slow-mode", e.ownerToken, map[string]any{"seconds": 30}).want(t, 200).json(t, &slow)
	if slow.Seconds != 30 || e.snapshot(t).Chat.SlowModeSeconds != 30 {
		t.Fatalf("slow mode = %d", slow.Seconds)
	}
	e.do(t, "PUT", base+"/timeouts/u_loud", e.ownerToken, map[string]any{"duration_seconds": 600}).want(t, 204)
	e.do(t, "PUT", base+"/timeouts/u_loud", e.ownerToken, map[string]any{"duration_seconds": 0}).problem(t, 400)
	e.do(t, "PUT", base+"/timeouts/u_loud", e.otherToken, map[string]any{"duration_seconds": 60}).problem(t, 403)
	var bans struct {
		Items []struct {
			UserID    string     `json:"user_id"`
			ExpiresAt *time.Time `json:"expires_at"`
		}
	}
	e.do(t, "GET", base+"/bans", e.ownerToken, nil).want(t, 200).json(t, &bans)
	if len(bans.Items) != 2 || bans.Items[0].UserID != "u_loud" || bans.Items[0].ExpiresAt == nil ||
		bans.Items[0].ExpiresAt.Before(time.Now().Add(9*time.Minute)) || bans.Items[1].ExpiresAt != nil {
		t.Fatalf("bans = %+v, want the timeout then the ban", bans)
	}
	e.do(t, "GET", base+"/bans", e.otherToken, nil).problem(t, 403)
	e.do(t, "DELETE", base+"/bans/u_loud", e.ownerToken, nil).want(t, 204)
	var modes map[string]any
	e.do(t, "PUT", base+"/chat-modes", e.ownerToken, map[string]any{"donors_only": true, "new_chatter_wait_seconds": 300}).want(t, 200).json(t, &modes)
	if modes["donors_only"] != true || modes["new_chatter_wait_seconds"] != 300.0 || modes["slow_mode_seconds"] != 30.0 {
		t.Fatalf("chat modes = %v", modes)
	}
	e.do(t, "PUT", base+"/chat-modes", e.ownerToken, map[string]any{"donors_only": true}).problem(t, 400)
	var thanks struct{ Text string }
	e.do(t, "PUT", base+"/thanks", e.ownerToken, map[string]any{"text": "Thank you\u0007 all!"}).want(t, 200).json(t, &thanks)
	if thanks.Text != "Thank you all!" || e.snapshot(t).Thanks != "Thank you all!" {
		t.Fatalf("thanks = %q", thanks.Text)
	}
	e.do(t, "PUT", base+"/goal", e.ownerToken, map[string]any{"amount": 400000, "currency": "USD"}).problem(t, 409)
	e.do(t, "PUT", base+"/goal", e.ownerToken, map[string]any{"amount": 900000, "currency": "EUR"}).problem(t, 409)
	e.do(t, "PUT", base+"/goal", e.ownerToken, map[string]any{"amount": 900000, "currency": "USD"}).want(t, 200)
	e.do(t, "POST", base+"/end", e.ownerToken, nil).want(t, 200)

	var got []string
	for _, ev := range e.outbox(t) {
		raw, _ := json.Marshal(ev.Data)
		got = append(got, ev.Type+" "+string(raw))
	}
	want := []string{
		`donation {"amount":2000,"currency":"USD","id":"` + d.ID + `","message":"for the water","name":"Ada","total":{"currency":"USD","donors":1,"goal":500000,"raised":2000}}`,
		`shoutout {"donation_id":"` + d.ID + `","text":"Thank you Ada!"}`,
		`donation.hidden {"id":"` + d.ID + `"}`,
		`donation.unhidden {"id":"` + d.ID + `","message":"for the water"}`,
		`donation.hidden {"id":"` + d.ID + `"}`,
		`chat.deleted {"id":"c_123"}`,
		`user.banned {"user_id":"u_troll"}`,
		`chat.settings {"closed":false,"donors_only":false,"new_chatter_wait_seconds":0,"slow_mode_seconds":30}`,
		`user.banned {"until":` + strconv.FormatInt(loudUntil(t, e), 10) + `,"user_id":"u_loud"}`,
		`user.unbanned {"user_id":"u_loud"}`,
		`chat.settings {"closed":false,"donors_only":true,"new_chatter_wait_seconds":300,"slow_mode_seconds":30}`,
		`fundraiser {"goal":{"amount":500000,"currency":"USD"},"status":"scheduled","thanks":"Thank you all!"}`,
		`fundraiser {"goal":{"amount":900000,"currency":"USD"},"status":"scheduled"}`,
		`fundraiser {"goal":{"amount":900000,"currency":"USD"},"status":"ended"}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("outbox (-want +got):\n%s", diff)
	}
}

// loudUntil is the end of u_loud's timeout as announced.
func loudUntil(t *testing.T, e *donationEnv) int64 {
	t.Helper()
	for _, ev := range ofType(e.outbox(t), wire.TypeUserBanned) {
		if ev.Data["user_id"] == "u_loud" {
			return int64(ev.Data["until"].(float64))
		}
	}
	t.Fatal("no timeout announced for u_loud")
	return 0
}

func TestMessagesAreModerated(t *testing.T) {
	e := newDonationEnv(t, func(c *donation.Config) {
		c.Filter = moderation.NewFilter([]string{"heck"})
		c.MessageMinAmount = 500
	})
	small := e.give(t, "small", "", map[string]any{"amount": 499, "message": "hi"})
	big := e.give(t, "big", "", map[string]any{"amount": 500, "message": "what the HECK", "name": "Heck Yeah"})
	if small.Message != "" || big.Message != "what the ****" || big.Name != "**** Yeah" {
		t.Fatalf("public messages %q and %q, name %q", small.Message, big.Message, big.Name)
	}
}

func TestMilestonesAreAnnouncedOnce(t *testing.T) {
	e := newDonationEnv(t)
	var f createdFundraiser
	e.do(t, "POST", "/api/v1/fundraisers", e.ownerToken, map[string]any{
		"title": "Small goal", "nonprofit_id": e.nonprofitID,
		"goal": map[string]any{"amount": 1000, "currency": "USD"}, "milestones": []int{50, 100, 150},
	}).want(t, 201).json(t, &f)
	e.fid = f.ID
	e.give(t, "a", "", map[string]any{"amount": 400})
	e.give(t, "b", "", map[string]any{"amount": 700}) // crosses 500 and 1000
	e.give(t, "c", "", map[string]any{"amount": 100})
	var got []int64
	for _, ev := range ofType(e.outbox(t), wire.TypeMilestone) {
		if ev.Room == f.ID {
			got = append(got, int64(ev.Data["amount"].(float64)))
		}
	}
	if diff := cmp.Diff([]int64{500, 1000}, got); diff != "" {
		t.Fatalf("milestones (-want +got):\n%s", diff)
	}
	if s := e.snapshot(t); !cmp.Equal(s.Milestones, []int{50, 100, 150}) {
		t.Fatalf("snapshot milestones %v", s.Milestones)
	}
}

func TestReportCSV(t *testing.T) {
	e := newDonationEnv(t)
	e.give(t, "a", "", map[string]any{"amount": 1234, "name": "=HYPERLINK(\"x\")", "message": "a, \"quoted\" message"})
	e.give(t, "b", "", map[string]any{"amount": 9902, "name": "Bob"})
	e.give(t, "c", "", map[string]any{"amount": 500, "name": "Zoë 李"})
	r := e.do(t, "GET", "/api/v1/fundraisers/"+e.fid+"/report.csv", adminToken, nil).want(t, 200)
	if ct := r.header.Get("Content-Type"); ct != "text/csv" {
		t.Fatalf("Content-Type %q", ct)
	}
	// A byte order mark first, or Excel reads UTF-8 as the local code page.
	body, ok := strings.CutPrefix(string(r.body), "\uFEFF")
	if !ok {
		t.Fatalf("report does not start with a UTF-8 byte order mark: %q", r.body[:min(len(r.body), 16)])
	}
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "donation_id,created_at,") || !strings.Contains(lines[3], ",Zoë 李,") {
		t.Fatalf("report:\n%s", r.body)
	}
	if !strings.Contains(lines[1], `,succeeded,1234,USD,12.34,"'=HYPERLINK(""x"")",false,"a, ""quoted"" message",sandbox,`) {
		t.Fatalf("first row %q", lines[1])
	}
	if !strings.Contains(lines[2], ",failed,9902,USD,99.02,Bob,") {
		t.Fatalf("second row %q", lines[2])
	}
	e.do(t, "GET", "/api/v1/fundraisers/"+e.fid+"/report.csv", e.otherToken, nil).problem(t, 403)
}

func TestPayoutsSumPerNonprofit(t *testing.T) {
	e := newDonationEnv(t)
	d := e.give(t, "a", "", map[string]any{"amount": 3000})
	e.give(t, "b", "", map[string]any{"amount": 2000})
	e.do(t, "POST", "/api/v1/fundraisers/"+e.fid+"/donations/"+d.ID+"/refund", adminToken, nil).want(t, 200)
	var out struct {
		Items []struct {
			Nonprofit struct{ ID string } `json:"nonprofit"`
			Currency  string
			Raised    int64
			Refunded  int64
			Donations int64
		}
	}
	e.do(t, "GET", "/api/v1/payouts", adminToken, nil).want(t, 200).json(t, &out)
	if len(out.Items) != 1 || out.Items[0].Nonprofit.ID != e.nonprofitID || out.Items[0].Raised != 2000 ||
		out.Items[0].Refunded != 3000 || out.Items[0].Donations != 1 || out.Items[0].Currency != "USD" {
		t.Fatalf("payouts = %+v", out.Items)
	}
	e.do(t, "GET", "/api/v1/payouts", e.ownerToken, nil).problem(t, 403)
}
