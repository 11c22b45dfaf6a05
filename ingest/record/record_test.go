package record_test

import (
	"bytes"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/givelive/givelive/ingest/hls"
	"github.com/givelive/givelive/ingest/record"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)

// A baseline stream's parameter sets (pic_order_cnt_type 2: decode times
// equal presentation times).
var (
	sps, _ = hex.DecodeString("6742c00ad90426c044000003000400000300f03c489920")
	pps, _ = hex.DecodeString("68cb83cb20")
)

func tracks() hls.Tracks {
	return hls.Tracks{
		Video: &codecs.H264{SPS: sps, PPS: pps},
		Audio: &codecs.MPEG4Audio{Config: mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 44100, ChannelCount: 2}},
	}
}

// rig is a live HLS server whose streams a Recorder records.
type rig struct {
	t    *testing.T
	dir  string
	reg  *prometheus.Registry
	rec  *record.Recorder
	live *hls.Server
	hls  *httptest.Server
	rep  *httptest.Server
	logs *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newRig(t *testing.T, cfg record.Config, visible record.Visible) *rig {
	t.Helper()
	r := &rig{t: t, reg: prometheus.NewRegistry(), logs: &lockedBuffer{}}
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.SegmentDuration == 0 {
		cfg.SegmentDuration = time.Second
	}
	r.dir = cfg.Dir
	cfg.Registerer = r.reg
	cfg.Logger = slog.New(slog.NewTextHandler(r.logs, nil))
	rec, err := record.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	live, err := hls.NewServer(hls.Config{Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	r.rec, r.live = rec, live
	r.hls = httptest.NewServer(live)
	r.rep = httptest.NewServer(rec.Handler(visible))
	t.Cleanup(func() {
		r.hls.Close()
		r.rep.Close()
		live.Close()
		rec.Close()
	})
	return r
}

// source writes a synthetic 30 fps H.264 stream with a keyframe every gop
// frames and AAC at 44.1 kHz, starting at wall clock start.
type source struct {
	t      *testing.T
	st     *hls.Stream
	start  time.Time
	gop    int
	frames int
	audio  int64
	sps    []byte // the keyframes' SPS; nil is sps
}

func (r *rig) begin(id string, start time.Time) *source {
	r.t.Helper()
	st, err := r.live.Begin(id, tracks())
	if err != nil {
		r.t.Fatal(err)
	}
	return &source{t: r.t, st: st, start: start, gop: 30}
}

func (s *source) advance(d time.Duration) {
	s.t.Helper()
	end := s.frames + int(d/(time.Second/30))
	for ; s.frames < end; s.frames++ {
		pts := int64(s.frames) * 3000
		for ; s.audio*1024*90000/44100 <= pts; s.audio++ {
			apts := s.audio * 1024
			if err := s.st.WriteMPEG4Audio(s.start.Add(time.Duration(apts)*time.Second/44100), apts, []byte{0x21, 0x00, 0x49, byte(s.audio)}); err != nil {
				s.t.Fatalf("audio %d: %v", s.audio, err)
			}
		}
		au := [][]byte{{0x41, 0x9a, byte(s.frames), 0x80}}
		if s.frames%s.gop == 0 {
			p := sps
			if s.sps != nil {
				p = s.sps
			}
			au = [][]byte{p, pps, {0x65, 0x88, 0x84, byte(s.frames), 0x80}}
		}
		if err := s.st.WriteH264(s.start.Add(time.Duration(pts)*time.Second/90000), pts, au); err != nil {
			s.t.Fatalf("video %d: %v", s.frames, err)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitDone waits until id is no longer being recorded, with n broadcasts kept.
func (r *rig) waitDone(id string, n int) record.Summary {
	r.t.Helper()
	var s record.Summary
	waitFor(r.t, "the recording to finish", func() bool {
		var ok bool
		s, ok = r.rec.Summary(id)
		return ok && !s.Recording && s.Broadcasts == n
	})
	return s
}

func get(t *testing.T, url string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

func TestRecordWritesSegmentsAndAVODPlaylist(t *testing.T) {
	r := newRig(t, record.Config{}, nil)
	src := r.begin("f1", t0)
	src.advance(5 * time.Second)
	src.st.End()
	s := r.waitDone("f1", 1)
	if !s.StartedAt.Equal(t0) {
		t.Errorf("StartedAt = %v, want the first frame's wall clock %v", s.StartedAt, t0)
	}
	if s.Duration < 4*time.Second || s.Duration > 6*time.Second {
		t.Errorf("Duration = %v, want about 5s", s.Duration)
	}
	b := filepath.Join(r.dir, "f1", "1796673600000")
	for _, f := range []string{"init.mp4", "1.m4s", "2.m4s", "index.txt"} {
		if _, err := os.Stat(filepath.Join(b, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	code, h, body := get(t, r.rep.URL+"/replay/f1/index.m3u8")
	if code != 200 || h.Get("Content-Type") != "application/vnd.apple.mpegurl" {
		t.Fatalf("playlist: %d %s\n%s", code, h.Get("Content-Type"), body)
	}
	for _, want := range []string{"#EXT-X-PLAYLIST-TYPE:VOD", `#EXT-X-MAP:URI="1796673600000/init.mp4"`,
		"#EXT-X-PROGRAM-DATE-TIME:2026-12-07T20:00:00.000Z", "#EXTINF:1.000,\n1796673600000/1.m4s", "#EXT-X-ENDLIST"} {
		if !strings.Contains(body, want) {
			t.Errorf("playlist lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "DISCONTINUITY") {
		t.Errorf("one broadcast, yet a discontinuity:\n%s", body)
	}
	probe(t, r.rep.URL+"/replay/f1/index.m3u8", 4, 6)
}

// probe reads the replay with ffprobe and checks its duration in seconds.
func probe(t *testing.T, url string, lo, hi float64) {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ffprobe is missing (apt-get install ffmpeg)")
		}
		t.Skip("ffprobe is missing (apt-get install ffmpeg); skipping the probe")
	}
	out, err := exec.Command("ffprobe", "-v", "quiet", "-show_entries", "format=duration:stream=codec_name", "-of", "default=nw=1", url).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	s := string(out)
	if !strings.Contains(s, "codec_name=h264") || !strings.Contains(s, "codec_name=aac") {
		t.Errorf("ffprobe sees no H.264 and AAC:\n%s", s)
	}
	var d float64
	for _, l := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(l, "duration="); ok {
			d, _ = strconv.ParseFloat(v, 64)
		}
	}
	if d < lo || d > hi {
		t.Errorf("ffprobe duration %v, want %v to %v:\n%s", d, lo, hi, s)
	}
}

// metric reads a counter or gauge, with labels as name=value pairs.
func (r *rig) metric(name string, labels ...string) float64 {
	r.t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		r.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}
