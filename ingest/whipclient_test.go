package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// testMedia is a few seconds of H.264 access units and Opus packets made
// by ffmpeg, which a WHIP test client sends in a loop in real time.
type testMedia struct {
	video [][]byte // Annex-B access units, 30 per second, an IDR every second
	audio [][]byte // Opus packets of 20 ms
}

// makeMedia has ffmpeg encode a test pattern and a tone.
func makeMedia(t *testing.T) *testMedia {
	t.Helper()
	needTools(t)
	dir := t.TempDir()
	vpath, apath := filepath.Join(dir, "v.h264"), filepath.Join(dir, "a.ogg")
	run := func(args ...string) {
		out, err := exec.Command("ffmpeg", append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
		}
	}
	run("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "3", "-c:v", "libx264", "-profile:v", "baseline",
		"-preset", "veryfast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p", "-f", "h264", vpath)
	run("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "3", "-c:a", "libopus", "-b:a", "48k",
		"-frame_duration", "20", "-page_duration", "20000", "-f", "ogg", apath)
	m := &testMedia{}
	f, err := os.Open(vpath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := h264reader.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var au []byte
	for {
		nal, err := r.NextNAL()
		if err != nil {
			break
		}
		au = append(au, 0, 0, 0, 1)
		au = append(au, nal.Data...)
		if nal.UnitType == h264reader.NalUnitTypeCodedSliceIdr || nal.UnitType == h264reader.NalUnitTypeCodedSliceNonIdr {
			m.video = append(m.video, au)
			au = nil
		}
	}
	g, err := os.Open(apath)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	or, _, err := oggreader.NewWith(g)
	if err != nil {
		t.Fatal(err)
	}
	for {
		page, _, err := or.ParseNextPage()
		if err != nil {
			break
		}
		if bytes.HasPrefix(page, []byte("OpusTags")) {
			continue
		}
		m.audio = append(m.audio, page)
	}
	if len(m.video) < 60 || len(m.audio) < 100 {
		t.Fatalf("ffmpeg made %d video frames and %d audio packets", len(m.video), len(m.audio))
	}
	return m
}

// whipClient is a WHIP publisher on pion, as OBS or a browser would be.
type whipClient struct {
	pc       *webrtc.PeerConnection
	location string
	token    string
	plis     atomic.Int64
	stop     chan struct{}
	noVideo  chan struct{} // closed by stopVideo
	videoOff sync.Once
	wg       sync.WaitGroup
	once     sync.Once
}

// clientOpts shape a test client's offer.
type clientOpts struct {
	videoMime string // default H.264
	noAudio   bool
	audioMime string // default Opus
	tcp       bool   // ICE over TCP only, as on a network that blocks UDP
	// noKeyframes: send only the frames that are not keyframes (and no
	// parameter sets), as a broken encoder might.
	noKeyframes bool
}

// newClientPC builds a pion peer connection that offers what opts say.
func newClientPC(t *testing.T, o clientOpts) (*webrtc.PeerConnection, *webrtc.TrackLocalStaticSample, *webrtc.TrackLocalStaticSample) {
	t.Helper()
	if o.videoMime == "" {
		o.videoMime = webrtc.MimeTypeH264
	}
	if o.audioMime == "" {
		o.audioMime = webrtc.MimeTypeOpus
	}
	// Only the codecs asked for, so an offer can lack H.264 or Opus.
	me := &webrtc.MediaEngine{}
	fmtp := map[string]string{
		webrtc.MimeTypeH264: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
		webrtc.MimeTypeOpus: "minptime=10;useinbandfec=1",
	}
	channels := map[string]uint16{webrtc.MimeTypeOpus: 2}
	rates := map[string]uint32{webrtc.MimeTypeOpus: 48000, webrtc.MimeTypePCMU: 8000}
	for i, c := range []struct {
		mime string
		kind webrtc.RTPCodecType
	}{{o.videoMime, webrtc.RTPCodecTypeVideo}, {o.audioMime, webrtc.RTPCodecTypeAudio}} {
		rate := rates[c.mime]
		if rate == 0 {
			rate = 90000
		}
		err := me.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: c.mime, ClockRate: rate, Channels: channels[c.mime], SDPFmtpLine: fmtp[c.mime]},
			PayloadType:        webrtc.PayloadType(102 + i),
		}, c.kind)
		if err != nil {
			t.Fatal(err)
		}
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	if o.tcp {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: o.videoMime}, "video", "whip-test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTransceiverFromTrack(video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	var audio *webrtc.TrackLocalStaticSample
	if !o.noAudio {
		audio, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: o.audioMime}, "audio", "whip-test")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.AddTransceiverFromTrack(audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	return pc, video, audio
}

// clientOffer makes a peer connection's complete offer (every candidate in
// it, as OBS sends it).
func clientOffer(t *testing.T, pc *webrtc.PeerConnection) string {
	t.Helper()
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return pc.LocalDescription().SDP
}

// postOffer POSTs an SDP offer and returns the answer.
func postOffer(t *testing.T, endpoint, token, sdp string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(sdp))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", endpoint, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// dialWHIP publishes m to a WHIP endpoint with token and starts sending
// in real time. It fails the test unless the answer is 201.
func dialWHIP(t *testing.T, endpoint, token string, m *testMedia, opts ...clientOpts) *whipClient {
	t.Helper()
	var o clientOpts
	if len(opts) > 0 {
		o = opts[0]
	}
	pc, video, audio := newClientPC(t, o)
	res, answer := postOffer(t, endpoint, token, clientOffer(t, pc))
	if res.StatusCode != http.StatusCreated {
		pc.Close()
		t.Fatalf("POST offer: %d %s", res.StatusCode, answer)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/sdp" {
		t.Errorf("answer Content-Type %q", ct)
	}
	loc, err := res.Location()
	if err != nil {
		t.Fatalf("no Location: %v", err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatalf("set answer: %v\n%s", err, answer)
	}
	c := &whipClient{pc: pc, location: loc.String(), token: token, stop: make(chan struct{}), noVideo: make(chan struct{})}
	for _, s := range pc.GetSenders() {
		c.wg.Go(func() {
			for {
				pkts, _, err := s.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					if _, ok := p.(*rtcp.PictureLossIndication); ok {
						c.plis.Add(1)
					}
				}
			}
		})
	}
	frames := m.video
	if o.noKeyframes {
		frames = nil
		for _, au := range m.video {
			if !hasIDR(au) {
				frames = append(frames, au)
			}
		}
	}
	c.wg.Go(func() { c.sendUntil(video, frames, time.Second/30, c.noVideo) })
	if audio != nil {
		c.wg.Go(func() { c.send(audio, m.audio, 20*time.Millisecond) })
	}
	t.Cleanup(c.close)
	return c
}

// hasIDR reports whether an Annex-B access unit holds an IDR slice.
func hasIDR(au []byte) bool {
	for i := 0; i+3 < len(au); i++ {
		if au[i] == 0 && au[i+1] == 0 && au[i+2] == 1 && au[i+3]&0x1f == 5 {
			return true
		}
	}
	return false
}

// stopVideo stops sending video; audio goes on.
func (c *whipClient) stopVideo() { c.videoOff.Do(func() { close(c.noVideo) }) }

// send writes samples in a loop, one per every.
func (c *whipClient) send(track *webrtc.TrackLocalStaticSample, samples [][]byte, every time.Duration) {
	c.sendUntil(track, samples, every, nil)
}

// sendUntil sends as send does until stop or c.stop is closed.
func (c *whipClient) sendUntil(track *webrtc.TrackLocalStaticSample, samples [][]byte, every time.Duration, stop chan struct{}) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-c.stop:
			return
		case <-stop:
			return
		case <-tick.C:
		}
		if err := track.WriteSample(pionmedia.Sample{Data: samples[i%len(samples)], Duration: every}); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			return
		}
	}
}

// del DELETEs the session and returns the status.
func (c *whipClient) del(t *testing.T) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, c.location, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("DELETE: %v", err)
	}
	res.Body.Close()
	return res.StatusCode
}

// close stops sending and closes the peer connection.
func (c *whipClient) close() {
	c.once.Do(func() {
		close(c.stop)
		_ = c.pc.GracefulClose()
		c.wg.Wait()
	})
}

// connected waits until the client's connection is up, or failed.
func (c *whipClient) state() webrtc.PeerConnectionState { return c.pc.ConnectionState() }

var _ = context.Background
