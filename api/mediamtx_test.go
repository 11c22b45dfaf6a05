package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/givelive/givelive/api"
	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/streams"
)

const mediamtxSecret = "mtx-secret-0123456789abcdef"

// roomEvents records what the stream tracker publishes, as the hub would
// receive it.
type roomEvents struct {
	mu     sync.Mutex
	events []string // "room type status"
}

func (r *roomEvents) Publish(_ context.Context, room, typ string, data any) (wire.Position, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return wire.Position{}, err
	}
	var d wire.StreamData
	_ = json.Unmarshal(raw, &d)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, room+" "+typ+" "+d.Status+" "+d.HLS)
	return wire.Position{Epoch: "e", Offset: uint64(len(r.events))}, nil
}

func (r *roomEvents) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

// mediamtxEnv is a server with the mediamtx integration on, its stream
// tracker over the same ledger, and a fundraiser to publish.
type mediamtxEnv struct {
	*env
	tracker *streams.Tracker
	events  *roomEvents
	f       createdFundraiser
	owner   string
}

func newMediamtxEnv(t *testing.T, edit ...func(*api.Config)) *mediamtxEnv {
	t.Helper()
	m := &mediamtxEnv{events: &roomEvents{}}
	m.env = newEnv(t, append([]func(*api.Config){func(c *api.Config) {
		tr, err := streams.New(streams.Config{Ledger: c.Store, Publisher: m.events})
		if err != nil {
			t.Fatal(err)
		}
		m.tracker = tr
		c.Streams = tr
		c.MediaMTXSecret = mediamtxSecret
	}}, edit...)...)
	np := m.nonprofit(t, true)
	_, m.owner = m.broadcaster(t, "Ana")
	m.f = m.fundraiser(t, m.owner, np)
	return m
}

// authBody is the request mediamtx's documentation shows for its HTTP
// authentication, with the fields a real mediamtx fills.
func authBody(action, path, protocol string) string {
	return `{"user":"","password":"","token":"","ip":"127.0.0.1","action":"` + action +
		`","path":"` + path + `","protocol":"` + protocol + `","id":null,"query":"","userAgent":"OBS-Studio/31.0"}`
}

// basic returns headers with HTTP Basic credentials, as mediamtx sends the
// userinfo of authHTTPAddress.
func basic(user, pass string) []string {
	return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
}

func TestMediamtxAuthChecksStreamKeysAndLeavesReadingOpen(t *testing.T) {
	m := newMediamtxEnv(t)
	cred := basic("mediamtx", mediamtxSecret)
	const path = "/api/v1/ingest/mediamtx/auth"

	// Publishing needs the fundraiser's key; the answer never echoes a key.
	m.do(t, "POST", path, "", authBody("publish", "live/"+m.f.StreamKey, "rtmp"), cred...).want(t, 204)
	m.do(t, "POST", path, "", authBody("publish", "live/"+m.f.StreamKey, "srt"), cred...).want(t, 204)
	wrong := m.do(t, "POST", path, "", authBody("publish", "live/not-the-key-123", "rtmp"), cred...)
	wrong.problem(t, 403)
	if strings.Contains(string(wrong.body), "not-the-key-123") {
		t.Fatalf("the refusal echoes the key: %s", wrong.body)
	}
	m.do(t, "POST", path, "", authBody("publish", m.f.StreamKey, "rtmp"), cred...).problem(t, 403) // no live/ prefix
	m.do(t, "POST", path, "", authBody("publish", "live/"+m.f.StreamKey+"/x", "rtmp"), cred...).problem(t, 403)

	// Reading is open, whatever the path; mediamtx's own API is not ours to grant.
	for _, action := range []string{"read", "playback"} {
		m.do(t, "POST", path, "", authBody(action, "live/anything", "hls"), cred...).want(t, 204)
	}
	for _, action := range []string{"api", "metrics", "pprof"} {
		p := m.do(t, "POST", path, "", authBody(action, "", ""), cred...).problem(t, 403)
		if !strings.Contains(p.Detail, "authHTTPExclude") {
			t.Fatalf("%s refusal does not say what to do: %q", action, p.Detail)
		}
	}

	// Bearer works too (for hook commands); the key of an ended fundraiser does not.
	m.do(t, "POST", path, "", authBody("publish", "live/"+m.f.StreamKey, "rtmp"), "Authorization", "Bearer "+mediamtxSecret).want(t, 204)
	m.do(t, "POST", "/api/v1/fundraisers/"+m.f.ID+"/end", m.owner, nil).want(t, 200)
	m.do(t, "POST", path, "", authBody("publish", "live/"+m.f.StreamKey, "rtmp"), cred...).problem(t, 403)
}

func TestMediamtxEndpointsNeedTheSecret(t *testing.T) {
	m := newMediamtxEnv(t)
	body := authBody("read", "live/x", "hls")
	for name, hdr := range map[string][]string{
		"none":         nil,
		"wrong basic":  basic("mediamtx", "not-the-secret-0000000"),
		"wrong bearer": {"Authorization", "Bearer nope"},
		"admin token":  {"Authorization", "Bearer " + adminToken},
	} {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/api/v1/ingest/mediamtx/auth", "/api/v1/ingest/mediamtx/hook"} {
				r := m.do(t, "POST", path, "", body, hdr...)
				r.problem(t, 401)
				if r.header.Get("WWW-Authenticate") == "" {
					t.Fatalf("%s: 401 without WWW-Authenticate", path)
				}
			}
		})
	}

	off := newEnv(t) // no secret configured: the endpoints do not exist
	off.do(t, "POST", "/api/v1/ingest/mediamtx/auth", "", body, basic("m", mediamtxSecret)...).problem(t, 404)
}

func TestMediamtxAuthRefusesMalformedBodies(t *testing.T) {
	m := newMediamtxEnv(t)
	cred := basic("mediamtx", mediamtxSecret)
	for name, body := range map[string]string{
		"not json":       `{"action":`,
		"no action":      `{"path":"live/x"}`,
		"no path":        `{"action":"read"}`,
		"action too big": `{"action":"` + strings.Repeat("a", 100) + `","path":"live/x"}`,
		"path not text":  `{"action":"read","path":42}`,
	} {
		t.Run(name, func(t *testing.T) {
			m.do(t, "POST", "/api/v1/ingest/mediamtx/auth", "", body, cred...).problem(t, 400)
		})
	}
}

func TestMediamtxHookMakesTheStreamLiveAndOffline(t *testing.T) {
	m := newMediamtxEnv(t)
	cred := basic("mediamtx", mediamtxSecret)
	hook := func(event, path string) response {
		return m.do(t, "POST", "/api/v1/ingest/mediamtx/hook", "", map[string]any{"event": event, "path": path}, cred...)
	}
	snapshot := func() (status string, stream api.Stream) {
		var s struct {
			Status string     `json:"status"`
			Stream api.Stream `json:"stream"`
		}
		m.do(t, "GET", "/api/v1/fundraisers/"+m.f.ID, "", nil).want(t, 200).json(t, &s)
		return s.Status, s.Stream
	}
	hlsPath := "/hls/" + m.f.ID + "/index.m3u8"

	if _, st := snapshot(); st.Status != api.StreamStatusOffline || st.Hls != nil {
		t.Fatalf("stream before the hook: %+v", st)
	}
	hook("ready", "live/"+m.f.StreamKey).want(t, 204)
	status, st := snapshot()
	if status != "live" || st.Status != api.StreamStatusLive || st.Hls == nil || *st.Hls != hlsPath {
		t.Fatalf("after ready: fundraiser %s, stream %+v", status, st)
	}
	hook("ready", "live/"+m.f.StreamKey).want(t, 204) // mediamtx may repeat itself: one event
	if got, want := m.events.take(), []string{m.f.ID + " stream live " + hlsPath}; !equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}

	hook("not_ready", "live/"+m.f.StreamKey).want(t, 204)
	status, st = snapshot()
	if status != "live" || st.Status != api.StreamStatusOffline {
		t.Fatalf("after not_ready: fundraiser %s (want live: the broadcaster may come back), stream %+v", status, st)
	}
	if got, want := m.events.take(), []string{m.f.ID + " stream offline " + hlsPath}; !equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}

	hook("ready", "live/unknown-key-0000").problem(t, 404)
	hook("started", "live/"+m.f.StreamKey).problem(t, 400)

	// Ending the fundraiser ends the stream once; it cannot go live again.
	hook("ready", "live/"+m.f.StreamKey).want(t, 204)
	m.events.take()
	m.do(t, "POST", "/api/v1/fundraisers/"+m.f.ID+"/end", m.owner, nil).want(t, 200)
	m.do(t, "POST", "/api/v1/fundraisers/"+m.f.ID+"/end", m.owner, nil).want(t, 200)
	if got, want := m.events.take(), []string{m.f.ID + " stream ended " + hlsPath}; !equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	if _, st := snapshot(); st.Status != api.StreamStatusEnded {
		t.Fatalf("stream after end: %+v", st)
	}
	hook("ready", "live/"+m.f.StreamKey).problem(t, 409)
	hook("not_ready", "live/"+m.f.StreamKey).want(t, 204)
	if got := m.events.take(); len(got) != 0 {
		t.Fatalf("events after the end: %q", got)
	}
}

func TestMediamtxCallsSkipThePerIPRateLimit(t *testing.T) {
	m := newMediamtxEnv(t, func(c *api.Config) { c.RateLimit = api.RateLimit{PerSecond: 0.001, Burst: 5} })
	cred := basic("mediamtx", mediamtxSecret)
	// mediamtx asks for every viewer from one address.
	for i := range 20 {
		if r := m.do(t, "POST", "/api/v1/ingest/mediamtx/auth", "", authBody("read", "live/x", "hls"), cred...); r.status != 204 {
			t.Fatalf("call %d: %d %s", i, r.status, r.body)
		}
	}
	// The rest of the API is still limited for that address.
	limited := false
	for range 5 {
		if m.do(t, "GET", "/api/v1/nonprofits", "", nil).status == 429 {
			limited = true
		}
	}
	if !limited {
		t.Fatal("the ordinary API was not rate limited")
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRotateStreamKey(t *testing.T) {
	var stopped []string
	e := newEnv(t, func(c *api.Config) {
		tr, err := streams.New(streams.Config{Ledger: c.Store, Publisher: &roomEvents{}, Stop: func(id string) bool {
			stopped = append(stopped, id)
			return true
		}})
		if err != nil {
			t.Fatal(err)
		}
		c.Streams = tr
	})
	np := e.nonprofit(t, true)
	_, owner := e.broadcaster(t, "Ana")
	_, other := e.broadcaster(t, "Bo")
	f := e.fundraiser(t, owner, np)
	path := "/api/v1/fundraisers/" + f.ID + "/ingest/rotate"

	var rotated struct {
		IngestURL string `json:"ingest_url"`
		StreamKey string `json:"stream_key"`
	}
	e.do(t, "POST", path, owner, nil).want(t, 200).json(t, &rotated)
	if rotated.StreamKey == "" || rotated.StreamKey == f.StreamKey || rotated.IngestURL != f.IngestURL {
		t.Fatalf("rotated %+v from %+v", rotated, f)
	}
	if len(stopped) != 1 || stopped[0] != f.ID {
		t.Fatalf("publisher stops %q, want the fundraiser's", stopped)
	}
	var ingest struct {
		StreamKey string `json:"stream_key"`
	}
	e.do(t, "GET", "/api/v1/fundraisers/"+f.ID+"/ingest", owner, nil).want(t, 200).json(t, &ingest)
	if ingest.StreamKey != rotated.StreamKey {
		t.Fatalf("ingest shows %q after rotating to %q", ingest.StreamKey, rotated.StreamKey)
	}
	if _, err := e.store.FundraiserByStreamKey(t.Context(), f.StreamKey); err == nil {
		t.Fatal("the old key still finds the fundraiser")
	}

	e.do(t, "POST", path, other, nil).problem(t, 403)
	e.do(t, "POST", path, "", nil).problem(t, 401)
	e.do(t, "POST", path, e.viewer(t, "Vi"), nil).problem(t, 403)
	e.do(t, "POST", "/api/v1/fundraisers/f_0190f0f0f0f07000800000000000dead/ingest/rotate", owner, nil).problem(t, 404)
	e.do(t, "POST", "/api/v1/fundraisers/"+f.ID+"/end", owner, nil).want(t, 200)
	e.do(t, "POST", path, owner, nil).problem(t, 409)
}

func TestCurrentBroadcaster(t *testing.T) {
	e := newEnv(t)
	id, token := e.broadcaster(t, "Ana")
	var me struct{ ID, Name string }
	e.do(t, "GET", "/api/v1/broadcasters/me", token, nil).want(t, 200).json(t, &me)
	if me.ID != id || me.Name != "Ana" {
		t.Fatalf("me = %+v, want %s Ana", me, id)
	}
	e.do(t, "GET", "/api/v1/broadcasters/me", "", nil).problem(t, 401)
	e.do(t, "GET", "/api/v1/broadcasters/me", "glb_not-a-token", nil).problem(t, 401)
	e.do(t, "GET", "/api/v1/broadcasters/me", e.viewer(t, "Vi"), nil).problem(t, 403)
}
