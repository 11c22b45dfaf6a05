package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/givelive/givelive/ingest"
	"github.com/givelive/givelive/ingest/hls"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// keys is a stream key table: key → fundraiser id; the id "ended" stands
// for a fundraiser that has ended.
type keys map[string]string

func (k keys) PublishKey(_ context.Context, key string) (string, error) {
	id, ok := k[key]
	switch {
	case !ok:
		return "", ingest.ErrUnknownKey
	case id == "ended":
		return "", fmt.Errorf("ended: %w", ingest.ErrNotAllowed)
	}
	return id, nil
}

// events records what the server reports, in order.
type events struct {
	mu   sync.Mutex
	list []string
	ch   chan string
}

func newEvents() *events { return &events{ch: make(chan string, 64)} }

func (e *events) add(s string) {
	e.mu.Lock()
	e.list = append(e.list, s)
	e.mu.Unlock()
	e.ch <- s
}

func (e *events) StreamLive(_ context.Context, id string)    { e.add("live " + id) }
func (e *events) StreamOffline(_ context.Context, id string) { e.add("offline " + id) }

func (e *events) all() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.list...)
}

// wait waits for the next event and checks it.
func (e *events) wait(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	select {
	case got := <-e.ch:
		if got != want {
			t.Fatalf("event %q, want %q (so far %q)", got, want, e.all())
		}
	case <-time.After(timeout):
		t.Fatalf("no %q within %s (so far %q)", want, timeout, e.all())
	}
}

// logOnFailure returns a logger (debug level) whose lines the test prints
// if it fails: what the servers saw is the first thing to read when a test
// fails only under load.
func logOnFailure(t testing.TB) *slog.Logger {
	var mu sync.Mutex
	var buf bytes.Buffer
	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			defer mu.Unlock()
			t.Logf("server log:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// rig is an ingest server and its HLS on loopback.
type rig struct {
	srv     *ingest.Server
	hls     *hls.Server
	web     *httptest.Server
	rtmp    string // rtmp://127.0.0.1:port/live
	events  *events
	reg     *prometheus.Registry
	stopped chan error
}

func newRig(t testing.TB, edit ...func(*ingest.Config)) *rig {
	t.Helper()
	r := &rig{events: newEvents(), reg: prometheus.NewRegistry()}
	log := logOnFailure(t)
	var err error
	r.hls, err = hls.NewServer(hls.Config{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	cfg := ingest.Config{
		Keys:       keys{"key-1": "f1", "key-2": "f2", "key-ended": "ended"},
		Events:     r.events,
		HLS:        r.hls,
		Registerer: r.reg,
		Logger:     log,
	}
	for _, f := range edit {
		f(&cfg)
	}
	r.srv, err = ingest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.rtmp = "rtmp://" + ln.Addr().String() + "/live"
	r.stopped = make(chan error, 1)
	go func() { r.stopped <- r.srv.Serve(ln) }()
	r.web = httptest.NewServer(r.hls)
	t.Cleanup(func() {
		r.web.Close()
		r.srv.Close()
		if err := <-r.stopped; err != ingest.ErrServerClosed {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
		r.hls.Close()
	})
	return r
}

func (r *rig) playlistURL(id string) string { return r.web.URL + "/hls/" + id + "/index.m3u8" }

func (r *rig) refusals(reason string) float64 {
	return counter(r.reg, "givelive_ingest_refused_total", reason)
}

// counter reads a counter from the registry: the one with a label of that
// value, or the unlabelled one when label is "".
func counter(reg *prometheus.Registry, name, label string) float64 {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" && len(m.GetLabel()) == 0 {
				return m.GetCounter().GetValue()
			}
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// needTools skips without ffmpeg and ffprobe, unless CI is set, where a
// missing tool is a failure.
func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed (CI must install Debian's ffmpeg): %v", tool, err)
			}
			t.Skipf("%s is not installed; install Debian's ffmpeg to run this test", tool)
		}
	}
}

// publisher is an ffmpeg process publishing a test pattern with sound.
type publisher struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan error
}

// publishOpts shape the test stream.
type publishOpts struct {
	seconds  int
	realtime bool     // -re: as fast as a camera
	video    []string // codec options; default x264 with B-frames, 1 s GOP
	audio    []string // default AAC
	output   []string // extra output options (-output_ts_offset)
}

// publish starts ffmpeg publishing to url.
func publish(t *testing.T, url string, o publishOpts) *publisher {
	t.Helper()
	if o.seconds == 0 {
		o.seconds = 5
	}
	if o.video == nil {
		o.video = []string{"-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "30", "-keyint_min", "30", "-pix_fmt", "yuv420p"}
	}
	if o.audio == nil {
		o.audio = []string{"-c:a", "aac", "-b:a", "64k"}
	}
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error"}
	if o.realtime {
		args = append(args, "-re")
	}
	args = append(args,
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", strconv.Itoa(o.seconds))
	args = append(args, o.video...)
	args = append(args, o.audio...)
	args = append(args, o.output...)
	args = append(args, "-f", "flv", url)
	p := &publisher{cmd: exec.Command("ffmpeg", args...), stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start ffmpeg: %v", err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		p.done <- nil
	})
	return p
}

// wait waits for ffmpeg to exit and returns its error.
func (p *publisher) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(timeout):
		t.Fatalf("ffmpeg still running after %s; stderr: %s", timeout, p.stderr)
		return nil
	}
}

// probe is what ffprobe sees in an HLS stream.
type probe struct {
	Streams []struct {
		CodecName string `json:"codec_name"`
		CodecType string `json:"codec_type"`
		Profile   string `json:"profile"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func ffprobe(t *testing.T, url string) probe {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries",
		"stream=codec_name,codec_type,profile,width,height:format=duration", "-of", "json", url).Output()
	if err != nil {
		code, _, body := get(t, url)
		t.Fatalf("ffprobe %s: %v (the playlist now: %d %s)", url, exitDetail(err), code, body)
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe output %s: %v", out, err)
	}
	return p
}

func (p probe) duration() float64 {
	d, _ := strconv.ParseFloat(p.Format.Duration, 64)
	return d
}

// decode has ffmpeg decode the whole stream and fails on any error it
// reports.
func decode(t *testing.T, url string) {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-xerror", "-i", url, "-f", "null", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg could not decode %s cleanly: %v\n%s", url, err, stderr.String())
	}
}

// videoDTS lists the decode timestamps ffprobe reads for the video.
func videoDTS(t *testing.T, url string) []float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
		"packet=dts_time", "-of", "csv=p=0", url).Output()
	if err != nil {
		t.Fatalf("ffprobe packets: %v", exitDetail(err))
	}
	var dts []float64
	for _, line := range strings.Fields(string(out)) {
		v, err := strconv.ParseFloat(strings.TrimSuffix(line, ","), 64)
		if err == nil {
			dts = append(dts, v)
		}
	}
	return dts
}

func exitDetail(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return err.Error() + ": " + string(ee.Stderr)
	}
	return err.Error()
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}
