package main

import (
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestStudioShowsStreamHealth: while OBS-like settings with a 4 s keyframe
// interval publish, the studio's health panel shows the codec, size,
// frame rate and keyframe interval, and says in plain words to shorten the
// interval; the API answers the owner only, and "not live" once the stream
// stops.
func TestStudioShowsStreamHealth(t *testing.T) {
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
	healthURL := s.base + "/api/v1/fundraisers/" + s.fundraiser + "/stream/health"
	var health struct {
		Live     bool     `json:"live"`
		Warnings []string `json:"warnings"`
	}
	if code := getJSON(t, "GET", healthURL, s.bToken, nil, &health); code != http.StatusOK || health.Live || health.Warnings == nil {
		t.Fatalf("health before publishing: %d %+v", code, health)
	}
	if code := getJSON(t, "GET", healthURL, "", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("health without a token: %d, want 401", code)
	}

	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "120", "-c:v", "libx264", "-preset", "veryfast", "-g", "120", "-keyint_min", "120", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-f", "flv", s.rtmp+"/"+ingest.StreamKey)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	watcher := subscribed(t, s.base, "", s.fundraiser)
	streamEvent(t, watcher, "live")

	b := newBrowser(t)
	b.do(t, "open the studio", chromedp.Navigate(s.base+"/studio"))
	b.waitFor(t, "the sign-in form", `document.querySelector('[data-testid=studio-token]')`, 20*time.Second)
	b.do(t, "sign in",
		chromedp.SendKeys(chromedp.CSS(`[data-testid=studio-token]`), s.bToken),
		chromedp.Click(chromedp.CSS(`[data-testid=studio-signin]`)),
	)
	b.waitFor(t, "the health panel with a keyframe interval",
		`Number(document.querySelector('[data-testid=health-keyframes]')?.dataset.ms) > 3500`, 60*time.Second)
	video := evaluate[string](t, b, `document.querySelector('[data-testid=health-video]').textContent`)
	fps := evaluate[string](t, b, `document.querySelector('[data-testid=health-fps]').textContent`)
	audio := evaluate[string](t, b, `document.querySelector('[data-testid=health-audio]').textContent`)
	if video != "H.264, 640×360" || fps != "30 fps" || !strings.HasPrefix(audio, "AAC, 48.0 kHz") {
		t.Fatalf("health panel: video %q, frame rate %q, audio %q", video, fps, audio)
	}
	warnings := evaluate[string](t, b, `document.querySelector('[data-testid=health-warnings]')?.textContent ?? ''`)
	if !strings.Contains(warnings, "Keyframes arrive every 4.0 s") || !strings.Contains(warnings, "Keyframe Interval") {
		t.Fatalf("health warnings %q, want the keyframe interval named and how to fix it", warnings)
	}
	b.screenshot(t, "1-health")

	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	streamEvent(t, watcher, "offline")
	b.waitFor(t, "the panel gone", `!document.querySelector('[data-testid=studio-health]')`, 20*time.Second)
	if code := getJSON(t, "GET", healthURL, s.bToken, nil, &health); code != http.StatusOK || health.Live {
		t.Fatalf("health after the stream stopped: %d %+v", code, health)
	}
}
