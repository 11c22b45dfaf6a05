package flv

import "strconv"

// VideoCodec names the codec of a video tag, whether it was signalled by a
// legacy codec id or by an Enhanced RTMP FourCC. Only [VideoAVC] is
// remuxed; the others exist to name what a publisher sent.
type VideoCodec uint8

const (
	VideoUnknown  VideoCodec = iota // a reserved codec id or an unknown FourCC
	VideoAVC                        // H.264: legacy codec id 7, FourCC "avc1"
	VideoHEVC                       // FourCC "hvc1", or the unofficial legacy codec id 12
	VideoAV1                        // FourCC "av01"
	VideoVP9                        // FourCC "vp09"
	VideoVP8                        // FourCC "vp08"
	VideoJPEG                       // legacy codec id 1
	VideoH263                       // Sorenson H.263, legacy codec id 2
	VideoScreen                     // Screen video, legacy codec id 3
	VideoVP6                        // On2 VP6, legacy codec id 4
	VideoVP6Alpha                   // On2 VP6 with alpha channel, legacy codec id 5
	VideoScreenV2                   // Screen video version 2, legacy codec id 6
)

func (c VideoCodec) String() string {
	switch c {
	case VideoUnknown:
		return "unknown"
	case VideoAVC:
		return "H.264"
	case VideoHEVC:
		return "HEVC"
	case VideoAV1:
		return "AV1"
	case VideoVP9:
		return "VP9"
	case VideoVP8:
		return "VP8"
	case VideoJPEG:
		return "JPEG"
	case VideoH263:
		return "Sorenson H.263"
	case VideoScreen:
		return "Screen video"
	case VideoVP6:
		return "On2 VP6"
	case VideoVP6Alpha:
		return "On2 VP6 with alpha"
	case VideoScreenV2:
		return "Screen video v2"
	}
	return "VideoCodec(" + strconv.Itoa(int(c)) + ")"
}

// legacyVideoCodec maps an FLV CodecID to a codec. Id 12 is in no Adobe
// specification, but several CDNs and their encoders use it for HEVC, so
// naming it makes the refusal clearer.
func legacyVideoCodec(id uint8) VideoCodec {
	switch id {
	case 1:
		return VideoJPEG
	case 2:
		return VideoH263
	case 3:
		return VideoScreen
	case 4:
		return VideoVP6
	case 5:
		return VideoVP6Alpha
	case 6:
		return VideoScreenV2
	case 7:
		return VideoAVC
	case 12:
		return VideoHEVC
	}
	return VideoUnknown
}

// videoCodecID is the inverse of legacyVideoCodec; 0 for codecs without id.
func videoCodecID(c VideoCodec) uint8 {
	for id := uint8(1); id < 16; id++ {
		if legacyVideoCodec(id) == c {
			return id
		}
	}
	return 0
}

// FourCC returns the Enhanced RTMP FourCC of the codec, or "" if it has none.
func (c VideoCodec) FourCC() string {
	switch c {
	case VideoAVC:
		return "avc1"
	case VideoHEVC:
		return "hvc1"
	case VideoAV1:
		return "av01"
	case VideoVP9:
		return "vp09"
	case VideoVP8:
		return "vp08"
	}
	return ""
}

// videoFourCC maps an Enhanced RTMP FourCC to a codec and returns the FourCC
// as a string that, for known codecs, is a constant: parsing a frame then
// allocates nothing.
func videoFourCC(b []byte) (VideoCodec, string) {
	for c := VideoAVC; c <= VideoVP8; c++ {
		if f := c.FourCC(); string(b) == f {
			return c, f
		}
	}
	return VideoUnknown, string(b)
}

// hasCompositionTime reports whether Enhanced RTMP coded frames of the
// codec carry an SI24 composition time offset: those whose frames may be
// reordered (AVC, HEVC), not VP8, VP9 or AV1.
func (c VideoCodec) hasCompositionTime() bool {
	return c == VideoAVC || c == VideoHEVC
}

// VideoPacketType says what a video tag carries. Its zero value,
// [VideoPacketOther], is what command frames and the payloads of legacy
// codecs other than AVC get. The numbering is this package's own: legacy
// AVCPacketType and Enhanced VideoPacketType values both map onto it.
type VideoPacketType uint8

const (
	VideoPacketOther VideoPacketType = iota
	// VideoSequenceStart carries the decoder configuration record (for
	// AVC, an AVCDecoderConfigurationRecord).
	VideoSequenceStart
	// VideoCodedFrames carries one frame: for AVC, length-prefixed NAL
	// units. Enhanced CodedFramesX (composition time zero) maps here too.
	VideoCodedFrames
	// VideoSequenceEnd ends the sequence; it has no payload.
	VideoSequenceEnd
	// VideoMetadata carries AMF-encoded metadata such as colorInfo
	// (Enhanced RTMP only).
	VideoMetadata
	// VideoMPEG2TSSequenceStart carries an MPEG-2 TS video descriptor
	// instead of a configuration record (Enhanced RTMP, AV1 only).
	VideoMPEG2TSSequenceStart
)

// Wire values of Enhanced RTMP's VideoPacketType.
const (
	exVideoSequenceStart        = 0
	exVideoCodedFrames          = 1
	exVideoSequenceEnd          = 2
	exVideoCodedFramesX         = 3
	exVideoMetadata             = 4
	exVideoMPEG2TSSequenceStart = 5
	exVideoMultitrack           = 6
	exVideoModEx                = 7
)

// Video frame types (FLV VideoTagHeader FrameType).
const (
	frameKey     = 1
	frameInter   = 2
	frameCommand = 5
)

// VideoTag is a parsed video tag body.
type VideoTag struct {
	Codec VideoCodec
	// FourCC is the Enhanced RTMP FourCC as sent ("avc1", "hvc1", ...);
	// empty for legacy tags and for Enhanced command frames, which have none.
	FourCC   string
	Enhanced bool
	// Keyframe is set for frame type 1 (key frame) and 4 (generated key
	// frame). Enhanced metadata packets ignore the frame type: always false.
	Keyframe bool
	// Command is set for frame type 5, a video info/command frame with no
	// video: Data holds the command byte. Callers ignore these.
	Command    bool
	PacketType VideoPacketType
	// CompositionTime is the offset of the presentation time from the
	// decoding time, in milliseconds (PTS = DTS + CompositionTime).
	CompositionTime int32
	// Data aliases the input: the decoder configuration record, the coded
	// frame (for AVC, length-prefixed NAL units), metadata, or the command.
	Data []byte
}

// ParseVideo parses the body of an FLV video tag (an RTMP video message),
// legacy or Enhanced RTMP. The returned Data aliases b.
//
// A codec other than H.264 is reported with an error wrapping
// [ErrUnsupported] that names it, together with a VideoTag whose Codec and
// FourCC say what it was. Enhanced multitrack and ModEx packets are
// reported the same way. Malformed input gives an error wrapping
// [ErrInvalid].
func ParseVideo(b []byte) (VideoTag, error) {
	if len(b) == 0 {
		return VideoTag{}, invalidf("empty video tag")
	}
	if b[0]&0x80 != 0 {
		return parseExVideo(b)
	}
	frameType := b[0] >> 4
	id := b[0] & 0x0f
	t := VideoTag{Codec: legacyVideoCodec(id)}
	if err := setFrameType(&t, frameType); err != nil {
		return t, err
	}
	if t.Command {
		if len(b) < 2 {
			return t, invalidf("video command frame has no command byte")
		}
		t.Data = b[1:]
		return t, nil
	}
	if t.Codec != VideoAVC {
		t.Data = b[1:]
		if t.Codec == VideoUnknown {
			return t, unsupportedf("video codec id %d", id)
		}
		return t, unsupportedf("video codec %s (codec id %d)", t.Codec, id)
	}
	if len(b) < 5 {
		return t, invalidf("AVC video tag of %d bytes is shorter than its 5-byte header", len(b))
	}
	switch b[1] {
	case 0:
		t.PacketType = VideoSequenceStart
	case 1:
		t.PacketType = VideoCodedFrames
	case 2:
		t.PacketType = VideoSequenceEnd
	default:
		return t, invalidf("reserved AVCPacketType %d", b[1])
	}
	t.CompositionTime = si24(b[2:5])
	t.Data = b[5:]
	return t, nil
}

func setFrameType(t *VideoTag, frameType uint8) error {
	switch frameType {
	case frameKey, 4: // 4 is a generated key frame (server use only)
		t.Keyframe = true
	case frameInter, 3: // 3 is a disposable inter frame (H.263 only)
	case frameCommand:
		t.Command = true
	default:
		return invalidf("reserved video frame type %d", frameType)
	}
	return nil
}

// parseExVideo parses an Enhanced RTMP ExVideoTagHeader and its body.
func parseExVideo(b []byte) (VideoTag, error) {
	t := VideoTag{Enhanced: true}
	frameType := (b[0] >> 4) & 0x07
	packetType := b[0] & 0x0f
	switch packetType {
	case exVideoMultitrack:
		return t, unsupportedf("Enhanced RTMP multitrack video")
	case exVideoModEx:
		return t, unsupportedf("Enhanced RTMP ModEx video packet")
	}
	if packetType != exVideoMetadata {
		if err := setFrameType(&t, frameType); err != nil {
			return t, err
		}
		if t.Command {
			// A command frame has no FourCC: just the command byte.
			if len(b) < 2 {
				return t, invalidf("video command frame has no command byte")
			}
			t.Data = b[1:]
			return t, nil
		}
	}
	if len(b) < 5 {
		return t, invalidf("enhanced video tag of %d bytes has no FourCC", len(b))
	}
	t.Codec, t.FourCC = videoFourCC(b[1:5])
	body := b[5:]
	switch packetType {
	case exVideoSequenceStart:
		t.PacketType = VideoSequenceStart
	case exVideoCodedFrames:
		t.PacketType = VideoCodedFrames
		if t.Codec.hasCompositionTime() {
			if len(body) < 3 {
				return t, invalidf("enhanced %s coded frames have no composition time", t.FourCC)
			}
			t.CompositionTime = si24(body)
			body = body[3:]
		}
	case exVideoCodedFramesX:
		t.PacketType = VideoCodedFrames
	case exVideoSequenceEnd:
		t.PacketType = VideoSequenceEnd
	case exVideoMetadata:
		t.PacketType = VideoMetadata
	case exVideoMPEG2TSSequenceStart:
		t.PacketType = VideoMPEG2TSSequenceStart
	default:
		return t, invalidf("reserved enhanced VideoPacketType %d", packetType)
	}
	t.Data = body
	if t.Codec != VideoAVC {
		if t.Codec == VideoUnknown {
			return t, unsupportedf("video codec with FourCC %q", t.FourCC)
		}
		return t, unsupportedf("video codec %s (FourCC %s)", t.Codec, t.FourCC)
	}
	return t, nil
}

// AppendVideoTag appends the body of an FLV video tag for t to dst, in the
// legacy form or, if t.Enhanced, the Enhanced RTMP form, and returns the
// extended slice. It is the inverse of [ParseVideo] for the tags that
// ParseVideo accepts, and can also build tags of unsupported codecs (to
// test refusals). A legacy tag of a codec without a codec id is written
// with id 0; an Enhanced tag without FourCC uses the codec's. Enhanced
// coded frames with a zero composition time are written as CodedFramesX.
func AppendVideoTag(dst []byte, t VideoTag) []byte {
	frameType := byte(frameInter)
	switch {
	case t.Command:
		frameType = frameCommand
	case t.Keyframe:
		frameType = frameKey
	}
	if !t.Enhanced {
		dst = append(dst, frameType<<4|videoCodecID(t.Codec))
		if t.Command || t.Codec != VideoAVC {
			return append(dst, t.Data...)
		}
		var pt byte
		switch t.PacketType {
		case VideoCodedFrames:
			pt = 1
		case VideoSequenceEnd:
			pt = 2
		}
		dst = append(dst, pt)
		dst = appendSI24(dst, t.CompositionTime)
		return append(dst, t.Data...)
	}
	if t.Command {
		return append(append(dst, 0x80|frameCommand<<4|exVideoSequenceStart), t.Data...)
	}
	var pt byte
	cts := false
	switch t.PacketType {
	case VideoCodedFrames:
		switch {
		case !t.Codec.hasCompositionTime():
			pt = exVideoCodedFrames
		case t.CompositionTime == 0:
			pt = exVideoCodedFramesX
		default:
			pt, cts = exVideoCodedFrames, true
		}
	case VideoSequenceEnd:
		pt = exVideoSequenceEnd
	case VideoMetadata:
		pt = exVideoMetadata
	case VideoMPEG2TSSequenceStart:
		pt = exVideoMPEG2TSSequenceStart
	}
	dst = append(dst, 0x80|frameType<<4|pt)
	fourCC := t.FourCC
	if fourCC == "" {
		fourCC = t.Codec.FourCC()
	}
	dst = append(dst, (fourCC + "\x00\x00\x00\x00")[:4]...)
	if cts {
		dst = appendSI24(dst, t.CompositionTime)
	}
	return append(dst, t.Data...)
}

// si24 reads a big-endian signed 24-bit integer.
func si24(b []byte) int32 {
	v := int32(b[0])<<16 | int32(b[1])<<8 | int32(b[2])
	return v << 8 >> 8 // sign-extend bit 23
}

func appendSI24(dst []byte, v int32) []byte {
	return append(dst, byte(v>>16), byte(v>>8), byte(v))
}
