// Package flv parses the bodies of FLV audio and video tags, as RTMP
// carries them in its audio (8) and video (9) messages, and the codec
// configurations they announce.
//
// Entry points: [ParseVideo] and [ParseAudio] read a tag body in its legacy
// form (FLV 10.1 annex E) or its Enhanced RTMP v2 form (a FourCC instead of
// a codec id); [ParseAVCConfig] and [ParseAACConfig] read the H.264
// AVCDecoderConfigurationRecord (ISO/IEC 14496-15) and the AAC
// AudioSpecificConfig (ISO/IEC 14496-3) that a sequence start carries;
// [ForEachNALU] walks the length-prefixed NAL units of a coded frame and
// [AACConfig.AppendADTS] writes the ADTS header MPEG-TS needs per AAC frame.
// [AppendVideoTag], [AppendAudioTag], [AppendAVCConfig] and
// [AppendAACConfig] build the same structures, for tests and tools.
//
// Codecs other than H.264 and AAC, and Enhanced RTMP features this server
// does not remux (multitrack, ModEx), are reported with errors that wrap
// [ErrUnsupported] and name what was found, so a caller can refuse the
// stream with a clear reason.
//
// Everything here is a pure function of its input: safe for concurrent use.
// Parsed values alias the input slice; nothing is copied.
package flv
