package flv

// AAC audio object types (ISO/IEC 14496-3 table 1.1) that change how an
// AudioSpecificConfig is read.
const (
	aotSBR    = 5  // HE-AAC: SBR on top of an underlying object type
	aotPS     = 29 // HE-AAC v2: SBR and parametric stereo
	aotEscape = 31 // the object type continues in 6 more bits
	aotERBSAC = 22 // ER BSAC carries an extension channel configuration
)

// explicitRateIndex is the samplingFrequencyIndex that announces a 24-bit
// explicit sampling frequency.
const explicitRateIndex = 15

// tableRate returns the rate of samplingFrequencyIndex 0 to 12, or 0.
func tableRate(index int) int {
	rates := [13]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}
	if index < 0 || index >= len(rates) {
		return 0
	}
	return rates[index]
}

// AACConfig is the part of an AudioSpecificConfig (ISO/IEC 14496-3
// 1.6.2.1) that remuxing needs.
type AACConfig struct {
	// ObjectType is the audio object type of the core coder: 2 for AAC-LC.
	// For HE-AAC signalled explicitly (object type 5 or 29) it is the
	// underlying type and SBR (and PS) are set.
	ObjectType int
	// SampleRateIndex is samplingFrequencyIndex: 0..12 index a table,
	// 15 means SampleRate was given explicitly. With SBR it is the core
	// coder's rate, half the output rate, as ADTS wants it.
	SampleRateIndex int
	SampleRate      int // in Hz, from the table or explicit
	// Channels is channelConfiguration as the config has it: 1..6 are that
	// many channels, 7 is 7.1 (eight channels), 0 means a program config
	// element defines them (which ADTS cannot carry here).
	Channels int
	SBR      bool // spectral band replication (HE-AAC), signalled explicitly
	PS       bool // parametric stereo (HE-AAC v2), signalled explicitly
}

// ParseAACConfig parses an AudioSpecificConfig. It reads the object type
// (with the escape for types above 30), the sampling frequency (index or
// explicit) and the channel configuration, follows explicit HE-AAC
// signalling to the underlying object type, and ignores what follows:
// the GASpecificConfig and the trailing sync extensions some encoders
// (ffmpeg among them) append.
func ParseAACConfig(b []byte) (AACConfig, error) {
	r := bitReader{b: b}
	var c AACConfig
	c.ObjectType = r.objectType()
	c.SampleRateIndex, c.SampleRate = r.sampleRate()
	c.Channels = int(r.read(4))
	if c.ObjectType == aotSBR || c.ObjectType == aotPS {
		c.SBR, c.PS = true, c.ObjectType == aotPS
		r.sampleRate() // the extension (output) rate: twice the core's
		c.ObjectType = r.objectType()
		if c.ObjectType == aotERBSAC {
			r.read(4) // extensionChannelConfiguration
		}
	}
	if r.short {
		return AACConfig{}, invalidf("AudioSpecificConfig of %d bytes is truncated", len(b))
	}
	if c.ObjectType == 0 {
		return AACConfig{}, invalidf("AudioSpecificConfig with null object type")
	}
	if c.SampleRateIndex == 13 || c.SampleRateIndex == 14 {
		return AACConfig{}, invalidf("reserved AAC sampling frequency index %d", c.SampleRateIndex)
	}
	if c.SampleRate == 0 {
		return AACConfig{}, invalidf("AAC sampling frequency 0")
	}
	return c, nil
}

// AppendAACConfig appends an AudioSpecificConfig for c to dst: the object
// type, sampling frequency and channel configuration, explicit HE-AAC
// signalling if c.SBR, and an all-zero GASpecificConfig (1024-sample
// frames). An index of 15 writes c.SampleRate explicitly.
func AppendAACConfig(dst []byte, c AACConfig) []byte {
	var w bitWriter
	w.b = dst
	aot := c.ObjectType
	if c.SBR {
		aot = aotSBR
		if c.PS {
			aot = aotPS
		}
	}
	w.objectType(aot)
	w.sampleRate(c.SampleRateIndex, c.SampleRate)
	w.write(uint32(c.Channels), 4)
	if c.SBR {
		ext := 2 * c.SampleRate
		w.sampleRate(rateIndex(ext), ext)
		w.objectType(c.ObjectType)
		if c.ObjectType == aotERBSAC {
			w.write(uint32(c.Channels), 4) // extensionChannelConfiguration
		}
	}
	w.write(0, 3) // frameLengthFlag, dependsOnCoreCoder, extensionFlag
	return w.flush()
}

// rateIndex returns the samplingFrequencyIndex of rate, or 15 (explicit)
// if the table does not have it.
func rateIndex(rate int) int {
	for i := 0; i <= 12; i++ {
		if tableRate(i) == rate {
			return i
		}
	}
	return explicitRateIndex
}

// adtsHeaderSize is the size of an ADTS header without CRC.
const adtsHeaderSize = 7

// maxADTSFrame is the largest raw frame one ADTS header can describe: the
// 13-bit frame_length counts the header too.
const maxADTSFrame = 1<<13 - 1 - adtsHeaderSize

// AppendADTS appends the 7-byte ADTS header (MPEG-4, no CRC, one raw data
// block) for one raw AAC frame of frameLen bytes to dst.
//
// ADTS has 2 bits for the profile and 4 for the rate index, so it carries
// only object types 1 to 4 (Main, LC, SSR, LTP; HE-AAC goes as its LC core
// and decoders find the SBR data themselves) and the 13 tabled rates; an
// explicit rate is accepted when it equals one of those. Channel
// configuration 0 would need a program config element in every frame: it
// is refused too. Calling it with frameLen 0 checks that c can be carried.
func (c AACConfig) AppendADTS(dst []byte, frameLen int) ([]byte, error) {
	if c.ObjectType < 1 || c.ObjectType > 4 {
		return dst, unsupportedf("AAC object type %d in ADTS (only 1 to 4)", c.ObjectType)
	}
	idx := c.SampleRateIndex
	if idx == explicitRateIndex {
		idx = rateIndex(c.SampleRate)
	}
	if idx < 0 || idx > 12 {
		return dst, unsupportedf("AAC sampling frequency %d Hz in ADTS", c.SampleRate)
	}
	if c.Channels < 1 || c.Channels > 7 {
		return dst, unsupportedf("AAC channel configuration %d in ADTS", c.Channels)
	}
	if frameLen < 0 || frameLen > maxADTSFrame {
		return dst, invalidf("AAC frame of %d bytes is too long for ADTS", frameLen)
	}
	total := frameLen + adtsHeaderSize
	return append(dst,
		0xff,
		0xf1, // syncword end, MPEG-4, layer 0, protection_absent
		byte(c.ObjectType-1)<<6|byte(idx)<<2|byte(c.Channels>>2),
		byte(c.Channels&3)<<6|byte(total>>11),
		byte(total>>3),
		byte(total&7)<<5|0x1f, // buffer fullness 0x7ff: variable rate
		0xfc,                  // rest of buffer fullness, one raw data block
	), nil
}

// bitReader reads big-endian bit fields. Reading past the end yields
// zeros and sets short, so a parser checks once at the end.
type bitReader struct {
	b     []byte
	pos   int // in bits
	short bool
}

func (r *bitReader) read(n int) uint32 {
	var v uint32
	for i := 0; i < n; i++ {
		v <<= 1
		if r.pos>>3 >= len(r.b) {
			r.short = true
			continue
		}
		v |= uint32(r.b[r.pos>>3]>>(7-r.pos&7)) & 1
		r.pos++
	}
	return v
}

func (r *bitReader) objectType() int {
	t := int(r.read(5))
	if t == aotEscape {
		t = 32 + int(r.read(6))
	}
	return t
}

func (r *bitReader) sampleRate() (index, rate int) {
	index = int(r.read(4))
	if index == explicitRateIndex {
		return index, int(r.read(24))
	}
	return index, tableRate(index)
}

// bitWriter appends big-endian bit fields to b.
type bitWriter struct {
	b    []byte
	acc  byte
	bits int
}

func (w *bitWriter) write(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | byte(v>>i)&1
		w.bits++
		if w.bits == 8 {
			w.b = append(w.b, w.acc)
			w.acc, w.bits = 0, 0
		}
	}
}

func (w *bitWriter) objectType(t int) {
	if t >= aotEscape {
		w.write(aotEscape, 5)
		w.write(uint32(t-32), 6)
		return
	}
	w.write(uint32(t), 5)
}

func (w *bitWriter) sampleRate(index, rate int) {
	w.write(uint32(index), 4)
	if index == explicitRateIndex {
		w.write(uint32(rate), 24)
	}
}

// flush pads the last byte with zero bits and returns the bytes.
func (w *bitWriter) flush() []byte {
	if w.bits > 0 {
		w.write(0, 8-w.bits)
	}
	return w.b
}
