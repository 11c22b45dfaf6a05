package ingest

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// offerCases drive TestCheckOffer and seed FuzzWHIPOffer.
var offerCases = []struct {
	name   string
	sdp    string
	status int // 0: accepted
	audio  bool
}{
	{"h264 and opus", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\na=sendonly\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\na=sendonly\r\n", 0, true},
	{"h264 only", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 h264/90000\r\n", 0, false},
	{"vp8 only", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n", 422, false},
	{"pcmu audio", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=rtpmap:0 PCMU/8000\r\n", 422, false},
	{"two videos", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\n", 422, false},
	{"data channel", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n", 422, false},
	{"recvonly", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\na=recvonly\r\n", 422, false},
	{"simulcast rid", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\n" +
		"a=rid:h send\r\na=rid:l send\r\na=simulcast:send h;l\r\na=sendonly\r\n", 422, false},
	{"rid alone", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\na=rid:h send\r\n", 422, false},
	{"simulcast alone", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\na=SIMULCAST:send h;l\r\n", 422, false},
	{"no media", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", 422, false},
	{"not sdp", "hello", 400, false},
	{"empty", "", 400, false},
}

func TestCheckOffer(t *testing.T) {
	for _, tc := range offerCases {
		t.Run(tc.name, func(t *testing.T) {
			info, err := checkOffer([]byte(tc.sdp))
			status := 0
			var oe *offerError
			if errors.As(err, &oe) {
				status = oe.status
			} else if err != nil {
				t.Fatalf("error %v is not an offerError", err)
			}
			if status != tc.status || info.audio != tc.audio {
				t.Errorf("status %d audio %v (%v), want %d %v", status, info.audio, err, tc.status, tc.audio)
			}
		})
	}
}

// TestTicksDur: RTP ticks convert to durations exactly, past the 28 hours
// at 90 kHz where ticks*1e9 would overflow, and before the start.
func TestTicksDur(t *testing.T) {
	for _, tc := range []struct {
		ticks, rate int64
		want        time.Duration
	}{
		{90000, 90000, time.Second},
		{45, 90000, 500 * time.Microsecond},
		{-90000 - 45, 90000, -time.Second - 500*time.Microsecond},
		{3 * 24 * 3600 * 90000, 90000, 72 * time.Hour},
		{30*24*3600*48000 + 48, 48000, 30*24*time.Hour + time.Millisecond},
	} {
		if got := ticksDur(tc.ticks, tc.rate); got != tc.want {
			t.Errorf("ticksDur(%d, %d) = %v, want %v", tc.ticks, tc.rate, got, tc.want)
		}
	}
}

func TestBearer(t *testing.T) {
	for in, want := range map[string]string{
		"Bearer abc": "abc", "bearer  abc ": "abc", "Basic abc": "", "Bearer": "", "Bearer ": "",
		"Bearer " + strings.Repeat("k", 600): "",
	} {
		got, ok := bearer(in)
		if got != want || ok != (want != "") {
			t.Errorf("bearer(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
}

// FuzzWHIPOffer: no offer makes checkOffer panic or answer anything but
// 400 or 422 with a bounded, printable reason; no header makes bearer
// panic.
func FuzzWHIPOffer(f *testing.F) {
	for _, tc := range offerCases {
		f.Add([]byte(tc.sdp), "Bearer key-1")
	}
	f.Fuzz(func(t *testing.T, sdp []byte, auth string) {
		_, _ = bearer(auth)
		_, err := checkOffer(sdp)
		if err == nil {
			return
		}
		var oe *offerError
		if !errors.As(err, &oe) || (oe.status != 400 && oe.status != 422) {
			t.Fatalf("error %v", err)
		}
		if len(oe.msg) > 600 {
			t.Fatalf("a reason of %d bytes", len(oe.msg))
		}
	})
}
