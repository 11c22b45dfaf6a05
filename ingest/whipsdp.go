package ingest

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/pion/sdp/v3"
)

// offerError is an offer refused with an HTTP status and a plain reason.
type offerError struct {
	status int
	msg    string
}

func (e *offerError) Error() string { return e.msg }

// whipCodecHint ends every codec refusal of an offer.
const whipCodecHint = "GiveLive takes H.264 video (packetization-mode 1, baseline, main or high profile) and Opus audio; " +
	"in OBS choose the WHIP service with x264 or a hardware H.264 encoder and Opus"

// offerInfo is what checkOffer learnt of an offer.
type offerInfo struct {
	audio bool // it sends an Opus track
}

// checkOffer reads an SDP offer and checks its shape before pion sees it:
// one video section offering H.264, at most one audio section offering
// Opus, nothing else, both sending, and no simulcast. Malformed SDP is 400; an offer we
// cannot take is 422, with the reason.
func checkOffer(body []byte) (offerInfo, error) {
	var info offerInfo
	if len(strings.TrimSpace(string(body))) == 0 {
		return info, &offerError{http.StatusBadRequest, "The offer is empty: POST the SDP offer as the body."}
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(body)); err != nil {
		return info, &offerError{http.StatusBadRequest, fmt.Sprintf("The offer is not valid SDP (%v).", trimErr(err))}
	}
	video, audio := 0, 0
	for _, m := range sd.MediaDescriptions {
		switch m.MediaName.Media {
		case "video":
			video++
			if !offers(m, "h264", 90000) {
				return info, &offerError{http.StatusUnprocessableEntity, "The offer's video has no H.264. " + whipCodecHint + "."}
			}
		case "audio":
			audio++
			if !offers(m, "opus", 48000) {
				return info, &offerError{http.StatusUnprocessableEntity, "The offer's audio has no Opus. " + whipCodecHint + "."}
			}
			info.audio = true
		default:
			return info, &offerError{http.StatusUnprocessableEntity,
				fmt.Sprintf("The offer has a %q section; a WHIP publish sends one video and at most one audio track.", truncate(m.MediaName.Media, 32))}
		}
		if simulcast(m) {
			return info, &offerError{http.StatusUnprocessableEntity,
				"The offer sends its video as simulcast (a=simulcast, a=rid); a WHIP publish to GiveLive sends one video stream: turn simulcast off."}
		}
		if receiveOnly(m) {
			return info, &offerError{http.StatusUnprocessableEntity, "The offer does not send its " + m.MediaName.Media + " (it is recvonly or inactive)."}
		}
	}
	switch {
	case video == 0:
		return info, &offerError{http.StatusUnprocessableEntity, "The offer has no video. " + whipCodecHint + "."}
	case video > 1 || audio > 1:
		return info, &offerError{http.StatusUnprocessableEntity, "The offer has more than one video or audio track (simulcast and extra tracks are not supported); send one of each."}
	}
	return info, nil
}

// offers reports whether a media section offers codec (lower case) at rate.
func offers(m *sdp.MediaDescription, codec string, rate int) bool {
	want := fmt.Sprintf("%s/%d", codec, rate)
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		_, enc, ok := strings.Cut(strings.TrimSpace(a.Value), " ")
		if !ok {
			continue
		}
		enc = strings.ToLower(strings.TrimSpace(enc))
		if enc == want || strings.HasPrefix(enc, want+"/") {
			return true
		}
	}
	return false
}

// simulcast reports whether a media section sends several encodings
// (RFC 8853): the session reads one stream per kind.
func simulcast(m *sdp.MediaDescription) bool {
	for _, a := range m.Attributes {
		if k := strings.ToLower(a.Key); k == "simulcast" || k == "rid" {
			return true
		}
	}
	return false
}

func receiveOnly(m *sdp.MediaDescription) bool {
	for _, a := range m.Attributes {
		if a.Key == "recvonly" || a.Key == "inactive" {
			return true
		}
	}
	return false
}

// checkAnswer checks that pion's answer took the offer's H.264 video
// (pion answers a section whose codecs it cannot match with port 0).
func checkAnswer(answer string) error {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(answer); err != nil {
		return fmt.Errorf("failed to read our own answer: %w", err)
	}
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media == "video" && m.MediaName.Port.Value != 0 && offers(m, "h264", 90000) {
			return nil
		}
	}
	return &offerError{http.StatusUnprocessableEntity, "None of the offer's H.264 formats can be taken. " + whipCodecHint + "."}
}

// trimErr bounds a parser's error for a reply: it may quote the input.
func trimErr(err error) string {
	return truncate(strings.ToValidUTF8(err.Error(), "?"), 160)
}
