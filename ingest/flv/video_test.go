package flv

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Parameter sets and the configuration record of a real x264 stream
// (ffmpeg 5.1, high profile, level 3.0, 640x360), with the high profile
// extension bytes at the end.
var (
	x264SPS    = unhex("67 64 00 1e ac d9 40 a0 2f f9 70 11 00 00 03 00 01 00 00 03 00 3c 0f 16 2d 96")
	x264PPS    = unhex("68 eb e3 cb 22 c0")
	x264Record = cat(unhex("01 64 00 1e ff e1 00 1a"), x264SPS, unhex("01 00 06"), x264PPS, unhex("fd f8 f8 00"))
	idrFrame   = unhex("00 00 00 05 65 88 84 00 33  00 00 00 03 06 05 01")
	interFrame = unhex("00 00 00 04 41 9a 21 6c")
)

// videoCases drives TestParseVideo (wire → tag), TestAppendVideoTag (tag
// → wire, unless noEncode) and the seeds of FuzzParseVideo.
var videoCases = []struct {
	name     string
	wire     []byte
	tag      VideoTag
	err      error // nil, ErrUnsupported or ErrInvalid
	noEncode bool  // the wire form is valid but not what AppendVideoTag writes
}{
	{name: "legacy sequence start", wire: cat(unhex("17 00 000000"), x264Record),
		tag: VideoTag{Codec: VideoAVC, Keyframe: true, PacketType: VideoSequenceStart, Data: x264Record}},
	{name: "legacy keyframe", wire: cat(unhex("17 01 000042"), idrFrame),
		tag: VideoTag{Codec: VideoAVC, Keyframe: true, PacketType: VideoCodedFrames, CompositionTime: 66, Data: idrFrame}},
	{name: "legacy inter negative cts", wire: cat(unhex("27 01 ffffdf"), interFrame),
		tag: VideoTag{Codec: VideoAVC, PacketType: VideoCodedFrames, CompositionTime: -33, Data: interFrame}},
	{name: "legacy largest cts", wire: cat(unhex("27 01 7fffff"), interFrame),
		tag: VideoTag{Codec: VideoAVC, PacketType: VideoCodedFrames, CompositionTime: 1<<23 - 1, Data: interFrame}},
	{name: "legacy smallest cts", wire: cat(unhex("27 01 800000"), interFrame),
		tag: VideoTag{Codec: VideoAVC, PacketType: VideoCodedFrames, CompositionTime: -1 << 23, Data: interFrame}},
	{name: "legacy sequence end", wire: unhex("17 02 000000"),
		tag: VideoTag{Codec: VideoAVC, Keyframe: true, PacketType: VideoSequenceEnd, Data: []byte{}}},
	{name: "legacy command frame", wire: unhex("57 01"),
		tag: VideoTag{Codec: VideoAVC, Command: true, Data: []byte{1}}},
	{name: "legacy generated keyframe", wire: cat(unhex("47 01 000000"), idrFrame), noEncode: true,
		tag: VideoTag{Codec: VideoAVC, Keyframe: true, PacketType: VideoCodedFrames, Data: idrFrame}},
	{name: "legacy disposable inter", wire: cat(unhex("37 01 000000"), interFrame), noEncode: true,
		tag: VideoTag{Codec: VideoAVC, PacketType: VideoCodedFrames, Data: interFrame}},

	{name: "enhanced avc1 sequence start", wire: cat(unhex("90"), []byte("avc1"), x264Record),
		tag: VideoTag{Codec: VideoAVC, FourCC: "avc1", Enhanced: true, Keyframe: true, PacketType: VideoSequenceStart, Data: x264Record}},
	{name: "enhanced avc1 coded frames", wire: cat(unhex("91"), []byte("avc1"), unhex("000021"), idrFrame),
		tag: VideoTag{Codec: VideoAVC, FourCC: "avc1", Enhanced: true, Keyframe: true, PacketType: VideoCodedFrames, CompositionTime: 33, Data: idrFrame}},
	{name: "enhanced avc1 coded frames x", wire: cat(unhex("a3"), []byte("avc1"), interFrame),
		tag: VideoTag{Codec: VideoAVC, FourCC: "avc1", Enhanced: true, PacketType: VideoCodedFrames, Data: interFrame}},
	{name: "enhanced avc1 coded frames zero cts", wire: cat(unhex("a1"), []byte("avc1"), unhex("000000"), interFrame), noEncode: true,
		tag: VideoTag{Codec: VideoAVC, FourCC: "avc1", Enhanced: true, PacketType: VideoCodedFrames, Data: interFrame}},
	{name: "enhanced avc1 sequence end", wire: cat(unhex("92"), []byte("avc1")),
		tag: VideoTag{Codec: VideoAVC, FourCC: "avc1", Enhanced: true, Keyframe: true, PacketType: VideoSequenceEnd, Data: []byte{}}},
	{name: "enhanced avc1 metadata", wire: cat(unhex("a4"), []byte("avc1"), unhex("02 0009 636f6c6f72496e666f 03 000009")),
		tag: VideoTag{Codec: VideoAVC, FourCC: "avc1", Enhanced: true, PacketType: VideoMetadata, Data: unhex("02 0009 636f6c6f72496e666f 03 000009")}},
	{name: "enhanced metadata ignores frame type", wire: cat(unhex("f4"), []byte("avc1")), noEncode: true,
		tag: VideoTag{Codec: VideoAVC, FourCC: "avc1", Enhanced: true, PacketType: VideoMetadata, Data: []byte{}}},
	{name: "enhanced command frame", wire: unhex("d0 00"),
		tag: VideoTag{Enhanced: true, Command: true, Data: []byte{0}}},

	{name: "legacy Sorenson H.263", wire: unhex("22 00 84 00"), err: ErrUnsupported,
		tag: VideoTag{Codec: VideoH263, Data: unhex("00 84 00")}},
	{name: "legacy VP6", wire: unhex("14 00 01"), err: ErrUnsupported,
		tag: VideoTag{Codec: VideoVP6, Keyframe: true, Data: unhex("00 01")}},
	{name: "legacy screen video v2", wire: unhex("16 aa"), err: ErrUnsupported,
		tag: VideoTag{Codec: VideoScreenV2, Keyframe: true, Data: unhex("aa")}},
	{name: "legacy HEVC codec id 12", wire: unhex("1c 00 000000 01"), err: ErrUnsupported,
		tag: VideoTag{Codec: VideoHEVC, Keyframe: true, Data: unhex("00 000000 01")}},
	{name: "legacy reserved codec id 9", wire: unhex("19 00"), err: ErrUnsupported, noEncode: true,
		tag: VideoTag{Codec: VideoUnknown, Keyframe: true, Data: unhex("00")}},
	{name: "enhanced hvc1 sequence start", wire: cat(unhex("90"), []byte("hvc1"), unhex("01 02 03")), err: ErrUnsupported,
		tag: VideoTag{Codec: VideoHEVC, FourCC: "hvc1", Enhanced: true, Keyframe: true, PacketType: VideoSequenceStart, Data: unhex("01 02 03")}},
	{name: "enhanced hvc1 coded frames", wire: cat(unhex("a1"), []byte("hvc1"), unhex("000010 00000001 02")), err: ErrUnsupported,
		tag: VideoTag{Codec: VideoHEVC, FourCC: "hvc1", Enhanced: true, PacketType: VideoCodedFrames, CompositionTime: 16, Data: unhex("00000001 02")}},
	{name: "enhanced av01 coded frames", wire: cat(unhex("91"), []byte("av01"), unhex("12 00 0a")), err: ErrUnsupported,
		tag: VideoTag{Codec: VideoAV1, FourCC: "av01", Enhanced: true, Keyframe: true, PacketType: VideoCodedFrames, Data: unhex("12 00 0a")}},
	{name: "enhanced vp09 sequence start", wire: cat(unhex("90"), []byte("vp09"), unhex("01")), err: ErrUnsupported,
		tag: VideoTag{Codec: VideoVP9, FourCC: "vp09", Enhanced: true, Keyframe: true, PacketType: VideoSequenceStart, Data: unhex("01")}},
	{name: "enhanced vp08 coded frames", wire: cat(unhex("a1"), []byte("vp08"), unhex("ff")), err: ErrUnsupported,
		tag: VideoTag{Codec: VideoVP8, FourCC: "vp08", Enhanced: true, PacketType: VideoCodedFrames, Data: unhex("ff")}},
	{name: "enhanced av01 mpeg2ts sequence start", wire: cat(unhex("95"), []byte("av01"), unhex("80")), err: ErrUnsupported,
		tag: VideoTag{Codec: VideoAV1, FourCC: "av01", Enhanced: true, Keyframe: true, PacketType: VideoMPEG2TSSequenceStart, Data: unhex("80")}},
	{name: "enhanced unknown FourCC", wire: cat(unhex("90"), []byte("xyz1")), err: ErrUnsupported,
		tag: VideoTag{Codec: VideoUnknown, FourCC: "xyz1", Enhanced: true, Keyframe: true, PacketType: VideoSequenceStart, Data: []byte{}}},
	{name: "enhanced multitrack", wire: cat(unhex("96 00"), []byte("avc1")), err: ErrUnsupported, noEncode: true,
		tag: VideoTag{Enhanced: true}},
	{name: "enhanced modex", wire: cat(unhex("97 00 00 01"), []byte("avc1")), err: ErrUnsupported, noEncode: true,
		tag: VideoTag{Enhanced: true}},

	{name: "empty", wire: []byte{}, err: ErrInvalid},
	{name: "legacy avc truncated header", wire: unhex("17 01 00"), err: ErrInvalid},
	{name: "legacy reserved avc packet type", wire: unhex("17 03 000000"), err: ErrInvalid},
	{name: "legacy reserved frame type", wire: unhex("07 01 000000"), err: ErrInvalid},
	{name: "legacy command without byte", wire: unhex("57"), err: ErrInvalid},
	{name: "enhanced truncated FourCC", wire: unhex("90 61 76"), err: ErrInvalid},
	{name: "enhanced reserved packet type", wire: cat(unhex("98"), []byte("avc1")), err: ErrInvalid},
	{name: "enhanced avc1 coded frames truncated cts", wire: cat(unhex("91"), []byte("avc1"), unhex("00")), err: ErrInvalid},
	{name: "enhanced reserved frame type", wire: cat(unhex("f1"), []byte("avc1"), unhex("000000")), err: ErrInvalid},
	{name: "enhanced command without byte", wire: unhex("d1"), err: ErrInvalid},
}

func TestParseVideo(t *testing.T) {
	for _, tc := range videoCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseVideo(tc.wire)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("ParseVideo error = %v, want %v", err, tc.err)
			}
			if tc.err == ErrInvalid {
				return // the partial tag of malformed input means nothing
			}
			if diff := cmp.Diff(tc.tag, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseVideo (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendVideoTag(t *testing.T) {
	for _, tc := range videoCases {
		if tc.err == ErrInvalid || tc.noEncode {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("prefix")
			got := AppendVideoTag(prefix[:len(prefix):len(prefix)], tc.tag)
			if !bytes.Equal(got, cat(prefix, tc.wire)) {
				t.Errorf("AppendVideoTag = % x\nwant      % x", got[len(prefix):], tc.wire)
			}
		})
	}
}

func TestVideoErrorsNameTheCodec(t *testing.T) {
	for wire, want := range map[string]string{
		string(cat(unhex("90"), []byte("hvc1"))): "flv: video codec HEVC (FourCC hvc1) is not supported",
		string(unhex("22 00")):                   "flv: video codec Sorenson H.263 (codec id 2) is not supported",
		string(unhex("96 00")):                   "flv: Enhanced RTMP multitrack video is not supported",
		string(unhex("97 00")):                   "flv: Enhanced RTMP ModEx video packet is not supported",
	} {
		if _, err := ParseVideo([]byte(wire)); err == nil || err.Error() != want {
			t.Errorf("ParseVideo(% x) error = %v, want %q", wire, err, want)
		}
	}
}

func TestParseVideoAllocatesNothing(t *testing.T) {
	wires := [][]byte{cat(unhex("17 01 000042"), idrFrame), cat(unhex("91"), []byte("avc1"), unhex("000021"), idrFrame)}
	allocs := testing.AllocsPerRun(100, func() {
		for _, w := range wires {
			if _, err := ParseVideo(w); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("ParseVideo allocates %v times per call, want 0", allocs)
	}
}

func TestVideoCorpus(t *testing.T) {
	var seeds []seed
	for _, tc := range videoCases {
		seeds = append(seeds, seed{tc.name, tc.wire})
	}
	checkCorpus(t, "FuzzParseVideo", seeds)
}

// FuzzParseVideo checks that no input panics, that Data stays inside the
// input, and that what parses re-encodes to something that parses the same.
func FuzzParseVideo(f *testing.F) {
	for _, tc := range videoCases {
		f.Add(tc.wire)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tag, err := ParseVideo(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v wraps neither ErrInvalid nor ErrUnsupported", err)
			}
			return
		}
		if !within(tag.Data, b) {
			t.Fatalf("Data does not alias the input")
		}
		again, err := ParseVideo(AppendVideoTag(nil, tag))
		if err != nil {
			t.Fatalf("re-encoded tag does not parse: %v", err)
		}
		// Compared by hand: cmp's reflection would cut the fuzzer's speed
		// tenfold.
		if !sameVideoTag(tag, again) {
			t.Fatalf("round trip (-first +second):\n%s", cmp.Diff(tag, again))
		}
	})
}

func sameVideoTag(a, b VideoTag) bool {
	return a.Codec == b.Codec && a.FourCC == b.FourCC && a.Enhanced == b.Enhanced &&
		a.Keyframe == b.Keyframe && a.Command == b.Command && a.PacketType == b.PacketType &&
		a.CompositionTime == b.CompositionTime && bytes.Equal(a.Data, b.Data)
}

// within reports whether sub is a subslice of b (or empty).
func within(sub, b []byte) bool {
	if len(sub) == 0 {
		return true
	}
	for i := 0; i+len(sub) <= len(b); i++ {
		if &b[i] == &sub[0] {
			return true
		}
	}
	return false
}
