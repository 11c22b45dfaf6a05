package flv

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var (
	baselineSPS = unhex("67 42 c0 1e 95 a0 50 05 ba 10 00 00 03 00 10 00 00 03 03 c8 f1 62 ee")
	baselinePPS = unhex("68 ce 3c 80")
	secondPPS   = unhex("68 ce 06 e2")
)

// avcConfigCases drives TestParseAVCConfig, TestAppendAVCConfig and
// FuzzParseAVCConfig's seeds.
var avcConfigCases = []struct {
	name     string
	wire     []byte
	cfg      AVCConfig
	err      error
	noEncode bool
}{
	{name: "x264 high with extension", wire: x264Record, noEncode: true,
		cfg: AVCConfig{Profile: 100, Compat: 0, Level: 30, LengthSize: 4, SPS: [][]byte{x264SPS}, PPS: [][]byte{x264PPS}}},
	{name: "baseline length 4", wire: cat(unhex("01 42 c0 1e ff e1 00 17"), baselineSPS, unhex("01 00 04"), baselinePPS),
		cfg: AVCConfig{Profile: 66, Compat: 0xc0, Level: 30, LengthSize: 4, SPS: [][]byte{baselineSPS}, PPS: [][]byte{baselinePPS}}},
	{name: "length 2 two PPS", wire: cat(unhex("01 42 c0 1e fd e1 00 17"), baselineSPS, unhex("02 00 04"), baselinePPS, unhex("00 04"), secondPPS),
		cfg: AVCConfig{Profile: 66, Compat: 0xc0, Level: 30, LengthSize: 2, SPS: [][]byte{baselineSPS}, PPS: [][]byte{baselinePPS, secondPPS}}},
	{name: "length 1", wire: cat(unhex("01 42 c0 1e fc e1 00 17"), baselineSPS, unhex("01 00 04"), baselinePPS),
		cfg: AVCConfig{Profile: 66, Compat: 0xc0, Level: 30, LengthSize: 1, SPS: [][]byte{baselineSPS}, PPS: [][]byte{baselinePPS}}},
	{name: "no parameter sets", wire: unhex("01 4d 40 1f ff e0 00"),
		cfg: AVCConfig{Profile: 77, Compat: 0x40, Level: 31, LengthSize: 4}},

	{name: "empty", wire: []byte{}, err: ErrInvalid},
	{name: "too short", wire: unhex("01 42 c0 1e ff e1"), err: ErrInvalid},
	{name: "version 0", wire: unhex("00 42 c0 1e ff e0 00"), err: ErrInvalid},
	{name: "annex b instead of record", wire: cat(unhex("00 00 00 01"), baselineSPS), err: ErrInvalid},
	{name: "length size 3", wire: unhex("01 42 c0 1e fe e0 00"), err: ErrInvalid},
	{name: "SPS truncated", wire: cat(unhex("01 42 c0 1e ff e1 00 40"), baselineSPS, unhex("01 00 04"), baselinePPS), err: ErrInvalid},
	{name: "SPS of length 0", wire: unhex("01 42 c0 1e ff e1 00 00 00"), err: ErrInvalid},
	{name: "SPS length cut", wire: unhex("01 42 c0 1e ff e1 00"), err: ErrInvalid},
	{name: "missing PPS count", wire: cat(unhex("01 42 c0 1e ff e1 00 17"), baselineSPS), err: ErrInvalid},
	{name: "PPS where SPS belongs", wire: cat(unhex("01 42 c0 1e ff e1 00 04"), baselinePPS, unhex("00")), err: ErrInvalid},
	{name: "PPS missing", wire: cat(unhex("01 42 c0 1e ff e1 00 17"), baselineSPS, unhex("01 00 04")), err: ErrInvalid},
}

func TestParseAVCConfig(t *testing.T) {
	for _, tc := range avcConfigCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAVCConfig(tc.wire)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("ParseAVCConfig error = %v, want %v", err, tc.err)
			}
			if diff := cmp.Diff(tc.cfg, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseAVCConfig (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendAVCConfig(t *testing.T) {
	for _, tc := range avcConfigCases {
		if tc.err != nil || tc.noEncode {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			if got := AppendAVCConfig(nil, tc.cfg); !bytes.Equal(got, tc.wire) {
				t.Errorf("AppendAVCConfig = % x\nwant % x", got, tc.wire)
			}
		})
	}
}

func TestAVCConfigCorpus(t *testing.T) {
	var seeds []seed
	for _, tc := range avcConfigCases {
		seeds = append(seeds, seed{tc.name, tc.wire})
	}
	checkCorpus(t, "FuzzParseAVCConfig", seeds)
}

func FuzzParseAVCConfig(f *testing.F) {
	for _, tc := range avcConfigCases {
		f.Add(tc.wire)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := ParseAVCConfig(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		for _, ps := range append(append([][]byte(nil), cfg.SPS...), cfg.PPS...) {
			if len(ps) == 0 || !within(ps, b) {
				t.Fatalf("parameter set % x is empty or does not alias the input", ps)
			}
		}
		again, err := ParseAVCConfig(AppendAVCConfig(nil, cfg))
		if err != nil {
			t.Fatalf("re-encoded record does not parse: %v", err)
		}
		if !sameAVCConfig(cfg, again) {
			t.Fatalf("round trip (-first +second):\n%s", cmp.Diff(cfg, again))
		}
	})
}

func sameAVCConfig(a, b AVCConfig) bool {
	same := func(x, y [][]byte) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !bytes.Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a.Profile == b.Profile && a.Compat == b.Compat && a.Level == b.Level &&
		a.LengthSize == b.LengthSize && same(a.SPS, b.SPS) && same(a.PPS, b.PPS)
}

// naluCases drives TestForEachNALU.
var naluCases = []struct {
	name       string
	avcc       []byte
	lengthSize int
	want       [][]byte
	err        bool
}{
	{name: "two units length 4", avcc: idrFrame, lengthSize: 4, want: [][]byte{unhex("65 88 84 00 33"), unhex("06 05 01")}},
	{name: "length 2", avcc: unhex("0002 0910 0003 65 00 01"), lengthSize: 2, want: [][]byte{unhex("09 10"), unhex("65 00 01")}},
	{name: "length 1", avcc: unhex("01 09 02 41 9a"), lengthSize: 1, want: [][]byte{unhex("09"), unhex("41 9a")}},
	{name: "zero length unit skipped", avcc: unhex("00000000 00000001 09"), lengthSize: 4, want: [][]byte{unhex("09")}},
	{name: "empty", avcc: nil, lengthSize: 4},
	{name: "unit runs past end", avcc: unhex("00000005 65 88"), lengthSize: 4, err: true},
	{name: "huge length", avcc: unhex("ffffffff 65"), lengthSize: 4, err: true},
	{name: "trailing partial length", avcc: unhex("00000001 09 0000"), lengthSize: 4, want: [][]byte{unhex("09")}, err: true},
	{name: "length size 3", avcc: unhex("000001 09"), lengthSize: 3, err: true},
	{name: "length size 0", avcc: unhex("09"), lengthSize: 0, err: true},
}

func TestForEachNALU(t *testing.T) {
	for _, tc := range naluCases {
		t.Run(tc.name, func(t *testing.T) {
			var got [][]byte
			err := ForEachNALU(tc.avcc, tc.lengthSize, func(u []byte) error {
				got = append(got, u)
				return nil
			})
			if (err != nil) != tc.err || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Fatalf("ForEachNALU error = %v, want error %v", err, tc.err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("units (-want +got):\n%s", diff)
			}
			if !tc.err {
				if again := AppendAVCC(nil, tc.lengthSize, got...); len(tc.avcc) > 0 && tc.name != "zero length unit skipped" && !bytes.Equal(again, tc.avcc) {
					t.Errorf("AppendAVCC = % x, want % x", again, tc.avcc)
				}
			}
		})
	}
}

func TestForEachNALUStopsOnError(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	err := ForEachNALU(idrFrame, 4, func([]byte) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Errorf("ForEachNALU = %v after %d calls, want stop after 1", err, calls)
	}
}

func TestForEachNALUAllocatesNothing(t *testing.T) {
	n := 0
	fn := func(u []byte) error { n += len(u); return nil }
	allocs := testing.AllocsPerRun(100, func() {
		if err := ForEachNALU(idrFrame, 4, fn); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ForEachNALU allocates %v times per call, want 0", allocs)
	}
}
