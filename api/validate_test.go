package api_test

import (
	"strings"
	"testing"
)

// TestValidation sends each endpoint bad input, one problem at a time, and
// expects 400 with a problem naming the field, and nothing recorded.
func TestValidation(t *testing.T) {
	e := newEnv(t)
	_, bToken := e.broadcaster(t, "Valid Broadcaster")
	npID := e.nonprofit(t, true)

	goal := func(amount any, currency any) map[string]any {
		return map[string]any{"amount": amount, "currency": currency}
	}
	fundraiser := func(edit func(map[string]any)) map[string]any {
		b := map[string]any{"title": "Speedruns", "nonprofit_id": npID, "goal": goal(500000, "USD")}
		edit(b)
		return b
	}
	nonprofit := func(edit func(map[string]any)) map[string]any {
		b := map[string]any{"name": "Water", "registration_id": "123", "country": "GB"}
		edit(b)
		return b
	}

	cases := []struct {
		name   string
		method string
		path   string
		token  string
		body   any
		field  string
	}{
		// POST /sessions
		{"session no name", "POST", "/api/v1/sessions", "", map[string]any{}, "name"},
		{"session empty name", "POST", "/api/v1/sessions", "", map[string]any{"name": ""}, "name"},
		{"session blank name", "POST", "/api/v1/sessions", "", map[string]any{"name": "   "}, "name"},
		{"session control char", "POST", "/api/v1/sessions", "", map[string]any{"name": "a\u0007b"}, "name"},
		{"session long name", "POST", "/api/v1/sessions", "", map[string]any{"name": strings.Repeat("é", 65)}, "name"},
		{"session name not string", "POST", "/api/v1/sessions", "", map[string]any{"name": 12}, "name"},
		{"session name null", "POST", "/api/v1/sessions", "", map[string]any{"name": nil}, "name"},
		{"session unknown field", "POST", "/api/v1/sessions", "", map[string]any{"name": "Ada", "admin": true}, "admin"},
		{"session wrong case field", "POST", "/api/v1/sessions", "", map[string]any{"Name": "Ada"}, "Name"},
		{"session array", "POST", "/api/v1/sessions", "", `[]`, "body"},
		{"session not json", "POST", "/api/v1/sessions", "", `{"name":`, "body"},
		{"session empty body", "POST", "/api/v1/sessions", "", ``, "body"},
		{"session null body", "POST", "/api/v1/sessions", "", `null`, "body"},

		// POST /nonprofits
		{"nonprofit no country", "POST", "/api/v1/nonprofits", adminToken, nonprofit(func(b map[string]any) { delete(b, "country") }), "country"},
		{"nonprofit lower country", "POST", "/api/v1/nonprofits", adminToken, nonprofit(func(b map[string]any) { b["country"] = "gb" }), "country"},
		{"nonprofit alpha-3 country", "POST", "/api/v1/nonprofits", adminToken, nonprofit(func(b map[string]any) { b["country"] = "GBR" }), "country"},
		{"nonprofit empty registration", "POST", "/api/v1/nonprofits", adminToken, nonprofit(func(b map[string]any) { b["registration_id"] = "" }), "registration_id"},
		{"nonprofit long registration", "POST", "/api/v1/nonprofits", adminToken, nonprofit(func(b map[string]any) { b["registration_id"] = strings.Repeat("1", 65) }), "registration_id"},
		{"nonprofit long name", "POST", "/api/v1/nonprofits", adminToken, nonprofit(func(b map[string]any) { b["name"] = strings.Repeat("n", 65) }), "name"},
		{"nonprofit unknown field", "POST", "/api/v1/nonprofits", adminToken, nonprofit(func(b map[string]any) { b["verified"] = true }), "verified"},

		// POST /nonprofits/{id}/verify
		{"verify bad id", "POST", "/api/v1/nonprofits/no.such!id/verify", adminToken, nil, "id"},

		// POST /broadcasters
		{"broadcaster no name", "POST", "/api/v1/broadcasters", adminToken, map[string]any{}, "name"},
		{"broadcaster long name", "POST", "/api/v1/broadcasters", adminToken, map[string]any{"name": strings.Repeat("b", 65)}, "name"},
		{"broadcaster unknown field", "POST", "/api/v1/broadcasters", adminToken, map[string]any{"name": "B", "token": "x"}, "token"},

		// POST /fundraisers
		{"fundraiser no title", "POST", "/api/v1/fundraisers", bToken, fundraiser(func(b map[string]any) { delete(b, "title") }), "title"},
		{"fundraiser empty title", "POST", "/api/v1/fundraisers", bToken, fundraiser(func(b map[string]any) { b["title"] = "" }), "title"},
		{"fundraiser long title", "POST", "/api/v1/fundraisers", bToken, fundraiser(func(b map[string]any) { b["title"] = strings.Repeat("t", 141) }), "title"},
		{"fundraiser bad nonprofit id", "POST", "/api/v1/fundraisers", bToken, fundraiser(func(b map[string]any) { b["nonprofit_id"] = "np 1" }), "nonprofit_id"},
		{"fundraiser no goal", "POST", "/api/v1/fundraisers", bToken, fundraiser(func(b map[string]any) { delete(b, "goal") }), "goal"},
		{"fundraiser goal not object", "POST", "/api/v1/fundraisers", bToken, fundraiser(func(b map[string]any) { b["goal"] = 500000 }), "goal"},
		{"fundraiser goal too small", "POST", "/api/v1/fundraisers", bToken, fundraiser(func(b map[string]any) { b["goal"] = goal(99, "USD") }), "goal.amount"},
		{"fundraiser goal too large", "POST", "/api/v1/fundraisers", bToken, fundraiser(func(b map[string]any) { b["goal"] = goal(100000000001, "USD") }), "goal.amount"},
		{"fundraiser goal fraction", "POST", "/api/v1/fundraisers", bToken, fundraiser(func(b map[string]any) { b["goal"] = goal(1000.5, "USD") }), "goal.amount"},
		{"fundraiser goal string", "POST", "/api/v1/fundraisers", bToken, fundraiser(func(b map[string]any) { b["goal"] = goal("1000", "USD") }), "goal.amount"},
		{"fundraiser goal no currency", "POST", "/api/v1/fundraisers", bToken, fundraiser(func(b map[string]any) { b["goal"] = map[string]any{"amount": 1000} }), "goal.currency"},
		{"fundraiser lower currency", "POST", "/api/v1/fundraisers", bToken, fundraiser(func(b map[string]any) { b["goal"] = goal(1000, "usd") }), "goal.currency"},
		{"fundraiser unsupported currency", "POST", "/api/v1/fundraisers", bToken, fundraiser(func(b map[string]any) { b["goal"] = goal(1000, "XAU") }), "goal.currency"},
		{"fundraiser goal unknown field", "POST", "/api/v1/fundraisers", bToken, fundraiser(func(b map[string]any) { b["goal"] = map[string]any{"amount": 1000, "currency": "USD", "cents": true} }), "goal.cents"},
		{"fundraiser unknown field", "POST", "/api/v1/fundraisers", bToken, fundraiser(func(b map[string]any) { b["stream_key"] = "mine" }), "stream_key"},

		// GET /fundraisers
		{"list bad status", "GET", "/api/v1/fundraisers?status=paused", "", nil, "status"},
		{"list limit zero", "GET", "/api/v1/fundraisers?limit=0", "", nil, "limit"},
		{"list limit large", "GET", "/api/v1/fundraisers?limit=101", "", nil, "limit"},
		{"list limit text", "GET", "/api/v1/fundraisers?limit=ten", "", nil, "limit"},
		{"list bad broadcaster", "GET", "/api/v1/fundraisers?broadcaster_id=a/b", "", nil, "broadcaster_id"},

		// GET, ingest, end with a malformed id
		{"snapshot bad id", "GET", "/api/v1/fundraisers/f.1", "", nil, "id"},
		{"snapshot long id", "GET", "/api/v1/fundraisers/" + strings.Repeat("f", 65), "", nil, "id"},
		{"ingest bad id", "GET", "/api/v1/fundraisers/f.1/ingest", bToken, nil, "id"},
		{"end bad id", "POST", "/api/v1/fundraisers/f.1/end", bToken, nil, "id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.store.writeCount()
			p := e.do(t, tc.method, tc.path, tc.token, tc.body).problem(t, 400)
			if p.Type != "urn:givelive:problem:validation" {
				t.Errorf("type %q", p.Type)
			}
			found := false
			for _, fe := range p.Errors {
				if fe.Field == tc.field && fe.Message != "" {
					found = true
				}
			}
			if !found {
				t.Errorf("errors %+v do not name %q", p.Errors, tc.field)
			}
			if !strings.Contains(p.Detail, tc.field+": ") {
				t.Errorf("detail %q does not name %q", p.Detail, tc.field)
			}
			if strings.Contains(p.Detail, "Schema") || strings.Contains(p.Detail, "Value:") {
				t.Errorf("detail is a raw validator dump: %q", p.Detail)
			}
			if got := e.store.writeCount(); got != before {
				t.Errorf("a refused request wrote to the ledger (%d writes)", got-before)
			}
		})
	}
}

// TestValidationMessages pins the plain-words messages for the common cases.
func TestValidationMessages(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		body   any
		detail string
	}{
		{map[string]any{"name": ""}, "name: must not be empty"},
		{map[string]any{"name": strings.Repeat("x", 65)}, "name: must be at most 64 characters long"},
		{map[string]any{}, "name: is required"},
		{map[string]any{"name": "Ada", "nmae": "Ada"}, "nmae: is not a known field"},
		{map[string]any{"name": 1}, "name: must be a string"},
		{`{"name":`, "body: is not valid JSON"},
		{"", "body: is required"},
	}
	for _, tc := range cases {
		p := e.do(t, "POST", "/api/v1/sessions", "", tc.body).problem(t, 400)
		if !strings.Contains(p.Detail, tc.detail) {
			t.Errorf("body %v: detail %q, want it to contain %q", tc.body, p.Detail, tc.detail)
		}
	}
	// Several bad fields are all reported.
	p := e.do(t, "POST", "/api/v1/nonprofits", adminToken, map[string]any{"name": "", "country": "gb"}).problem(t, 400)
	got := map[string]string{}
	for _, fe := range p.Errors {
		got[fe.Field] = fe.Message
	}
	want := map[string]string{
		"name":            "must not be empty",
		"country":         "must be a two-letter country code in capitals (ISO 3166-1 alpha-2), such as GB",
		"registration_id": "is required",
	}
	for f, m := range want {
		if got[f] != m {
			t.Errorf("field %s: message %q, want %q (all: %v)", f, got[f], m, got)
		}
	}
}

// TestUnsupportedMediaType: a body that is not declared JSON is 415.
func TestUnsupportedMediaType(t *testing.T) {
	e := newEnv(t)
	p := e.do(t, "POST", "/api/v1/sessions", "", `{"name":"Ada"}`, "Content-Type", "text/plain").problem(t, 415)
	if !strings.Contains(p.Detail, "application/json") {
		t.Errorf("detail %q", p.Detail)
	}
	e.do(t, "POST", "/api/v1/sessions", "", `{"name":"Ada"}`, "Content-Type", "application/json; charset=utf-8").want(t, 201)
}
