package hls

import "time"

// Recorder records every stream the Server begins (ingest/record's
// Recorder implements it). Record is called from Begin, on the
// publisher's goroutine, and must not block.
type Recorder interface {
	Record(id string, tracks Tracks) Recording
}

// Recording receives one stream's frames after the muxer took them, and
// its end. Its methods are called by the publisher's goroutine, in order,
// and must return at once: a recording that cannot keep up drops itself,
// never the live stream. The frame slices are the publisher's: a Recording
// that keeps them copies them.
type Recording interface {
	// Video takes an H.264 or H.265 access unit or an AV1 temporal unit.
	Video(ntp time.Time, pts int64, au [][]byte)
	// Audio takes an AAC access unit or an Opus packet.
	Audio(ntp time.Time, pts int64, frame []byte)
	// End ends the recording; later calls do nothing.
	End()
}

// noRecording is the Recording of a Server without a Recorder.
type noRecording struct{}

func (noRecording) Video(time.Time, int64, [][]byte) {}
func (noRecording) Audio(time.Time, int64, []byte)   {}
func (noRecording) End()                             {}
