package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCreateFundraiserBody posts arbitrary bodies through validation and
// the handler: the answer is never a 5xx, is a problem unless it is a 201,
// and a 201 only ever records what the spec allows.
func FuzzCreateFundraiserBody(f *testing.F) {
	e := newEnv(f)
	npID := e.nonprofit(f, true)
	_, token := e.broadcaster(f, "Fuzz")
	for _, seed := range []string{
		`{"title":"Speedruns","nonprofit_id":"` + npID + `","goal":{"amount":500000,"currency":"USD"}}`,
		`{"title":"Speedruns","nonprofit_id":"np_unknown","goal":{"amount":500000,"currency":"USD"}}`,
		`{"title":" ","nonprofit_id":"` + npID + `","goal":{"amount":100,"currency":"JPY"}}`,
		`{"title":"t","title":"","nonprofit_id":"` + npID + `","goal":{"amount":1e2,"currency":"EUR"}}`,
		`{"title":"t","nonprofit_id":"` + npID + `","goal":{"amount":1e400,"currency":"EUR"}}`,
		`{"title":"t","nonprofit_id":"` + npID + `","goal":{"amount":-0,"currency":"EUR"}}`,
		`{"title":"\ud800","nonprofit_id":"` + npID + `","goal":{"amount":100,"currency":"EUR"}}`,
		`{"goal":{"goal":{"goal":{}}}}`,
		`[[[[[[[[[[]]]]]]]]]]`,
		`{}`, `null`, `""`, `0`, ``, `{`, "\xff\xfe", `{"title":null}`,
	} {
		f.Add([]byte(seed))
	}
	h := e.srv.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/api/v1/fundraisers", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		ct := rec.Header().Get("Content-Type")
		switch {
		case rec.Code >= 500:
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body)
		case rec.Code == 201 && ct != "application/json":
			t.Fatalf("201 with Content-Type %q", ct)
		case rec.Code != 201 && ct != "application/problem+json":
			t.Fatalf("status %d with Content-Type %q", rec.Code, ct)
		case rec.Code == 201:
			checkCreated(t, body, rec.Body.Bytes())
		}
	})
}

// checkCreated: whatever was accepted obeys the spec's limits.
func checkCreated(t *testing.T, body, resp []byte) {
	t.Helper()
	var got struct {
		Title string `json:"title"`
		Goal  struct {
			Amount   int64  `json:"amount"`
			Currency string `json:"currency"`
		} `json:"goal"`
		StreamKey string `json:"stream_key"`
	}
	if err := json.Unmarshal(resp, &got); err != nil {
		t.Fatalf("201 body %q: %v", resp, err)
	}
	n := utf8.RuneCountInString(got.Title)
	if n < 1 || n > 140 || strings.TrimSpace(got.Title) == "" {
		t.Fatalf("accepted title %q from %q", got.Title, body)
	}
	if got.Goal.Amount < 100 || got.Goal.Amount > 100_000_000_000 || len(got.Goal.Currency) != 3 {
		t.Fatalf("accepted goal %+v from %q", got.Goal, body)
	}
	if !strings.HasPrefix(got.StreamKey, "sk_") {
		t.Fatalf("stream key %q", got.StreamKey)
	}
}

// FuzzCreateDonationBody posts arbitrary donation bodies: never a 5xx; a
// refusal is a problem; whatever is accepted has an amount within the
// limits, the fundraiser's currency and clean text; and the totals are
// exactly the sum of what was accepted as succeeded.
func FuzzCreateDonationBody(f *testing.F) {
	e := newEnv(f)
	np := e.nonprofit(f, true)
	_, token := e.broadcaster(f, "Fuzz")
	fid := e.fundraiser(f, token, np).ID
	for _, seed := range []string{
		`{"amount":2500,"currency":"USD","name":"Ada","message":"hi"}`,
		`{"amount":100,"currency":"USD","anonymous":true}`,
		`{"amount":99,"currency":"USD"}`, `{"amount":1000001,"currency":"USD"}`,
		`{"amount":1e3,"currency":"USD"}`, `{"amount":5.5,"currency":"USD"}`, `{"amount":-0,"currency":"USD"}`,
		`{"amount":9223372036854775807,"currency":"USD"}`, `{"amount":"500","currency":"USD"}`,
		`{"amount":500,"currency":"EUR"}`, `{"amount":500,"currency":"USD","name":"\u202eevil\u0007"}`,
		`{"amount":500,"currency":"USD","message":"\ud800"}`, `{"amount":500,"amount":600,"currency":"USD"}`,
		`{}`, `null`, `[]`, ``, "\xff", `{"amount":500,"currency":"USD","anonymous":"yes"}`,
		`{"amount":500,"currency":"USD"} x`, `{"amount":500,"currency":"USD"}{"amount":900,"currency":"USD"}`,
		`{"amount":500,"currency":"USD","name":"a","name":"b"}`, `{"amount":500,"currency":"USD","Amount":900}`,
	} {
		f.Add([]byte(seed))
	}
	h := e.srv.Handler()
	var raised int64
	n := 0
	f.Fuzz(func(t *testing.T, body []byte) {
		n++
		req := httptest.NewRequest("POST", "/api/v1/fundraisers/"+fid+"/donations", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "fuzz-"+strconv.Itoa(n))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		ct := rec.Header().Get("Content-Type")
		switch {
		case rec.Code >= 500 && rec.Code != 502:
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body)
		case rec.Code >= 300 && ct != "application/problem+json":
			t.Fatalf("status %d with Content-Type %q", rec.Code, ct)
		case rec.Code == 201:
			var d struct {
				Amount        int64
				Currency      string
				Status        string
				Name, Message string
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
				t.Fatal(err)
			}
			if d.Amount < 100 || d.Amount > 1_000_000 || d.Currency != "USD" {
				t.Fatalf("accepted %+v from %q", d, body)
			}
			// What was recorded is what the body says, read by any JSON
			// reader: one object, nothing after it.
			dec := json.NewDecoder(bytes.NewReader(body))
			var sent struct{ Amount int64 }
			if err := dec.Decode(&sent); err != nil || sent.Amount != d.Amount || dec.More() {
				t.Fatalf("accepted %q as %d", body, d.Amount)
			}
			if _, err := dec.Token(); err != io.EOF {
				t.Fatalf("accepted %q with bytes after the object", body)
			}
			if !utf8.ValidString(d.Name+d.Message) || strings.ContainsFunc(d.Name+d.Message, func(r rune) bool { return r < 0x20 || r == 0x7f || r == 0x202e }) {
				t.Fatalf("accepted unclean text %q / %q", d.Name, d.Message)
			}
			if d.Status == "succeeded" {
				raised += d.Amount
			}
		}
		f, err := e.store.GetFundraiser(t.Context(), fid)
		if err != nil {
			t.Fatal(err)
		}
		if f.Raised != raised {
			t.Fatalf("raised %d, want the sum of accepted donations %d", f.Raised, raised)
		}
	})
}
