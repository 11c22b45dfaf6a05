package client_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/givelive/givelive/client"
	"github.com/givelive/givelive/client/apiclient"
)

// TestAPIRoundTrip drives the contract's endpoints through the wrapper.
func TestAPIRoundTrip(t *testing.T) {
	s := startServer(t)
	ctx := t.Context()
	room, owner := s.fundraiser(t)
	list, err := s.admin.Nonprofits(ctx)
	if err != nil || len(list) != 1 || !list[0].Verified {
		t.Fatalf("nonprofits: %v %+v", err, list)
	}
	frs, err := s.admin.Fundraisers(ctx, nil)
	if err != nil || len(frs) != 1 || frs[0].Id != room {
		t.Fatalf("fundraisers: %v %+v", err, frs)
	}
	host := s.admin.WithToken(owner)
	ing, err := host.Ingest(ctx, room)
	if err != nil || ing.StreamKey == "" {
		t.Fatalf("ingest: %v %+v", err, ing)
	}
	id := s.donate(t, room, 2500, "Ada")
	page, err := host.Donations(ctx, room, nil)
	if err != nil || len(page.Items) != 1 || page.Items[0].Id != id || page.Items[0].Status != apiclient.DonationStatusSucceeded {
		t.Fatalf("donations: %v %+v", err, page)
	}
	snap, err := s.admin.Fundraiser(ctx, room)
	if err != nil || snap.Totals.Raised != 2500 || snap.Position.Epoch == "" {
		t.Fatalf("snapshot: %v %+v", err, snap)
	}
	ended, err := host.EndFundraiser(ctx, room)
	if err != nil || ended.Status != apiclient.FundraiserStatusEnded {
		t.Fatalf("end: %v %+v", err, ended)
	}
}

// TestAPIErrors: refusals are *APIError values read from problem+json.
func TestAPIErrors(t *testing.T) {
	s := startServer(t)
	ctx := t.Context()
	anon := s.admin.WithToken("")
	unverified, err := s.admin.CreateNonprofit(ctx, client.NonprofitRequest{Name: "New", RegistrationId: "1", Country: "GB"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.admin.CreateBroadcaster(ctx, "Streamer")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		call   func() error
		status int
		field  string
	}{
		{"validation", func() error { _, err := anon.CreateSession(ctx, ""); return err }, 400, "name"},
		{"no admin token", func() error { _, err := anon.CreateBroadcaster(ctx, "Eve"); return err }, 401, ""},
		{"missing fundraiser", func() error { _, err := anon.Fundraiser(ctx, "f_missing"); return err }, 404, ""},
		{"unverified nonprofit", func() error {
			_, err := s.admin.WithToken(b.Token).CreateFundraiser(ctx, client.FundraiserRequest{
				Title: "T", NonprofitId: unverified.Id, Goal: apiclient.Goal{Amount: 1000, Currency: apiclient.CurrencyUSD},
			})
			return err
		}, 422, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var ae *client.APIError
			if !errors.As(err, &ae) || ae.Status != tc.status || ae.Title == "" || ae.Type == "" || ae.Detail == "" || ae.RequestID == "" {
				t.Fatalf("error %#v, want a full problem with status %d", err, tc.status)
			}
			if tc.field != "" && (len(ae.Errors) == 0 || ae.Errors[0].Field != tc.field) {
				t.Fatalf("field errors %+v, want %s", ae.Errors, tc.field)
			}
		})
	}
}

// TestDonateRetriesWithTheSameKey: a donation that meets transient
// failures on the way is retried with its Idempotency-Key and counted
// once; a call that is not safe to repeat is not retried.
func TestDonateRetriesWithTheSameKey(t *testing.T) {
	s := startServer(t)
	room, _ := s.fundraiser(t)
	backend, _ := url.Parse(s.URL)
	rp := httputil.NewSingleHostReverseProxy(backend)
	var mu sync.Mutex
	var keys []string
	failures := 0
	seen := func() ([]string, int) {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), keys...), failures
	}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if key := r.Header.Get("Idempotency-Key"); key != "" {
			keys = append(keys, key)
		}
		fail := failures < 2 || strings.HasSuffix(r.URL.Path, "/sessions")
		if fail {
			failures++
		}
		mu.Unlock()
		if fail {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "upstream restarting", http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	a, err := client.NewAPI(front.URL, &client.APIOptions{HTTPClient: front.Client()})
	if err != nil {
		t.Fatal(err)
	}

	d := client.DonationRequest{Amount: 2500, Currency: "USD", Name: "Ada"}
	r, err := a.Donate(t.Context(), room, d)
	if err != nil {
		t.Fatal(err)
	}
	sent, _ := seen()
	if len(sent) != 3 || sent[0] != sent[1] || sent[1] != sent[2] || sent[0] == "" {
		t.Fatalf("keys sent %q, want one key three times", sent)
	}
	// The caller's own retry with that key returns the same donation.
	d.IdempotencyKey = sent[0]
	again, err := a.Donate(t.Context(), room, d)
	if err != nil || again.Id != r.Id {
		t.Fatalf("replay: %v %+v, want %s", err, again, r.Id)
	}
	snap, err := s.admin.Fundraiser(t.Context(), room)
	if err != nil || snap.Totals.Donations != 1 || snap.Totals.Raised != 2500 {
		t.Fatalf("counted: %v %+v", err, snap.Totals)
	}

	_, before := seen()
	_, err = a.CreateSession(t.Context(), "Bob")
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadGateway || !strings.Contains(ae.Detail, "upstream restarting") {
		t.Fatalf("session through a failing proxy: %v", err)
	}
	if _, after := seen(); after-before != 1 {
		t.Fatalf("a POST without Idempotency-Key was tried %d times", after-before)
	}
}
