package main

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/givelive/givelive/ingest/hls"
	"github.com/givelive/givelive/ingest/record"
	"github.com/givelive/givelive/internal/config"
	"github.com/givelive/givelive/internal/mediadir"
	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/testredis"
)

// everyFundraiser is a ledger in which every fundraiser's replay may be seen.
type everyFundraiser struct{ store.Store }

func (everyFundraiser) GetFundraiser(context.Context, string) (store.Fundraiser, error) {
	return store.Fundraiser{}, nil
}

// replayNode is one node's replays on loopback, in a cluster on redis.
type replayNode struct {
	rp  *replays
	dir *mediadir.Directory
	srv *httptest.Server
}

func newReplayNode(t *testing.T, redis *testredis.Server, tweak func(*record.Config)) *replayNode {
	t.Helper()
	n := &replayNode{}
	var h atomic.Pointer[http.Handler]
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*h.Load()).ServeHTTP(w, r) }))
	t.Cleanup(n.srv.Close)
	dir, err := mediadir.New(mediadir.Config{URL: redis.URL(), Self: n.srv.URL, CacheTTL: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := dir.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	cfg := config.Config{RecordingsDir: t.TempDir()}
	rp, err := newReplaysWith(cfg, everyFundraiser{}, dir, nil, slog.New(slog.DiscardHandler), tweak)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rp.close)
	var hh http.Handler = rp
	h.Store(&hh)
	n.rp, n.dir = rp, dir
	return n
}

// A baseline stream's parameter sets.
var (
	clusterSPS, _ = hex.DecodeString("6742c00ad90426c044000003000400000300f03c489920")
	clusterPPS, _ = hex.DecodeString("68cb83cb20")
)

// feed writes d of a synthetic 30 fps H.264 + AAC stream from frame
// *frames on.
func feed(rec hls.Recording, start time.Time, frames *int, d time.Duration) {
	end := *frames + int(d/(time.Second/30))
	for ; *frames < end; *frames++ {
		f := *frames
		pts := int64(f) * 3000
		at := start.Add(time.Duration(pts) * time.Second / 90000)
		au := [][]byte{{0x41, 0x9a, byte(f), 0x80}}
		if f%30 == 0 {
			au = [][]byte{clusterSPS, clusterPPS, {0x65, 0x88, 0x84, byte(f), 0x80}}
		}
		rec.Video(at, pts, au)
		rec.Audio(at, pts*44100/90000, []byte{0x21, 0x00, 0x49, byte(f)})
	}
}

// A recording that stops on its node while the stream goes on there (its
// disk failed) is seen by every node as ended: the snapshot's replay is
// not recording, the playlist is a VOD with its end.
func TestReplayClusterAfterAStoppedRecording(t *testing.T) {
	redis := testredis.Start(t)
	var written atomic.Int32
	b := newReplayNode(t, redis, func(c *record.Config) {
		c.SegmentDuration = time.Second
		c.Create = func(name string) (io.WriteCloser, error) {
			if strings.HasSuffix(name, ".m4s") && written.Add(1) > 1 {
				return nil, errors.New("input/output error")
			}
			return os.Create(name)
		}
	})
	a := newReplayNode(t, redis, nil)
	ctx := context.Background()
	const id = "f1"
	// B is the fundraiser's live node for the whole test.
	if err := b.dir.Announce(ctx, id); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
	rec := b.rp.rec.Record(id, hls.Tracks{
		Video: &codecs.H264{SPS: clusterSPS, PPS: clusterPPS},
		Audio: &codecs.MPEG4Audio{Config: mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 44100, ChannelCount: 2}},
	})
	frames := 0
	feed(rec, start, &frames, 1500*time.Millisecond) // the first segment is written
	waitForReplay(t, "A to see B recording", func() bool {
		info, ok := a.rp.Replay(ctx, id)
		return ok && info.Recording
	})
	feed(rec, start, &frames, 1500*time.Millisecond) // the second fails: the recording stops, the stream goes on
	waitForReplay(t, "A to see the recording stopped", func() bool {
		info, ok := a.rp.Replay(ctx, id)
		return ok && !info.Recording && info.Available
	})
	var body string
	waitForReplay(t, "A's playlist to end", func() bool {
		res, err := http.Get(a.srv.URL + "/replay/" + id + "/index.m3u8")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		bb, _ := io.ReadAll(res.Body)
		body = string(bb)
		return res.StatusCode == 200 && strings.Contains(body, "#EXT-X-ENDLIST")
	})
	if !strings.Contains(body, "#EXT-X-PLAYLIST-TYPE:VOD") || !strings.Contains(body, "/1.m4s") {
		t.Errorf("A's playlist after B's recording stopped:\n%s", body)
	}
	feed(rec, start, &frames, time.Second)
	rec.End()
}

// waitForReplay polls cond until it holds, within 20 s.
func waitForReplay(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
