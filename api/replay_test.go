package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/givelive/givelive/api"
)

type fakeReplays map[string]api.ReplayInfo

func (f fakeReplays) Replay(_ context.Context, id string) (api.ReplayInfo, bool) {
	r, ok := f[id]
	return r, ok
}

// TestReplayDonationsShowWhatViewersSaw: the public list of a replay's
// gifts pages through succeeded gifts only, anonymous donors anonymous,
// hidden messages empty.
func TestReplayDonationsShowWhatViewersSaw(t *testing.T) {
	e := newDonationEnv(t)
	base := "/api/v1/fundraisers/" + e.fid
	kept := e.give(t, "a", "", map[string]any{"amount": 500, "name": "Ada", "message": "hello"})
	secret := e.give(t, "b", "", map[string]any{"amount": 600, "name": "Samuel Secret", "anonymous": true})
	refunded := e.give(t, "c", "", map[string]any{"amount": 700, "name": "Rita"})
	hidden := e.give(t, "d", "", map[string]any{"amount": 800, "name": "Hal", "message": "rude words"})
	e.do(t, "POST", base+"/donations/"+refunded.ID+"/refund", adminToken, nil).want(t, 200)
	e.do(t, "POST", base+"/donations/"+hidden.ID+"/hide", e.ownerToken, nil).want(t, 200)

	var seen []string
	before := ""
	for page := 0; page < 10; page++ {
		path := base + "/replay/donations?limit=1"
		if before != "" {
			path += "&before=" + before
		}
		r := e.do(t, "GET", path, "", nil).want(t, 200)
		if strings.Contains(string(r.body), "Samuel") || strings.Contains(string(r.body), "rude") {
			t.Fatalf("the replay's list leaks: %s", r.body)
		}
		var p struct {
			Items []struct {
				ID, Name, Message string
				CreatedAt         time.Time `json:"created_at"`
			}
			Next *string
		}
		r.json(t, &p)
		for _, d := range p.Items {
			seen = append(seen, d.ID+"/"+d.Name+"/"+d.Message)
			if d.CreatedAt.IsZero() {
				t.Errorf("donation %s without a time", d.ID)
			}
		}
		if p.Next == nil {
			break
		}
		before = *p.Next
	}
	want := []string{hidden.ID + "/Hal/", secret.ID + "/Anonymous/", kept.ID + "/Ada/hello"}
	if strings.Join(seen, " ") != strings.Join(want, " ") {
		t.Fatalf("replay donations %q, want %q", seen, want)
	}
	e.do(t, "GET", "/api/v1/fundraisers/f_nope/replay/donations", "", nil).problem(t, 404)
	e.do(t, "GET", base+"/replay/donations?limit=201", "", nil).problem(t, 400)
	e.do(t, "GET", base+"/replay/donations?before=../x", "", nil).problem(t, 400)
}

// TestSnapshotSaysWhereTheReplayIs: live, the snapshot names where the
// recording will be; ended, where its replay is, or nothing without one.
func TestSnapshotSaysWhereTheReplayIs(t *testing.T) {
	at := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
	replays := fakeReplays{}
	e := newEnv(t, func(c *api.Config) { c.Replays = replays })
	np := e.nonprofit(t, true)
	_, token := e.broadcaster(t, "B")
	withReplay := e.fundraiser(t, token, np).ID
	without := e.fundraiser(t, token, np).ID
	replays[withReplay] = api.ReplayInfo{StartedAt: at, Duration: 90 * time.Second, Available: true, Recording: true}

	replay := func(id string) map[string]any {
		var s struct {
			Replay map[string]any `json:"replay"`
		}
		e.do(t, "GET", "/api/v1/fundraisers/"+id, "", nil).want(t, 200).json(t, &s)
		return s.Replay
	}
	r := replay(withReplay)
	if r["url"] != "/replay/"+withReplay+"/index.m3u8" || r["recording"] != true || r["duration_ms"] != float64(90000) || r["started_at"] != "2026-12-07T20:00:00Z" {
		b, _ := json.Marshal(r)
		t.Fatalf("live snapshot's replay: %s", b)
	}
	if r := replay(without); r == nil || r["available"] != false || r["started_at"] != nil {
		t.Fatalf("a live fundraiser with nothing recorded yet: %v", r)
	}
	for _, id := range []string{withReplay, without} {
		e.do(t, "POST", "/api/v1/fundraisers/"+id+"/end", token, nil).want(t, 200)
	}
	replays[withReplay] = api.ReplayInfo{StartedAt: at, Duration: 90 * time.Second, Available: true}
	if r := replay(withReplay); r == nil || r["available"] != true || r["recording"] != false {
		t.Fatalf("ended snapshot's replay: %v", r)
	}
	if r := replay(without); r != nil {
		t.Fatalf("an ended fundraiser with nothing recorded has a replay: %v", r)
	}
}
