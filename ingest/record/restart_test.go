package record_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	mp4codecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"

	"github.com/givelive/givelive/ingest/record"
)

// failAfter lets the first n media segments be written, then fails every
// later one.
type failAfter struct {
	mu sync.Mutex
	n  int
}

type failingFile struct{}

func (failingFile) Write([]byte) (int, error) { return 0, errors.New("input/output error") }
func (failingFile) Close() error              { return nil }

func (f *failAfter) create(name string) (io.WriteCloser, error) {
	if strings.HasSuffix(name, ".m4s") {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.n == 0 {
			return failingFile{}, nil
		}
		f.n--
	}
	return os.Create(name)
}

// A recording that stops while its stream goes on is no longer
// "recording": the snapshot says so, its broadcast is listed as ended and
// its playlist is a VOD with an end.
func TestAStoppedRecordingIsNotRecording(t *testing.T) {
	var mu sync.Mutex
	var changes []string
	disk := &failAfter{n: 1}
	r := newRig(t, record.Config{Create: disk.create, OnChange: func(id string) {
		mu.Lock()
		changes = append(changes, id)
		mu.Unlock()
	}}, nil)
	src := r.begin("f1", t0)
	src.advance(3 * time.Second) // the first segment is written, the second fails
	waitFor(t, "the recording to stop", func() bool {
		return r.metric("givelive_recordings_stopped_total", "reason", "write_error") == 1
	})
	// The stream is not ended; the recording is.
	s := r.waitDone("f1", 1)
	if s.Duration <= 0 {
		t.Fatalf("kept %v, want the segment written before the failure", s.Duration)
	}
	bs := r.rec.Broadcasts("f1")
	if len(bs) != 1 || !bs[0].Ended {
		t.Errorf("Broadcasts = %+v, want one ended", bs)
	}
	ix, err := os.ReadFile(filepath.Join(r.dir, "f1", "1796673600000", "index.txt"))
	if err != nil || !strings.Contains(string(ix), "\nend ") {
		t.Errorf("the index has no end line (%v):\n%s", err, ix)
	}
	code, _, body := get(t, r.rep.URL+"/replay/f1/index.m3u8")
	if code != 200 || !strings.Contains(body, "#EXT-X-PLAYLIST-TYPE:VOD") || !strings.Contains(body, "#EXT-X-ENDLIST") {
		t.Errorf("playlist of a stopped recording: %d\n%s", code, body)
	}
	mu.Lock()
	n := len(changes)
	mu.Unlock()
	if n < 2 { // its start and its stop
		t.Errorf("%d changes told, want the start and the stop", n)
	}
	src.advance(time.Second) // the live stream goes on
	src.st.End()
	if n := strings.Count(r.logs.String(), "level="); n != 2 {
		t.Errorf("%d log lines, want 'recording started' and one about the failure:\n%s", n, r.logs.String())
	}
}

// A node that stopped mid-broadcast left an index without its end line:
// the next Recorder on that directory ends it and tells the change.
func TestANewRecorderEndsWhatItsNodeLeftUnfinished(t *testing.T) {
	dir := t.TempDir()
	b := filepath.Join(dir, "f1", "1796673600000")
	if err := os.MkdirAll(b, 0o755); err != nil {
		t.Fatal(err)
	}
	ix := "givelive-recording 1\nstart 1796673600000\nseg 1 2000000 1796673600000 100\nseg 2 2000000 1796673602000 100\nseg 3 20"
	if err := os.WriteFile(filepath.Join(b, "index.txt"), []byte(ix), 0o644); err != nil {
		t.Fatal(err)
	}
	var told []string
	rec, err := record.New(record.Config{Dir: dir, OnChange: func(id string) { told = append(told, id) }})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	if len(told) != 1 || told[0] != "f1" {
		t.Errorf("changes told at start: %v, want f1", told)
	}
	bs := rec.Broadcasts("f1")
	if len(bs) != 1 || !bs[0].Ended || bs[0].Duration != 4*time.Second {
		t.Errorf("Broadcasts = %+v, want one ended of 4s (the torn line left out)", bs)
	}
	got, _ := os.ReadFile(filepath.Join(b, "index.txt"))
	if !strings.HasSuffix(string(got), "seg 2 2000000 1796673602000 100\nend 1796673604000\n") {
		t.Errorf("index after the restart:\n%s", got)
	}
	if s, ok := rec.Summary("f1"); !ok || s.Recording {
		t.Errorf("Summary = %+v %v, want kept and not recording", s, ok)
	}
}

// A 320x240 baseline stream's SPS: the encoder changed its resolution.
var sps320, _ = hex.DecodeString("6742c00dd90141fb0110000003001000000303c0f142a480")

// A keyframe whose parameter sets differ from init.mp4's starts a new
// broadcast (its own init.mp4, a discontinuity): the frames after the
// change stay decodable.
func TestAResolutionChangeStartsANewBroadcast(t *testing.T) {
	r := newRig(t, record.Config{}, nil)
	src := r.begin("f1", t0)
	src.advance(3 * time.Second)
	src.sps = sps320
	src.advance(3 * time.Second)
	src.st.End()
	r.waitDone("f1", 2)
	bs := r.rec.Broadcasts("f1")
	if len(bs) != 2 || !bs[0].Ended || !bs[1].Ended {
		t.Fatalf("Broadcasts = %+v, want two ended", bs)
	}
	if bs[0].Duration < 2*time.Second || bs[1].Duration < 2*time.Second {
		t.Errorf("durations %v and %v, want about 3s each", bs[0].Duration, bs[1].Duration)
	}
	for i, want := range []int{64, 320} {
		b, err := os.ReadFile(filepath.Join(r.dir, "f1", bs[i].Name, "init.mp4"))
		if err != nil {
			t.Fatal(err)
		}
		var init fmp4.Init
		if err := init.Unmarshal(bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		c, ok := init.Tracks[0].Codec.(*mp4codecs.H264)
		if !ok {
			t.Fatalf("broadcast %d: codec %T", i, init.Tracks[0].Codec)
		}
		var p h264.SPS
		if err := p.Unmarshal(c.SPS); err != nil {
			t.Fatal(err)
		}
		if p.Width() != want {
			t.Errorf("broadcast %d's init.mp4 is %d wide, want %d", i, p.Width(), want)
		}
	}
	_, _, body := get(t, r.rep.URL+"/replay/f1/index.m3u8")
	if strings.Count(body, "#EXT-X-MAP") != 2 || strings.Count(body, "#EXT-X-DISCONTINUITY") != 1 || !strings.Contains(body, "#EXT-X-ENDLIST") {
		t.Errorf("playlist after a resolution change:\n%s", body)
	}
}

// holdClose writes segment files through, then holds their Close until
// release is closed.
type holdClose struct {
	release chan struct{}
	held    chan string
}

type heldFile struct {
	*os.File
	h *holdClose
}

func (f heldFile) Close() error {
	f.h.held <- f.Name()
	<-f.h.release
	return f.File.Close()
}

func (h *holdClose) create(name string) (io.WriteCloser, error) {
	f, err := os.Create(name)
	if err != nil || !strings.HasSuffix(name, ".m4s") {
		return f, err
	}
	return heldFile{File: f, h: h}, nil
}

// A segment still being written is never served: it is written under a
// name the handler does not serve and renamed once whole.
func TestASegmentBeingWrittenIsNotServed(t *testing.T) {
	h := &holdClose{release: make(chan struct{}), held: make(chan string, 1)}
	r := newRig(t, record.Config{Create: h.create}, nil)
	released := false
	release := func() {
		if !released {
			released = true
			close(h.release)
		}
	}
	t.Cleanup(release)
	src := r.begin("f1", t0)
	src.advance(1500 * time.Millisecond)
	name := <-h.held // the first segment is written, not yet closed
	if data, err := os.ReadFile(name); err != nil || len(data) == 0 {
		t.Fatalf("the held segment %s: %v, %d bytes", name, err, len(data))
	}
	if code, _, _ := get(t, r.rep.URL+"/replay/f1/1796673600000/1.m4s"); code != 404 {
		t.Errorf("a segment being written answered %d, want 404", code)
	}
	release()
	src.st.End()
	r.waitDone("f1", 1)
	if code, _, _ := get(t, r.rep.URL+"/replay/f1/1796673600000/1.m4s"); code != 200 {
		t.Errorf("the written segment answered %d, want 200", code)
	}
	for _, e := range mustReadDir(t, filepath.Join(r.dir, "f1", "1796673600000")) {
		if strings.Contains(e, ".tmp") {
			t.Errorf("a temporary file is left: %s", e)
		}
	}
}

func mustReadDir(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

type panicFile struct{}

func (panicFile) Write([]byte) (int, error) { panic("a bug in the writer") }
func (panicFile) Close() error              { return nil }

// A panic in one writer stops that recording only: counted, logged once,
// the other fundraiser's recording and the live streams go on.
func TestAPanicStopsOnlyThatRecording(t *testing.T) {
	r := newRig(t, record.Config{Create: func(name string) (io.WriteCloser, error) {
		if strings.Contains(name, "/bad/") && strings.HasSuffix(name, ".m4s") {
			return panicFile{}, nil
		}
		return os.Create(name)
	}}, nil)
	bad, good := r.begin("bad", t0), r.begin("good", t0)
	bad.advance(1500 * time.Millisecond)
	good.advance(1500 * time.Millisecond)
	waitFor(t, "the panic to be counted", func() bool {
		return r.metric("givelive_recordings_stopped_total", "reason", "media_error") == 1
	})
	bad.advance(time.Second) // the live stream goes on
	good.advance(time.Second)
	good.st.End()
	bad.st.End()
	if s := r.waitDone("good", 1); s.Duration < 2*time.Second {
		t.Errorf("the other recording kept %v, want about 2.5s", s.Duration)
	}
	waitFor(t, "the writers to finish", func() bool { return r.metric("givelive_recordings_active") == 0 })
	if n := strings.Count(r.logs.String(), "panicked"); n != 1 {
		t.Errorf("%d log lines about the panic, want 1:\n%s", n, r.logs.String())
	}
	if code, _, _ := get(t, r.hls.URL+"/hls/bad/index.m3u8"); code == 500 {
		t.Error("the live stream broke")
	}
}

// The sweeper deletes a fundraiser's expired broadcasts while a newer one
// of it is being written, and never the one being written.
func TestSweepSkipsOnlyTheBroadcastBeingWritten(t *testing.T) {
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r := newRig(t, record.Config{Retention: time.Hour, SweepEvery: time.Hour, Now: clock}, nil)
	old := r.begin("f1", t0)
	old.advance(2 * time.Second)
	old.st.End()
	r.waitDone("f1", 1)
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	cur := r.begin("f1", t0.Add(time.Minute)) // its wall clock is old: only its writer keeps it
	cur.advance(2 * time.Second)
	waitFor(t, "the current broadcast's first segment", func() bool {
		bs := r.rec.Broadcasts("f1")
		return len(bs) == 2 && bs[1].Duration > 0
	})
	if n := r.rec.Sweep(); n != 1 {
		t.Fatalf("swept %d, want the old broadcast only", n)
	}
	cur.advance(time.Second)
	cur.st.End()
	s := r.waitDone("f1", 1)
	if !s.StartedAt.Equal(t0.Add(time.Minute)) || s.Duration < 2*time.Second {
		t.Errorf("kept %+v, want the broadcast that was being written", s)
	}
}

// A stream alternating its parameter sets at every keyframe starts a
// bounded number of broadcasts, then its recording stops (media_error).
func TestParameterChangesAreBounded(t *testing.T) {
	r := newRig(t, record.Config{QueueFrames: 20_000}, nil) // the whole stream is queued at once
	src := r.begin("f1", t0)
	for i := 0; i < 110; i++ {
		if i%2 == 0 {
			src.sps = sps320
		} else {
			src.sps = nil
		}
		src.advance(time.Second) // one keyframe a second
	}
	waitFor(t, "the recording to stop", func() bool {
		return r.metric("givelive_recordings_stopped_total", "reason", "media_error") == 1
	})
	src.st.End()
	waitFor(t, "the writer to finish", func() bool { return r.metric("givelive_recordings_active") == 0 })
	if n := len(r.rec.Broadcasts("f1")); n < 100 || n > 102 {
		t.Errorf("%d broadcasts, want about 101", n)
	}
}

// A stream whose timestamps go back at a keyframe (its encoder restarted
// them; the live muxer refuses such frames, the recording must not stop
// at them) goes on in a new broadcast: decode times never go back within
// one.
func TestTimestampsGoingBackStartANewBroadcast(t *testing.T) {
	r := newRig(t, record.Config{}, nil)
	rec := r.rec.Record("f1", tracks())
	write := func(from, to int, back int64) {
		for f := from; f < to; f++ {
			pts := int64(f)*3000 - back
			at := t0.Add(time.Duration(f) * time.Second / 30)
			au := [][]byte{{0x41, 0x9a, byte(f), 0x80}}
			if f%30 == 0 {
				au = [][]byte{sps, pps, {0x65, 0x88, 0x84, byte(f), 0x80}}
			}
			rec.Video(at, pts, au)
		}
	}
	write(0, 90, 0)
	write(90, 180, 10*90000) // 10 s back from the keyframe at frame 90 on
	rec.End()
	r.waitDone("f1", 2)
	bs := r.rec.Broadcasts("f1")
	if len(bs) != 2 || bs[0].Duration < 2*time.Second || bs[1].Duration < 2*time.Second {
		t.Fatalf("Broadcasts = %+v, want two of about 3s", bs)
	}
}

// A stream whose first keyframe brings its own PPS and whose later ones
// bring the SPS alone is one broadcast: the parameters a keyframe does not
// carry are those of its init.mp4, not the track's.
func TestAKeyframeWithSomeParametersIsNoChange(t *testing.T) {
	r := newRig(t, record.Config{}, nil)
	other := []byte{0x68, 0xce, 0x06, 0xe2} // a PPS the track does not have
	rec := r.rec.Record("f1", tracks())
	for f := 0; f < 150; f++ {
		pts := int64(f) * 3000
		au := [][]byte{{0x41, 0x9a, byte(f), 0x80}}
		switch {
		case f == 0:
			au = [][]byte{sps, other, {0x65, 0x88, 0x84, byte(f), 0x80}}
		case f%30 == 0:
			au = [][]byte{sps, {0x65, 0x88, 0x84, byte(f), 0x80}}
		}
		rec.Video(t0.Add(time.Duration(f)*time.Second/30), pts, au)
	}
	rec.End()
	r.waitDone("f1", 1)
	if bs := r.rec.Broadcasts("f1"); len(bs) != 1 {
		t.Errorf("%d broadcasts, want one", len(bs))
	}
}
