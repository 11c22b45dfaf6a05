package mpegts

import "fmt"

// VideoConfig holds the H.264 parameter sets of the stream, as the
// publisher's AVCDecoderConfigurationRecord lists them (NAL header byte
// included, no start codes). They are copied.
type VideoConfig struct {
	SPS, PPS [][]byte
}

// H.264 NAL unit types (ITU-T H.264 table 7-1).
const (
	naluIDR = 5
	naluSPS = 7
	naluPPS = 8
	naluAUD = 9
)

// startCode is the four-byte Annex B start code. Four bytes rather than
// three everywhere: required before parameter sets and the first unit of
// an access unit, allowed elsewhere, and simpler.
const startCode = "\x00\x00\x00\x01"

// audNALU is an access unit delimiter with primary_pic_type 7 (any slice
// type may follow), then the RBSP stop bit. Players that parse TS, hls.js
// among them, look for it to find access unit boundaries.
const audNALU = "\x09\xf0"

// videoTrack turns AVCC-framed access units into Annex B ones.
type videoTrack struct {
	paramSets []byte // the configured SPS and PPS, Annex B, for before IDRs
	au        []byte // the access unit being built, reused
	defStep   int64  // ticks per frame assumed until two frames were seen
}

func (v *videoTrack) setConfig(c VideoConfig) {
	v.paramSets = v.paramSets[:0]
	for _, ps := range [][][]byte{c.SPS, c.PPS} {
		for _, u := range ps {
			v.paramSets = append(append(v.paramSets, startCode...), u...)
		}
	}
}

// buildAU converts one AVCC access unit into Annex B in v.au: an access
// unit delimiter first (the publisher's own are dropped, as a second one
// would start an empty access unit), then, on a keyframe that carries no
// parameter sets of its own, the configured SPS and PPS, then the units.
// In-band parameter sets are kept where they are: they are newer than the
// configuration if they differ. It reports whether the unit holds an IDR
// slice. The input is only read.
func (v *videoTrack) buildAU(avcc []byte, lengthSize int, keyframe bool) (au []byte, idr bool, err error) {
	if lengthSize != 1 && lengthSize != 2 && lengthSize != 4 {
		return nil, false, fmt.Errorf("%w: NAL unit length size %d", ErrInvalidFrame, lengthSize)
	}
	units, inbandPS := 0, false
	for rest := avcc; len(rest) > 0; {
		var u []byte
		if u, rest, err = nextNALU(rest, lengthSize); err != nil {
			return nil, false, err
		}
		if len(u) == 0 {
			continue
		}
		switch u[0] & 0x1f {
		case naluIDR:
			idr = true
		case naluSPS, naluPPS:
			inbandPS = true
		}
		units++
	}
	if units == 0 {
		return nil, false, fmt.Errorf("%w: access unit without NAL units", ErrInvalidFrame)
	}
	au = append(append(v.au[:0], startCode...), audNALU...)
	if (keyframe || idr) && !inbandPS {
		au = append(au, v.paramSets...)
	}
	for rest := avcc; len(rest) > 0; {
		var u []byte
		u, rest, _ = nextNALU(rest, lengthSize) // validated above
		if len(u) == 0 || u[0]&0x1f == naluAUD {
			continue
		}
		au = append(append(au, startCode...), u...)
	}
	v.au = au
	return au, idr, nil
}

// nextNALU splits the first length-prefixed NAL unit off b.
func nextNALU(b []byte, lengthSize int) (u, rest []byte, err error) {
	if len(b) < lengthSize {
		return nil, nil, fmt.Errorf("%w: NAL unit length truncated", ErrInvalidFrame)
	}
	var n uint64
	for _, c := range b[:lengthSize] {
		n = n<<8 | uint64(c)
	}
	b = b[lengthSize:]
	if n > uint64(len(b)) {
		return nil, nil, fmt.Errorf("%w: NAL unit of %d bytes, %d left", ErrInvalidFrame, n, len(b))
	}
	return b[:n], b[n:], nil
}
