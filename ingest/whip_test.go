package ingest_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"hash/crc32"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/givelive/givelive/ingest"
)

// whipRig is a rig with a WHIP endpoint beside its HLS, on loopback.
type whipRig struct {
	*rig
	whip     *ingest.WHIP
	udp      net.PacketConn
	tcpAddr  string // ICE-TCP
	endpoint string
}

func newWHIPRig(t *testing.T, edit func(*ingest.WHIPConfig), editSrv ...func(*ingest.Config)) *whipRig {
	t.Helper()
	r := newRig(t, editSrv...)
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := ingest.WHIPConfig{UDP: udp, TCP: tcp, Registerer: r.reg}
	if edit != nil {
		edit(&cfg)
	}
	w, err := ingest.NewWHIP(r.srv, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/hls/", r.hls)
	mux.Handle("/whip", w)
	mux.Handle("/whip/", w)
	web := httptest.NewServer(mux)
	wr := &whipRig{rig: r, whip: w, udp: udp, tcpAddr: tcp.Addr().String(), endpoint: web.URL + "/whip"}
	r.web.Close()
	r.web = web
	// Cleanups run last-in first-out: WHIP closes before the rig's server.
	t.Cleanup(func() { w.Close() })
	return wr
}

// TestWHIPPublish: a pion publisher (H.264 and Opus) goes live over WHIP;
// the LL-HLS output carries both (ffprobe), keyframes are asked for, and
// DELETE ends the stream: offline, EXT-X-ENDLIST, the session gone.
func TestWHIPPublish(t *testing.T) {
	m := makeMedia(t)
	r := newWHIPRig(t, nil)
	c := dialWHIP(t, r.endpoint, "key-1", m)
	if !strings.HasPrefix(c.location, r.endpoint+"/") {
		t.Errorf("Location %q is not under %s", c.location, r.endpoint)
	}
	r.events.wait(t, "live f1", 20*time.Second)
	waitFor(t, "a segment in the playlist", 20*time.Second, func() bool {
		code, _, body := get(t, r.web.URL+"/hls/f1/video1_stream.m3u8")
		return code == 200 && strings.Contains(body, "#EXTINF")
	})
	waitFor(t, "a keyframe request (PLI)", 10*time.Second, func() bool { return c.plis.Load() > 0 })
	_, _, pl := get(t, r.web.URL+"/hls/f1/video1_stream.m3u8")
	partInf := regexp.MustCompile(`#EXT-X-PART-INF:.*`).FindString(pl)
	if partInf == "" {
		t.Errorf("no EXT-X-PART-INF in the playlist (not LL-HLS):\n%s", pl)
	}
	t.Logf("%s", partInf) // the part target, for BENCHMARKS
	if h, ok := r.srv.Health("f1"); !ok || h.Video == nil || h.Video.Codec != "H.264" || h.Audio == nil || h.Audio.Codec != "Opus" {
		t.Errorf("health: %+v %v", h, ok)
	} else if h.Video.Width != 320 || h.Video.Height != 240 {
		t.Errorf("health video size %dx%d, want 320x240", h.Video.Width, h.Video.Height)
	}
	p := ffprobe(t, r.web.URL+"/hls/f1/index.m3u8")
	codecs := map[string]bool{}
	for _, s := range p.Streams {
		codecs[s.CodecName] = true
	}
	if !codecs["h264"] || !codecs["opus"] {
		t.Errorf("ffprobe sees %+v, want h264 and opus", p.Streams)
	}

	if code := c.del(t); code != http.StatusOK {
		t.Fatalf("DELETE: %d", code)
	}
	r.events.wait(t, "offline f1", 10*time.Second)
	if n := r.whip.Sessions(); n != 0 {
		t.Errorf("%d sessions after DELETE", n)
	}
	if r.srv.Publishing("f1") {
		t.Error("still publishing after DELETE")
	}
	_, _, body := get(t, r.web.URL+"/hls/f1/video1_stream.m3u8")
	if !strings.Contains(body, "#EXT-X-ENDLIST") {
		t.Errorf("ended playlist without EXT-X-ENDLIST:\n%s", body)
	}
	if code := c.del(t); code != http.StatusNotFound {
		t.Errorf("second DELETE: %d, want 404", code)
	}
}

// TestWHIPRefusals: every bad request gets its status and a
// problem+json reason; none opens a session.
func TestWHIPRefusals(t *testing.T) {
	r := newWHIPRig(t, func(c *ingest.WHIPConfig) { c.OfferBurst = 1000 })
	pc, _, _ := newClientPC(t, clientOpts{})
	defer pc.Close()
	good := clientOffer(t, pc)
	vp8, _, _ := newClientPC(t, clientOpts{videoMime: webrtc.MimeTypeVP8})
	defer vp8.Close()
	noH264 := clientOffer(t, vp8)
	pcmu, _, _ := newClientPC(t, clientOpts{audioMime: webrtc.MimeTypePCMU})
	defer pcmu.Close()
	noOpus := clientOffer(t, pcmu)

	cases := []struct {
		name, method, ctype, token, body string
		want                             int
		detail                           string
	}{
		{"no token", "POST", "application/sdp", "", good, 401, "bearer token"},
		{"wrong key", "POST", "application/sdp", "nope", good, 401, "Unknown stream key"},
		{"ended fundraiser", "POST", "application/sdp", "key-ended", good, 403, "has ended"},
		{"content type", "POST", "application/json", "key-1", good, 415, "application/sdp"},
		{"too large", "POST", "application/sdp", "key-1", good + strings.Repeat("a=x-pad:0\r\n", 7000), 413, "larger than"},
		{"malformed", "POST", "application/sdp", "key-1", "v=0\r\nthis is not sdp\r\n", 400, "not valid SDP"},
		{"no video", "POST", "application/sdp", "key-1", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", 422, "no video"},
		{"no H.264", "POST", "application/sdp", "key-1", noH264, 422, "no H.264"},
		{"no Opus", "POST", "application/sdp", "key-1", noOpus, 422, "no Opus"},
		{"GET", "GET", "", "key-1", "", 405, "POST an SDP offer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, r.endpoint, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b := new(strings.Builder)
			_, _ = ioCopy(b, res)
			if res.StatusCode != tc.want {
				t.Fatalf("%d %s, want %d", res.StatusCode, b, tc.want)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if !strings.Contains(b.String(), tc.detail) {
				t.Errorf("body %s does not say %q", b, tc.detail)
			}
			if tc.want == 401 && res.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	if n := r.whip.Sessions(); n != 0 {
		t.Errorf("%d sessions after refusals", n)
	}
	if r.srv.Publishing("f1") {
		t.Error("a refused offer publishes")
	}

	// OPTIONS, as RFC 9725 (and CORS) has it.
	req, _ := http.NewRequest(http.MethodOptions, r.endpoint, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 204 || res.Header.Get("Accept-Post") != "application/sdp" || res.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("OPTIONS: %d %v", res.StatusCode, res.Header)
	}
	// An unknown session.
	req, _ = http.NewRequest(http.MethodDelete, r.endpoint+"/nosuchsession", nil)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("DELETE unknown session: %d", res.StatusCode)
	}
}

func ioCopy(b *strings.Builder, res *http.Response) (int64, error) {
	buf := make([]byte, 4096)
	var n int64
	for {
		k, err := res.Body.Read(buf)
		b.Write(buf[:k])
		n += int64(k)
		if err != nil {
			return n, nil
		}
	}
}

// TestWHIPOfferFlood: past the burst, offers from one address are 429
// with Retry-After, whatever their key.
func TestWHIPOfferFlood(t *testing.T) {
	r := newWHIPRig(t, func(c *ingest.WHIPConfig) { c.OfferBurst, c.OfferEvery = 3, time.Hour })
	for i := range 3 {
		res, body := postOffer(t, r.endpoint, "nope", "v=0\r\n")
		if res.StatusCode != 401 {
			t.Fatalf("offer %d: %d %s, want 401", i, res.StatusCode, body)
		}
	}
	res, body := postOffer(t, r.endpoint, "key-1", "v=0\r\n")
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("fourth offer: %d %s (Retry-After %q), want 429", res.StatusCode, body, res.Header.Get("Retry-After"))
	}
	if got := r.refusals("offer_rate"); got != 1 {
		t.Errorf("offer_rate refusals %v, want 1", got)
	}
}

// TestWHIPSecondPublisher: a second publisher on the key takes over, as
// over RTMP: the first session ends without the stream going offline.
func TestWHIPSecondPublisher(t *testing.T) {
	m := makeMedia(t)
	r := newWHIPRig(t, nil)
	a := dialWHIP(t, r.endpoint, "key-1", m)
	r.events.wait(t, "live f1", 20*time.Second)
	// An offer that cannot be answered does not disturb the publisher on
	// air, even with the right key.
	bad := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\na=sendonly\r\n"
	if res, body := postOffer(t, r.endpoint, "key-1", bad); res.StatusCode != 400 {
		t.Fatalf("an offer without ICE credentials: %d %s, want 400", res.StatusCode, body)
	}
	if r.whip.Sessions() != 1 || !r.srv.Publishing("f1") {
		t.Fatal("a refused offer disturbed the publisher on air")
	}
	b := dialWHIP(t, r.endpoint, "key-1", m)
	waitFor(t, "the first session to end", 10*time.Second, func() bool { return r.whip.Sessions() == 1 })
	if code := a.del(t); code != http.StatusNotFound {
		t.Errorf("DELETE of the replaced session: %d, want 404", code)
	}
	r.events.wait(t, "live f1", 20*time.Second) // the new publisher's stream
	if !r.srv.Publishing("f1") {
		t.Fatal("not publishing after the takeover")
	}
	if code := b.del(t); code != http.StatusOK {
		t.Fatalf("DELETE: %d", code)
	}
	r.events.wait(t, "offline f1", 10*time.Second)
	if got := r.events.all(); len(got) != 3 {
		t.Errorf("events %q, want live, live, offline", got)
	}
}

// TestWHIPReplacesRTMP: a WHIP publish takes a fundraiser over from an
// RTMP one (an encoder moved to the browser).
func TestWHIPReplacesRTMP(t *testing.T) {
	m := makeMedia(t)
	r := newWHIPRig(t, nil)
	p := publish(t, r.rtmp+"/key-1", publishOpts{seconds: 60, realtime: true})
	r.events.wait(t, "live f1", 20*time.Second)
	c := dialWHIP(t, r.endpoint, "key-1", m)
	if err := p.wait(t, 20*time.Second); err == nil {
		t.Error("ffmpeg was not cut off")
	}
	r.events.wait(t, "live f1", 20*time.Second)
	if code := c.del(t); code != http.StatusOK {
		t.Fatalf("DELETE: %d", code)
	}
	r.events.wait(t, "offline f1", 10*time.Second)
}

// TestWHIPStopAndConnectTimeout: Stop (the fundraiser ended) ends a WHIP
// publish; an offer whose publisher never connects is dropped after
// ConnectTimeout without going live.
func TestWHIPStopAndConnectTimeout(t *testing.T) {
	m := makeMedia(t)
	r := newWHIPRig(t, func(c *ingest.WHIPConfig) { c.ConnectTimeout = 2 * time.Second })
	dialWHIP(t, r.endpoint, "key-1", m)
	r.events.wait(t, "live f1", 20*time.Second)
	if !r.srv.Stop("f1") {
		t.Fatal("Stop found no publisher")
	}
	r.events.wait(t, "offline f1", 10*time.Second)

	pc, _, _ := newClientPC(t, clientOpts{})
	res, body := postOffer(t, r.endpoint, "key-2", clientOffer(t, pc))
	pc.Close() // never connects
	if res.StatusCode != 201 {
		t.Fatalf("offer: %d %s", res.StatusCode, body)
	}
	waitFor(t, "the unconnected session to be dropped", 20*time.Second, func() bool { return r.whip.Sessions() == 0 })
	if r.srv.Publishing("f2") {
		t.Error("an unconnected session still publishes")
	}
	for _, e := range r.events.all() {
		if strings.HasSuffix(e, "f2") {
			t.Errorf("event %q for a session that never connected", e)
		}
	}
}

// TestWHIPStrangers: on the shared UDP port, connectivity checks with an
// unknown user name, with the right one but a wrong password, garbage and
// fake media from an address that did not check in get no answer; the
// session's own check from the same address does, and the stream goes
// on.
func TestWHIPStrangers(t *testing.T) {
	m := makeMedia(t)
	r := newWHIPRig(t, nil)
	pc, video, audio := newClientPC(t, clientOpts{})
	res, answer := postOffer(t, r.endpoint, "key-1", clientOffer(t, pc))
	if res.StatusCode != 201 {
		t.Fatalf("offer: %d %s", res.StatusCode, answer)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	c := &whipClient{pc: pc, stop: make(chan struct{})}
	c.wg.Go(func() { c.send(video, m.video, time.Second/30) })
	c.wg.Go(func() { c.send(audio, m.audio, 20*time.Millisecond) })
	t.Cleanup(c.close)
	r.events.wait(t, "live f1", 20*time.Second)

	srvUfrag := sdpValue(t, answer, "ice-ufrag")
	srvPwd := sdpValue(t, answer, "ice-pwd")
	user := srvUfrag + ":" + sdpValue(t, pc.LocalDescription().SDP, "ice-ufrag")
	stranger, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	to := r.udp.LocalAddr()
	send := func(b []byte) {
		if _, err := stranger.WriteTo(b, to); err != nil {
			t.Fatal(err)
		}
	}
	send(stunRequest(t, "nosuchufrag:x", "whatever"))
	send(stunRequest(t, user, "not-the-password"))
	send([]byte("garbage that is neither STUN nor DTLS nor RTP"))
	fakeRTP := make([]byte, 200)
	fakeRTP[0], fakeRTP[1] = 0x80, 96
	send(fakeRTP)
	good := stunRequest(t, user, srvPwd)
	send(good)
	buf := make([]byte, 1500)
	_ = stranger.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := stranger.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no answer to the session's own check: %v", err)
	}
	// The first answer is to the good check: none of the others got one.
	if n < 20 || string(buf[8:20]) != string(good[8:20]) {
		t.Fatalf("the first answer (%d bytes, type %x) is not to the authenticated check", n, buf[:2])
	}
	// The stream goes on.
	before := r.frames(t)
	waitFor(t, "more frames after the strangers", 10*time.Second, func() bool { return r.frames(t) > before })
	if !r.srv.Publishing("f1") {
		t.Error("the publisher was dropped")
	}
}

// frames is the stream's media sequence and parts so far, as a number that
// grows while frames arrive.
func (r *whipRig) frames(t *testing.T) int {
	t.Helper()
	_, _, body := get(t, r.web.URL+"/hls/f1/video1_stream.m3u8")
	return strings.Count(body, "#EXT-X-PART:") + 1000*mediaSequence(body)
}

func mediaSequence(playlist string) int {
	m := regexp.MustCompile(`#EXT-X-MEDIA-SEQUENCE:(\d+)`).FindStringSubmatch(playlist)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func sdpValue(t *testing.T, sdp, key string) string {
	t.Helper()
	for _, line := range strings.Split(sdp, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "a="+key+":"); ok {
			return v
		}
	}
	t.Fatalf("no a=%s in\n%s", key, sdp)
	return ""
}

// stunRequest builds a STUN binding request with USERNAME, ICE-CONTROLLING,
// PRIORITY, MESSAGE-INTEGRITY (keyed with pwd) and FINGERPRINT (RFC 8489).
func stunRequest(t *testing.T, user, pwd string) []byte {
	t.Helper()
	tid := make([]byte, 12)
	_, _ = rand.Read(tid)
	attr := func(typ uint16, v []byte) []byte {
		b := binary.BigEndian.AppendUint16(nil, typ)
		b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	body := attr(0x0006, []byte(user))
	body = append(body, attr(0x802A, make([]byte, 8))...)                           // ICE-CONTROLLING
	body = append(body, attr(0x0024, binary.BigEndian.AppendUint32(nil, 1<<24))...) // PRIORITY
	header := func(length int) []byte {
		h := binary.BigEndian.AppendUint16(nil, 0x0001)
		h = binary.BigEndian.AppendUint16(h, uint16(length))
		h = binary.BigEndian.AppendUint32(h, 0x2112A442)
		return append(h, tid...)
	}
	mac := hmac.New(sha1.New, []byte(pwd))
	mac.Write(header(len(body) + 24))
	mac.Write(body)
	body = append(body, attr(0x0008, mac.Sum(nil))...)
	msg := append(header(len(body)+8), body...)
	crc := crc32.ChecksumIEEE(msg) ^ 0x5354554e
	body = append(body, attr(0x8028, binary.BigEndian.AppendUint32(nil, crc))...)
	return append(header(len(body)), body...)
}

var _ = os.Getenv

// TestWHIPNoLeaks: sessions that end every way (DELETE, replaced, never
// connected, refused) leave no goroutine and no UDP socket behind: while
// the endpoint runs, its one shared socket is all that stays open; after
// Close, nothing.
func TestWHIPNoLeaks(t *testing.T) {
	m := makeMedia(t)
	// Goroutines and sockets of other tests still winding down may end
	// meanwhile: nothing new may stay, fewer is fine.
	before, sockets := goleak.IgnoreCurrent(), udpSockets(t)
	t.Run("sessions", func(t *testing.T) {
		r := newWHIPRig(t, func(c *ingest.WHIPConfig) { c.ConnectTimeout = time.Second })
		a := dialWHIP(t, r.endpoint, "key-1", m)
		b := dialWHIP(t, r.endpoint, "key-2", m)
		// Events of different fundraisers come in any order: count them.
		seen := func(want map[string]int) func() bool {
			return func() bool {
				got := map[string]int{}
				for _, e := range r.events.all() {
					got[e]++
				}
				for e, n := range want {
					if got[e] < n {
						return false
					}
				}
				return true
			}
		}
		waitFor(t, "both live", 20*time.Second, seen(map[string]int{"live f1": 1, "live f2": 1}))
		c := dialWHIP(t, r.endpoint, "key-1", m) // replaces a
		pc, _, _ := newClientPC(t, clientOpts{})
		res, _ := postOffer(t, r.endpoint, "key-2", "v=0\r\nnot sdp")
		if res.StatusCode != 400 {
			t.Errorf("malformed offer: %d", res.StatusCode)
		}
		postOffer(t, r.endpoint, "key-2", clientOffer(t, pc)) // never connects, so never replaces b
		pc.Close()
		waitFor(t, "c live", 20*time.Second, seen(map[string]int{"live f1": 2}))
		if code := c.del(t); code != 200 {
			t.Errorf("DELETE: %d", code)
		}
		if code := b.del(t); code != 200 {
			t.Errorf("DELETE: %d", code)
		}
		waitFor(t, "f1 and f2 offline", 10*time.Second, seen(map[string]int{"offline f1": 1, "offline f2": 1}))
		for _, cl := range []*whipClient{a, b, c} {
			cl.close()
		}
		waitFor(t, "every session to end", 20*time.Second, func() bool { return r.whip.Sessions() == 0 })
		waitFor(t, "only the shared UDP socket open", 20*time.Second, func() bool { return udpSockets(t) <= sockets+1 })
	})
	waitFor(t, "no UDP socket open", 20*time.Second, func() bool { return udpSockets(t) <= sockets })
	deadline := time.Now().Add(30 * time.Second)
	for goleak.Find(before) != nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling for the goroutines to end
	}
	goleak.VerifyNone(t, before)
}

// udpSockets counts this process's open UDP sockets: its descriptors that
// are sockets listed in /proc/net/udp or udp6.
func udpSockets(t *testing.T) int {
	t.Helper()
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc here to count sockets with")
	}
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			if fields := strings.Fields(line); len(fields) > 9 {
				inodes[fields[9]] = true
			}
		}
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		link, err := os.Readlink("/proc/self/fd/" + fd.Name())
		if err != nil {
			continue
		}
		if inode, ok := strings.CutPrefix(link, "socket:["); ok && inodes[strings.TrimSuffix(inode, "]")] {
			n++
		}
	}
	return n
}

// TestWHIPOverTCP: a publisher that cannot use UDP connects over ICE-TCP
// (the TCP mux) and goes live.
func TestWHIPOverTCP(t *testing.T) {
	m := makeMedia(t)
	r := newWHIPRig(t, nil)
	c := dialWHIP(t, r.endpoint, "key-1", m, clientOpts{tcp: true})
	r.events.wait(t, "live f1", 20*time.Second)
	pair, err := c.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local.Protocol != webrtc.ICEProtocolTCP {
		t.Errorf("selected pair %v (%v), want TCP", pair, err)
	}
	if code := c.del(t); code != http.StatusOK {
		t.Fatalf("DELETE: %d", code)
	}
	r.events.wait(t, "offline f1", 10*time.Second)
}

// TestWHIPFull: past MaxPublishers (RTMP and WHIP together) an offer is
// 503 with Retry-After; a new publisher of a fundraiser already on air
// still takes it over. A DELETE with another key is 401.
func TestWHIPFull(t *testing.T) {
	m := makeMedia(t)
	r := newWHIPRig(t, nil, func(c *ingest.Config) { c.MaxPublishers = 1 })
	c := dialWHIP(t, r.endpoint, "key-1", m)
	r.events.wait(t, "live f1", 20*time.Second)
	pc, _, _ := newClientPC(t, clientOpts{})
	defer pc.Close()
	res, body := postOffer(t, r.endpoint, "key-2", clientOffer(t, pc))
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" || !strings.Contains(body, "full") {
		t.Fatalf("offer past the limit: %d %s", res.StatusCode, body)
	}
	// DELETE takes the POST's authorisation: the session's own key.
	for _, auth := range []string{"Bearer key-2", "", "Basic a2V5LTE=", "Bearer"} {
		req, _ := http.NewRequest(http.MethodDelete, c.location, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		dres, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		dres.Body.Close()
		if dres.StatusCode != http.StatusUnauthorized || dres.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("DELETE with Authorization %q: %d, want 401 with WWW-Authenticate", auth, dres.StatusCode)
		}
	}
	if !r.srv.Publishing("f1") {
		t.Fatal("a refused DELETE stopped the stream")
	}
	// The session URL's methods, as OPTIONS and a PATCH (405) both say.
	for _, method := range []string{http.MethodOptions, http.MethodPatch} {
		req, _ := http.NewRequest(method, c.location, nil)
		req.Header.Set("Authorization", "Bearer key-1")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if allow := res.Header.Get("Allow"); allow != "OPTIONS, DELETE" {
			t.Errorf("%s: %d Allow %q, want OPTIONS, DELETE", method, res.StatusCode, allow)
		}
	}
	d := dialWHIP(t, r.endpoint, "key-1", m) // the same fundraiser: a takeover, not a new stream
	r.events.wait(t, "live f1", 20*time.Second)
	if code := d.del(t); code != http.StatusOK {
		t.Fatalf("DELETE: %d", code)
	}
	r.events.wait(t, "offline f1", 10*time.Second)
}
