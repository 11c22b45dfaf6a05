package main

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/givelive/givelive/internal/timecode"
)

// timecodePublisher is ffmpeg publishing frames that show the time they
// were made (internal/timecode), with a tone.
type timecodePublisher struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	last   chan int64 // the time shown in the last frame, once stopped
}

func publishTimecode(t *testing.T, url string) *timecodePublisher {
	t.Helper()
	const w, h = 640, 360
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", "rawvideo", "-pix_fmt", "gray", "-s", fmt.Sprintf("%dx%d", w, h), "-r", "30", "-i", "pipe:0",
		"-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-shortest",
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "60", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-flush_packets", "1", "-f", "flv", url)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &timecodePublisher{cmd: cmd, cancel: cancel, last: make(chan int64, 1)}
	go func() {
		last, _ := timecode.Write(ctx, in, w, h, 30, time.Now)
		in.Close() // ffmpeg encodes what it has, sends it, and exits
		p.last <- last
	}()
	t.Cleanup(func() {
		cancel()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return p
}

// stop ends the stream as an encoder does when the broadcaster clicks
// "Stop Streaming": everything encoded is sent, then the connection closes.
// It returns the time the last frame shows. With cutOff, the server has
// already closed the connection, and ffmpeg says so.
func (p *timecodePublisher) stop(t *testing.T, cutOff bool) int64 {
	t.Helper()
	p.cancel()
	last := <-p.last
	if err := p.cmd.Wait(); err != nil && !cutOff {
		t.Fatalf("ffmpeg: %v", err)
	}
	return last
}

// TestViewersSeeTheLastFrame: when the encoder stops, a viewer's page plays
// the stream to its last frame before it shows the offline card (the page
// reads the time code burned into every frame it shows), and then shows
// it. The same when the broadcaster ends the fundraiser mid-stream: the
// last frame sent before the end, then the ended card.
func TestViewersSeeTheLastFrame(t *testing.T) {
	needFFmpeg(t)
	needChromium(t)
	needWebBuild(t)
	s := startDemo(t, buildBinary(t))
	var ingest struct {
		StreamKey string `json:"stream_key"`
	}
	if code := getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser+"/ingest", s.bToken, nil, &ingest); code != http.StatusOK {
		t.Fatalf("ingest: %d", code)
	}
	b := newBrowser(t)
	if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: timecode.Probe}); err != nil {
		t.Fatal(err)
	}
	watcher := subscribed(t, s.base, "", s.fundraiser)

	// A frame is on screen for 33 ms and the page looks every 16 ms or so;
	// allow a few frames for a slow machine's missed animation frames.
	const slack = 5 * 33
	check := func(what string, last int64) {
		t.Helper()
		seen := evaluate[float64](t, b, `window.__timecode.last`)
		if int64(seen) < last-slack {
			b.screenshot(t, "failed")
			t.Fatalf("%s: the last frame the page showed was made at %d, %d ms before the last one sent (%d)", what, int64(seen), last-int64(seen), last)
		}
	}

	p := publishTimecode(t, s.rtmp+"/"+ingest.StreamKey)
	streamEvent(t, watcher, "live")
	b.do(t, "open the viewer page", chromedp.Navigate(s.base+"/f/"+s.fundraiser))
	b.waitFor(t, "time-coded frames", `window.__timecode.samples.length > 30`, 60*time.Second)
	last := p.stop(t, false)
	streamEvent(t, watcher, "offline")
	b.waitFor(t, "the offline card", `document.querySelector('[data-testid=offline]')`, 30*time.Second)
	check("the encoder stopped", last)
	b.screenshot(t, "1-offline-after-the-last-frame")

	p = publishTimecode(t, s.rtmp+"/"+ingest.StreamKey)
	streamEvent(t, watcher, "live")
	b.waitFor(t, "the player to start over", `document.querySelector('[data-testid=video]')?.dataset.state === 'live'`, 30*time.Second)
	b.do(t, "reset the probe", chromedp.Evaluate[chromedp.Void](`window.__timecode.samples = []`))
	b.waitFor(t, "time-coded frames again", `window.__timecode.samples.length > 30`, 60*time.Second)
	ended := time.Now().UnixMilli()
	if code := getJSON(t, "POST", s.base+"/api/v1/fundraisers/"+s.fundraiser+"/end", s.bToken, nil, nil); code != http.StatusOK {
		t.Fatalf("end the fundraiser: %d", code)
	}
	// The server cut the encoder off at once: what it had taken by then,
	// frames made up to a moment before the end, plays out.
	p.stop(t, true)
	b.waitFor(t, "the final page", `document.querySelector('[data-testid=final]')`, 30*time.Second)
	check("the fundraiser ended", ended-500+slack)
	if got := evaluate[string](t, b, `document.querySelector('[data-testid=final]').textContent`); !strings.Contains(got, "Thank you") || !strings.Contains(got, "has ended") {
		t.Fatalf("final page %q", got)
	}
	b.screenshot(t, "2-ended-after-the-last-frame")
}
