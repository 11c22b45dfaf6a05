package main

import (
	"bufio"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/testredis"
)

// TestMediaAcrossNodes runs two nodes of the real binary on one Redis and
// one ledger; ffmpeg publishes to node A's RTMP port. Node B then says the
// stream is live (its viewer hears "stream live", its snapshot shows it),
// serves the HLS by proxying it from A (ffprobe through B sees h264 and
// aac; segments keep A's caching, ETag and Range answers), and does not
// proxy a request that was already proxied once; a blocking playlist
// reload goes through B to A. When ffmpeg stops, B says offline and still
// serves the stream's end from A (EXT-X-ENDLIST). When A is killed
// mid-stream, its directory entry expires, B's viewer hears "stream
// offline" and B's HLS is 404.
func TestMediaAcrossNodes(t *testing.T) {
	needFFmpeg(t)
	redis := testredis.Start(t)
	bin := buildBinary(t)
	data := t.TempDir()
	env := "GIVELIVE_REDIS_URL=" + redis.URL()
	a := startDemoIn(t, bin, data, freeAddr(t), env)
	b := startDemoIn(t, bin, data, freeAddr(t), env)
	if a.fundraiser != b.fundraiser {
		t.Fatalf("the nodes seeded different demos: %s and %s", a.fundraiser, b.fundraiser)
	}
	room := a.fundraiser
	hlsPath := "/hls/" + room + "/index.m3u8"
	var ingest struct {
		StreamKey string `json:"stream_key"`
	}
	if code := getJSON(t, "GET", a.base+"/api/v1/fundraisers/"+room+"/ingest", a.bToken, nil, &ingest); code != http.StatusOK {
		t.Fatalf("ingest: %d", code)
	}
	onB := subscribed(t, b.base, "", room)

	_, stderr, done := ffmpegPublish(t, a.rtmp+"/"+ingest.StreamKey, "8")
	if got := streamEvent(t, onB, wire.StreamLive); got.HLS != hlsPath {
		t.Fatalf("B's live event names %q, want %q", got.HLS, hlsPath)
	}
	if st := streamStatus(t, b.base, room); st != "live" {
		t.Fatalf("B's snapshot says the stream is %s, want live", st)
	}

	// The first playlist request waits for the first segment, through B.
	res, body := get(t, b.base+hlsPath, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "#EXT-X-STREAM-INF:") {
		t.Fatalf("B's playlist: %d %s", res.StatusCode, body)
	}
	if ct, cc, acao := res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"), res.Header.Get("Access-Control-Allow-Origin"); ct != "application/vnd.apple.mpegurl" || cc != "no-cache" || acao != "*" {
		t.Fatalf("B's playlist headers: Content-Type %q, Cache-Control %q, Access-Control-Allow-Origin %q", ct, cc, acao)
	}
	videoPath := "/hls/" + room + "/video1_stream.m3u8"
	res, body = get(t, b.base+videoPath, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "#EXT-X-PART:") {
		t.Fatalf("B's media playlist: %d %s", res.StatusCode, body)
	}
	// A blocking reload for the next part goes through B to A, which holds it.
	msn, part := nextPart(t, body)
	res, next := get(t, b.base+videoPath+"?_HLS_msn="+strconv.Itoa(msn)+"&_HLS_part="+strconv.Itoa(part), nil)
	if gotMSN, gotPart := nextPart(t, next); res.StatusCode != http.StatusOK || gotMSN*1000+gotPart <= msn*1000+part {
		t.Fatalf("B's blocking reload for part %d of %d: %d\n%s", part, msn, res.StatusCode, next)
	}
	segment := firstSegment(t, body)
	res, seg := get(t, b.base+"/hls/"+room+"/"+segment, nil)
	etag := res.Header.Get("ETag")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "video/mp4" || len(seg) < 8 || seg[4:8] != "moof" ||
		!strings.Contains(res.Header.Get("Cache-Control"), "immutable") || etag == "" {
		t.Fatalf("B's segment: %d, headers %v, %d bytes", res.StatusCode, res.Header, len(seg))
	}
	if res, part := get(t, b.base+"/hls/"+room+"/"+segment, http.Header{"Range": {"bytes=0-187"}}); res.StatusCode != http.StatusPartialContent || part != seg[:188] {
		t.Fatalf("B's segment range: %d, %d bytes", res.StatusCode, len(part))
	}
	if res, _ := get(t, b.base+"/hls/"+room+"/"+segment, http.Header{"If-None-Match": {etag}}); res.StatusCode != http.StatusNotModified {
		t.Fatalf("B's segment with its ETag: %d, want 304", res.StatusCode)
	}
	// A request already proxied once is served from B's own window: 404.
	res, body = get(t, b.base+hlsPath, http.Header{"X-GiveLive-Hop": {"1"}})
	if res.StatusCode != http.StatusNotFound || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("B proxied a request with the hop header: %d %s", res.StatusCode, body)
	}

	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", b.base+hlsPath).Output()
	if err != nil {
		t.Fatalf("ffprobe through node B: %v", err)
	}
	codecs := strings.Fields(string(out))
	slices.Sort(codecs)
	if got := slices.Compact(codecs); !slices.Equal(got, []string{"aac", "h264"}) {
		t.Fatalf("ffprobe through node B sees %q, want h264 and aac", got)
	}
	if n := metric(t, b.base, "givelive_hls_proxied_requests_total"); n < 4 {
		t.Fatalf("B counted %v proxied requests, want at least 4", n)
	}

	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, stderr)
		}
	case <-time.After(testTimeout):
		t.Fatal("ffmpeg did not finish")
	}
	streamEvent(t, onB, wire.StreamOffline)
	waitFor(t, "B's snapshot says offline", func() bool { return streamStatus(t, b.base, room) == "offline" })
	// B's players still reach the stream's end on A, to its last frame.
	if res, body := get(t, b.base+videoPath, nil); res.StatusCode != http.StatusOK || !strings.Contains(body, "#EXT-X-ENDLIST") {
		t.Fatalf("B's playlist after the end: %d\n%s", res.StatusCode, body)
	}

	// The key is replaced through node B while A ingests with it: A cuts
	// the encoder off at its next key check (every 5 s), and the old key no
	// longer publishes.
	_, stderr, done = ffmpegPublish(t, a.rtmp+"/"+ingest.StreamKey, "60")
	streamEvent(t, onB, wire.StreamLive)
	var rotated struct {
		StreamKey string `json:"stream_key"`
	}
	if code := getJSON(t, "POST", b.base+"/api/v1/fundraisers/"+room+"/ingest/rotate", b.bToken, nil, &rotated); code != http.StatusOK || rotated.StreamKey == ingest.StreamKey {
		t.Fatalf("rotate on B: %d", code)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("ffmpeg kept going on A after the key was replaced through B: %s", stderr)
		}
	case <-time.After(testTimeout):
		t.Fatal("A did not cut off the encoder whose key was replaced through B")
	}
	streamEvent(t, onB, wire.StreamOffline)
	if n := metric(t, a.base, "givelive_ingest_revoked_total"); n != 1 {
		t.Fatalf("A counted %v revoked publishers, want 1", n)
	}

	// Node A dies mid-stream: its entry expires, and B tells its viewer.
	_, _, _ = ffmpegPublish(t, a.rtmp+"/"+rotated.StreamKey, "60")
	streamEvent(t, onB, wire.StreamLive)
	if st := streamStatus(t, b.base, room); st != "live" {
		t.Fatalf("B's snapshot says the stream is %s, want live", st)
	}
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	streamEvent(t, onB, wire.StreamOffline)
	if st := streamStatus(t, b.base, room); st != "offline" {
		t.Fatalf("B's snapshot after A died says %s, want offline", st)
	}
	waitStatus(t, b.base+hlsPath, http.StatusNotFound)

	for _, s := range []*demoServer{a, b} {
		if strings.Contains(s.stderr.String(), ingest.StreamKey) || strings.Contains(s.stderr.String(), rotated.StreamKey) {
			t.Fatal("the stream key appears in a server log")
		}
	}
}

// streamStatus is the stream status in a node's fundraiser response.
func streamStatus(t *testing.T, base, id string) string {
	t.Helper()
	var snap struct {
		Stream struct {
			Status string `json:"status"`
		} `json:"stream"`
	}
	if code := getJSON(t, "GET", base+"/api/v1/fundraisers/"+id, "", nil, &snap); code != http.StatusOK {
		t.Fatalf("GET fundraiser: %d", code)
	}
	return snap.Stream.Status
}

// get fetches url with extra headers and returns the response and body.
func get(t *testing.T, url string, h http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

// firstSegment is the first segment a media playlist lists, gaps aside.
func firstSegment(t *testing.T, playlist string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(playlist))
	gap := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "#EXT-X-GAP":
			gap = true
		case line != "" && !strings.HasPrefix(line, "#"):
			if !gap {
				return line
			}
			gap = false
		}
	}
	t.Fatalf("no segment in the playlist:\n%s", playlist)
	return ""
}

// nextPart is the position of the part after the last one a live media
// playlist lists: the media sequence number of the segment in progress and
// the index of its next part.
func nextPart(t *testing.T, playlist string) (msn, part int) {
	t.Helper()
	segments := 0
	for line := range strings.Lines(playlist) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			msn, _ = strconv.Atoi(strings.TrimPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"))
		case strings.HasPrefix(line, "#EXT-X-PART:"):
			part++
		case line != "" && !strings.HasPrefix(line, "#"):
			segments++
			part = 0
		}
	}
	return msn + segments, part
}

// metric reads an unlabelled counter from a node's /metrics.
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	res, body := get(t, base+"/metrics", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", res.StatusCode)
	}
	for line := range strings.Lines(body) {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric %s: %q", name, line)
			}
			return f
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// waitFor polls cond until it holds (a state that follows a cache of about
// a second, not an ordering of events).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, testTimeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
