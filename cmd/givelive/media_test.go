package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
)

// needFFmpeg skips without ffmpeg and ffprobe, unless CI is set.
func needFFmpeg(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed (CI must install Debian's ffmpeg): %v", tool, err)
			}
			t.Skipf("%s is not installed; install Debian's ffmpeg to run this test", tool)
		}
	}
}

// ffmpegPublish publishes a test pattern with sound (x264 with B-frames,
// AAC) in real time, as the README's command does.
func ffmpegPublish(t *testing.T, url string, seconds string) (*exec.Cmd, *bytes.Buffer, chan error) {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi", "-i", "sine=frequency=440",
		"-t", seconds, "-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "60", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-f", "flv", url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, &stderr, done
}

// streamEvent waits on ws for a stream event with status.
func streamEvent(t *testing.T, ws *websocket.Conn, status string) wire.StreamData {
	t.Helper()
	var got wire.StreamData
	readUntil(t, ws, func(ev wire.Event, _ wire.Reply) bool {
		if ev.Type != wire.TypeStream {
			return false
		}
		if err := json.Unmarshal(ev.Data, &got); err != nil {
			t.Fatalf("stream event %s: %v", ev.Data, err)
		}
		if got.Status != status {
			t.Fatalf("stream event %s, want status %s", ev.Data, status)
		}
		return true
	})
	return got
}

// TestGoLiveWithFFmpeg is the media path's "done when" on the real binary:
// ffmpeg publishing to rtmp://…/live/KEY makes the demo fundraiser live;
// every viewer hears the stream event with the HLS URL; ffprobe and ffmpeg
// read the HLS from the HTTP port; stopping sends offline; a wrong key is
// refused and never shows in the log.
func TestGoLiveWithFFmpeg(t *testing.T) {
	needFFmpeg(t)
	s := startDemo(t, buildBinary(t))
	var ingest struct {
		IngestURL string `json:"ingest_url"`
		StreamKey string `json:"stream_key"`
	}
	if code := getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser+"/ingest", s.bToken, nil, &ingest); code != http.StatusOK {
		t.Fatalf("ingest: %d", code)
	}
	if ingest.IngestURL != s.rtmp && !strings.HasSuffix(ingest.IngestURL, s.rtmp[strings.LastIndex(s.rtmp, ":"):]) {
		t.Fatalf("ingest_url %q does not name the RTMP port of %s", ingest.IngestURL, s.rtmp)
	}

	viewerToken, _ := session(t, s.base, "Ada")
	viewers := []*websocket.Conn{
		subscribed(t, s.base, viewerToken, s.fundraiser),
		subscribed(t, s.base, "", s.fundraiser),
		subscribed(t, s.base, s.bToken, s.fundraiser),
	}

	// A wrong key: ffmpeg fails, nobody hears anything, the key is not logged.
	_, stderr, done := ffmpegPublish(t, s.rtmp+"/wrong-key-1234567890", "3")
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("ffmpeg with a wrong key succeeded: %s", stderr)
		}
	case <-time.After(testTimeout):
		t.Fatal("ffmpeg with a wrong key did not give up")
	}

	_, stderr, done = ffmpegPublish(t, s.rtmp+"/"+ingest.StreamKey, "6")
	hlsPath := "/hls/" + s.fundraiser + "/index.m3u8"
	for _, ws := range viewers {
		if got := streamEvent(t, ws, wire.StreamLive); got.HLS != hlsPath {
			t.Fatalf("live event's hls %q, want %q", got.HLS, hlsPath)
		}
	}
	var snap struct {
		Status string `json:"status"`
		Stream struct {
			Status string  `json:"status"`
			HLS    *string `json:"hls"`
		} `json:"stream"`
	}
	getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser, "", nil, &snap)
	if snap.Status != "live" || snap.Stream.Status != "live" || snap.Stream.HLS == nil || *snap.Stream.HLS != hlsPath {
		t.Fatalf("snapshot while live: %+v", snap)
	}
	// The first playlist request waits for the first segment.
	res, err := http.Get(s.base + hlsPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "#EXT-X-STREAM-INF:") {
		t.Fatalf("live playlist: %d %s", res.StatusCode, body)
	}
	if cc := res.Header.Get("Cache-Control"); strings.Contains(cc, "no-store") && res.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("HLS went through the API's headers: Cache-Control %q", cc)
	}

	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, stderr)
		}
	case <-time.After(testTimeout):
		t.Fatal("ffmpeg did not finish")
	}
	for _, ws := range viewers {
		streamEvent(t, ws, wire.StreamOffline)
	}

	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", s.base+hlsPath).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	// ffprobe lists HLS streams once per program and once overall.
	codecs := strings.Fields(string(out))
	slices.Sort(codecs)
	if got := slices.Compact(codecs); !slices.Equal(got, []string{"aac", "h264"}) {
		t.Fatalf("ffprobe sees %q, want h264 and aac", got)
	}
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-xerror", "-i", s.base+hlsPath, "-f", "null", "-")
	var decodeErr bytes.Buffer
	cmd.Stderr = &decodeErr
	if err := cmd.Run(); err != nil || decodeErr.Len() > 0 {
		t.Fatalf("ffmpeg decoding the HLS: %v\n%s", err, decodeErr.String())
	}

	getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser, "", nil, &snap)
	if snap.Status != "live" || snap.Stream.Status != "offline" || snap.Stream.HLS != nil {
		t.Fatalf("snapshot after the stream stopped: %+v", snap)
	}
	for _, secret := range []string{ingest.StreamKey, "wrong-key-1234567890"} {
		if strings.Contains(s.stderr.String(), secret) {
			t.Fatal("a stream key appears in the server log")
		}
	}
	if !strings.Contains(s.stderr.String(), "unknown stream key") {
		t.Fatalf("the refusal was not logged:\n%s", s.stderr)
	}
}

// TestRotatingTheKeyDisconnectsThePublisher: a broadcaster who fears the
// key leaked rotates it; the encoder using it is cut off at once, viewers
// hear offline, the old key is refused and the new one goes live.
func TestRotatingTheKeyDisconnectsThePublisher(t *testing.T) {
	needFFmpeg(t)
	s := startDemo(t, buildBinary(t))
	var ingest struct {
		StreamKey string `json:"stream_key"`
	}
	getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser+"/ingest", s.bToken, nil, &ingest)
	viewer := subscribed(t, s.base, "", s.fundraiser)

	_, stderr, done := ffmpegPublish(t, s.rtmp+"/"+ingest.StreamKey, "60")
	streamEvent(t, viewer, wire.StreamLive)
	var rotated struct {
		StreamKey string `json:"stream_key"`
	}
	if code := getJSON(t, "POST", s.base+"/api/v1/fundraisers/"+s.fundraiser+"/ingest/rotate", s.bToken, nil, &rotated); code != http.StatusOK || rotated.StreamKey == ingest.StreamKey {
		t.Fatalf("rotate: %d %+v", code, rotated)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("ffmpeg kept going after the key was rotated: %s", stderr)
		}
	case <-time.After(testTimeout):
		t.Fatal("the publisher was not disconnected")
	}
	streamEvent(t, viewer, wire.StreamOffline)

	_, stderr, done = ffmpegPublish(t, s.rtmp+"/"+ingest.StreamKey, "3")
	if err := <-done; err == nil {
		t.Fatalf("the old key still publishes: %s", stderr)
	}
	_, _, done = ffmpegPublish(t, s.rtmp+"/"+rotated.StreamKey, "3")
	streamEvent(t, viewer, wire.StreamLive)
	<-done
	if strings.Contains(s.stderr.String(), rotated.StreamKey) || strings.Contains(s.stderr.String(), ingest.StreamKey) {
		t.Fatal("a stream key appears in the server log")
	}
}
