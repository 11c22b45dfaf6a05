package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/givelive/givelive/client/apiclient"
)

// bearer returns a request editor adding token.
func bearer(token string) apiclient.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

// TestClientRoundTrip drives the whole happy path through the generated
// client, so the client and the server agree on the spec in practice.
func TestClientRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	c, err := apiclient.NewClientWithResponses(e.ts.URL+"/api/v1", apiclient.WithHTTPClient(e.ts.Client()))
	if err != nil {
		t.Fatal(err)
	}
	admin := bearer(adminToken)

	np, err := c.CreateNonprofitWithResponse(ctx, apiclient.CreateNonprofitRequest{Name: "Water", RegistrationId: "42", Country: "NL"}, admin)
	must(t, err, np.StatusCode(), 201)
	if np.JSON201.Verified || np.JSON201.VerifiedAt != nil {
		t.Errorf("new nonprofit: %+v", np.JSON201)
	}
	ver, err := c.VerifyNonprofitWithResponse(ctx, np.JSON201.Id, admin)
	must(t, err, ver.StatusCode(), 200)
	if !ver.JSON200.Verified || ver.JSON200.VerifiedAt == nil {
		t.Errorf("verified nonprofit: %+v", ver.JSON200)
	}
	list, err := c.ListNonprofitsWithResponse(ctx)
	must(t, err, list.StatusCode(), 200)
	if len(list.JSON200.Items) != 1 {
		t.Errorf("nonprofits: %+v", list.JSON200.Items)
	}

	b, err := c.CreateBroadcasterWithResponse(ctx, apiclient.CreateBroadcasterRequest{Name: "Streamer"}, admin)
	must(t, err, b.StatusCode(), 201)
	owner := bearer(b.JSON201.Token)

	f, err := c.CreateFundraiserWithResponse(ctx, apiclient.CreateFundraiserRequest{
		Title:       "Marathon",
		NonprofitId: np.JSON201.Id,
		Goal:        apiclient.Goal{Amount: 250000, Currency: apiclient.CurrencyEUR},
	}, owner)
	must(t, err, f.StatusCode(), 201)
	if f.JSON201.Status != apiclient.FundraiserStatusScheduled || f.JSON201.StreamKey == "" {
		t.Errorf("fundraiser: %+v", f.JSON201)
	}

	snap, err := c.GetFundraiserWithResponse(ctx, f.JSON201.Id)
	must(t, err, snap.StatusCode(), 200)
	if snap.JSON200.Totals.Currency != "EUR" || snap.JSON200.Stream.Status != apiclient.StreamStatusOffline ||
		snap.JSON200.Position.Epoch != "ep1" || snap.JSON200.Broadcaster.Name != "Streamer" {
		t.Errorf("snapshot: %+v", snap.JSON200)
	}

	ing, err := c.GetFundraiserIngestWithResponse(ctx, f.JSON201.Id, owner)
	must(t, err, ing.StatusCode(), 200)
	if ing.JSON200.StreamKey != f.JSON201.StreamKey {
		t.Error("ingest key differs from the created one")
	}

	status := apiclient.FundraiserStatusScheduled
	fl, err := c.ListFundraisersWithResponse(ctx, &apiclient.ListFundraisersParams{Status: &status})
	must(t, err, fl.StatusCode(), 200)
	if len(fl.JSON200.Items) != 1 {
		t.Errorf("fundraisers: %+v", fl.JSON200.Items)
	}

	end, err := c.EndFundraiserWithResponse(ctx, f.JSON201.Id, admin)
	must(t, err, end.StatusCode(), 200)
	if end.JSON200.Status != apiclient.FundraiserStatusEnded || end.JSON200.EndedAt == nil {
		t.Errorf("ended: %+v", end.JSON200)
	}

	s, err := c.CreateSessionWithResponse(ctx, apiclient.CreateSessionRequest{Name: "Ada"})
	must(t, err, s.StatusCode(), 201)
	if s.JSON201.User.Name != "Ada" || s.JSON201.Token == "" || s.JSON201.ExpiresAt.IsZero() {
		t.Errorf("session: %+v", s.JSON201)
	}

	// Problems decode into the typed fields too.
	bad, err := c.CreateSessionWithResponse(ctx, apiclient.CreateSessionRequest{Name: ""})
	must(t, err, bad.StatusCode(), 400)
	if bad.ApplicationproblemJSON400 == nil || (*bad.ApplicationproblemJSON400.Errors)[0].Field != "name" {
		t.Errorf("problem: %s", bad.Body)
	}
}

func must(t *testing.T, err error, status, want int) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if status != want {
		t.Fatalf("status %d, want %d", status, want)
	}
}
