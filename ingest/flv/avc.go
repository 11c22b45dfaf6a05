package flv

// H.264 NAL unit types this package looks at (ITU-T H.264 table 7-1).
const (
	naluSPS = 7
	naluPPS = 8
)

// AVCConfig is an AVCDecoderConfigurationRecord (ISO/IEC 14496-15
// 5.3.3.1): what an H.264 sequence start carries.
type AVCConfig struct {
	Profile uint8 // AVCProfileIndication (66 baseline, 77 main, 100 high...)
	Compat  uint8 // profile_compatibility (the constraint flags)
	Level   uint8 // AVCLevelIndication (level × 10: 31 is level 3.1)
	// LengthSize is the size in bytes of the length prefix of each NAL
	// unit in coded frames: 1, 2 or 4.
	LengthSize int
	// SPS and PPS are the parameter set NAL units, header byte included.
	// They alias the input.
	SPS, PPS [][]byte
}

// ParseAVCConfig parses an AVCDecoderConfigurationRecord. Bytes after the
// picture parameter sets (the chroma and bit depth extension that high
// profiles add, or padding) are ignored. The record may hold no parameter
// sets at all (some encoders send them in-band only); each one it holds
// must be a non-empty NAL unit of the right type.
func ParseAVCConfig(b []byte) (AVCConfig, error) {
	if len(b) < 7 {
		return AVCConfig{}, invalidf("AVC configuration record of %d bytes is shorter than 7", len(b))
	}
	if b[0] != 1 {
		// Annex B start codes here (00 00 00 01) are a known encoder bug;
		// naming the version makes that visible in logs.
		return AVCConfig{}, invalidf("AVC configuration record version %d, want 1", b[0])
	}
	c := AVCConfig{Profile: b[1], Compat: b[2], Level: b[3], LengthSize: int(b[4]&0x03) + 1}
	if c.LengthSize == 3 {
		return AVCConfig{}, invalidf("AVC NAL unit length size 3")
	}
	p := b[5:]
	var err error
	if c.SPS, p, err = parseParameterSets(p, int(p[0]&0x1f), naluSPS); err != nil {
		return AVCConfig{}, err
	}
	if len(p) < 1 {
		return AVCConfig{}, invalidf("AVC configuration record ends before its PPS count")
	}
	if c.PPS, _, err = parseParameterSets(p, int(p[0]), naluPPS); err != nil {
		return AVCConfig{}, err
	}
	return c, nil
}

// parseParameterSets reads n 16-bit-length-prefixed NAL units of type typ
// after the count byte at p[0], and returns the rest of p.
func parseParameterSets(p []byte, n, typ int) ([][]byte, []byte, error) {
	p = p[1:]
	if n == 0 {
		return nil, p, nil
	}
	sets := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		if len(p) < 2 {
			return nil, nil, invalidf("AVC configuration record truncated in parameter set %d", i)
		}
		size := int(p[0])<<8 | int(p[1])
		p = p[2:]
		if size == 0 || size > len(p) {
			return nil, nil, invalidf("AVC parameter set of %d bytes, %d left", size, len(p))
		}
		if got := int(p[0] & 0x1f); got != typ {
			return nil, nil, invalidf("AVC parameter set has NAL unit type %d, want %d", got, typ)
		}
		sets = append(sets, p[:size:size])
		p = p[size:]
	}
	return sets, p, nil
}

// AppendAVCConfig appends an AVCDecoderConfigurationRecord for c to dst.
// A zero LengthSize means 4. It writes no high profile extension. Parameter
// sets beyond the counts the record can hold (31 SPS, 255 PPS) or longer
// than 65535 bytes are a programming error and are cut.
func AppendAVCConfig(dst []byte, c AVCConfig) []byte {
	ls := c.LengthSize
	if ls == 0 {
		ls = 4
	}
	dst = append(dst, 1, c.Profile, c.Compat, c.Level, 0xfc|byte(ls-1)&0x03)
	sps := c.SPS[:min(len(c.SPS), 31)]
	dst = append(dst, 0xe0|byte(len(sps)))
	for _, s := range sps {
		dst = appendU16Prefixed(dst, s)
	}
	pps := c.PPS[:min(len(c.PPS), 255)]
	dst = append(dst, byte(len(pps)))
	for _, s := range pps {
		dst = appendU16Prefixed(dst, s)
	}
	return dst
}

func appendU16Prefixed(dst, b []byte) []byte {
	b = b[:min(len(b), 0xffff)]
	return append(append(dst, byte(len(b)>>8), byte(len(b))), b...)
}

// ForEachNALU calls fn with each NAL unit of an AVCC-framed buffer (each
// unit preceded by its big-endian length in lengthSize bytes: 1, 2 or 4),
// in order, without allocating. Zero-length units are skipped. It stops at
// the first error fn returns and returns it; a length that runs past the
// end of the buffer, or a trailing partial length, is an error wrapping
// [ErrInvalid]. The slices fn gets alias avcc.
func ForEachNALU(avcc []byte, lengthSize int, fn func(nalu []byte) error) error {
	if lengthSize != 1 && lengthSize != 2 && lengthSize != 4 {
		return invalidf("NAL unit length size %d", lengthSize)
	}
	for len(avcc) > 0 {
		if len(avcc) < lengthSize {
			return invalidf("NAL unit length truncated: %d bytes left", len(avcc))
		}
		var n uint64
		for _, c := range avcc[:lengthSize] {
			n = n<<8 | uint64(c)
		}
		avcc = avcc[lengthSize:]
		if n > uint64(len(avcc)) {
			return invalidf("NAL unit of %d bytes, %d left", n, len(avcc))
		}
		if n == 0 {
			continue
		}
		if err := fn(avcc[:n:n]); err != nil {
			return err
		}
		avcc = avcc[n:]
	}
	return nil
}

// AppendAVCC appends NAL units to dst, each preceded by its length in
// lengthSize bytes (1, 2 or 4): the framing of AVC coded frames in FLV.
// Units too long for lengthSize are a programming error and are cut.
func AppendAVCC(dst []byte, lengthSize int, nalus ...[]byte) []byte {
	maxLen := 1<<(8*min(lengthSize, 4)) - 1
	for _, u := range nalus {
		u = u[:min(len(u), maxLen)]
		for i := lengthSize - 1; i >= 0; i-- {
			dst = append(dst, byte(len(u)>>(8*i)))
		}
		dst = append(dst, u...)
	}
	return dst
}
