package flv

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var aacFrame = unhex("21 10 04 60 8c 1c")

// audioCases drives TestParseAudio, TestAppendAudioTag and FuzzParseAudio's
// seeds.
var audioCases = []struct {
	name     string
	wire     []byte
	tag      AudioTag
	err      error
	noEncode bool
}{
	{name: "legacy sequence header", wire: unhex("af 00 12 10"),
		tag: AudioTag{Codec: AudioAAC, SequenceHeader: true, PacketType: AudioSequenceStart, Data: unhex("12 10")}},
	{name: "legacy sequence header ffmpeg", wire: unhex("af 00 12 08 56 e5 00"),
		tag: AudioTag{Codec: AudioAAC, SequenceHeader: true, PacketType: AudioSequenceStart, Data: unhex("12 08 56 e5 00")}},
	{name: "legacy raw frame", wire: cat(unhex("af 01"), aacFrame),
		tag: AudioTag{Codec: AudioAAC, PacketType: AudioCodedFrames, Data: aacFrame}},
	{name: "legacy raw frame odd rate bits", wire: cat(unhex("a2 01"), aacFrame), noEncode: true,
		tag: AudioTag{Codec: AudioAAC, PacketType: AudioCodedFrames, Data: aacFrame}},

	{name: "enhanced mp4a sequence start", wire: cat(unhex("90"), []byte("mp4a"), unhex("12 10")),
		tag: AudioTag{Codec: AudioAAC, FourCC: "mp4a", Enhanced: true, SequenceHeader: true, PacketType: AudioSequenceStart, Data: unhex("12 10")}},
	{name: "enhanced mp4a coded frames", wire: cat(unhex("91"), []byte("mp4a"), aacFrame),
		tag: AudioTag{Codec: AudioAAC, FourCC: "mp4a", Enhanced: true, PacketType: AudioCodedFrames, Data: aacFrame}},
	{name: "enhanced mp4a sequence end", wire: cat(unhex("92"), []byte("mp4a")),
		tag: AudioTag{Codec: AudioAAC, FourCC: "mp4a", Enhanced: true, PacketType: AudioSequenceEnd, Data: []byte{}}},
	{name: "enhanced mp4a multichannel config", wire: cat(unhex("94"), []byte("mp4a"), unhex("01 02 00000003")),
		tag: AudioTag{Codec: AudioAAC, FourCC: "mp4a", Enhanced: true, PacketType: AudioMultichannelConfig, Data: unhex("01 02 00000003")}},

	{name: "legacy MP3", wire: unhex("2f ff fb"), err: ErrUnsupported,
		tag: AudioTag{Codec: AudioMP3, Data: unhex("ff fb")}},
	{name: "legacy linear PCM", wire: unhex("0f 00 00"), err: ErrUnsupported,
		tag: AudioTag{Codec: AudioPCM, Data: unhex("00 00")}},
	{name: "legacy ADPCM", wire: unhex("1f 00"), err: ErrUnsupported,
		tag: AudioTag{Codec: AudioADPCM, Data: unhex("00")}},
	{name: "legacy Nellymoser", wire: unhex("6f 01"), err: ErrUnsupported,
		tag: AudioTag{Codec: AudioNellymoser, Data: unhex("01")}},
	{name: "legacy Nellymoser 8k", wire: unhex("5f 01"), err: ErrUnsupported,
		tag: AudioTag{Codec: AudioNellymoser8k, Data: unhex("01")}},
	{name: "legacy G.711 A-law", wire: unhex("7f d5"), err: ErrUnsupported,
		tag: AudioTag{Codec: AudioG711ALaw, Data: unhex("d5")}},
	{name: "legacy G.711 mu-law", wire: unhex("8f ff"), err: ErrUnsupported,
		tag: AudioTag{Codec: AudioG711MuLaw, Data: unhex("ff")}},
	{name: "legacy Speex", wire: unhex("bf 01"), err: ErrUnsupported,
		tag: AudioTag{Codec: AudioSpeex, Data: unhex("01")}},
	{name: "legacy MP3 8k", wire: unhex("ef 01"), err: ErrUnsupported,
		tag: AudioTag{Codec: AudioMP38k, Data: unhex("01")}},
	{name: "legacy reserved sound format 12", wire: unhex("cf 01"), err: ErrUnsupported, noEncode: true,
		tag: AudioTag{Codec: AudioUnknown, Data: unhex("01")}},
	{name: "enhanced Opus", wire: cat(unhex("90"), []byte("Opus"), []byte("OpusHead")), err: ErrUnsupported,
		tag: AudioTag{Codec: AudioOpus, FourCC: "Opus", Enhanced: true, SequenceHeader: true, PacketType: AudioSequenceStart, Data: []byte("OpusHead")}},
	{name: "enhanced mp3", wire: cat(unhex("91"), []byte(".mp3"), unhex("ff fb")), err: ErrUnsupported,
		tag: AudioTag{Codec: AudioMP3, FourCC: ".mp3", Enhanced: true, PacketType: AudioCodedFrames, Data: unhex("ff fb")}},
	{name: "enhanced ac-3", wire: cat(unhex("91"), []byte("ac-3"), unhex("0b 77")), err: ErrUnsupported,
		tag: AudioTag{Codec: AudioAC3, FourCC: "ac-3", Enhanced: true, PacketType: AudioCodedFrames, Data: unhex("0b 77")}},
	{name: "enhanced ec-3", wire: cat(unhex("91"), []byte("ec-3"), unhex("0b 77")), err: ErrUnsupported,
		tag: AudioTag{Codec: AudioEAC3, FourCC: "ec-3", Enhanced: true, PacketType: AudioCodedFrames, Data: unhex("0b 77")}},
	{name: "enhanced fLaC", wire: cat(unhex("90"), []byte("fLaC"), unhex("00")), err: ErrUnsupported,
		tag: AudioTag{Codec: AudioFLAC, FourCC: "fLaC", Enhanced: true, SequenceHeader: true, PacketType: AudioSequenceStart, Data: unhex("00")}},
	{name: "enhanced unknown FourCC", wire: cat(unhex("91"), []byte("abcd")), err: ErrUnsupported,
		tag: AudioTag{Codec: AudioUnknown, FourCC: "abcd", Enhanced: true, PacketType: AudioCodedFrames, Data: []byte{}}},
	{name: "enhanced multitrack", wire: cat(unhex("95 01"), []byte("mp4a")), err: ErrUnsupported, noEncode: true,
		tag: AudioTag{Enhanced: true}},
	{name: "enhanced modex", wire: cat(unhex("97 00 00 01"), []byte("mp4a")), err: ErrUnsupported, noEncode: true,
		tag: AudioTag{Enhanced: true}},

	{name: "empty", wire: []byte{}, err: ErrInvalid},
	{name: "legacy AAC without packet type", wire: unhex("af"), err: ErrInvalid},
	{name: "legacy AAC reserved packet type", wire: unhex("af 02 00"), err: ErrInvalid},
	{name: "enhanced truncated FourCC", wire: unhex("90 6d 70"), err: ErrInvalid},
	{name: "enhanced reserved packet type", wire: cat(unhex("93"), []byte("mp4a")), err: ErrInvalid},
}

func TestParseAudio(t *testing.T) {
	for _, tc := range audioCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAudio(tc.wire)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("ParseAudio error = %v, want %v", err, tc.err)
			}
			if tc.err == ErrInvalid {
				return
			}
			if diff := cmp.Diff(tc.tag, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseAudio (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendAudioTag(t *testing.T) {
	for _, tc := range audioCases {
		if tc.err == ErrInvalid || tc.noEncode {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("prefix")
			got := AppendAudioTag(prefix[:len(prefix):len(prefix)], tc.tag)
			if !bytes.Equal(got, cat(prefix, tc.wire)) {
				t.Errorf("AppendAudioTag = % x\nwant      % x", got[len(prefix):], tc.wire)
			}
		})
	}
}

func TestAudioErrorsNameTheCodec(t *testing.T) {
	for wire, want := range map[string]string{
		string(cat(unhex("90"), []byte("Opus"))): "flv: audio codec Opus (FourCC Opus) is not supported",
		string(unhex("2f")):                      "flv: audio codec MP3 (SoundFormat 2) is not supported",
		string(unhex("cf")):                      "flv: audio SoundFormat 12 is not supported",
	} {
		if _, err := ParseAudio([]byte(wire)); err == nil || err.Error() != want {
			t.Errorf("ParseAudio(% x) error = %v, want %q", wire, err, want)
		}
	}
}

func TestParseAudioAllocatesNothing(t *testing.T) {
	wires := [][]byte{cat(unhex("af 01"), aacFrame), cat(unhex("91"), []byte("mp4a"), aacFrame)}
	allocs := testing.AllocsPerRun(100, func() {
		for _, w := range wires {
			if _, err := ParseAudio(w); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("ParseAudio allocates %v times per call, want 0", allocs)
	}
}

func TestAudioCorpus(t *testing.T) {
	var seeds []seed
	for _, tc := range audioCases {
		seeds = append(seeds, seed{tc.name, tc.wire})
	}
	checkCorpus(t, "FuzzParseAudio", seeds)
}

func FuzzParseAudio(f *testing.F) {
	for _, tc := range audioCases {
		f.Add(tc.wire)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tag, err := ParseAudio(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v wraps neither ErrInvalid nor ErrUnsupported", err)
			}
			return
		}
		if !within(tag.Data, b) {
			t.Fatalf("Data does not alias the input")
		}
		if tag.SequenceHeader != (tag.PacketType == AudioSequenceStart) {
			t.Fatalf("SequenceHeader %v with packet type %d", tag.SequenceHeader, tag.PacketType)
		}
		again, err := ParseAudio(AppendAudioTag(nil, tag))
		if err != nil {
			t.Fatalf("re-encoded tag does not parse: %v", err)
		}
		if !sameAudioTag(tag, again) {
			t.Fatalf("round trip (-first +second):\n%s", cmp.Diff(tag, again))
		}
	})
}

func sameAudioTag(a, b AudioTag) bool {
	return a.Codec == b.Codec && a.FourCC == b.FourCC && a.Enhanced == b.Enhanced &&
		a.SequenceHeader == b.SequenceHeader && a.PacketType == b.PacketType && bytes.Equal(a.Data, b.Data)
}
