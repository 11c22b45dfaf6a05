package record_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/givelive/givelive/ingest/record"
)

// fullDisk opens /dev/full for the media segments: every write of one
// fails with ENOSPC, as on a full disk.
func fullDisk(t *testing.T) func(string) (io.WriteCloser, error) {
	t.Helper()
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full on this system")
	}
	return func(name string) (io.WriteCloser, error) {
		if strings.HasSuffix(name, ".m4s") {
			return os.OpenFile("/dev/full", os.O_WRONLY, 0)
		}
		return os.Create(name)
	}
}

func TestDiskFullStopsTheRecordingNotTheStream(t *testing.T) {
	r := newRig(t, record.Config{Create: fullDisk(t)}, nil)
	src := r.begin("f1", t0)
	src.advance(3 * time.Second) // the first segment fails to write
	waitFor(t, "the recording to stop", func() bool {
		return r.metric("givelive_recordings_stopped_total", "reason", "write_error") == 1
	})
	// The live stream goes on: frames are taken and the playlist served.
	src.advance(3 * time.Second)
	if code, _, body := get(t, r.hls.URL+"/hls/f1/index.m3u8"); code != 200 {
		t.Fatalf("live playlist after the disk filled: %d %s", code, body)
	}
	src.st.End()
	waitFor(t, "the writer to finish", func() bool { return r.metric("givelive_recordings_active") == 0 })
	if n := strings.Count(r.logs.String(), "the disk is full"); n != 1 {
		t.Errorf("%d log lines about the full disk, want 1:\n%s", n, r.logs.String())
	}
	if r.metric("givelive_recordings_stopped_total", "reason", "write_error") != 1 {
		t.Error("the stop was counted more than once")
	}
	// Nothing listed: no replay, and no broken one.
	if code, _, _ := get(t, r.rep.URL+"/replay/f1/index.m3u8"); code != 404 {
		t.Errorf("replay of a recording with no segment: %d, want 404", code)
	}
}

// stalledDisk blocks every segment write until release is closed.
type stalledDisk struct {
	release chan struct{}
	once    sync.Once
}

func (s *stalledDisk) create(name string) (io.WriteCloser, error) {
	if strings.HasSuffix(name, ".m4s") {
		<-s.release
	}
	return os.Create(name)
}

func TestAFullQueueDropsTheRecordingNotTheStream(t *testing.T) {
	disk := &stalledDisk{release: make(chan struct{})}
	r := newRig(t, record.Config{Create: disk.create, QueueFrames: 16}, nil)
	t.Cleanup(func() { disk.once.Do(func() { close(disk.release) }) })
	src := r.begin("f1", t0)
	// The writer is stuck on the first segment; the publisher is not.
	src.advance(6 * time.Second)
	// The live stream goes on while the writer is stuck.
	if code, _, body := get(t, r.hls.URL+"/hls/f1/video1_stream.m3u8"); code != 200 || !strings.Contains(body, "#EXTINF") {
		t.Fatalf("live playlist while the recording is stuck: %d\n%s", code, body)
	}
	disk.once.Do(func() { close(disk.release) })
	src.st.End()
	waitFor(t, "the dropped recording to be counted", func() bool {
		return r.metric("givelive_recordings_stopped_total", "reason", "queue_full") == 1
	})
	if !strings.Contains(r.logs.String(), "fell behind") {
		t.Errorf("no log line about the writer falling behind:\n%s", r.logs.String())
	}
	// What was queued before the drop is kept and playable.
	s := r.waitDone("f1", 1)
	if s.Duration <= 0 || s.Duration >= 6*time.Second {
		t.Errorf("kept %v of a 6 s stream, want a truncated recording", s.Duration)
	}
}

func TestRetentionSweepDeletesOldBroadcasts(t *testing.T) {
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	r := newRig(t, record.Config{Retention: time.Hour, SweepEvery: time.Hour, Now: clock}, nil)

	old := r.begin("f1", t0)
	old.advance(3 * time.Second)
	old.st.End()
	r.waitDone("f1", 1)
	advance(50 * time.Minute)
	fresh := r.begin("f1", t0.Add(50*time.Minute))
	fresh.advance(3 * time.Second)
	fresh.st.End()
	r.waitDone("f1", 2)

	if n := r.rec.Sweep(); n != 0 {
		t.Fatalf("swept %d broadcasts younger than the retention", n)
	}
	advance(15 * time.Minute) // the first ended 65 min ago, the second 15
	if n := r.rec.Sweep(); n != 1 {
		t.Fatalf("swept %d, want the one past its retention", n)
	}
	if _, err := os.Stat(filepath.Join(r.dir, "f1", "1796673600000")); !os.IsNotExist(err) {
		t.Errorf("the old broadcast is still there: %v", err)
	}
	s := r.waitDone("f1", 1)
	if !s.StartedAt.Equal(t0.Add(50 * time.Minute)) {
		t.Errorf("the replay starts at %v, want the kept broadcast's start", s.StartedAt)
	}
	advance(time.Hour)
	if n := r.rec.Sweep(); n != 1 {
		t.Fatalf("swept %d, want the last one", n)
	}
	if _, err := os.Stat(filepath.Join(r.dir, "f1")); !os.IsNotExist(err) {
		t.Errorf("the fundraiser's empty directory is left: %v", err)
	}
	if r.metric("givelive_recordings_deleted_total") != 2 {
		t.Errorf("deleted_total = %v, want 2", r.metric("givelive_recordings_deleted_total"))
	}
}
