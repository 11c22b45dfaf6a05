package ingest_test

import (
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	mp4 "github.com/abema/go-mp4"
	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	rtmpcodecs "github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/gortmplib/pkg/handshake"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/givelive/givelive/ingest"
)

// enhancedCases are the codecs OBS 30+ sends over Enhanced RTMP, each as a
// Go publisher (gortmplib's client) sends them, and what ffprobe must read
// back from the HLS.
var enhancedCases = []struct {
	name         string
	video, audio []string
	want         string
}{
	{"hevc+aac", []string{"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "keyint=60:min-keyint=60:bframes=2:log-level=error"},
		[]string{"-c:a", "aac", "-b:a", "64k"}, "audio:aac,video:hevc"},
	{"hevc+opus", []string{"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "keyint=60:min-keyint=60:log-level=error"},
		[]string{"-c:a", "libopus", "-b:a", "64k"}, "audio:opus,video:hevc"},
	{"av1+opus", []string{"-c:v", "libsvtav1", "-preset", "12", "-g", "60"},
		[]string{"-c:a", "libopus", "-b:a", "64k"}, "audio:opus,video:av1"},
}

// TestEnhancedRTMPPlaysAsHLS: H.265 and AV1 video with AAC or Opus audio,
// over Enhanced RTMP (FourCC hvc1, av01, Opus), come out as LL-HLS that
// ffprobe reads with the same codecs and about the published duration.
// Timestamps start past 24 bits, so every chunk header carries an extended
// timestamp.
func TestEnhancedRTMPPlaysAsHLS(t *testing.T) {
	needTools(t)
	for _, tc := range enhancedCases {
		t.Run(tc.name, func(t *testing.T) {
			m := ffmpegMedia(t, 4, tc.video, tc.audio)
			r := newRig(t)
			p := dialPublisher(t, r.rtmp, "key-1")
			p.publishMedia(m, 0x01000000*time.Millisecond, false)
			p.end()
			r.events.wait(t, "live f1", 10*time.Second)
			r.events.wait(t, "offline f1", 10*time.Second)

			pr := ffprobe(t, r.playlistURL("f1"))
			if got := codecsOf(pr); got != tc.want {
				t.Fatalf("ffprobe sees %q, want %q", got, tc.want)
			}
			if d := pr.duration(); d < 3.5 || d > 5 {
				t.Fatalf("HLS duration %.2f s, want about 4", d)
			}
			dts := videoDTS(t, r.playlistURL("f1"))
			checkForward(t, dts, 4)
		})
	}
}

// TestRefusedCodecsSayWhatToUse: audio in a codec browsers do not take in
// HLS (MP3, sent the legacy way) is refused with a status naming it and
// what to use instead, and never goes live.
func TestRefusedCodecsSayWhatToUse(t *testing.T) {
	r := newRig(t)
	p := dialPublisher(t, r.rtmp, "key-1")
	for _, ts := range []time.Duration{0, 1000 * time.Millisecond, 2100 * time.Millisecond} {
		p.send(&message.Audio{ChunkStreamID: 4, MessageStreamID: 0x1000000, Codec: message.CodecMPEG1Audio,
			Rate: message.AudioRate44100, Depth: message.AudioDepth16, IsStereo: true,
			AU: []byte{0xff, 0xfb, 0x90, 0x64, 0, 0, 0, 0}, DTS: ts})
	}
	code, desc := p.statusAfter()
	if code != "NetStream.Publish.Rejected" || !strings.Contains(desc, "MP3") || !strings.Contains(desc, "AAC") {
		t.Fatalf("refusal %q %q, want Rejected naming MP3 and AAC", code, desc)
	}
	if got := r.refusals("codec"); got != 1 {
		t.Fatalf("codec refusals %v", got)
	}
	if ev := r.events.all(); len(ev) != 0 {
		t.Fatalf("events %q, want none: a refused codec never goes live", ev)
	}
}

// rawClient is a connection after the handshake, for what gortmplib's
// client would not send.
func rawClient(t *testing.T, rtmpURL string) (net.Conn, *message.ReadWriter) {
	t.Helper()
	addr := strings.TrimSuffix(strings.TrimPrefix(rtmpURL, "rtmp://"), "/live")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	bc := bytecounter.NewReadWriter(conn)
	if _, _, err := handshake.DoClient(bc, false, false); err != nil {
		t.Fatal(err)
	}
	return conn, message.NewReadWriter(bc, bc, false)
}

// TestWrongAppIsRefused: connect to another application than live is
// answered with _error NetConnection.Connect.Rejected.
func TestWrongAppIsRefused(t *testing.T) {
	r := newRig(t)
	_, mrw := rawClient(t, r.rtmp)
	if err := mrw.Write(&message.CommandAMF0{ChunkStreamID: 3, Name: "connect", CommandID: 1,
		Arguments: []any{amf0.Object{{Key: "app", Value: "vod"}, {Key: "tcUrl", Value: "rtmp://x/vod"}}}}); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := mrw.Read()
		if err != nil {
			t.Fatalf("no _error before the close: %v", err)
		}
		c, ok := m.(*message.CommandAMF0)
		if !ok {
			continue
		}
		if c.Name != "_error" {
			t.Fatalf("got %s, want _error", c.Name)
		}
		o, _ := c.Arguments[1].(amf0.Object)
		if code, _ := o.GetString("code"); code != "NetConnection.Connect.Rejected" {
			t.Fatalf("code %q", code)
		}
		return
	}
}

// TestEnhancedAVCAndAACPlay: H.264 and AAC sent the Enhanced RTMP way
// (FourCC avc1 and mp4a, as newer encoders may), rather than the legacy
// tags OBS still uses for them, play the same.
func TestEnhancedAVCAndAACPlay(t *testing.T) {
	needTools(t)
	m := ffmpegMedia(t, 4,
		[]string{"-c:v", "libx264", "-profile:v", "baseline", "-preset", "veryfast", "-g", "60"},
		[]string{"-c:a", "aac", "-b:a", "64k"})
	var logs syncBuffer
	r := newRig(t, func(c *ingest.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	})
	p := dialPublisher(t, r.rtmp, "key-1")
	h := m.video.Codec.(*rtmpcodecs.H264)
	aac := m.audio.Codec.(*rtmpcodecs.MPEG4Audio)
	p.send(&message.VideoExSequenceStart{ChunkStreamID: 6, MessageStreamID: 0x1000000, FourCC: message.FourCCAVC,
		AVCConfig: &mp4.AVCDecoderConfiguration{
			AnyTypeBox:           mp4.AnyTypeBox{Type: mp4.BoxTypeAvcC()},
			ConfigurationVersion: 1, Profile: h.SPS[1], ProfileCompatibility: h.SPS[2], Level: h.SPS[3],
			Reserved: 0b111111, LengthSizeMinusOne: 3, Reserved2: 0b111,
			NumOfSequenceParameterSets: 1, SequenceParameterSets: []mp4.AVCParameterSet{{Length: uint16(len(h.SPS)), NALUnit: h.SPS}},
			NumOfPictureParameterSets: 1, PictureParameterSets: []mp4.AVCParameterSet{{Length: uint16(len(h.PPS)), NALUnit: h.PPS}},
		}})
	p.send(&message.AudioExSequenceStart{ChunkStreamID: 4, MessageStreamID: 0x1000000, FourCC: message.FourCCMP4A, AACConfig: aac.Config})
	for _, f := range m.frames {
		if f.video {
			avcc, err := h264.AVCC(f.data).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			p.send(&message.VideoExCodedFrames{ChunkStreamID: 6, MessageStreamID: 0x1000000, FourCC: message.FourCCAVC,
				DTS: f.dts, PTSDelta: f.pts - f.dts, Payload: avcc})
			continue
		}
		p.send(&message.AudioExCodedFrames{ChunkStreamID: 4, MessageStreamID: 0x1000000, FourCC: message.FourCCMP4A,
			DTS: f.dts, Payload: f.data[0]})
	}
	p.end()
	r.events.wait(t, "live f1", 10*time.Second)
	r.events.wait(t, "offline f1", 10*time.Second)
	pr := ffprobe(t, r.playlistURL("f1"))
	if got := codecsOf(pr); got != "audio:aac,video:h264" {
		t.Fatalf("ffprobe sees %q", got)
	}
	decode(t, r.playlistURL("f1"))
	checkForward(t, videoDTS(t, r.playlistURL("f1")), 4)
}

// TestTracksMustShowEarly: a publisher whose timestamps never reach two
// seconds (gortmplib's Reader keeps every message until they do) is
// refused after 32 MiB instead of being held in memory without end.
func TestTracksMustShowEarly(t *testing.T) {
	r := newRig(t)
	p := dialPublisher(t, r.rtmp, "key-1")
	sendAudio(p, 0)
	frame := make([]byte, 1<<20)
	frame[0] = 0x27
	for range 40 {
		if err := p.c.Write(&message.Video{ChunkStreamID: 6, MessageStreamID: 0x1000000, Codec: message.CodecH264,
			Type: message.VideoTypeAU, AU: frame}); err != nil {
			break // the server hung up
		}
	}
	code, desc := p.statusAfter()
	if code != "NetStream.Publish.Rejected" || !strings.Contains(desc, "timestamps") {
		t.Fatalf("refusal %q %q", code, desc)
	}
	if ev := r.events.all(); len(ev) != 0 {
		t.Fatalf("events %q", ev)
	}
}
