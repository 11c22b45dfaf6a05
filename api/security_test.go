package api_test

import (
	"strings"
	"testing"
	"time"
)

// TestAuthMatrix calls every protected operation as every kind of caller.
func TestAuthMatrix(t *testing.T) {
	e := newEnv(t)
	npID := e.nonprofit(t, true)
	_, owner := e.broadcaster(t, "Owner")
	_, other := e.broadcaster(t, "Other")
	viewer := e.viewer(t, "Ada")
	f := e.fundraiser(t, owner, npID)

	callers := []struct {
		name  string
		token string
	}{
		{"none", ""},
		{"bad", "not-a-token"},
		{"viewer", viewer},
		{"other broadcaster", other},
		{"owner", owner},
		{"admin", adminToken},
	}
	newNonprofit := map[string]any{"name": "N", "registration_id": "1", "country": "US"}
	newFundraiser := map[string]any{"title": "T", "nonprofit_id": npID, "goal": map[string]any{"amount": 1000, "currency": "EUR"}}
	ops := []struct {
		method, path string
		body         any
		// want by caller: none, bad, viewer, other, owner, admin
		want [6]int
	}{
		{"POST", "/api/v1/nonprofits", newNonprofit, [6]int{401, 401, 403, 403, 403, 201}},
		{"POST", "/api/v1/nonprofits/" + npID + "/verify", nil, [6]int{401, 401, 403, 403, 403, 200}},
		{"POST", "/api/v1/broadcasters", map[string]any{"name": "B"}, [6]int{401, 401, 403, 403, 403, 201}},
		{"POST", "/api/v1/fundraisers", newFundraiser, [6]int{401, 401, 403, 201, 201, 403}},
		{"GET", "/api/v1/fundraisers/" + f.ID + "/ingest", nil, [6]int{401, 401, 403, 403, 200, 403}},
		{"POST", "/api/v1/fundraisers/" + f.ID + "/end", nil, [6]int{401, 401, 403, 403, 200, 200}},
		// Public operations ignore the Authorization header entirely.
		{"GET", "/api/v1/nonprofits", nil, [6]int{200, 200, 200, 200, 200, 200}},
		{"GET", "/api/v1/fundraisers", nil, [6]int{200, 200, 200, 200, 200, 200}},
		{"GET", "/api/v1/fundraisers/" + f.ID, nil, [6]int{200, 200, 200, 200, 200, 200}},
		{"POST", "/api/v1/sessions", map[string]any{"name": "V"}, [6]int{201, 201, 201, 201, 201, 201}},
	}
	for _, op := range ops {
		for i, c := range callers {
			t.Run(op.method+" "+op.path+" as "+c.name, func(t *testing.T) {
				r := e.do(t, op.method, op.path, c.token, op.body)
				want := op.want[i]
				if want < 400 {
					r.want(t, want)
					return
				}
				p := r.problem(t, want)
				if want == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("401 without a Bearer challenge: %q", r.header.Get("WWW-Authenticate"))
				}
				if p.Type != "about:blank" {
					t.Errorf("type %q", p.Type)
				}
			})
		}
	}
}

// TestMalformedAuthorization: a header that is not "Bearer <token>" is 401.
func TestMalformedAuthorization(t *testing.T) {
	e := newEnv(t)
	for _, h := range []string{"Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer ", adminToken, "bearer " + adminToken + "x"} {
		r := e.do(t, "POST", "/api/v1/broadcasters", "", map[string]any{"name": "B"}, "Authorization", h)
		r.problem(t, 401)
		if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("%q: challenge %q", h, r.header.Get("WWW-Authenticate"))
		}
	}
	// The scheme is case-insensitive.
	e.do(t, "POST", "/api/v1/broadcasters", "", map[string]any{"name": "B"}, "Authorization", "bearer "+adminToken).want(t, 201)
}

// TestViewerTokenExpiry: a viewer token works until it expires (plus the
// leeway), then is 401 with a message saying so.
func TestViewerTokenExpiry(t *testing.T) {
	e := newEnv(t)
	viewer := e.viewer(t, "Ada")
	// A viewer may not register nonprofits: 403 proves the token is valid.
	body := map[string]any{"name": "N", "registration_id": "1", "country": "US"}
	e.do(t, "POST", "/api/v1/nonprofits", viewer, body).problem(t, 403)

	e.clock.Advance(24*time.Hour + time.Minute)
	p := e.do(t, "POST", "/api/v1/nonprofits", viewer, body).problem(t, 401)
	if !strings.Contains(p.Detail, "expired") {
		t.Errorf("detail %q does not say the token expired", p.Detail)
	}
}
