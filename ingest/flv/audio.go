package flv

import "strconv"

// AudioCodec names the codec of an audio tag, whether it was signalled by
// a legacy SoundFormat or by an Enhanced RTMP FourCC. Only [AudioAAC] is
// remuxed; the others exist to name what a publisher sent.
type AudioCodec uint8

const (
	AudioUnknown        AudioCodec = iota // a reserved SoundFormat or an unknown FourCC
	AudioAAC                              // SoundFormat 10, FourCC "mp4a"
	AudioPCM                              // SoundFormat 0, linear PCM, platform endian
	AudioADPCM                            // SoundFormat 1
	AudioMP3                              // SoundFormat 2, FourCC ".mp3"
	AudioPCMLE                            // SoundFormat 3, linear PCM, little endian
	AudioNellymoser16k                    // SoundFormat 4, Nellymoser 16 kHz mono
	AudioNellymoser8k                     // SoundFormat 5, Nellymoser 8 kHz mono
	AudioNellymoser                       // SoundFormat 6
	AudioG711ALaw                         // SoundFormat 7
	AudioG711MuLaw                        // SoundFormat 8
	AudioSpeex                            // SoundFormat 11
	AudioMP38k                            // SoundFormat 14, MP3 8 kHz
	AudioDeviceSpecific                   // SoundFormat 15
	AudioOpus                             // FourCC "Opus"
	AudioAC3                              // FourCC "ac-3"
	AudioEAC3                             // FourCC "ec-3"
	AudioFLAC                             // FourCC "fLaC"
)

func (c AudioCodec) String() string {
	switch c {
	case AudioUnknown:
		return "unknown"
	case AudioAAC:
		return "AAC"
	case AudioPCM:
		return "linear PCM"
	case AudioADPCM:
		return "ADPCM"
	case AudioMP3:
		return "MP3"
	case AudioPCMLE:
		return "linear PCM (little endian)"
	case AudioNellymoser16k:
		return "Nellymoser 16 kHz"
	case AudioNellymoser8k:
		return "Nellymoser 8 kHz"
	case AudioNellymoser:
		return "Nellymoser"
	case AudioG711ALaw:
		return "G.711 A-law"
	case AudioG711MuLaw:
		return "G.711 mu-law"
	case AudioSpeex:
		return "Speex"
	case AudioMP38k:
		return "MP3 8 kHz"
	case AudioDeviceSpecific:
		return "device-specific sound"
	case AudioOpus:
		return "Opus"
	case AudioAC3:
		return "AC-3"
	case AudioEAC3:
		return "E-AC-3"
	case AudioFLAC:
		return "FLAC"
	}
	return "AudioCodec(" + strconv.Itoa(int(c)) + ")"
}

// soundFormatExHeader is the SoundFormat that announces an Enhanced RTMP
// ExAudioTagHeader (it was "reserved" in FLV 10.1).
const soundFormatExHeader = 9

func legacyAudioCodec(format uint8) AudioCodec {
	switch format {
	case 0:
		return AudioPCM
	case 1:
		return AudioADPCM
	case 2:
		return AudioMP3
	case 3:
		return AudioPCMLE
	case 4:
		return AudioNellymoser16k
	case 5:
		return AudioNellymoser8k
	case 6:
		return AudioNellymoser
	case 7:
		return AudioG711ALaw
	case 8:
		return AudioG711MuLaw
	case 10:
		return AudioAAC
	case 11:
		return AudioSpeex
	case 14:
		return AudioMP38k
	case 15:
		return AudioDeviceSpecific
	}
	return AudioUnknown
}

// soundFormat is the inverse of legacyAudioCodec: false for codecs that
// only have a FourCC.
func soundFormat(c AudioCodec) (uint8, bool) {
	for f := uint8(0); f < 16; f++ {
		if legacyAudioCodec(f) == c && c != AudioUnknown {
			return f, true
		}
	}
	return 0, false
}

// FourCC returns the Enhanced RTMP FourCC of the codec, or "" if it has none.
func (c AudioCodec) FourCC() string {
	switch c {
	case AudioAAC:
		return "mp4a"
	case AudioMP3:
		return ".mp3"
	case AudioOpus:
		return "Opus"
	case AudioAC3:
		return "ac-3"
	case AudioEAC3:
		return "ec-3"
	case AudioFLAC:
		return "fLaC"
	}
	return ""
}

// audioFourCC maps an Enhanced RTMP FourCC to a codec; for known codecs
// the returned string is a constant, so parsing allocates nothing.
func audioFourCC(b []byte) (AudioCodec, string) {
	for _, c := range [...]AudioCodec{AudioAAC, AudioMP3, AudioOpus, AudioAC3, AudioEAC3, AudioFLAC} {
		if f := c.FourCC(); string(b) == f {
			return c, f
		}
	}
	return AudioUnknown, string(b)
}

// AudioPacketType says what an audio tag carries. Its zero value,
// [AudioPacketOther], is what payloads of legacy codecs other than AAC get.
type AudioPacketType uint8

const (
	AudioPacketOther AudioPacketType = iota
	// AudioSequenceStart carries the codec configuration (for AAC, the
	// AudioSpecificConfig): legacy AACPacketType 0, Enhanced SequenceStart.
	AudioSequenceStart
	// AudioCodedFrames carries coded audio (for AAC, one raw frame).
	AudioCodedFrames
	// AudioSequenceEnd ends the sequence (Enhanced RTMP only).
	AudioSequenceEnd
	// AudioMultichannelConfig describes the channel layout (Enhanced RTMP
	// only).
	AudioMultichannelConfig
)

// Wire values of Enhanced RTMP's AudioPacketType.
const (
	exAudioSequenceStart      = 0
	exAudioCodedFrames        = 1
	exAudioSequenceEnd        = 2
	exAudioMultichannelConfig = 4
	exAudioMultitrack         = 5
	exAudioModEx              = 7
)

// AudioTag is a parsed audio tag body.
type AudioTag struct {
	Codec AudioCodec
	// FourCC is the Enhanced RTMP FourCC as sent ("mp4a", "Opus", ...);
	// empty for legacy tags.
	FourCC   string
	Enhanced bool
	// SequenceHeader is PacketType == AudioSequenceStart: Data is the
	// AudioSpecificConfig rather than a frame.
	SequenceHeader bool
	PacketType     AudioPacketType
	// Data aliases the input: the AudioSpecificConfig or one raw AAC frame
	// (no ADTS header).
	Data []byte
}

// ParseAudio parses the body of an FLV audio tag (an RTMP audio message),
// legacy or Enhanced RTMP. The returned Data aliases b.
//
// A codec other than AAC is reported with an error wrapping
// [ErrUnsupported] that names it, together with an AudioTag whose Codec and
// FourCC say what it was; so are Enhanced multitrack and ModEx packets.
// Malformed input gives an error wrapping [ErrInvalid].
func ParseAudio(b []byte) (AudioTag, error) {
	if len(b) == 0 {
		return AudioTag{}, invalidf("empty audio tag")
	}
	format := b[0] >> 4
	if format == soundFormatExHeader {
		return parseExAudio(b)
	}
	t := AudioTag{Codec: legacyAudioCodec(format)}
	if t.Codec != AudioAAC {
		t.Data = b[1:]
		if t.Codec == AudioUnknown {
			return t, unsupportedf("audio SoundFormat %d", format)
		}
		return t, unsupportedf("audio codec %s (SoundFormat %d)", t.Codec, format)
	}
	// The rate, size and type bits of an AAC tag are fixed by the
	// specification and ignored by decoders: the AudioSpecificConfig rules.
	if len(b) < 2 {
		return t, invalidf("AAC audio tag has no AACPacketType")
	}
	switch b[1] {
	case 0:
		t.PacketType, t.SequenceHeader = AudioSequenceStart, true
	case 1:
		t.PacketType = AudioCodedFrames
	default:
		return t, invalidf("reserved AACPacketType %d", b[1])
	}
	t.Data = b[2:]
	return t, nil
}

// parseExAudio parses an Enhanced RTMP ExAudioTagHeader and its body.
func parseExAudio(b []byte) (AudioTag, error) {
	t := AudioTag{Enhanced: true}
	packetType := b[0] & 0x0f
	switch packetType {
	case exAudioMultitrack:
		return t, unsupportedf("Enhanced RTMP multitrack audio")
	case exAudioModEx:
		return t, unsupportedf("Enhanced RTMP ModEx audio packet")
	}
	if len(b) < 5 {
		return t, invalidf("enhanced audio tag of %d bytes has no FourCC", len(b))
	}
	t.Codec, t.FourCC = audioFourCC(b[1:5])
	switch packetType {
	case exAudioSequenceStart:
		t.PacketType, t.SequenceHeader = AudioSequenceStart, true
	case exAudioCodedFrames:
		t.PacketType = AudioCodedFrames
	case exAudioSequenceEnd:
		t.PacketType = AudioSequenceEnd
	case exAudioMultichannelConfig:
		t.PacketType = AudioMultichannelConfig
	default:
		return t, invalidf("reserved enhanced AudioPacketType %d", packetType)
	}
	t.Data = b[5:]
	if t.Codec != AudioAAC {
		if t.Codec == AudioUnknown {
			return t, unsupportedf("audio codec with FourCC %q", t.FourCC)
		}
		return t, unsupportedf("audio codec %s (FourCC %s)", t.Codec, t.FourCC)
	}
	return t, nil
}

// AppendAudioTag appends the body of an FLV audio tag for t to dst, in the
// legacy form or, if t.Enhanced, the Enhanced RTMP form, and returns the
// extended slice. It is the inverse of [ParseAudio] for the tags ParseAudio
// accepts; it can also build tags of unsupported codecs (to test
// refusals). PacketType AudioPacketOther with SequenceHeader set means
// AudioSequenceStart. Legacy tags claim 44 kHz, 16-bit stereo, as the
// specification requires for AAC; an Enhanced tag without FourCC uses the
// codec's.
func AppendAudioTag(dst []byte, t AudioTag) []byte {
	pt := t.PacketType
	if pt == AudioPacketOther && t.SequenceHeader {
		pt = AudioSequenceStart
	}
	if !t.Enhanced {
		format, _ := soundFormat(t.Codec)
		dst = append(dst, format<<4|0x0f)
		if t.Codec != AudioAAC {
			return append(dst, t.Data...)
		}
		var aacType byte = 1
		if pt == AudioSequenceStart {
			aacType = 0
		}
		return append(append(dst, aacType), t.Data...)
	}
	var ex byte
	switch pt {
	case AudioSequenceStart:
		ex = exAudioSequenceStart
	case AudioCodedFrames:
		ex = exAudioCodedFrames
	case AudioSequenceEnd:
		ex = exAudioSequenceEnd
	case AudioMultichannelConfig:
		ex = exAudioMultichannelConfig
	}
	dst = append(dst, soundFormatExHeader<<4|ex)
	fourCC := t.FourCC
	if fourCC == "" {
		fourCC = t.Codec.FourCC()
	}
	dst = append(dst, (fourCC + "\x00\x00\x00\x00")[:4]...)
	return append(dst, t.Data...)
}
