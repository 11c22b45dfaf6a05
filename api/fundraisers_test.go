package api_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/givelive/givelive/api"
	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/wire"
)

func TestCreateFundraiserNonprofitProblems(t *testing.T) {
	e := newEnv(t)
	_, token := e.broadcaster(t, "B")
	unverified := e.nonprofit(t, false)
	cases := []struct {
		name, nonprofitID, message string
	}{
		{"unverified", unverified, "not verified"},
		{"unknown", "np_doesnotexist", "no nonprofit has this id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.store.writeCount()
			p := e.do(t, "POST", "/api/v1/fundraisers", token, map[string]any{
				"title": "T", "nonprofit_id": tc.nonprofitID, "goal": map[string]any{"amount": 1000, "currency": "USD"},
			}).problem(t, 422)
			if len(p.Errors) != 1 || p.Errors[0].Field != "nonprofit_id" || !strings.Contains(p.Errors[0].Message, tc.message) {
				t.Errorf("errors %+v", p.Errors)
			}
			if !strings.Contains(p.Detail, "nonprofit_id") {
				t.Errorf("detail %q", p.Detail)
			}
			if e.store.writeCount() != before {
				t.Error("a refused fundraiser wrote to the ledger")
			}
		})
	}
	// Once verified, the same request succeeds.
	e.do(t, "POST", "/api/v1/nonprofits/"+unverified+"/verify", adminToken, nil).want(t, 200)
	e.fundraiser(t, token, unverified)
}

func TestCreateFundraiserResponse(t *testing.T) {
	e := newEnv(t)
	npID := e.nonprofit(t, true)
	bID, token := e.broadcaster(t, "Streamer")
	var got map[string]any
	e.do(t, "POST", "/api/v1/fundraisers", token, map[string]any{
		"title": "Speedruns", "nonprofit_id": npID, "goal": map[string]any{"amount": 500000, "currency": "USD"},
	}).want(t, 201).json(t, &got)
	key, _ := got["stream_key"].(string)
	if !strings.HasPrefix(key, "sk_") || len(key) < 40 {
		t.Errorf("stream_key %q", key)
	}
	for k, want := range map[string]any{
		"status":      "scheduled",
		"ingest_url":  "rtmp://127.0.0.1/live",
		"title":       "Speedruns",
		"goal":        map[string]any{"amount": 500000.0, "currency": "USD"},
		"nonprofit":   map[string]any{"id": npID, "name": "Water for All", "country": "GB"},
		"broadcaster": map[string]any{"id": bID, "name": "Streamer"},
		"started_at":  nil,
		"ended_at":    nil,
	} {
		if diff := cmp.Diff(want, got[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
}

// TestSnapshot checks the snapshot's shape, that it never carries the
// stream key, and that the position is read before the ledger state.
func TestSnapshot(t *testing.T) {
	e := newEnv(t)
	npID := e.nonprofit(t, true)
	_, token := e.broadcaster(t, "B")
	f := e.fundraiser(t, token, npID)

	e.store.takeCalls()
	r := e.do(t, "GET", "/api/v1/fundraisers/"+f.ID, "", nil).want(t, 200)
	if strings.Contains(string(r.body), f.StreamKey) || strings.Contains(string(r.body), "stream_key") {
		t.Fatalf("snapshot leaks the stream key: %s", r.body)
	}
	calls := e.store.takeCalls()
	if len(calls) < 3 || !cmp.Equal(calls[:3], []string{"GetFundraiser", "Position", "GetFundraiser"}) {
		t.Errorf("reads %v: want the position read between an existence check and the ledger state", calls)
	}

	var snap map[string]any
	r.json(t, &snap)
	want := map[string]any{
		"status":           "scheduled",
		"totals":           map[string]any{"raised": 0.0, "goal": 500000.0, "donors": 0.0, "donations": 0.0, "currency": "USD"},
		"stream":           map[string]any{"status": "offline", "hls": nil},
		"recent_donations": []any{},
		"top_donors":       []any{},
		"chat":             map[string]any{"slow_mode_seconds": 0.0, "donors_only": false, "new_chatter_wait_seconds": 0.0, "closed": false},
		"thanks":           "",
		"milestones":       []any{25.0, 50.0, 75.0, 100.0},
		"position":         map[string]any{"epoch": "ep1", "offset": 7.0},
		"goal":             map[string]any{"amount": 500000.0, "currency": "USD"},
	}
	for k, w := range want {
		if diff := cmp.Diff(w, snap[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}

	// The list never carries stream keys either.
	r = e.do(t, "GET", "/api/v1/fundraisers", "", nil).want(t, 200)
	if strings.Contains(string(r.body), f.StreamKey) || strings.Contains(string(r.body), "stream_key") {
		t.Fatalf("list leaks the stream key: %s", r.body)
	}
}

func TestSnapshotErrors(t *testing.T) {
	e := newEnv(t)
	e.store.takeCalls()
	e.do(t, "GET", "/api/v1/fundraisers/f_unknown", "", nil).problem(t, 404)
	for _, c := range e.store.takeCalls() {
		if c == "Position" {
			t.Error("an unknown fundraiser's room position was read")
		}
	}

	npID := e.nonprofit(t, true)
	_, token := e.broadcaster(t, "B")
	f := e.fundraiser(t, token, npID)
	e.rooms.fail(errors.New("broker down"))
	p := e.do(t, "GET", "/api/v1/fundraisers/"+f.ID, "", nil).problem(t, 503)
	if strings.Contains(p.Detail, "broker down") {
		t.Errorf("internal error leaked: %q", p.Detail)
	}
}

func TestIngest(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(*api.Config)
		headers []string
		want    string
	}{
		{"default port", nil, nil, "rtmp://127.0.0.1/live"},
		{"other port", func(c *api.Config) { c.RTMPAddr = ":1936" }, nil, "rtmp://127.0.0.1:1936/live"},
		{"explicit default port", func(c *api.Config) { c.RTMPAddr = "0.0.0.0:1935" }, nil, "rtmp://127.0.0.1/live"},
		{"public url", func(c *api.Config) { c.PublicURL = "https://live.example.org:8443/" }, nil, "rtmp://live.example.org/live"},
		{"forwarded host ignored", nil, []string{"X-Forwarded-Host", "evil.example"}, "rtmp://127.0.0.1/live"},
		{"forwarded host trusted", func(c *api.Config) { c.TrustProxy = true }, []string{"X-Forwarded-Host", "live.example.org:443"}, "rtmp://live.example.org/live"},
		{"forwarded junk refused", func(c *api.Config) { c.TrustProxy = true }, []string{"X-Forwarded-Host", "a/b@c"}, "rtmp://127.0.0.1/live"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var edits []func(*api.Config)
			if tc.edit != nil {
				edits = append(edits, tc.edit)
			}
			e := newEnv(t, edits...)
			npID := e.nonprofit(t, true)
			_, token := e.broadcaster(t, "B")
			f := e.fundraiser(t, token, npID)
			var got struct {
				IngestURL string `json:"ingest_url"`
				StreamKey string `json:"stream_key"`
			}
			e.do(t, "GET", "/api/v1/fundraisers/"+f.ID+"/ingest", token, nil, tc.headers...).want(t, 200).json(t, &got)
			if got.IngestURL != tc.want || got.StreamKey != f.StreamKey {
				t.Errorf("got %+v, want %s and the created key", got, tc.want)
			}
		})
	}
}

func TestIngestUnknownFundraiser(t *testing.T) {
	e := newEnv(t)
	_, token := e.broadcaster(t, "B")
	e.do(t, "GET", "/api/v1/fundraisers/f_nope/ingest", token, nil).problem(t, 404)
	e.do(t, "POST", "/api/v1/fundraisers/f_nope/end", adminToken, nil).problem(t, 404)
}

func TestEndIdempotent(t *testing.T) {
	e := newEnv(t)
	npID := e.nonprofit(t, true)
	_, token := e.broadcaster(t, "B")
	f := e.fundraiser(t, token, npID)

	var first, second map[string]any
	e.do(t, "POST", "/api/v1/fundraisers/"+f.ID+"/end", token, nil).want(t, 200).json(t, &first)
	e.do(t, "POST", "/api/v1/fundraisers/"+f.ID+"/end", token, nil).want(t, 200).json(t, &second)
	if first["status"] != "ended" || first["ended_at"] == nil {
		t.Errorf("first end: %v", first)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("ending twice changed the fundraiser (-first +second):\n%s", diff)
	}
	if _, ok := first["stream_key"]; ok {
		t.Error("end leaks the stream key")
	}
	var snap map[string]any
	e.do(t, "GET", "/api/v1/fundraisers/"+f.ID, "", nil).want(t, 200).json(t, &snap)
	if diff := cmp.Diff(map[string]any{"status": "ended", "hls": nil}, snap["stream"]); diff != "" {
		t.Errorf("stream of an ended fundraiser:\n%s", diff)
	}
}

func TestListFundraisers(t *testing.T) {
	e := newEnv(t)
	npID := e.nonprofit(t, true)
	b1, t1 := e.broadcaster(t, "One")
	_, t2 := e.broadcaster(t, "Two")
	a := e.fundraiser(t, t1, npID)
	b := e.fundraiser(t, t2, npID)
	c := e.fundraiser(t, t1, npID)
	e.do(t, "POST", "/api/v1/fundraisers/"+a.ID+"/end", t1, nil).want(t, 200)

	ids := func(query string) []string {
		var l struct {
			Items []struct{ ID string } `json:"items"`
		}
		e.do(t, "GET", "/api/v1/fundraisers"+query, "", nil).want(t, 200).json(t, &l)
		out := []string{}
		for _, it := range l.Items {
			out = append(out, it.ID)
		}
		return out
	}
	for query, want := range map[string][]string{
		"":                         {c.ID, b.ID, a.ID},
		"?limit=2":                 {c.ID, b.ID},
		"?status=ended":            {a.ID},
		"?status=scheduled":        {c.ID, b.ID},
		"?broadcaster_id=" + b1:    {c.ID, a.ID},
		"?status=live":             {},
		"?broadcaster_id=b_nobody": {},
	} {
		if diff := cmp.Diff(want, ids(query)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", query, diff)
		}
	}
}

func TestNonprofits(t *testing.T) {
	e := newEnv(t)
	verified := e.nonprofit(t, true)
	e.nonprofit(t, false)
	var l struct {
		Items []map[string]any `json:"items"`
	}
	e.do(t, "GET", "/api/v1/nonprofits", "", nil).want(t, 200).json(t, &l)
	if len(l.Items) != 1 || l.Items[0]["id"] != verified || l.Items[0]["verified"] != true || l.Items[0]["verified_at"] == nil {
		t.Errorf("verified nonprofits: %v", l.Items)
	}
	// Verifying again is fine; verifying nothing is 404.
	e.do(t, "POST", "/api/v1/nonprofits/"+verified+"/verify", adminToken, nil).want(t, 200)
	e.do(t, "POST", "/api/v1/nonprofits/np_nope/verify", adminToken, nil).problem(t, 404)
}

// The hub is what main wires in as Rooms.
var _ api.Rooms = (*hub.Hub)(nil)

// TestSnapshotWithHub: with the real hub, the snapshot carries the room's
// current position, and subscribing with it would resume after the events
// already published.
func TestSnapshotWithHub(t *testing.T) {
	h, err := hub.New(hub.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	e := newEnv(t, func(c *api.Config) { c.Rooms, c.Chat = h, h })
	npID := e.nonprofit(t, true)
	_, token := e.broadcaster(t, "B")
	f := e.fundraiser(t, token, npID)

	var snap struct{ Position api.Position }
	e.do(t, "GET", "/api/v1/fundraisers/"+f.ID, "", nil).want(t, 200).json(t, &snap)
	if snap.Position.Epoch == "" || snap.Position.Offset != 0 {
		t.Fatalf("new room's position %+v, want a fresh epoch at offset 0", snap.Position)
	}
	var last wire.Position
	for range 3 {
		if last, err = h.Publish(t.Context(), f.ID, "shoutout", map[string]string{"text": "thanks"}); err != nil {
			t.Fatal(err)
		}
	}
	e.do(t, "GET", "/api/v1/fundraisers/"+f.ID, "", nil).want(t, 200).json(t, &snap)
	if snap.Position.Epoch != last.Epoch || uint64(snap.Position.Offset) != last.Offset || last.Offset != 3 {
		t.Errorf("snapshot position %+v, hub %+v", snap.Position, last)
	}

	// Its recent chat, as a new viewer sees it: no deleted line.
	for i, text := range []string{"hello", "spam", "hi all"} {
		chat := wire.ChatData{ID: fmt.Sprintf("c_%d", i), User: wire.User{ID: "u_1", Name: "Ada", Badges: []string{"donor"}}, Text: text}
		if _, err := h.Publish(t.Context(), f.ID, wire.TypeChat, chat); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Publish(t.Context(), f.ID, wire.TypeChatDeleted, wire.ChatDeletedData{ID: "c_1"}); err != nil {
		t.Fatal(err)
	}
	var withChat struct {
		RecentChat []api.ChatMessage `json:"recent_chat"`
	}
	e.do(t, "GET", "/api/v1/fundraisers/"+f.ID, "", nil).want(t, 200).json(t, &withChat)
	if got := withChat.RecentChat; len(got) != 2 || got[0].Text != "hello" || got[1].Text != "hi all" ||
		got[0].User.Name != "Ada" || fmt.Sprint(got[0].User.Badges) != "[donor]" || got[0].Ts == 0 {
		t.Errorf("recent chat %+v, want hello and hi all by Ada", got)
	}
}
