package ingest_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/message"

	"github.com/givelive/givelive/ingest"
)

// TestFFmpegPublishPlaysAsHLS is the whole path with real peers: ffmpeg
// publishes x264 (with B-frames) and AAC in real time; while it is live the
// media playlists are Low-Latency HLS (parts, blocking reload, a preload
// hint, program date-time) without an end; when it stops they end, the
// server reports offline, and ffprobe and ffmpeg read the HLS cleanly with
// timestamps that only go forward, to the last frame published.
func TestFFmpegPublishPlaysAsHLS(t *testing.T) {
	needTools(t)
	r := newRig(t)
	p := publish(t, r.rtmp+"/key-1", publishOpts{seconds: 7, realtime: true})
	r.events.wait(t, "live f1", 15*time.Second)

	// Live: the multivariant playlist names a video and an audio playlist.
	code, hdr, body := get(t, r.playlistURL("f1"))
	if code != 200 || !strings.Contains(body, "#EXT-X-STREAM-INF:") || !strings.Contains(body, `CODECS="avc1.`) {
		t.Fatalf("live multivariant playlist: %d\n%s", code, body)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/vnd.apple.mpegurl" {
		t.Fatalf("playlist Content-Type %q", ct)
	}
	media := mediaPlaylists(body)
	if len(media) != 2 {
		t.Fatalf("media playlists %q in\n%s", media, body)
	}
	_, _, body = get(t, r.web.URL+"/hls/f1/"+media[0])
	for _, tag := range []string{"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES", "#EXT-X-PART-INF:PART-TARGET=", "#EXT-X-PART:",
		"#EXT-X-PRELOAD-HINT:TYPE=PART", "#EXT-X-PROGRAM-DATE-TIME:", "#EXT-X-MAP:"} {
		if !strings.Contains(body, tag) {
			t.Fatalf("live media playlist lacks %s:\n%s", tag, body)
		}
	}
	if strings.Contains(body, "#EXT-X-ENDLIST") {
		t.Fatalf("live media playlist ends:\n%s", body)
	}

	if err := p.wait(t, 30*time.Second); err != nil {
		t.Fatalf("ffmpeg failed: %v\n%s", err, p.stderr)
	}
	r.events.wait(t, "offline f1", 10*time.Second)
	for _, m := range media {
		_, _, body = get(t, r.web.URL+"/hls/f1/"+m)
		if !strings.HasSuffix(strings.TrimSpace(body), "#EXT-X-ENDLIST") || strings.Contains(body, "PRELOAD-HINT") {
			t.Fatalf("ended playlist %s does not end:\n%s", m, body)
		}
	}

	pr := ffprobe(t, r.playlistURL("f1"))
	if got := codecsOf(pr); got != "audio:aac,video:h264" {
		t.Fatalf("ffprobe sees %q, want h264 video and aac audio", got)
	}
	// Every second is there: the muxer's last frames were pushed out.
	if d := pr.duration(); d < 6.9 || d > 7.6 {
		t.Fatalf("HLS duration %.2f s, want 7", d)
	}
	decode(t, r.playlistURL("f1"))
	dts := videoDTS(t, r.playlistURL("f1"))
	checkForward(t, dts, 7)
	if n := len(dts); n < 7*30-1 {
		t.Fatalf("%d video frames of the %d published", n, 7*30)
	}
}

// mediaPlaylists lists the media playlists a multivariant playlist names.
func mediaPlaylists(multivariant string) []string {
	var out []string
	for _, line := range strings.Split(multivariant, "\n") {
		if strings.HasSuffix(line, ".m3u8") && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
		if _, uri, ok := strings.Cut(line, `URI="`); ok && strings.HasPrefix(line, "#EXT-X-MEDIA:") {
			out = append(out, strings.TrimSuffix(uri, `"`))
		}
	}
	return out
}

// checkForward checks that decode timestamps never go back and span about
// the published duration.
func checkForward(t *testing.T, dts []float64, seconds float64) {
	t.Helper()
	if len(dts) < int(seconds*30*0.9) {
		t.Fatalf("%d video packets for %.0f s at 30 fps", len(dts), seconds)
	}
	for i := 1; i < len(dts); i++ {
		if dts[i] <= dts[i-1] {
			t.Fatalf("video DTS goes back at packet %d: %.3f after %.3f", i, dts[i], dts[i-1])
		}
	}
	if span := dts[len(dts)-1] - dts[0]; span < seconds-0.2 || span > seconds+0.5 {
		t.Fatalf("video DTS span %.2f s, want about %.0f", span, seconds)
	}
}

// TestExtendedTimestamps publishes with timestamps past 24 bits (ffmpeg's
// -output_ts_offset of 100,000 s puts every RTMP timestamp above 0xFFFFFF
// ms, so every header, type-3 chunks included, carries an extended
// timestamp). The HLS must come out the same.
func TestExtendedTimestamps(t *testing.T) {
	needTools(t)
	r := newRig(t)
	p := publish(t, r.rtmp+"/key-1", publishOpts{seconds: 5, output: []string{"-output_ts_offset", "100000"}})
	if err := p.wait(t, 60*time.Second); err != nil {
		t.Fatalf("ffmpeg failed: %v\n%s", err, p.stderr)
	}
	r.events.wait(t, "live f1", 5*time.Second)
	r.events.wait(t, "offline f1", 5*time.Second)
	pr := ffprobe(t, r.playlistURL("f1"))
	if d := pr.duration(); d < 4 || d > 6 {
		t.Fatalf("HLS duration %.2f s, want about 5", d)
	}
	decode(t, r.playlistURL("f1"))
	checkForward(t, videoDTS(t, r.playlistURL("f1")), 5)
}

// TestWrongKeyIsRefused: ffmpeg fails, nothing goes live, and the refusal
// is counted. An ended fundraiser's key is refused too.
func TestWrongKeyIsRefused(t *testing.T) {
	needTools(t)
	r := newRig(t)
	for key, reason := range map[string]string{"not-a-key": "bad_key", "key-ended": "not_allowed"} {
		p := publish(t, r.rtmp+"/"+key, publishOpts{seconds: 3})
		if err := p.wait(t, 30*time.Second); err == nil {
			t.Fatalf("ffmpeg publishing with %s succeeded; stderr: %s", key, p.stderr)
		}
		if got := r.refusals(reason); got != 1 {
			t.Fatalf("refusals{%s} = %v, want 1", reason, got)
		}
	}
	if ev := r.events.all(); len(ev) != 0 {
		t.Fatalf("events after refused publishes: %q", ev)
	}
	if code, _, _ := get(t, r.playlistURL("f1")); code != 404 {
		t.Fatalf("playlist of a stream never published: %d, want 404", code)
	}
}

// TestOtherCodecsAreRefused: a publisher sending FLV1 video (or MP3 audio)
// is disconnected with a status naming what to use, and never goes live.
func TestOtherCodecsAreRefused(t *testing.T) {
	needTools(t)
	r := newRig(t)
	for name, o := range map[string]publishOpts{
		"flv1 video": {video: []string{"-c:v", "flv"}},
		"mp3 audio":  {audio: []string{"-c:a", "libmp3lame"}},
	} {
		o.seconds = 3
		p := publish(t, r.rtmp+"/key-1", o)
		_ = p.wait(t, 30*time.Second) // ffmpeg may or may not notice before it ends
		if strings.Contains(p.stderr.String(), "Unknown encoder") {
			t.Skipf("%s: this ffmpeg lacks the encoder: %s", name, p.stderr)
		}
	}
	if got := r.refusals("codec"); got != 2 {
		t.Fatalf("codec refusals = %v, want 2", got)
	}
	for _, ev := range r.events.all() {
		if strings.HasPrefix(ev, "live") {
			t.Fatalf("a refused codec went live: %q", r.events.all())
		}
	}
}

// TestNewestPublisherWins: a second publisher with the same key (an
// encoder reconnecting while its old connection lingers) takes over; the
// first is disconnected; the room hears no offline in between, but live
// again (the web app's player starts over on it); the stream is the
// second publisher's to its end.
func TestNewestPublisherWins(t *testing.T) {
	needTools(t)
	r := newRig(t)
	first := publish(t, r.rtmp+"/key-1", publishOpts{seconds: 30, realtime: true})
	r.events.wait(t, "live f1", 15*time.Second)
	if code, _, body := get(t, r.playlistURL("f1")); code != 200 { // waits for the first segment
		t.Fatalf("first publisher's playlist: %d %s", code, body)
	}
	second := publish(t, r.rtmp+"/key-1", publishOpts{seconds: 5, realtime: true})
	if err := first.wait(t, 20*time.Second); err == nil {
		t.Fatal("the replaced publisher's ffmpeg ended without an error")
	}
	r.events.wait(t, "live f1", 15*time.Second)
	if err := second.wait(t, 30*time.Second); err != nil {
		t.Fatalf("second ffmpeg: %v\n%s", err, second.stderr)
	}
	r.events.wait(t, "offline f1", 10*time.Second)
	if ev := r.events.all(); len(ev) != 3 {
		t.Fatalf("events %q, want live, live, offline", ev)
	}
	if d := ffprobe(t, r.playlistURL("f1")).duration(); d < 4.9 || d > 5.6 {
		t.Fatalf("the stream after the takeover lasts %.2f s, want the second publisher's 5", d)
	}
	decode(t, r.playlistURL("f1"))
}

// TestStopEndsThePublish: Stop (the fundraiser ended) disconnects the
// publisher and the stream goes offline.
func TestStopEndsThePublish(t *testing.T) {
	needTools(t)
	r := newRig(t)
	p := publish(t, r.rtmp+"/key-2", publishOpts{seconds: 30, realtime: true})
	r.events.wait(t, "live f2", 15*time.Second)
	if !r.srv.Publishing("f2") || !r.srv.Stop("f2") {
		t.Fatal("Stop found no publisher")
	}
	if err := p.wait(t, 20*time.Second); err == nil {
		t.Fatal("ffmpeg did not notice it was stopped")
	}
	r.events.wait(t, "offline f2", 10*time.Second)
	if r.srv.Publishing("f2") || r.srv.Stop("f2") {
		t.Fatal("still publishing after Stop")
	}
}

// TestGarbageAndSilenceAreDropped: connections that send garbage, or
// nothing, are closed, and the server goes on serving.
func TestGarbageAndSilenceAreDropped(t *testing.T) {
	r := newRig(t, func(c *ingest.Config) {
		c.HandshakeTimeout = 300 * time.Millisecond
		c.IdleTimeout = 300 * time.Millisecond
	})
	addr := strings.TrimSuffix(strings.TrimPrefix(r.rtmp, "rtmp://"), "/live")
	closed := func(name string, c net.Conn) {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		// Closed with data unread, the server's end may answer a reset.
		if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("%s: the server did not close the connection: %v", name, err)
		}
		c.Close()
	}
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		garbage := make([]byte, 8192)
		_, _ = rand.Read(garbage)
		garbage[0] = 3 // past the version check, into the handshake and chunks
		_, _ = c.Write(garbage)
		closed("garbage", c)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	closed("silence", c)

	// Still serving publishers. The 300 ms idle timeout above applies to
	// them too, and on a loaded machine ffmpeg can be silent that long
	// (x264 starting up): a publisher cut off so is tried again, since
	// what is asserted is that the server still takes one.
	needTools(t)
	for attempt := 1; ; attempt++ {
		p := publish(t, r.rtmp+"/key-1", publishOpts{seconds: 2})
		err := p.wait(t, 30*time.Second)
		if err == nil {
			break
		}
		if attempt == 3 {
			t.Fatalf("ffmpeg after the garbage, 3 tries: %v\n%s", err, p.stderr)
		}
		t.Logf("ffmpeg try %d was cut off (%v); trying again", attempt, err)
	}
	r.events.wait(t, "live f1", 5*time.Second)
}

// TestConnectionLimit: past MaxConnections, new connections are closed at
// once and counted.
func TestConnectionLimit(t *testing.T) {
	r := newRig(t, func(c *ingest.Config) { c.MaxConnections = 2 })
	addr := strings.TrimSuffix(strings.TrimPrefix(r.rtmp, "rtmp://"), "/live")
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	// Wait until both are counted, then the third is refused.
	deadline := time.Now().Add(5 * time.Second)
	for counterGauge(r, "givelive_ingest_connections") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("third connection: read %d, %v; want EOF", n, err)
	}
	c.Close()
	if got := r.refusals("connections"); got != 1 {
		t.Fatalf("connection refusals = %v, want 1", got)
	}
}

func counterGauge(r *rig, name string) float64 {
	mfs, _ := r.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return 0
}

// lockedKeys is a key table a test may change while the server reads it.
type lockedKeys struct {
	mu sync.Mutex
	k  keys
}

func (l *lockedKeys) PublishKey(ctx context.Context, key string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.k.PublishKey(ctx, key)
}

func (l *lockedKeys) set(key, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if id == "" {
		delete(l.k, key)
		return
	}
	l.k[key] = id
}

// TestRevokedKeyCutsThePublisherOff: a key replaced, or a fundraiser ended,
// where this server does not hear of it (another node) still cuts the
// publisher off, at the next recheck; a lookup that fails does not.
func TestRevokedKeyCutsThePublisherOff(t *testing.T) {
	needTools(t)
	for _, tc := range []struct {
		name   string
		change func(*lockedKeys)
	}{
		{"replaced", func(k *lockedKeys) { k.set("key-1", "") }},
		{"ended", func(k *lockedKeys) { k.set("key-1", "ended") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &lockedKeys{k: keys{"key-1": "f1"}}
			r := newRig(t, func(c *ingest.Config) {
				c.Keys = k
				c.RecheckInterval = 100 * time.Millisecond
			})
			p := publish(t, r.rtmp+"/key-1", publishOpts{seconds: 30, realtime: true})
			r.events.wait(t, "live f1", 15*time.Second)
			tc.change(k)
			if err := p.wait(t, 20*time.Second); err == nil {
				t.Fatal("ffmpeg was not cut off")
			}
			r.events.wait(t, "offline f1", 10*time.Second)
			if got := counter(r.reg, "givelive_ingest_revoked_total", ""); got != 1 {
				t.Fatalf("givelive_ingest_revoked_total = %v, want 1", got)
			}
		})
	}
}

// TestOversizedMessageIsRefused: a publisher (authorised) that announces a
// message over gortmplib's 10 MiB bound is cut off, counted and logged.
func TestOversizedMessageIsRefused(t *testing.T) {
	var logs syncBuffer
	r := newRig(t, func(c *ingest.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	p := dialPublisher(t, r.rtmp, "key-1")
	big := make([]byte, 11<<20)
	big[0] = 0x17
	_ = p.c.Write(&message.Video{ChunkStreamID: 6, MessageStreamID: 0x1000000, Codec: message.CodecH264,
		IsKeyFrame: true, Type: message.VideoTypeAU, AU: big})
	_, _ = p.statusAfter() // until the server hangs up
	waitFor(t, "the refusal", 10*time.Second, func() bool { return r.refusals("protocol") == 1 })
	if !strings.Contains(logs.String(), "body size") {
		t.Fatalf("no log line says why:\n%s", logs.String())
	}
	if ev := r.events.all(); len(ev) != 0 {
		t.Fatalf("events %q", ev)
	}
}
