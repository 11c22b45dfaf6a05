package hls

import "strconv"

// playlist is what a media playlist is rendered from.
type playlist struct {
	target   int64 // EXT-X-TARGETDURATION, seconds
	mediaSeq uint64
	discSeq  uint64
	segs     []*segment // the listed segments, oldest first
	ended    bool
}

// programDateTime is RFC 3339 with milliseconds; times are rendered in UTC,
// so the zone is always "Z".
const programDateTime = "2006-01-02T15:04:05.000Z07:00"

// appendPlaylist renders p as an RFC 8216 media playlist. Version 3 is the
// lowest that allows the decimal EXTINF durations; no other tag used here
// needs more. URIs are relative (the bare segment name) so they resolve
// under whatever path the playlist was fetched from.
func appendPlaylist(b []byte, p *playlist) []byte {
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:"...)
	b = strconv.AppendInt(b, p.target, 10)
	b = append(b, "\n#EXT-X-MEDIA-SEQUENCE:"...)
	b = strconv.AppendUint(b, p.mediaSeq, 10)
	b = append(b, '\n')
	if p.discSeq > 0 {
		b = append(b, "#EXT-X-DISCONTINUITY-SEQUENCE:"...)
		b = strconv.AppendUint(b, p.discSeq, 10)
		b = append(b, '\n')
	}
	// Every segment starts with an IDR and its parameter sets.
	b = append(b, "#EXT-X-INDEPENDENT-SEGMENTS\n"...)
	for _, s := range p.segs {
		if s.disc {
			b = append(b, "#EXT-X-DISCONTINUITY\n"...)
		}
		if !s.start.IsZero() {
			b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
			b = s.start.UTC().AppendFormat(b, programDateTime)
			b = append(b, '\n')
		}
		b = append(b, "#EXTINF:"...)
		b = appendMillis(b, s.millis)
		b = append(b, ",\n"...)
		b = append(b, s.name...)
		b = append(b, '\n')
	}
	if p.ended {
		b = append(b, "#EXT-X-ENDLIST\n"...)
	}
	return b
}

// appendMillis writes a millisecond count as seconds with three decimals.
func appendMillis(b []byte, ms int64) []byte {
	b = strconv.AppendInt(b, ms/1000, 10)
	frac := ms % 1000
	b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	return b
}
