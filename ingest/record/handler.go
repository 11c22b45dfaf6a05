package record

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Visible tells the replay handler whether a fundraiser's recordings may
// be served (it exists, and was not removed). Errors answer 503.
type Visible func(ctx context.Context, id string) (bool, error)

// Handler serves the replays under /replay/:
//
//	/replay/{id}/index.m3u8        the HLS playlist of every kept broadcast
//	/replay/{id}/listing.json      this node's broadcasts and segments (Listing), for other nodes
//	/replay/{id}/{broadcast}/init.mp4
//	/replay/{id}/{broadcast}/{n}.m4s
//
// The playlist is VOD (EXT-X-PLAYLIST-TYPE:VOD, EXT-X-ENDLIST) once no
// broadcast is being recorded, EVENT while one is; each broadcast starts
// with EXT-X-DISCONTINUITY (after the first) and its EXT-X-MAP, and every
// segment carries EXT-X-PROGRAM-DATE-TIME. Files answer Range requests and
// are cached as immutable. visible may be nil (everything recorded is
// served).
func (r *Recorder) Handler(visible Visible) http.Handler {
	return &handler{r: r, visible: visible}
}

// Remote finds the broadcasts of fundraiser id that other nodes keep, for
// the playlist; recording reports whether one of them is being recorded.
// An error leaves them out (the local ones are still served).
type Remote func(ctx context.Context, id string) (bs []Listing, recording bool, err error)

// HandlerWithRemote is Handler whose playlists also list the broadcasts
// remote names (their files are served by whoever routes /replay/ to the
// node that keeps them). It is not asked for a request that carries
// hopHeader, so a node asked by another lists its own broadcasts only.
func (r *Recorder) HandlerWithRemote(visible Visible, remote Remote, hopHeader string) http.Handler {
	return &handler{r: r, visible: visible, remote: remote, hop: hopHeader}
}

type handler struct {
	r       *Recorder
	visible Visible
	remote  Remote
	hop     string
}

// Listing is one broadcast and its segments, as listing.json carries it
// between nodes.
type Listing struct {
	Name     string           `json:"name"`
	Start    time.Time        `json:"start"`
	Ended    bool             `json:"ended"`
	Segments []ListingSegment `json:"segments"`
}

// ListingSegment is one segment of a Listing.
type ListingSegment struct {
	N          int       `json:"n"`
	DurationUS int64     `json:"duration_us"`
	Start      time.Time `json:"start"`
}

// maxListing bounds what a node accepts of another's listing.
const (
	MaxListingBytes    = 32 << 20
	maxListingSegments = 1 << 20
)

// broadcastOf turns a listing from another node into a broadcast to list,
// refusing what this node would not have written.
func broadcastOf(l Listing) (broadcast, bool) {
	if !broadcastName.MatchString(l.Name) || len(l.Segments) == 0 || len(l.Segments) > maxListingSegments || !plausible(l.Start) {
		return broadcast{}, false
	}
	ix := &index{Start: l.Start.UTC(), Ended: l.Ended}
	for i, s := range l.Segments {
		d := time.Duration(s.DurationUS) * time.Microsecond
		if s.N != i+1 || d < 0 || d > 24*time.Hour || !plausible(s.Start) {
			return broadcast{}, false
		}
		ix.Segments = append(ix.Segments, segment{N: s.N, Duration: d, Start: s.Start.UTC()})
	}
	return broadcast{name: l.Name, ix: ix, live: !l.Ended}, true
}

// plausible: a wall clock a recording could have (not zero, not before
// 2000, not past 9999: the playlist's dates stay well-formed).
func plausible(t time.Time) bool {
	return t.Year() >= 2000 && t.Year() <= 9999
}

func listingOf(b broadcast) Listing {
	l := Listing{Name: b.name, Start: b.ix.Start, Ended: !b.live, Segments: make([]ListingSegment, len(b.ix.Segments))}
	for i, s := range b.ix.Segments {
		l.Segments[i] = ListingSegment{N: s.N, DurationUS: s.Duration.Microseconds(), Start: s.Start}
	}
	return l
}

var segmentFile = regexp.MustCompile(`^(init\.mp4|[1-9][0-9]{0,8}\.m4s)$`)

func (h *handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range")
	switch req.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		hd.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
		hd.Set("Access-Control-Allow-Headers", "Range")
		hd.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		hd.Set("Allow", "GET, HEAD, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(req.URL.Path, "/replay/")
	if !ok {
		notFound(w)
		return
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 2 || !validID(parts[0]) {
		notFound(w)
		return
	}
	id := parts[0]
	if h.visible != nil {
		ok, err := h.visible(req.Context(), id)
		if err != nil {
			hd.Set("Retry-After", "2")
			hd.Set("Cache-Control", "no-store")
			http.Error(w, "the replay is unavailable for a moment; try again", http.StatusServiceUnavailable)
			return
		}
		if !ok {
			notFound(w)
			return
		}
	}
	switch {
	case len(parts) == 2 && parts[1] == "index.m3u8":
		h.playlist(w, req, id)
	case len(parts) == 2 && parts[1] == "listing.json":
		h.listing(w, req, id)
	case len(parts) == 3 && broadcastName.MatchString(parts[1]) && segmentFile.MatchString(parts[2]):
		h.file(w, req, filepath.Join(h.r.cfg.Dir, id, parts[1], parts[2]))
	default:
		notFound(w)
	}
}

func notFound(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-cache")
	http.Error(w, "no such replay", http.StatusNotFound)
}

func (h *handler) playlist(w http.ResponseWriter, req *http.Request, id string) {
	bs := h.r.broadcasts(id)
	recording := h.r.recording(id)
	if h.remote != nil && req.Header.Get(h.hop) == "" {
		more, rec, err := h.remote(req.Context(), id)
		if err != nil {
			h.r.log.Warn("replay: the broadcasts other nodes keep are left out of the playlist", "fundraiser", id, "err", err)
		}
		have := map[string]bool{}
		for _, b := range bs {
			have[b.name] = true
		}
		for _, l := range more {
			if b, ok := broadcastOf(l); ok && !have[b.name] {
				have[b.name] = true
				bs = append(bs, b)
			}
		}
		sortBroadcasts(bs)
		recording = recording || rec
	}
	if len(bs) == 0 {
		notFound(w)
		return
	}
	body := renderPlaylist(bs, !recording)
	hd := w.Header()
	hd.Set("Content-Type", "application/vnd.apple.mpegurl")
	if recording {
		hd.Set("Cache-Control", "no-cache")
	} else {
		hd.Set("Cache-Control", "public, max-age=10")
	}
	h.r.m.replayBytes.Add(float64(len(body)))
	http.ServeContent(w, req, "index.m3u8", time.Time{}, bytes.NewReader(body))
}

// listing answers this node's broadcasts of id as JSON.
func (h *handler) listing(w http.ResponseWriter, req *http.Request, id string) {
	bs := h.r.broadcasts(id)
	out := make([]Listing, len(bs))
	for i, b := range bs {
		out[i] = listingOf(b)
	}
	body, err := json.Marshal(out)
	if err != nil {
		http.Error(w, "failed to list", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-cache")
	http.ServeContent(w, req, "", time.Time{}, bytes.NewReader(body))
}

// renderPlaylist renders the replay playlist of broadcasts (oldest first);
// ended adds EXT-X-ENDLIST and makes it VOD.
func renderPlaylist(bs []broadcast, ended bool) []byte {
	target := 1
	for _, b := range bs {
		for _, s := range b.ix.Segments {
			target = max(target, int(math.Ceil(s.Duration.Seconds()-0.0005)))
		}
	}
	var out bytes.Buffer
	out.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n")
	fmt.Fprintf(&out, "#EXT-X-TARGETDURATION:%d\n", target)
	if ended {
		out.WriteString("#EXT-X-PLAYLIST-TYPE:VOD\n")
	} else {
		out.WriteString("#EXT-X-PLAYLIST-TYPE:EVENT\n")
	}
	out.WriteString("#EXT-X-INDEPENDENT-SEGMENTS\n")
	for i, b := range bs {
		if i > 0 {
			out.WriteString("#EXT-X-DISCONTINUITY\n")
		}
		fmt.Fprintf(&out, "#EXT-X-MAP:URI=\"%s/init.mp4\"\n", b.name)
		for _, s := range b.ix.Segments {
			fmt.Fprintf(&out, "#EXT-X-PROGRAM-DATE-TIME:%s\n#EXTINF:%.3f,\n%s/%d.m4s\n",
				s.Start.UTC().Format("2006-01-02T15:04:05.000Z"), s.Duration.Seconds(), b.name, s.N)
		}
	}
	if ended {
		out.WriteString("#EXT-X-ENDLIST\n")
	}
	return out.Bytes()
}

func (h *handler) file(w http.ResponseWriter, req *http.Request, path string) {
	f, err := os.Open(path)
	if err != nil {
		notFound(w)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		notFound(w)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "video/mp4")
	// A listed segment never changes; the sweeper deletes it whole.
	hd.Set("Cache-Control", "public, max-age=86400, immutable")
	h.r.m.replayBytes.Add(float64(st.Size()))
	http.ServeContent(w, req, "", st.ModTime(), f)
}

// ValidFile reports whether id, broadcast and file name a file the
// handler could serve (/replay/{id}/{broadcast}/{file}), without looking.
func ValidFile(id, broadcast, file string) bool {
	return validID(id) && broadcastName.MatchString(broadcast) && segmentFile.MatchString(file)
}

// ValidID reports whether id could be a fundraiser's recordings.
func ValidID(id string) bool { return validID(id) }
