package flv

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// aacConfigCases drives TestParseAACConfig, TestAppendAACConfig and
// FuzzParseAACConfig's seeds. The bytes were laid out by hand from ISO/IEC
// 14496-3 1.6.2.1, field by field.
var aacConfigCases = []struct {
	name     string
	wire     []byte
	cfg      AACConfig
	err      bool
	noEncode bool
}{
	{name: "LC 44.1 kHz stereo", wire: unhex("12 10"), cfg: AACConfig{ObjectType: 2, SampleRateIndex: 4, SampleRate: 44100, Channels: 2}},
	{name: "ffmpeg LC mono with sync extension", wire: unhex("12 08 56 e5 00"), noEncode: true,
		cfg: AACConfig{ObjectType: 2, SampleRateIndex: 4, SampleRate: 44100, Channels: 1}},
	{name: "LC 48 kHz stereo", wire: unhex("11 90"), cfg: AACConfig{ObjectType: 2, SampleRateIndex: 3, SampleRate: 48000, Channels: 2}},
	{name: "LC 48 kHz 7.1", wire: unhex("11 b8"), cfg: AACConfig{ObjectType: 2, SampleRateIndex: 3, SampleRate: 48000, Channels: 7}},
	{name: "Main 96 kHz mono", wire: unhex("08 08"), cfg: AACConfig{ObjectType: 1, SampleRateIndex: 0, SampleRate: 96000, Channels: 1}},
	{name: "LTP 7350 Hz stereo", wire: unhex("26 10"), cfg: AACConfig{ObjectType: 4, SampleRateIndex: 12, SampleRate: 7350, Channels: 2}},
	{name: "explicit 44100 Hz", wire: unhex("17 80 56 22 10"), cfg: AACConfig{ObjectType: 2, SampleRateIndex: 15, SampleRate: 44100, Channels: 2}},
	{name: "escaped object type 42", wire: unhex("f9 46 40"), cfg: AACConfig{ObjectType: 42, SampleRateIndex: 3, SampleRate: 48000, Channels: 2}},
	{name: "HE-AAC explicit", wire: unhex("2b 11 88 00"),
		cfg: AACConfig{ObjectType: 2, SampleRateIndex: 6, SampleRate: 24000, Channels: 2, SBR: true}},
	{name: "HE-AAC v2 explicit", wire: unhex("eb 09 88 00"),
		cfg: AACConfig{ObjectType: 2, SampleRateIndex: 6, SampleRate: 24000, Channels: 1, SBR: true, PS: true}},
	{name: "HE-AAC explicit rates", wire: unhex("2f 80 2b 11 17 80 56 22 08 00"), noEncode: true,
		cfg: AACConfig{ObjectType: 2, SampleRateIndex: 15, SampleRate: 22050, Channels: 2, SBR: true}},
	{name: "HE-AAC over ER BSAC", wire: unhex("2c 0a d8 40"),
		cfg: AACConfig{ObjectType: 22, SampleRateIndex: 8, SampleRate: 16000, Channels: 1, SBR: true}},

	{name: "empty", wire: []byte{}, err: true},
	{name: "one byte", wire: unhex("12"), err: true},
	{name: "null object type", wire: unhex("02 10"), err: true},
	{name: "reserved rate index 13", wire: unhex("16 90"), err: true},
	{name: "explicit rate 0", wire: unhex("17 80 00 00 10"), err: true},
	{name: "explicit rate truncated", wire: unhex("17 80 56"), err: true},
	{name: "HE-AAC truncated", wire: unhex("2b 11"), err: true},
}

func TestParseAACConfig(t *testing.T) {
	for _, tc := range aacConfigCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAACConfig(tc.wire)
			if (err != nil) != tc.err || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Fatalf("ParseAACConfig error = %v, want error %v", err, tc.err)
			}
			if diff := cmp.Diff(tc.cfg, got); diff != "" {
				t.Errorf("ParseAACConfig (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendAACConfig(t *testing.T) {
	for _, tc := range aacConfigCases {
		if tc.err || tc.noEncode {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			if got := AppendAACConfig(nil, tc.cfg); !bytes.Equal(got, tc.wire) {
				t.Errorf("AppendAACConfig = % x, want % x", got, tc.wire)
			}
		})
	}
}

func TestAACConfigCorpus(t *testing.T) {
	var seeds []seed
	for _, tc := range aacConfigCases {
		seeds = append(seeds, seed{tc.name, tc.wire})
	}
	checkCorpus(t, "FuzzParseAACConfig", seeds)
}

func FuzzParseAACConfig(f *testing.F) {
	for _, tc := range aacConfigCases {
		f.Add(tc.wire)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := ParseAACConfig(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		again, err := ParseAACConfig(AppendAACConfig(nil, cfg))
		if err != nil {
			t.Fatalf("re-encoded config does not parse: %v", err)
		}
		if again != cfg {
			t.Fatalf("round trip: %+v became %+v", cfg, again)
		}
		// Whatever ADTS accepts must describe the config faithfully.
		const frameLen = 371
		h, err := cfg.AppendADTS(nil, frameLen)
		if err != nil {
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("AppendADTS error %v does not wrap ErrUnsupported", err)
			}
			return
		}
		got, n, ok := parseADTS(h)
		if !ok || n != frameLen+7 || got.ObjectType != cfg.ObjectType || got.Channels != cfg.Channels || got.SampleRate != cfg.SampleRate {
			t.Fatalf("ADTS % x says %+v, length %d; want %+v, length %d", h, got, n, cfg, frameLen+7)
		}
	})
}

// adtsCases drives TestAppendADTS: headers laid out by hand from ISO/IEC
// 13818-7 / 14496-3 1.A.2.
var adtsCases = []struct {
	name     string
	cfg      AACConfig
	frameLen int
	want     []byte
	err      error
}{
	{name: "LC 44.1 kHz stereo", cfg: AACConfig{ObjectType: 2, SampleRateIndex: 4, SampleRate: 44100, Channels: 2}, frameLen: 371,
		want: unhex("ff f1 50 80 2f 5f fc")},
	{name: "Main 96 kHz mono", cfg: AACConfig{ObjectType: 1, SampleRateIndex: 0, SampleRate: 96000, Channels: 1}, frameLen: 0,
		want: unhex("ff f1 00 40 00 ff fc")},
	{name: "LTP 7350 Hz 7.1 largest frame", cfg: AACConfig{ObjectType: 4, SampleRateIndex: 12, SampleRate: 7350, Channels: 7}, frameLen: 8184,
		want: unhex("ff f1 f1 c3 ff ff fc")},
	{name: "explicit rate in the table", cfg: AACConfig{ObjectType: 2, SampleRateIndex: 15, SampleRate: 48000, Channels: 2}, frameLen: 100,
		want: unhex("ff f1 4c 80 0d 7f fc")},
	{name: "HE-AAC goes as its LC core", cfg: AACConfig{ObjectType: 2, SampleRateIndex: 6, SampleRate: 24000, Channels: 2, SBR: true}, frameLen: 100,
		want: unhex("ff f1 58 80 0d 7f fc")},
	{name: "object type 5", cfg: AACConfig{ObjectType: 5, SampleRateIndex: 4, SampleRate: 44100, Channels: 2}, err: ErrUnsupported},
	{name: "USAC", cfg: AACConfig{ObjectType: 42, SampleRateIndex: 3, SampleRate: 48000, Channels: 2}, err: ErrUnsupported},
	{name: "explicit rate not in the table", cfg: AACConfig{ObjectType: 2, SampleRateIndex: 15, SampleRate: 44000, Channels: 2}, err: ErrUnsupported},
	{name: "channel configuration 0", cfg: AACConfig{ObjectType: 2, SampleRateIndex: 4, SampleRate: 44100, Channels: 0}, err: ErrUnsupported},
	{name: "channel configuration 8", cfg: AACConfig{ObjectType: 2, SampleRateIndex: 4, SampleRate: 44100, Channels: 8}, err: ErrUnsupported},
	{name: "frame too long", cfg: AACConfig{ObjectType: 2, SampleRateIndex: 4, SampleRate: 44100, Channels: 2}, frameLen: 8185, err: ErrInvalid},
	{name: "negative frame length", cfg: AACConfig{ObjectType: 2, SampleRateIndex: 4, SampleRate: 44100, Channels: 2}, frameLen: -1, err: ErrInvalid},
}

func TestAppendADTS(t *testing.T) {
	for _, tc := range adtsCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cfg.AppendADTS([]byte("x"), tc.frameLen)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("AppendADTS error = %v, want %v", err, tc.err)
			}
			if err != nil {
				if string(got) != "x" {
					t.Errorf("AppendADTS changed dst on error: % x", got)
				}
				return
			}
			if !bytes.Equal(got[1:], tc.want) {
				t.Errorf("AppendADTS = % x, want % x", got[1:], tc.want)
			}
		})
	}
}

// TestADTSMatchesFFmpeg compares every header of an ADTS file written by
// ffmpeg's own muxer with the header AppendADTS writes for the same config
// and frame length.
func TestADTSMatchesFFmpeg(t *testing.T) {
	ffmpeg := requireTool(t, "ffmpeg")
	for _, tc := range []struct {
		name string
		args []string
		cfg  AACConfig
	}{
		{"LC 44.1 kHz stereo", []string{"-ac", "2", "-ar", "44100"}, AACConfig{ObjectType: 2, SampleRateIndex: 4, SampleRate: 44100, Channels: 2}},
		{"LC 48 kHz mono", []string{"-ac", "1", "-ar", "48000"}, AACConfig{ObjectType: 2, SampleRateIndex: 3, SampleRate: 48000, Channels: 1}},
		{"LC 22.05 kHz 5.1", []string{"-ac", "6", "-ar", "22050"}, AACConfig{ObjectType: 2, SampleRateIndex: 7, SampleRate: 22050, Channels: 6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "a.aac")
			args := append([]string{"-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "1"}, tc.args...)
			args = append(args, "-c:a", "aac", "-f", "adts", out)
			if b, err := exec.Command(ffmpeg, args...).CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, b)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			frames := 0
			for len(b) > 0 {
				_, n, ok := parseADTS(b)
				if !ok || n > len(b) {
					t.Fatalf("frame %d: bad ADTS header % x", frames, b[:min(7, len(b))])
				}
				want, err := tc.cfg.AppendADTS(nil, n-7)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(b[:7], want) {
					t.Fatalf("frame %d: ffmpeg wrote % x, AppendADTS % x", frames, b[:7], want)
				}
				b = b[n:]
				frames++
			}
			if want := tc.cfg.SampleRate/1024 - 2; frames < want {
				t.Errorf("only %d frames in a second of audio, want at least %d", frames, want)
			}
		})
	}
}

// parseADTS reads the fields of an ADTS header that AppendADTS sets.
func parseADTS(h []byte) (cfg AACConfig, frameLen int, ok bool) {
	if len(h) < 7 || h[0] != 0xff || h[1]&0xf6 != 0xf0 {
		return cfg, 0, false
	}
	cfg.ObjectType = int(h[2]>>6) + 1
	cfg.SampleRateIndex = int(h[2]>>2) & 0x0f
	cfg.SampleRate = tableRate(cfg.SampleRateIndex)
	cfg.Channels = int(h[2]&1)<<2 | int(h[3]>>6)
	frameLen = int(h[3]&3)<<11 | int(h[4])<<3 | int(h[5]>>5)
	return cfg, frameLen, true
}

// requireTool finds a program for a test that needs it: it skips the test
// when the program is missing, and fails it instead when CI is set.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required when CI is set: %v", name, err)
		}
		t.Skipf("%s not found (install Debian's ffmpeg package): %v", name, err)
	}
	return path
}
