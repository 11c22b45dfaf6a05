package ingest_test

import (
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/givelive/givelive/ingest"
)

// testClock is the Server's clock (Config.Now) in a test: the real time
// plus however far the test moved it on.
type testClock struct{ ahead atomic.Int64 }

func (c *testClock) Now() time.Time            { return time.Now().Add(time.Duration(c.ahead.Load())) }
func (c *testClock) advance(d time.Duration)   { c.ahead.Add(int64(d)) }
func (c *testClock) use() func(*ingest.Config) { return func(cfg *ingest.Config) { cfg.Now = c.Now } }

// TestWHIPEndsWithoutVideo: a connected WHIP session that stops sending
// video (the webcam unplugged; its audio goes on) ends after IdleTimeout
// and the stream goes offline; one that never sends a keyframe ends after
// IdleTimeout too, never having gone live. The Server's clock is moved
// on, not waited for.
func TestWHIPEndsWithoutVideo(t *testing.T) {
	m := makeMedia(t)
	var clk testClock
	r := newWHIPRig(t, nil, clk.use())

	c := dialWHIP(t, r.endpoint, "key-1", m)
	r.events.wait(t, "live f1", 20*time.Second)
	c.stopVideo()
	waitFor(t, "the session without video to end", 30*time.Second, func() bool {
		clk.advance(time.Second)
		return !r.srv.Publishing("f1")
	})
	r.events.wait(t, "offline f1", 10*time.Second)
	_, _, body := get(t, r.web.URL+"/hls/f1/video1_stream.m3u8")
	if !strings.Contains(body, "#EXT-X-ENDLIST") {
		t.Errorf("playlist without EXT-X-ENDLIST:\n%s", body)
	}

	k := dialWHIP(t, r.endpoint, "key-2", m, clientOpts{noKeyframes: true})
	waitFor(t, "the publisher to connect and claim f2", 20*time.Second, func() bool { return r.srv.Publishing("f2") })
	waitFor(t, "a keyframe request (PLI)", 20*time.Second, func() bool { return k.plis.Load() > 0 })
	waitFor(t, "the session without keyframes to end", 30*time.Second, func() bool {
		clk.advance(time.Second)
		return !r.srv.Publishing("f2") && r.whip.Sessions() == 0
	})
	for _, e := range r.events.all() {
		if strings.HasSuffix(e, "f2") {
			t.Errorf("event %q for a stream that never had a keyframe", e)
		}
	}
}

// TestWHIPUnconnectedOfferLeavesRTMPOnAir: an offer with the right key is
// answered, but its publisher never does ICE (UDP and TCP blocked): the
// RTMP publisher on air is not cut, and the session is dropped after
// ConnectTimeout.
func TestWHIPUnconnectedOfferLeavesRTMPOnAir(t *testing.T) {
	r := newWHIPRig(t, func(c *ingest.WHIPConfig) { c.ConnectTimeout = time.Second })
	p := publish(t, r.rtmp+"/key-1", publishOpts{seconds: 60, realtime: true})
	r.events.wait(t, "live f1", 20*time.Second)
	pc, _, _ := newClientPC(t, clientOpts{})
	defer pc.Close()
	res, body := postOffer(t, r.endpoint, "key-1", clientOffer(t, pc)) // the answer is never used
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("offer: %d %s", res.StatusCode, body)
	}
	waitFor(t, "the unconnected session to be dropped", 20*time.Second, func() bool { return r.whip.Sessions() == 0 })
	select {
	case err := <-p.done:
		p.done <- err
		t.Fatalf("ffmpeg was cut off by an offer that never connected: %v", err)
	default:
	}
	if !r.srv.Publishing("f1") {
		t.Fatal("the RTMP publisher is no longer on air")
	}
	before := r.frames(t)
	waitFor(t, "the RTMP stream to go on", 20*time.Second, func() bool { return r.frames(t) > before })
	if got := r.events.all(); !slices.Equal(got, []string{"live f1"}) {
		t.Errorf("events %q, want only live f1", got)
	}
}

// TestRTMPReplacesWHIP: an RTMP publish takes a fundraiser over from a
// WHIP one (the browser gave way to OBS): the WHIP session ends, the
// stream goes live again without going offline in between, and offline
// once the RTMP publisher stops.
func TestRTMPReplacesWHIP(t *testing.T) {
	m := makeMedia(t)
	r := newWHIPRig(t, nil)
	c := dialWHIP(t, r.endpoint, "key-1", m)
	r.events.wait(t, "live f1", 20*time.Second)
	p := publish(t, r.rtmp+"/key-1", publishOpts{seconds: 4, realtime: true})
	waitFor(t, "the WHIP session to end", 20*time.Second, func() bool { return r.whip.Sessions() == 0 })
	if code := c.del(t); code != http.StatusNotFound {
		t.Errorf("DELETE of the replaced session: %d, want 404", code)
	}
	r.events.wait(t, "live f1", 20*time.Second)
	if err := p.wait(t, 30*time.Second); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, p.stderr)
	}
	r.events.wait(t, "offline f1", 20*time.Second)
	if got := r.events.all(); !slices.Equal(got, []string{"live f1", "live f1", "offline f1"}) {
		t.Errorf("events %q, want live, live, offline", got)
	}
}

// TestWHIPTCPLimits: on the ICE-TCP port, a connection past the limit of
// one address is closed at once, one that sends no STUN message is closed
// after TCPFirstPacket, and a closed one gives its slot back.
func TestWHIPTCPLimits(t *testing.T) {
	r := newWHIPRig(t, func(c *ingest.WHIPConfig) { c.MaxTCPConnsPerAddr, c.TCPFirstPacket = 3, time.Hour })
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp4", r.tcpAddr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// closed reports whether the server closed c (EOF) rather than kept
	// it open until the read deadline.
	closed := func(c net.Conn, wait time.Duration) bool {
		_ = c.SetReadDeadline(time.Now().Add(wait))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
	held := []net.Conn{dial(), dial(), dial()}
	extra := dial()
	if !closed(extra, 20*time.Second) {
		t.Fatal("a connection past the per-address limit was kept open")
	}
	for i, c := range held {
		if closed(c, 50*time.Millisecond) {
			t.Errorf("connection %d within the limit was closed", i)
		}
	}
	held[0].Close()
	// The slot comes back once the server has seen the close.
	waitFor(t, "a slot given back", 20*time.Second, func() bool {
		return !closed(dial(), 50*time.Millisecond)
	})

	q := newWHIPRig(t, func(c *ingest.WHIPConfig) { c.TCPFirstPacket = 100 * time.Millisecond })
	silent, err := net.Dial("tcp4", q.tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if !closed(silent, 20*time.Second) {
		t.Fatal("a silent connection was kept open")
	}
}

// TestWHIPPendingSessions: answered offers that have not connected are
// ended by Stop (the fundraiser ended: they must not go live after it),
// and there are at most twice MaxPublishers sessions, connected or not.
func TestWHIPPendingSessions(t *testing.T) {
	r := newWHIPRig(t, func(c *ingest.WHIPConfig) { c.ConnectTimeout, c.OfferBurst = time.Hour, 100 },
		func(c *ingest.Config) { c.MaxPublishers = 1 })
	offer := func(key string) (int, string) {
		pc, _, _ := newClientPC(t, clientOpts{})
		t.Cleanup(func() { pc.Close() })
		res, body := postOffer(t, r.endpoint, key, clientOffer(t, pc)) // never connects
		return res.StatusCode, body
	}
	if code, body := offer("key-2"); code != http.StatusCreated {
		t.Fatalf("offer: %d %s", code, body)
	}
	if !r.srv.Stop("f2") {
		t.Error("Stop found nothing to stop")
	}
	waitFor(t, "the pending session to end", 20*time.Second, func() bool { return r.whip.Sessions() == 0 })

	for i := range 2 {
		if code, body := offer("key-1"); code != http.StatusCreated {
			t.Fatalf("offer %d: %d %s", i, code, body)
		}
	}
	if code, body := offer("key-1"); code != http.StatusServiceUnavailable || !strings.Contains(body, "full") {
		t.Fatalf("a third pending session: %d %s, want 503", code, body)
	}
	if r.whip.Sessions() != 2 {
		t.Errorf("%d sessions, want 2", r.whip.Sessions())
	}
}
