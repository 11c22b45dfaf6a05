package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/givelive/givelive/internal/testredis"
)

// replaySnap is the part of a snapshot the replay tests read.
type replaySnap struct {
	Status string `json:"status"`
	Replay *struct {
		URL        string     `json:"url"`
		Available  bool       `json:"available"`
		Recording  bool       `json:"recording"`
		StartedAt  *time.Time `json:"started_at"`
		DurationMs int64      `json:"duration_ms"`
	} `json:"replay"`
}

type replayDonations struct {
	Items []struct {
		ID        string    `json:"id"`
		Name      string    `json:"name"`
		Message   string    `json:"message"`
		Amount    int64     `json:"amount"`
		CreatedAt time.Time `json:"created_at"`
	} `json:"items"`
	Next *string `json:"next"`
}

// broadcastAndEnd publishes with ffmpeg until the recording has segments,
// gives the donations while live, ends the fundraiser and waits for the
// replay. It returns the stream key.
func broadcastAndEnd(t *testing.T, s *demoServer, gifts []map[string]any) (key string, ids []string) {
	t.Helper()
	var ingest struct {
		StreamKey string `json:"stream_key"`
	}
	if code := getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser+"/ingest", s.bToken, nil, &ingest); code != http.StatusOK {
		t.Fatalf("ingest: %d", code)
	}
	ffmpegPublish(t, s.rtmp+"/"+ingest.StreamKey, "60")
	var snap replaySnap
	waitFor(t, "the recording to have a few seconds", func() bool {
		getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser, "", nil, &snap)
		return snap.Replay != nil && snap.Replay.Recording && snap.Replay.Available && snap.Replay.DurationMs >= 4000
	})
	if snap.Replay.URL != "/replay/"+s.fundraiser+"/index.m3u8" {
		t.Fatalf("a live fundraiser's replay url %q", snap.Replay.URL)
	}
	for i, g := range gifts {
		var out struct {
			ID string `json:"id"`
		}
		if code := postDonation(t, s.base, s.fundraiser, "replay-gift-"+string(rune('a'+i)), g, &out); code != http.StatusCreated && code != http.StatusOK {
			t.Fatalf("donation %d: %d", i, code)
		}
		ids = append(ids, out.ID)
		// Spread the gifts over the video.
		at := snap.Replay.DurationMs
		waitFor(t, "more video after a gift", func() bool {
			getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser, "", nil, &snap)
			return snap.Replay.DurationMs >= at+2000
		})
	}
	if code := getJSON(t, "POST", s.base+"/api/v1/fundraisers/"+s.fundraiser+"/end", s.bToken, nil, nil); code != http.StatusOK {
		t.Fatalf("end: %d", code)
	}
	waitFor(t, "the replay to be finished", func() bool {
		getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser, "", nil, &snap)
		return snap.Status == "ended" && snap.Replay != nil && snap.Replay.Available && !snap.Replay.Recording
	})
	return ingest.StreamKey, ids
}

// TestReplayAfterTheBroadcast is the replay's "done when" on the real
// binary: ffmpeg publishes, gifts come in while live (one of them
// anonymous, one refunded afterwards), the fundraiser ends. The snapshot
// says where the replay is; the replay plays as HLS VOD in ffprobe and
// ffmpeg without an error; its donation list leaves the refunded gift out
// and keeps the anonymous donor anonymous; the stream key appears nowhere.
// Then, in headless Chromium, the viewer page shows the final total and
// plays the replay; the timeline has a marker per gift that stands;
// clicking a marker seeks there and the gift's alert plays again at its
// moment. Desktop and phone screenshots.
func TestReplayAfterTheBroadcast(t *testing.T) {
	needFFmpeg(t)
	s := startDemo(t, buildBinary(t))
	key, ids := broadcastAndEnd(t, s, []map[string]any{
		{"amount": 500, "currency": "USD", "name": "Grace", "message": "see you in the replay"},
		{"amount": 900, "currency": "USD", "name": "Refunded Rita"},
		{"amount": 700, "currency": "USD", "name": "Secret Person", "anonymous": true},
	})
	if code := getJSON(t, "POST", s.base+"/api/v1/fundraisers/"+s.fundraiser+"/donations/"+ids[1]+"/refund", testAdminToken, nil, nil); code != http.StatusOK {
		t.Fatalf("refund: %d", code)
	}

	var snap replaySnap
	getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser, "", nil, &snap)
	if snap.Replay.StartedAt == nil || snap.Replay.DurationMs < 8000 {
		t.Fatalf("ended snapshot's replay: %+v", snap.Replay)
	}
	res, body := get(t, s.base+snap.Replay.URL, nil)
	if res.StatusCode != 200 || !strings.Contains(body, "#EXT-X-PLAYLIST-TYPE:VOD") || !strings.Contains(body, "#EXT-X-ENDLIST") ||
		!strings.Contains(body, "#EXT-X-PROGRAM-DATE-TIME:") || !strings.Contains(body, "#EXT-X-MAP:") {
		t.Fatalf("replay playlist: %d\n%s", res.StatusCode, body)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", s.base+snap.Replay.URL).Output()
	if err != nil || !strings.Contains(string(out), "h264") || !strings.Contains(string(out), "aac") {
		t.Fatalf("ffprobe of the replay: %v %q", err, out)
	}
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-xerror", "-i", s.base+snap.Replay.URL, "-f", "null", "-")
	var decodeErr bytes.Buffer
	cmd.Stderr = &decodeErr
	if err := cmd.Run(); err != nil || decodeErr.Len() > 0 {
		t.Fatalf("ffmpeg decoding the replay: %v\n%s", err, decodeErr.String())
	}

	var page replayDonations
	if code := getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser+"/replay/donations", "", nil, &page); code != 200 {
		t.Fatalf("replay donations: %d", code)
	}
	if len(page.Items) != 2 || page.Items[0].ID != ids[2] || page.Items[0].Name != "Anonymous" || page.Items[1].ID != ids[0] {
		t.Fatalf("replay donations: %+v", page.Items)
	}
	for _, d := range page.Items {
		if d.CreatedAt.Before(*snap.Replay.StartedAt) {
			t.Errorf("donation %s at %v, before the recording began at %v", d.ID, d.CreatedAt, *snap.Replay.StartedAt)
		}
	}
	if strings.Contains(body, key) || strings.Contains(s.stderr.String(), key) {
		t.Fatal("the stream key appears in the replay or the log")
	}
	if code := getJSON(t, "GET", s.base+"/replay/f_00000000000000000000000000000000/index.m3u8", "", nil, nil); code != 404 {
		t.Errorf("the replay of an unknown fundraiser: %d, want 404", code)
	}

	t.Run("in Chromium", func(t *testing.T) { replayInBrowser(t, s, ids) })
}

func replayInBrowser(t *testing.T, s *demoServer, ids []string) {
	needChromium(t)
	needWebBuild(t)
	b := newBrowser(t)
	b.do(t, "open the viewer page", chromedp.Navigate(s.base+"/f/"+s.fundraiser))
	b.waitFor(t, "the final total", `document.querySelector('[data-testid=final-total]')?.textContent.includes('$12.00')`, 20*time.Second)
	const replayTime = `(() => { const v = document.querySelector('[data-testid=replay-video]'); return v && v.readyState >= 2 ? v.currentTime : -1 })()`
	b.waitFor(t, "the replay playing", replayTime+` > 0.5`, 30*time.Second)
	b.waitFor(t, "two markers", `document.querySelectorAll('[data-testid=replay-marker]').length === 2`, 20*time.Second)
	titles := evaluate[[]string](t, b, `[...document.querySelectorAll('[data-testid=replay-marker]')].map((m) => m.title)`)
	if !strings.Contains(titles[0], "Grace gave $5.00") || !strings.Contains(titles[1], "Anonymous gave $7.00") {
		t.Fatalf("markers %q: want Grace's and the anonymous gift, oldest first", titles)
	}
	if strings.Contains(evaluate[string](t, b, `document.body.innerHTML`), "Secret Person") || strings.Contains(evaluate[string](t, b, `document.body.innerHTML`), "Refunded Rita") {
		t.Fatal("the page names the anonymous donor or shows the refunded gift")
	}
	at := evaluate[float64](t, b, `+document.querySelector('[data-testid=replay-marker][data-id="`+ids[2]+`"]').dataset.at`)
	if at <= 0 {
		t.Fatalf("the anonymous gift's marker is at %v s", at)
	}

	// Jump to the anonymous gift: the video seeks a second before it and
	// its alert plays as playback passes the moment.
	b.do(t, "click the marker", chromedp.Click(chromedp.CSS(`[data-testid=replay-marker][data-id="`+ids[2]+`"]`)))
	b.waitFor(t, "the seek", fmt.Sprintf(`(() => { const t = %s; return t >= %f && t < %f })()`, replayTime, at-1.5, at+3), 20*time.Second)
	b.waitFor(t, "the gift's alert", `[...document.querySelectorAll('[data-testid=alert]')].some((a) => a.dataset.key === 'd-`+ids[2]+`' && a.textContent.includes('Anonymous gave $7.00'))`, 30*time.Second)
	if shownAt := evaluate[float64](t, b, replayTime); shownAt < at-0.5 {
		t.Fatalf("the alert showed at %v s of video, before its moment at %v s", shownAt, at)
	}
	b.screenshot(t, "1-desktop-replay-alert")
	b.phone(t)
	b.do(t, "click Grace's marker", chromedp.Click(chromedp.CSS(`[data-testid=replay-marker][data-id="`+ids[0]+`"]`)))
	b.waitFor(t, "Grace's alert", `[...document.querySelectorAll('[data-testid=alert]')].some((a) => a.dataset.key === 'd-`+ids[0]+`')`, 30*time.Second)
	if evaluate[bool](t, b, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the phone layout scrolls sideways")
	}
	b.screenshot(t, "2-phone-replay-alert")
	noViolations(t, b)
}

// TestReplayAcrossNodes: two nodes of the real binary on one Redis and one
// ledger, each recording to its own disk. The first broadcast goes to node
// A, the second (the encoder reconnected through the load balancer) to
// node B, and the fundraiser ends through B. Each node's snapshot says
// where the replay is, and each serves the same playlist of both
// broadcasts (a discontinuity between them), the other node's segments by
// proxy (Range too); ffmpeg decodes the replay through either without an
// error. A request already proxied once gets that node's own broadcasts.
func TestReplayAcrossNodes(t *testing.T) {
	needFFmpeg(t)
	redis := testredis.Start(t)
	bin := buildBinary(t)
	data := t.TempDir()
	env := "GIVELIVE_REDIS_URL=" + redis.URL()
	a := startDemoIn(t, bin, data, freeAddr(t), env, "GIVELIVE_RECORDINGS_DIR="+t.TempDir())
	b := startDemoIn(t, bin, data, freeAddr(t), env, "GIVELIVE_RECORDINGS_DIR="+t.TempDir())
	room := a.fundraiser
	playlist := "/replay/" + room + "/index.m3u8"
	var ingest struct {
		StreamKey string `json:"stream_key"`
	}
	if code := getJSON(t, "GET", a.base+"/api/v1/fundraisers/"+room+"/ingest", a.bToken, nil, &ingest); code != http.StatusOK {
		t.Fatalf("ingest: %d", code)
	}

	// The first broadcast, on A.
	_, stderr, done := ffmpegPublish(t, a.rtmp+"/"+ingest.StreamKey, "5")
	var snap replaySnap
	waitFor(t, "B to see A's recording", func() bool {
		getJSON(t, "GET", b.base+"/api/v1/fundraisers/"+room, "", nil, &snap)
		return snap.Replay != nil && snap.Replay.Recording
	})
	if err := <-done; err != nil {
		t.Fatalf("ffmpeg to A: %v\n%s", err, stderr)
	}
	waitFor(t, "B to see A's finished broadcast", func() bool {
		getJSON(t, "GET", b.base+"/api/v1/fundraisers/"+room, "", nil, &snap)
		return snap.Replay != nil && snap.Replay.Available && !snap.Replay.Recording
	})
	res, first := get(t, b.base+playlist, nil)
	if res.StatusCode != 200 || strings.Count(first, ".m4s") < 2 || !strings.Contains(first, "#EXT-X-ENDLIST") {
		t.Fatalf("A's broadcast through B: %d\n%s", res.StatusCode, first)
	}

	// The second, on B, seen from A while it is recorded.
	ffmpegPublish(t, b.rtmp+"/"+ingest.StreamKey, "60")
	waitFor(t, "A to list B's broadcast as it grows", func() bool {
		_, body := get(t, a.base+playlist, nil)
		return strings.Count(body, "#EXT-X-MAP:") == 2 && strings.Count(body, ".m4s") >= strings.Count(first, ".m4s")+2 &&
			strings.Contains(body, "#EXT-X-PLAYLIST-TYPE:EVENT")
	})
	if code := getJSON(t, "POST", b.base+"/api/v1/fundraisers/"+room+"/end", b.bToken, nil, nil); code != http.StatusOK {
		t.Fatalf("end through B: %d", code)
	}
	for _, n := range []*demoServer{a, b} {
		waitFor(t, "the snapshot to name the finished replay", func() bool {
			getJSON(t, "GET", n.base+"/api/v1/fundraisers/"+room, "", nil, &snap)
			return snap.Status == "ended" && snap.Replay != nil && snap.Replay.Available && !snap.Replay.Recording && snap.Replay.StartedAt != nil
		})
	}
	if snap.Replay.URL != playlist {
		t.Fatalf("the replay's url %q", snap.Replay.URL)
	}

	var bodies []string
	for _, n := range []*demoServer{a, b} {
		var body string
		waitFor(t, "the whole replay", func() bool {
			res, body = get(t, n.base+playlist, nil)
			return res.StatusCode == 200 && strings.Contains(body, "#EXT-X-ENDLIST")
		})
		if !strings.Contains(body, "#EXT-X-PLAYLIST-TYPE:VOD") || strings.Count(body, "#EXT-X-DISCONTINUITY") != 1 || strings.Count(body, "#EXT-X-MAP:") != 2 {
			t.Fatalf("the replay through %s:\n%s", n.base, body)
		}
		bodies = append(bodies, body)
	}
	if bodies[0] != bodies[1] {
		t.Fatalf("the nodes list different replays:\n%s\n---\n%s", bodies[0], bodies[1])
	}
	// Every segment through either node; one with a range.
	for _, l := range strings.Split(bodies[0], "\n") {
		if !strings.HasSuffix(l, ".m4s") && !strings.Contains(l, "init.mp4") {
			continue
		}
		if strings.HasPrefix(l, "#EXT-X-MAP:URI=") {
			l = strings.TrimSuffix(strings.TrimPrefix(l, `#EXT-X-MAP:URI="`), `"`)
		}
		for _, n := range []*demoServer{a, b} {
			res, whole := get(t, n.base+"/replay/"+room+"/"+l, nil)
			if res.StatusCode != 200 || len(whole) < 8 || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
				t.Fatalf("%s through %s: %d, %d bytes", l, n.base, res.StatusCode, len(whole))
			}
			if res, part := get(t, n.base+"/replay/"+room+"/"+l, http.Header{"Range": {"bytes=0-99"}}); res.StatusCode != http.StatusPartialContent || part != whole[:100] {
				t.Fatalf("a range of %s through %s: %d", l, n.base, res.StatusCode)
			}
		}
	}
	// A request already proxied once: that node's own broadcast only.
	if res, body := get(t, b.base+playlist, http.Header{"X-GiveLive-Hop": {"1"}}); res.StatusCode != 200 || strings.Count(body, "#EXT-X-MAP:") != 1 {
		t.Fatalf("B merged the listing for a request already proxied: %d\n%s", res.StatusCode, body)
	}
	for _, n := range []*demoServer{a, b} {
		cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", n.base+playlist, "-f", "null", "-")
		var decodeErr bytes.Buffer
		cmd.Stderr = &decodeErr
		if err := cmd.Run(); err != nil {
			t.Fatalf("ffmpeg decoding the replay through %s: %v\n%s", n.base, err, decodeErr.String())
		}
	}
	for _, s := range []*demoServer{a, b} {
		if strings.Contains(s.stderr.String(), ingest.StreamKey) {
			t.Fatal("the stream key appears in a server log")
		}
	}
}
