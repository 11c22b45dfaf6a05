package ingest_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/amf0"
	rtmpcodecs "github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/av1"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"

	"github.com/givelive/givelive/ingest"
)

// goPublisher publishes with gortmplib's client: Enhanced RTMP (HEVC, AV1,
// Opus), which ffmpeg 5.1 cannot send, and hand-made messages.
type goPublisher struct {
	t testing.TB
	c *gortmplib.Client
}

// dialPublisher connects to rtmpURL (rtmp://host:port/live) and publishes
// with key; the publish must be accepted.
func dialPublisher(t testing.TB, rtmpURL, key string) *goPublisher {
	t.Helper()
	p, err := tryPublisher(t, rtmpURL, key)
	if err != nil {
		t.Fatalf("publish with %s: %v", key, err)
	}
	return p
}

// tryPublisher connects and publishes, returning the refusal if any.
func tryPublisher(t testing.TB, rtmpURL, key string) (*goPublisher, error) {
	t.Helper()
	u, err := url.Parse(rtmpURL + "#" + key)
	if err != nil {
		t.Fatal(err)
	}
	c := &gortmplib.Client{URL: u, Publish: true}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Initialize(ctx); err != nil {
		return nil, err
	}
	t.Cleanup(c.Close)
	_ = c.NetConn().SetDeadline(time.Now().Add(60 * time.Second))
	return &goPublisher{t: t, c: c}, nil
}

// end stops publishing as an encoder that is done would, but keeps the
// socket open for reading (TCP half-close): the server reads everything
// sent and sees EOF. A full Close would make the server's
// acknowledgements of data it has not read yet meet a closed socket; the
// RST that answers them throws away what this side has not transmitted
// yet, so a slow server (under load) would lose the stream's tail.
func (p *goPublisher) end() {
	p.t.Helper()
	if tc, ok := p.c.NetConn().(interface{ CloseWrite() error }); ok {
		if err := tc.CloseWrite(); err != nil {
			p.t.Fatalf("close write: %v", err)
		}
		return
	}
	p.c.Close()
}

func (p *goPublisher) send(m message.Message) {
	p.t.Helper()
	if err := p.c.Write(m); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

// statusAfter reads until the server closes, returning the last onStatus
// code and description it sent.
func (p *goPublisher) statusAfter() (code, desc string) {
	for {
		m, err := p.c.Read()
		if err != nil {
			return code, desc
		}
		if c, ok := m.(*message.CommandAMF0); ok && c.Name == "onStatus" {
			for _, a := range c.Arguments {
				if o, ok := a.(amf0.Object); ok {
					code, _ = o.GetString("code")
					desc, _ = o.GetString("description")
				}
			}
		}
	}
}

// sendAudio sends an AAC-LC configuration and one frame at ts: with a
// second call two seconds later, enough for the server to read the tracks
// and report the stream live.
func sendAudio(p *goPublisher, ts time.Duration) {
	p.t.Helper()
	cfg := &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 44100, ChannelCount: 2}
	p.send(&message.Audio{ChunkStreamID: 4, MessageStreamID: 0x1000000, Codec: message.CodecMPEG4Audio,
		Rate: message.AudioRate44100, Depth: message.AudioDepth16, IsStereo: true,
		AACType: message.AudioAACTypeConfig, AACConfig: cfg, DTS: ts})
	p.send(&message.Audio{ChunkStreamID: 4, MessageStreamID: 0x1000000, Codec: message.CodecMPEG4Audio,
		Rate: message.AudioRate44100, Depth: message.AudioDepth16, IsStereo: true,
		AACType: message.AudioAACTypeAU, AU: []byte{0x21, 0x00, 0x49, 0x90, 0x02, 0x19}, DTS: ts})
}

// frame is one frame of a test stream, in decode order.
type frame struct {
	video    bool
	pts, dts time.Duration
	data     [][]byte // NAL units, OBUs, or one audio frame
}

// media is a test stream read from a file ffmpeg wrote.
type media struct {
	video, audio *gortmplib.Track
	frames       []frame
}

// ffmpegMedia has ffmpeg make seconds of a test pattern with a tone, with
// the codec options given, and reads it back: MPEG-TS for H.264, H.265, AAC
// and Opus; IVF for AV1 (video only).
func ffmpegMedia(t testing.TB, seconds int, videoArgs, audioArgs []string) *media {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ffmpeg is not installed (CI must install Debian's ffmpeg)")
		}
		t.Skip("ffmpeg is not installed")
	}
	dir := t.TempDir()
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", fmt.Sprint(seconds), "-pix_fmt", "yuv420p"}
	m := &media{}
	if slices.Contains(videoArgs, "libsvtav1") || slices.Contains(videoArgs, "libaom-av1") {
		ivf := filepath.Join(dir, "video.ivf")
		run(t, append(append(slices.Clone(args), videoArgs...), "-an", ivf)...)
		m.readIVF(t, ivf)
		if audioArgs != nil {
			ts := filepath.Join(dir, "audio.ts")
			run(t, append(append(slices.Clone(args), "-vn"), append(audioArgs, ts)...)...)
			m.readTS(t, ts)
		}
	} else {
		ts := filepath.Join(dir, "media.ts")
		run(t, append(append(append(slices.Clone(args), videoArgs...), audioArgs...), "-f", "mpegts", ts)...)
		m.readTS(t, ts)
	}
	slices.SortStableFunc(m.frames, func(a, b frame) int { return int(a.dts - b.dts) })
	// Start at 0: an audio frame a little before the first video frame
	// would otherwise be negative, which RTMP's unsigned timestamps cannot
	// say.
	if len(m.frames) > 0 {
		first := m.frames[0].dts
		for i := range m.frames {
			m.frames[i].dts -= first
			m.frames[i].pts -= first
		}
	}
	return m
}

func run(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		if bytes.Contains(out, []byte("Unknown encoder")) {
			t.Skipf("this ffmpeg lacks an encoder: %s", out)
		}
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

// readTS reads an MPEG-TS file's H.264, H.265, AAC and Opus frames.
func (m *media) readTS(t testing.TB, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := &mpegts.Reader{R: f}
	if err := r.Initialize(); err != nil {
		t.Fatal(err)
	}
	const tick = time.Second / 90000
	var base int64 = -1
	at := func(ts int64) time.Duration {
		if base < 0 {
			base = ts
		}
		return time.Duration(ts-base) * tick
	}
	for _, track := range r.Tracks() {
		switch c := track.Codec.(type) {
		case *mpegts.CodecH264:
			m.video = &gortmplib.Track{Codec: &rtmpcodecs.H264{}}
			r.OnDataH264(track, func(pts, dts int64, au [][]byte) error {
				m.paramsFrom(au)
				m.frames = append(m.frames, frame{video: true, pts: at(pts), dts: at(dts), data: au})
				return nil
			})
		case *mpegts.CodecH265:
			m.video = &gortmplib.Track{Codec: &rtmpcodecs.H265{}}
			r.OnDataH265(track, func(pts, dts int64, au [][]byte) error {
				m.paramsFrom(au)
				m.frames = append(m.frames, frame{video: true, pts: at(pts), dts: at(dts), data: au})
				return nil
			})
		case *mpegts.CodecMPEG4Audio:
			cfg := c.Config
			m.audio = &gortmplib.Track{Codec: &rtmpcodecs.MPEG4Audio{Config: &cfg}}
			r.OnDataMPEG4Audio(track, func(pts int64, aus [][]byte) error {
				for i, au := range aus {
					d := at(pts) + time.Duration(i)*mpeg4audio.SamplesPerAccessUnit*time.Second/time.Duration(cfg.SampleRate)
					m.frames = append(m.frames, frame{pts: d, dts: d, data: [][]byte{au}})
				}
				return nil
			})
		case *mpegts.CodecOpus:
			m.audio = &gortmplib.Track{Codec: &rtmpcodecs.Opus{IDHeader: &opus.IDHeader{
				Version: 1, ChannelCount: uint8(c.ChannelCount), PreSkip: 312, InputSampleRate: 48000}}}
			r.OnDataOpus(track, func(pts int64, packets [][]byte) error {
				d := at(pts)
				for _, p := range packets {
					m.frames = append(m.frames, frame{pts: d, dts: d, data: [][]byte{p}})
					d += opus.PacketDuration(p)
				}
				return nil
			})
		}
	}
	for {
		if err := r.Read(); err != nil {
			if errors.Is(err, io.EOF) {
				return
			}
			t.Fatalf("reading %s: %v", path, err)
		}
	}
}

// paramsFrom fills the video track's parameter sets from in-band ones.
func (m *media) paramsFrom(au [][]byte) {
	switch c := m.video.Codec.(type) {
	case *rtmpcodecs.H264:
		for _, n := range au {
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				c.SPS = n
			case h264.NALUTypePPS:
				c.PPS = n
			}
		}
	case *rtmpcodecs.H265:
		for _, n := range au {
			switch h265.NALUType((n[0] >> 1) & 0b111111) {
			case h265.NALUType_VPS_NUT:
				c.VPS = n
			case h265.NALUType_SPS_NUT:
				c.SPS = n
			case h265.NALUType_PPS_NUT:
				c.PPS = n
			}
		}
	}
}

// readIVF reads an IVF file of AV1 temporal units.
func (m *media) readIVF(t testing.TB, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 32 || string(b[:4]) != "DKIF" {
		t.Fatalf("%s is not IVF", path)
	}
	den, num := binary.LittleEndian.Uint32(b[16:20]), binary.LittleEndian.Uint32(b[20:24])
	m.video = &gortmplib.Track{Codec: &rtmpcodecs.AV1{}}
	for p := b[binary.LittleEndian.Uint16(b[6:8]):]; len(p) >= 12; {
		size := int(binary.LittleEndian.Uint32(p[:4]))
		pts := int64(binary.LittleEndian.Uint64(p[4:12]))
		if len(p) < 12+size {
			break
		}
		var tu av1.Bitstream
		if err := tu.Unmarshal(p[12 : 12+size]); err != nil {
			t.Fatalf("AV1 temporal unit: %v", err)
		}
		d := time.Duration(pts) * time.Second * time.Duration(num) / time.Duration(den)
		m.frames = append(m.frames, frame{video: true, pts: d, dts: d, data: tu})
		p = p[12+size:]
	}
}

// publishMedia sends m over p (with gortmplib's Writer, which sends H.265,
// AV1 and Opus the Enhanced RTMP way), starting timestamps at offset, in
// real time when realtime is set.
func (p *goPublisher) publishMedia(m *media, offset time.Duration, realtime bool) {
	p.t.Helper()
	var tracks []*gortmplib.Track
	for _, tr := range []*gortmplib.Track{m.video, m.audio} {
		if tr != nil {
			tracks = append(tracks, tr)
		}
	}
	w := &gortmplib.Writer{Conn: p.c, Tracks: tracks}
	if err := w.Initialize(); err != nil {
		p.t.Fatalf("writer: %v", err)
	}
	start := time.Now()
	for _, f := range m.frames {
		if realtime {
			time.Sleep(time.Until(start.Add(f.dts)))
		}
		pts, dts := f.pts+offset, f.dts+offset
		var err error
		if f.video {
			switch m.video.Codec.(type) {
			case *rtmpcodecs.H264:
				err = w.WriteH264(m.video, pts, dts, f.data)
			case *rtmpcodecs.H265:
				err = w.WriteH265(m.video, pts, dts, f.data)
			case *rtmpcodecs.AV1:
				err = w.WriteAV1(m.video, pts, f.data)
			}
		} else {
			switch m.audio.Codec.(type) {
			case *rtmpcodecs.MPEG4Audio:
				err = w.WriteMPEG4Audio(m.audio, pts, f.data[0])
			case *rtmpcodecs.Opus:
				err = w.WriteOpus(m.audio, pts, f.data[0])
			}
		}
		if err != nil {
			p.t.Fatalf("sending a frame at %s: %v", dts, err)
		}
	}
}

// codecsOf lists what ffprobe sees, once each, sorted.
func codecsOf(p probe) string {
	var s []string
	for _, st := range p.Streams {
		s = append(s, st.CodecType+":"+st.CodecName)
	}
	slices.Sort(s)
	return strings.Join(slices.Compact(s), ",")
}

// The server's acknowledgements, which gortmplib writes from inside its
// reader every window of bytes the publisher asked for (2.5 MB for
// gortmplib's own client), have a write deadline of their own. Found: they
// kept the deadline of the server's last message, so once the idle timeout
// had passed since then, the first acknowledgement failed and every
// message after it was dropped as malformed (TestTracksMustShowEarly saw
// it under load; any encoder that asks for acknowledgements would have
// lost its stream after its first seconds).
func TestAcknowledgementsLongAfterTheLastReply(t *testing.T) {
	const idle = 2 * time.Second
	r := newRig(t, func(c *ingest.Config) { c.IdleTimeout = idle })
	p := dialPublisher(t, r.rtmp, "key-1")
	replied := time.Now() // the publish reply was the server's last message
	// Keep the connection busy until the idle timeout has passed since.
	for ts := time.Duration(0); time.Since(replied) < idle+idle/2; ts += 20 * time.Millisecond {
		sendAudio(p, ts)
		time.Sleep(100 * time.Millisecond) // a publisher's pace, well inside the idle timeout
	}
	// More than one window: the server must acknowledge it.
	frame := make([]byte, 256<<10)
	frame[0] = 0x27
	for range 12 {
		p.send(&message.Video{ChunkStreamID: 6, MessageStreamID: 0x1000000, Codec: message.CodecH264,
			Type: message.VideoTypeAU, AU: frame, DTS: time.Second})
	}
	for {
		m, err := p.c.Read()
		if err != nil {
			t.Fatalf("no acknowledgement from the server: %v (malformed drops: %v)", err,
				counter(r.reg, "givelive_ingest_dropped_frames_total", "malformed"))
		}
		if _, ok := m.(*message.Acknowledge); ok {
			break
		}
	}
	if n := counter(r.reg, "givelive_ingest_dropped_frames_total", "malformed"); n != 0 {
		t.Fatalf("%v messages dropped as malformed", n)
	}
}
