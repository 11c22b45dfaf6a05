package hls

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
)

// frozen is the last window of an ended stream, copied out of its muxer:
// every playlist ends with EXT-X-ENDLIST, so players stop reloading and
// play what they have to its last frame. Immutable.
type frozen struct {
	files    map[string]*recorded
	segments int // in the leading media playlist
}

// firstContentWait bounds how long freezing waits for the muxer's
// multivariant playlist, which it holds back until a first segment exists:
// after the flush it is there at once, or never (the stream ended before).
const firstContentWait = 500 * time.Millisecond

// freeze copies st's playlists and every file they name. It returns nil
// and no error for a stream that ended before its first segment.
func freeze(st *Stream) (*frozen, error) {
	index, ok := st.fetch(playlistName, firstContentWait)
	if !ok || index.code != http.StatusOK {
		return nil, nil
	}
	pl, err := playlist.Unmarshal(index.body)
	if err != nil {
		return nil, fmt.Errorf("failed to read the multivariant playlist: %w", err)
	}
	mv, ok := pl.(*playlist.Multivariant)
	if !ok {
		return nil, errors.New("index.m3u8 is not a multivariant playlist")
	}
	fz := &frozen{files: map[string]*recorded{playlistName: index}}
	var media []string
	for _, v := range mv.Variants {
		media = append(media, fileName(v.URI))
	}
	for _, r := range mv.Renditions {
		if r.URI != nil {
			media = append(media, fileName(*r.URI))
		}
	}
	for i, name := range media {
		if _, done := fz.files[name]; done {
			continue
		}
		files, segments, err := st.freezeMedia(fz, name)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			fz.segments = segments
		}
		for _, f := range files {
			if _, done := fz.files[f]; done {
				continue
			}
			res, ok := st.fetch(f, firstContentWait)
			if !ok || res.code != http.StatusOK {
				return nil, fmt.Errorf("the muxer did not serve %s", f)
			}
			fz.files[f] = res
		}
	}
	return fz, nil
}

// freezeMedia stores the ended form of a media playlist and returns the
// files it names and how many segments it lists.
func (st *Stream) freezeMedia(fz *frozen, name string) ([]string, int, error) {
	res, ok := st.fetch(name, firstContentWait)
	if !ok || res.code != http.StatusOK {
		return nil, 0, fmt.Errorf("the muxer did not serve %s", name)
	}
	var m playlist.Media
	if err := m.Unmarshal(res.body); err != nil {
		return nil, 0, fmt.Errorf("failed to read %s: %w", name, err)
	}
	// The gaps the muxer lists before its first segments (for iOS) name
	// no file; an ended playlist does without them.
	gaps := 0
	for gaps < len(m.Segments) && m.Segments[gaps].Gap {
		gaps++
	}
	m.Segments = m.Segments[gaps:]
	m.MediaSequence += gaps
	if len(m.Segments) == 0 {
		return nil, 0, fmt.Errorf("%s lists no segment", name)
	}
	// Parts after the last segment belong to no finished segment; the
	// flush made them one, or they are lost with the muxer's last frames.
	m.Parts = nil
	m.PreloadHint = nil
	m.Endlist = true
	datePrograms(m.Segments)

	var files []string
	if m.Map != nil {
		files = append(files, fileName(m.Map.URI))
	}
	for _, seg := range m.Segments {
		files = append(files, fileName(seg.URI))
		for _, p := range seg.Parts {
			files = append(files, fileName(p.URI))
		}
	}
	body, err := m.Marshal()
	if err != nil {
		return nil, 0, fmt.Errorf("failed to write %s: %w", name, err)
	}
	fz.files[name] = &recorded{
		code:          http.StatusOK,
		contentType:   hdrPlaylistType,
		contentLength: []string{fmt.Sprint(len(body))},
		body:          body,
	}
	return files, len(m.Segments), nil
}

// datePrograms gives every segment an EXT-X-PROGRAM-DATE-TIME, counted back
// from the last dated one (the muxer dates the last two), so a player
// reading the ended playlist from its start still knows what time each
// frame shows.
func datePrograms(segs []*playlist.MediaSegment) {
	last := -1
	for i, s := range segs {
		if s.DateTime != nil {
			last = i
			break
		}
	}
	if last < 0 {
		return
	}
	t := *segs[last].DateTime
	for i := last - 1; i >= 0; i-- {
		t = t.Add(-segs[i].Duration)
		d := t
		segs[i].DateTime = &d
	}
	for i := last + 1; i < len(segs); i++ {
		if segs[i].DateTime == nil {
			d := segs[i-1].DateTime.Add(segs[i-1].Duration)
			segs[i].DateTime = &d
		}
	}
}

// fetch asks the muxer for name without blocking on it for longer than
// limit.
func (st *Stream) fetch(name string, limit time.Duration) (*recorded, bool) {
	f := st.startFlight(name, "")
	if f == nil {
		return nil, false
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-f.done:
		return f.res, true
	case <-t.C:
		return nil, false
	}
}

// fileName is the file a playlist URI names (they are relative, and may
// carry the query of the request that rendered the playlist).
func fileName(uri string) string {
	uri, _, _ = strings.Cut(uri, "?")
	if i := strings.LastIndexByte(uri, '/'); i >= 0 {
		uri = uri[i+1:]
	}
	return uri
}

// serveFrozen answers r for name from an ended stream.
func (s *Server) serveFrozen(w http.ResponseWriter, r *http.Request, fz *frozen, name string) int {
	res := fz.files[name]
	if res == nil {
		return writeProblem(w, r, http.StatusNotFound, detailNoSegment)
	}
	return s.writeRecorded(w, r, name, res, false)
}
