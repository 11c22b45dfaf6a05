package mpegts

import (
	"cmp"
	"testing"
	"time"
)

// synthStream generates an interleaved A/V stream in timestamp order, as
// a publisher sends it: video at fps with a keyframe every gop frames,
// AAC frames of 1024 samples at audioRate. Payloads are filler bytes in
// AVCC framing (4-byte lengths); a B-frame pattern gives non-zero CTS.
type synthStream struct {
	fps       int
	gop       int
	audioRate int // 0: no audio
	noVideo   bool
	start     int64 // ms of the first timestamps
	keySize   int   // bytes of a keyframe's slice
	interSize int
	bframes   bool

	vi, ai  int
	fed     bool
	lastDTS int64
	// Payloads, built once: the segmenter only reads its input.
	keyBuf, interBuf, audioBuf []byte
}

type synthEvent struct {
	video bool
	dts   int64
	cts   int32
	key   bool
	data  []byte
}

var testSPS = []byte{0x67, 0x64, 0x00, 0x1e, 0xac, 0xd9, 0x40, 0xa0, 0x2f, 0xf9, 0x70, 0x11}
var testPPS = []byte{0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0}

func testVideoConfig() *VideoConfig {
	return &VideoConfig{SPS: [][]byte{testSPS}, PPS: [][]byte{testPPS}}
}

func testAudioConfig() *AudioConfig {
	return &AudioConfig{ObjectType: 2, SampleRateIndex: 4, SampleRate: 44100, Channels: 2}
}

func (g *synthStream) videoDTS() int64 { return g.start + int64(g.vi)*1000/int64(g.fps) }
func (g *synthStream) audioDTS() int64 {
	return g.start + int64(g.ai)*1024*1000/int64(g.audioRate)
}

// next returns the next frame; data is reused by the following call.
func (g *synthStream) next() synthEvent {
	useVideo := !g.noVideo && (g.audioRate == 0 || g.videoDTS() <= g.audioDTS())
	if !useVideo {
		e := synthEvent{dts: g.audioDTS(), data: payload(&g.audioBuf, 371, 0x21, 0)}
		g.ai++
		return e
	}
	key := g.vi%g.gop == 0
	e := synthEvent{video: true, dts: g.videoDTS(), key: key}
	if g.bframes && !key {
		e.cts = int32(1000 / g.fps * (g.vi % 3))
	}
	if key {
		e.data = payload(&g.keyBuf, cmp.Or(g.keySize, 200), 0xab, 0x65)
	} else {
		e.data = payload(&g.interBuf, cmp.Or(g.interSize, 200), 0xab, 0x41)
	}
	g.vi++
	return e
}

// payload returns *buf, first building it as size filler bytes v; with a
// NAL header byte nal, as one NAL unit of that size in AVCC framing.
func payload(buf *[]byte, size int, v, nal byte) []byte {
	if *buf != nil {
		return *buf
	}
	b := make([]byte, size)
	for i := range b {
		b[i] = v
	}
	if nal != 0 {
		b = append([]byte{byte(size >> 24), byte(size >> 16), byte(size >> 8), byte(size)}, b...)
		b[4] = nal
	}
	*buf = b
	return b
}

// feed writes frames until the stream reaches d of media, moving the wall
// clock along with the media time when clock is not nil.
func (g *synthStream) feed(t testing.TB, s *Segmenter, clock *fakeClock, d time.Duration) {
	t.Helper()
	end := g.start + d.Milliseconds()
	for {
		e := g.next()
		if e.dts >= end {
			// Put it back: the next feed starts with it.
			if e.video {
				g.vi--
			} else {
				g.ai--
			}
			return
		}
		if clock != nil && g.fed && e.dts > g.lastDTS {
			clock.Advance(time.Duration(e.dts-g.lastDTS) * time.Millisecond)
		}
		if !g.fed || e.dts > g.lastDTS {
			g.fed, g.lastDTS = true, e.dts
		}
		var err error
		if e.video {
			err = s.WriteVideo(e.dts, e.cts, e.key, e.data, 4)
		} else {
			err = s.WriteAudio(e.dts, e.data)
		}
		if err != nil {
			t.Fatalf("write at %d ms: %v", e.dts, err)
		}
	}
}
