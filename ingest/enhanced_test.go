package ingest_test

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/givelive/givelive/ingest/flv"
	"github.com/givelive/givelive/ingest/rtmp"
)

// flvTag is one tag of an FLV file.
type flvTag struct {
	typ  uint8
	ts   uint32
	body []byte
}

// readFLV reads the tags of an FLV file (test-only: the server never reads
// files).
func readFLV(t testing.TB, path string) []flvTag {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 13 || string(b[:3]) != "FLV" {
		t.Fatalf("%s is not FLV", path)
	}
	p := b[binary.BigEndian.Uint32(b[5:9])+4:]
	var tags []flvTag
	for len(p) >= 11 {
		size := int(p[1])<<16 | int(p[2])<<8 | int(p[3])
		ts := uint32(p[4])<<16 | uint32(p[5])<<8 | uint32(p[6]) | uint32(p[7])<<24
		if len(p) < 11+size+4 {
			break
		}
		tags = append(tags, flvTag{typ: p[0] & 0x1f, ts: ts, body: p[11 : 11+size]})
		p = p[11+size+4:]
	}
	return tags
}

// testStream has ffmpeg write a few seconds of x264 (B-frames) and AAC to
// an FLV file.
func testStream(t *testing.T, seconds int) []flvTag {
	t.Helper()
	out := filepath.Join(t.TempDir(), "test.flv")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", fmt.Sprint(seconds), "-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "30", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-f", "flv", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	return readFLV(t, out)
}

// goPublisher is a minimal RTMP publisher built on the rtmp package, for
// what ffmpeg 5.1 cannot send (Enhanced RTMP).
type goPublisher struct {
	t    testing.TB
	conn net.Conn
	r    *rtmp.Reader
	w    *rtmp.Writer
}

func dialPublisher(t testing.TB, rtmpURL, key string, connectObj rtmp.Object) *goPublisher {
	t.Helper()
	addr := strings.TrimSuffix(strings.TrimPrefix(rtmpURL, "rtmp://"), "/live")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if err := rtmp.ClientHandshake(conn, nil); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	p := &goPublisher{t: t, conn: conn, r: rtmp.NewReader(conn, rtmp.ReaderConfig{}), w: rtmp.NewWriter(conn)}
	p.send(rtmp.SetChunkSizeMessage(4096))
	p.w.SetChunkSize(4096)
	p.command(rtmp.Command{Name: "connect", TransactionID: 1, Object: connectObj})
	p.expect("_result", "NetConnection.Connect.Success")
	p.command(rtmp.Command{Name: "createStream", TransactionID: 2})
	p.expect("_result", "")
	m, err := rtmp.CommandMessage(8, 1, rtmp.Command{Name: "publish", TransactionID: 3, Args: []any{key, "live"}})
	if err != nil {
		t.Fatal(err)
	}
	p.send(m)
	p.expect("onStatus", "NetStream.Publish.Start")
	return p
}

func (p *goPublisher) send(m rtmp.Message) {
	p.t.Helper()
	if err := p.w.WriteMessage(m); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

func (p *goPublisher) command(c rtmp.Command) {
	p.t.Helper()
	m, err := rtmp.CommandMessage(3, 0, c)
	if err != nil {
		p.t.Fatal(err)
	}
	p.send(m)
}

// expect reads until a command named name arrives, and checks its status
// code when code is not empty.
func (p *goPublisher) expect(name, code string) {
	p.t.Helper()
	for {
		m, err := p.r.ReadMessage()
		if err != nil {
			p.t.Fatalf("waiting for %s %s: %v", name, code, err)
		}
		if m.Type != rtmp.TypeCommandAMF0 {
			continue
		}
		c, err := rtmp.ParseCommand(m.Payload)
		if err != nil {
			p.t.Fatal(err)
		}
		if c.Name != name {
			if c.Name == "_error" || c.Name == "onStatus" {
				p.t.Fatalf("got %s %v, want %s %s", c.Name, c.Args, name, code)
			}
			continue
		}
		if code == "" {
			return
		}
		for _, a := range c.Args {
			if o, ok := a.(rtmp.Object); ok {
				if got, _ := o.String("code"); got != code {
					p.t.Fatalf("%s code %q, want %q (%v)", name, got, code, o)
				}
				return
			}
		}
		p.t.Fatalf("%s without a status object: %+v", name, c)
	}
}

// statusAfter reads until the server closes, returning the last onStatus
// code and description it sent.
func (p *goPublisher) statusAfter() (code, desc string) {
	for {
		m, err := p.r.ReadMessage()
		if err != nil {
			return code, desc
		}
		if c, err := rtmp.ParseCommand(m.Payload); err == nil && m.Type == rtmp.TypeCommandAMF0 && c.Name == "onStatus" {
			for _, a := range c.Args {
				if o, ok := a.(rtmp.Object); ok {
					code, _ = o.String("code")
					desc, _ = o.String("description")
				}
			}
		}
	}
}

// enhance rewrites a legacy AVC or AAC tag in the Enhanced RTMP form
// (FourCC avc1 / mp4a), as OBS sends HEVC and AV1 and newer encoders send
// H.264.
func enhance(t *testing.T, tag flvTag) []byte {
	t.Helper()
	switch tag.typ {
	case rtmp.TypeVideo:
		v, err := flv.ParseVideo(tag.body)
		if err != nil {
			t.Fatalf("video tag: %v", err)
		}
		v.Enhanced, v.FourCC = true, "avc1"
		return flv.AppendVideoTag(nil, v)
	case rtmp.TypeAudio:
		a, err := flv.ParseAudio(tag.body)
		if err != nil {
			t.Fatalf("audio tag: %v", err)
		}
		a.Enhanced, a.FourCC = true, "mp4a"
		return flv.AppendAudioTag(nil, a)
	}
	return tag.body
}

// TestEnhancedRTMPPublishPlaysAsHLS: a publisher speaking Enhanced RTMP
// (FourCC avc1 and mp4a, with a fourCcList in connect) plays like a legacy
// one. Timestamps start past 24 bits, so every chunk header carries an
// extended timestamp.
func TestEnhancedRTMPPublishPlaysAsHLS(t *testing.T) {
	needTools(t)
	r := newRig(t)
	tags := testStream(t, 4)
	p := dialPublisher(t, r.rtmp, "key-1", rtmp.Object{
		{Name: "app", Value: "live"},
		{Name: "tcUrl", Value: r.rtmp},
		{Name: "fourCcList", Value: []any{"avc1", "hvc1", "av01", "mp4a"}},
	})
	const base = 0x01000000 // past the 24-bit timestamp field
	for _, tag := range tags {
		if tag.typ != rtmp.TypeVideo && tag.typ != rtmp.TypeAudio {
			continue
		}
		csid := uint32(6)
		if tag.typ == rtmp.TypeAudio {
			csid = 4
		}
		p.send(rtmp.Message{ChunkStreamID: csid, Type: tag.typ, StreamID: 1, Timestamp: base + tag.ts, Payload: enhance(t, tag)})
	}
	p.conn.Close()
	r.events.wait(t, "live f1", 10*time.Second)
	r.events.wait(t, "offline f1", 10*time.Second)

	pr := ffprobe(t, r.playlistURL("f1"))
	if got := pr.codecs(); got != "video:h264,audio:aac" && got != "audio:aac,video:h264" {
		t.Fatalf("ffprobe sees %q", got)
	}
	decode(t, r.playlistURL("f1"))
	checkForward(t, videoDTS(t, r.playlistURL("f1")), 4)
}

// TestEnhancedHEVCIsRefusedClearly: an Enhanced RTMP hvc1 stream gets an
// onStatus error that names the codec and what to use instead.
func TestEnhancedHEVCIsRefusedClearly(t *testing.T) {
	r := newRig(t)
	p := dialPublisher(t, r.rtmp, "key-1", rtmp.Object{{Name: "app", Value: "live"}})
	hevc := flv.AppendVideoTag(nil, flv.VideoTag{Enhanced: true, FourCC: "hvc1", Keyframe: true,
		PacketType: flv.VideoSequenceStart, Data: []byte{1, 2, 3, 4}})
	p.send(rtmp.Message{ChunkStreamID: 6, Type: rtmp.TypeVideo, StreamID: 1, Payload: hevc})
	code, desc := p.statusAfter()
	if code != "NetStream.Publish.Rejected" || !strings.Contains(desc, "HEVC") && !strings.Contains(desc, "hvc1") || !strings.Contains(desc, "H.264") {
		t.Fatalf("refusal %q %q, want Rejected naming HEVC and H.264", code, desc)
	}
	if got := r.refusals("codec"); got != 1 {
		t.Fatalf("codec refusals %v", got)
	}
	if ev := r.events.all(); len(ev) != 0 {
		t.Fatalf("events %q, want none: a refused codec never goes live", ev)
	}
}

// TestWrongAppIsRefused: connect to another application than live is
// answered with _error NetConnection.Connect.Rejected.
func TestWrongAppIsRefused(t *testing.T) {
	r := newRig(t)
	addr := strings.TrimSuffix(strings.TrimPrefix(r.rtmp, "rtmp://"), "/live")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := rtmp.ClientHandshake(conn, nil); err != nil {
		t.Fatal(err)
	}
	p := &goPublisher{t: t, conn: conn, r: rtmp.NewReader(conn, rtmp.ReaderConfig{}), w: rtmp.NewWriter(conn)}
	p.command(rtmp.Command{Name: "connect", TransactionID: 1, Object: rtmp.Object{{Name: "app", Value: "vod"}}})
	for {
		m, err := p.r.ReadMessage()
		if err != nil {
			t.Fatalf("no _error before the close: %v", err)
		}
		c, err := rtmp.ParseCommand(m.Payload)
		if err != nil || m.Type != rtmp.TypeCommandAMF0 {
			continue
		}
		if c.Name != "_error" {
			t.Fatalf("got %s, want _error", c.Name)
		}
		o, _ := c.Args[0].(rtmp.Object)
		if code, _ := o.String("code"); code != "NetConnection.Connect.Rejected" {
			t.Fatalf("code %q", code)
		}
		return
	}
}
