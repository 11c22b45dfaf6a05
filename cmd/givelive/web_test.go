package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/givelive/givelive/client/web"
)

const chromiumPath = "/usr/bin/chromium"

// needChromium skips without Debian's Chromium, unless CI is set.
func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing (CI must install Debian's chromium): %v", chromiumPath, err)
		}
		t.Skipf("%s is missing; install Debian's chromium (apt-get install chromium) to run the browser test", chromiumPath)
	}
}

// needWebBuild skips when the web app's bundle was not built into
// client/web/dist (the binary under test embeds the same one), unless CI is
// set: `make test` builds it first.
func needWebBuild(t *testing.T) {
	t.Helper()
	if web.New(web.Options{}).Built() {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("the web app is not built; CI must run `make web` (make test does) before the tests")
	}
	t.Skip("the web app is not built; run `make web` (or make test) to run the browser test")
}

// artifactDir is where screenshots go: $GIVELIVE_ARTIFACTS/<test>, kept
// after the run, or a temporary directory.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if base := os.Getenv("GIVELIVE_ARTIFACTS"); base != "" {
		dir = filepath.Join(base, regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// browser is one headless Chromium tab with what its page logged.
type browser struct {
	ctx       context.Context
	artifacts string
	mu        sync.Mutex
	console   []string
}

// Collects CSP violations and uncaught errors from the first script on.
const pageProbe = `
window.__violations = [];
window.__errors = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
window.addEventListener('error', (e) => window.__errors.push(String(e.message)));
window.addEventListener('unhandledrejection', (e) => window.__errors.push('unhandled rejection: ' + String(e.reason)));
`

// newBrowser starts a headless Chromium tab; extra adds flags (a fake
// camera, say).
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, // root in CI
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })

	b := &browser{ctx: ctx, artifacts: artifactDir(t)}
	err := chromedp.Listen(ctx, func(ev any) {
		var line string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			var args []string
			for _, a := range ev.Args {
				args = append(args, strings.Trim(string(a.Value), `"`)+a.Description)
			}
			line = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
		case *runtime.EventExceptionThrown:
			line = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				line += " " + ev.ExceptionDetails.Exception.Description
			}
		default:
			return
		}
		b.mu.Lock()
		b.console = append(b.console, line)
		b.mu.Unlock()
	})
	if err != nil {
		t.Fatalf("failed to start %s: %v", chromiumPath, err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: pageProbe}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b.mu.Lock()
			t.Logf("browser console:\n%s", strings.Join(b.console, "\n"))
			b.mu.Unlock()
		}
	})
	return b
}

// do runs actions, failing the test (with a screenshot) if one fails.
func (b *browser) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.screenshot(t, "failed")
		t.Fatalf("%s: %v", what, err)
	}
}

// waitFor polls a JavaScript expression until it is truthy.
func (b *browser) waitFor(t *testing.T, what, expr string, timeout time.Duration) {
	t.Helper()
	b.do(t, what, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
}

func evaluate[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.screenshot(t, "failed")
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(b.artifacts, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}

// videoTime is the player's currentTime once it has a frame to show.
const videoTime = `(() => { const v = document.querySelector('[data-testid=video]'); return v && v.readyState >= 2 && !v.paused ? v.currentTime : 0 })()`

// TestViewerPageInBrowser is the web app's "done when" on the real binary
// in headless Chromium: ffmpeg publishes; the home page lists the live
// fundraiser; its viewer page plays the video; a donation made through the
// API appears in the ticker and moves the total at once, and its alert
// waits for the video to reach the moment it was made; a viewer signs in,
// gives from the page's form, and the "I donated" sticker unlocks and the
// donor badge shows in chat; a phone-sized screen lays out without
// sideways scrolling; stopping the stream shows the offline card. The page
// breaks no rule of its Content-Security-Policy and throws nothing.
func TestViewerPageInBrowser(t *testing.T) {
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
	publisher, _, _ := ffmpegPublish(t, s.rtmp+"/"+ingest.StreamKey, "180")
	watcher := subscribed(t, s.base, "", s.fundraiser)
	streamEvent(t, watcher, "live")

	b := newBrowser(t)
	viewerURL := s.base + "/f/" + s.fundraiser

	// The home page lists the fundraiser that is live; its link opens the viewer page.
	b.do(t, "open the home page", chromedp.Navigate(s.base+"/"))
	b.waitFor(t, "the live list", fmt.Sprintf(`document.querySelector('a[data-testid=live-link][href="/f/%s"]')`, s.fundraiser), 20*time.Second)
	// A live card: its picture, LIVE, how many watch (the WebSocket watcher) and what it raised.
	b.waitFor(t, "the live card", `(() => { const c = document.querySelector('[data-testid=live-list] [data-testid=card]'); return c && c.querySelector('img').naturalWidth === 1200 && c.querySelector('.live-badge') && c.querySelector('[data-testid=card-viewers]')?.textContent === '1 watching' && c.querySelector('[data-testid=card-raised]').textContent.includes('$0.00'); })()`, 20*time.Second)
	b.screenshot(t, "1-home")
	if _, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(`a[data-testid=live-link]`))); err != nil {
		b.screenshot(t, "failed")
		t.Fatalf("follow the live link: %v", err)
	}
	b.waitFor(t, "the viewer page", `location.pathname.startsWith('/f/') && document.querySelector('[data-testid=title]')`, 20*time.Second)
	if got := evaluate[string](t, b, `location.href`); got != viewerURL {
		t.Fatalf("the home page's link went to %s, want %s", got, viewerURL)
	}
	b.waitFor(t, "live updates", `document.querySelector('[data-testid=conn]')?.dataset.state === 'live'`, 20*time.Second)

	// The video plays: a frame to show, and time moving on.
	b.waitFor(t, "the video to play", videoTime+` > 0.5`, 60*time.Second)
	t0 := evaluate[float64](t, b, videoTime)
	b.waitFor(t, "the video's time to advance", fmt.Sprintf(`%s > %f`, videoTime, t0+1.5), 30*time.Second)
	if mode := evaluate[string](t, b, `document.querySelector('[data-testid=video]').src.slice(0, 5)`); mode != "blob:" {
		t.Fatalf("the video's src starts %q: Chromium should play through hls.js (Media Source Extensions)", mode)
	}
	b.screenshot(t, "2-playing")

	// The player's own controls: LIVE at the live edge, volume once
	// unmuted, full screen; behind the edge, Jump to live.
	b.waitFor(t, "LIVE at the edge", `document.querySelector('[data-testid=live-badge]')?.dataset.edge === 'true'`, 15*time.Second)
	b.do(t, "unmute", chromedp.Click(chromedp.CSS(`[data-testid=unmute]`)))
	b.waitFor(t, "the volume control", `document.querySelector('[data-testid=volume]') && !document.querySelector('[data-testid=video]').muted`, 20*time.Second)
	b.do(t, "mute", chromedp.Click(chromedp.CSS(`[data-testid=mute]`)))
	b.waitFor(t, "muted", `document.querySelector('[data-testid=video]').muted && document.querySelector('[data-testid=mute]').getAttribute('aria-pressed') === 'true'`, 20*time.Second)
	b.do(t, "full screen", chromedp.Click(chromedp.CSS(`[data-testid=fullscreen]`)))
	b.waitFor(t, "the screen in full screen", `document.fullscreenElement === document.querySelector('.screen')`, 20*time.Second)
	b.screenshot(t, "2b-fullscreen")
	b.do(t, "leave full screen", chromedp.Evaluate[chromedp.Void](`document.exitFullscreen()`))
	b.do(t, "fall behind (pause)", chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid=video]').pause()`))
	b.waitFor(t, "behind live, with a way back", `document.querySelector('[data-testid=live-badge]')?.dataset.edge === 'false' && document.querySelector('[data-testid=jump-live]')`, 15*time.Second)
	b.screenshot(t, "2c-behind")
	b.do(t, "jump to live", chromedp.Click(chromedp.CSS(`[data-testid=jump-live]`)))
	b.waitFor(t, "live again", `document.querySelector('[data-testid=live-badge]')?.dataset.edge === 'true' && !document.querySelector('[data-testid=jump-live]')`, 15*time.Second)

	// A donation through the API: the ticker and the total move at once;
	// the alert waits for the video to reach the donation's moment.
	raised := evaluate[int64](t, b, `Number(document.querySelector('[data-testid=raised]').dataset.raised)`)
	code, giftID, err := donate(s.base, s.fundraiser, "web-test-api-1", "", 4200, "Grace")
	if err != nil || code != http.StatusCreated {
		t.Fatalf("donate through the API: %d %v", code, err)
	}
	inTicker := fmt.Sprintf(`document.querySelector('[data-testid=donation][data-id="%s"]')`, giftID)
	b.waitFor(t, "the API donation in the ticker", inTicker, 15*time.Second)
	alert := fmt.Sprintf(`document.querySelector('[data-testid=alert][data-key="d-%s"]')`, giftID)
	if evaluate[bool](t, b, `!!`+alert) {
		t.Fatal("the donation's alert showed with the ticker, before the video reached the donation's moment")
	}
	if got := evaluate[string](t, b, inTicker+`.textContent`); !strings.Contains(got, "Grace") || !strings.Contains(got, "$42.00") {
		t.Fatalf("ticker entry %q, want Grace and $42.00", got)
	}
	b.waitFor(t, "the total to move", fmt.Sprintf(`Number(document.querySelector('[data-testid=raised]')?.dataset.raised) === %d`, raised+4200), 10*time.Second)
	b.waitFor(t, "the donation's alert", alert, 45*time.Second)
	timing := evaluate[map[string]string](t, b, `(() => { const a = `+alert+`; return { ts: a.dataset.ts, clock: a.dataset.clock, shown: a.dataset.shown }; })()`)
	var ts, clock, shown int64
	if _, err := fmt.Sscan(timing["ts"], &ts); err != nil {
		t.Fatalf("alert timing %v: %v", timing, err)
	}
	if _, err := fmt.Sscan(timing["clock"], &clock); err != nil {
		t.Fatalf("the alert showed without a program date-time to wait for: %v", timing)
	}
	_, _ = fmt.Sscan(timing["shown"], &shown)
	if clock < ts || shown-ts < 1000 {
		t.Fatalf("the alert showed at playback time %d for a donation at %d (%d ms after it): it should wait for the video", clock, ts, shown-ts)
	}
	t.Logf("the donation's alert showed %d ms after the donation, with the video at its moment (+%d ms)", shown-ts, clock-ts)
	b.screenshot(t, "3-donation-alert")

	// Sign in, give from the page, and the donor sticker unlocks.
	donated := `document.querySelector('[data-testid="sticker-i-donated"]')`
	if !evaluate[bool](t, b, donated+`.disabled && `+donated+`.dataset.locked === 'true'`) {
		t.Fatal("the i-donated sticker is usable before signing in and giving")
	}
	b.do(t, "sign in",
		chromedp.SendKeys(chromedp.CSS(`[data-testid=signin-name]`), "Lin"),
		chromedp.Click(chromedp.CSS(`[data-testid=signin-submit]`)),
	)
	b.waitFor(t, "signed in", `document.querySelector('[data-testid=me]')?.textContent === 'Lin'`, 10*time.Second)
	b.waitFor(t, "live updates as Lin", `document.querySelector('[data-testid=conn]')?.dataset.state === 'live' && !document.querySelector('[data-testid="sticker-heart"]').disabled`, 15*time.Second)
	if !evaluate[bool](t, b, donated+`.dataset.locked === 'true'`) {
		t.Fatal("the i-donated sticker is unlocked before giving")
	}
	raised = evaluate[int64](t, b, `Number(document.querySelector('[data-testid=raised]').dataset.raised)`)
	keys := loseFirstDonationAnswer(t, b)
	b.do(t, "give from the page",
		chromedp.Click(chromedp.CSS(`[data-testid=preset-1000]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=donor-message]`), "From the page <b>not bold</b>"),
		chromedp.Click(chromedp.CSS(`[data-testid=give]`)),
	)
	b.waitFor(t, "the donation to succeed", `document.querySelector('[data-testid=donate-result]')?.dataset.status === 'succeeded'`, 20*time.Second)
	if got := keys(); len(got) != 2 || got[0] != got[1] || len(got[0]) < 16 {
		t.Fatalf("Idempotency-Keys sent %q: want the same key twice (the answer to the first was lost)", got)
	}
	b.waitFor(t, "the i-donated sticker to unlock", donated+`.dataset.locked === 'false' && !`+donated+`.disabled`, 10*time.Second)
	b.waitFor(t, "the page's donation in the ticker", `[...document.querySelectorAll('[data-testid=donation]')].some((d) => d.textContent.includes('Lin') && d.textContent.includes('$10.00'))`, 15*time.Second)
	if n := evaluate[int](t, b, `[...document.querySelectorAll('[data-testid=donation]')].filter((d) => d.textContent.includes('Lin')).length`); n != 1 {
		t.Fatalf("the retried donation is in the ticker %d times, want once", n)
	}
	b.waitFor(t, "the total to include it", fmt.Sprintf(`Number(document.querySelector('[data-testid=raised]')?.dataset.raised) === %d`, raised+1000), 10*time.Second)
	if !evaluate[bool](t, b, `[...document.querySelectorAll('[data-testid=donation] .message')].some((m) => m.textContent === 'From the page <b>not bold</b>' && !m.querySelector('b'))`) {
		t.Fatal("the donation message was not rendered as text")
	}
	b.do(t, "send the sticker", chromedp.Click(chromedp.CSS(`[data-testid="sticker-i-donated"]`)))
	b.waitFor(t, "the sticker to fly", `document.querySelector('.floats .float')`, 10*time.Second)
	b.do(t, "chat",
		chromedp.SendKeys(chromedp.CSS(`[data-testid=chat-input]`), "thank you for streaming"),
		chromedp.Click(chromedp.CSS(`[data-testid=chat-send]`)),
	)
	b.waitFor(t, "the chat line with the donor badge", `[...document.querySelectorAll('[data-testid=chat-line]')].some((l) => l.textContent.includes('thank you for streaming') && l.dataset.badges.split(' ').includes('donor'))`, 10*time.Second)
	b.screenshot(t, "4-donated")

	// A phone: one column, nothing wider than the screen.
	b.do(t, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.waitFor(t, "the phone layout", `document.documentElement.scrollWidth <= 390`, 20*time.Second)
	b.screenshot(t, "5-phone")
	b.do(t, "desktop viewport", chromedp.EmulateViewport(1280, 900))

	// The stream stops: the offline card.
	if err := publisher.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	b.waitFor(t, "the offline card", `document.querySelector('[data-testid=offline]')`, 30*time.Second)
	b.screenshot(t, "6-offline")

	// Its video stopped, a live fundraiser is not listed as live: it is back soon.
	b.do(t, "the home page again", chromedp.Navigate(s.base+"/"))
	b.waitFor(t, "back soon, not live", fmt.Sprintf(`document.querySelector('[data-testid=soon-list] [data-id="%s"]')?.textContent.includes('Back soon') && !document.querySelector('[data-testid=live-list] [data-testid=card]')`, s.fundraiser), 15*time.Second)
	b.screenshot(t, "7-home-back-soon")

	if v := evaluate[[]string](t, b, `window.__violations`); len(v) > 0 {
		t.Fatalf("Content-Security-Policy violations: %q", v)
	}
	if e := evaluate[[]string](t, b, `window.__errors`); len(e) > 0 {
		t.Fatalf("the page threw: %q", e)
	}
}

// loseFirstDonationAnswer makes the browser drop the response to the next
// donation POST after the server has handled it, as a broken connection
// would, and lets later ones through. The func it returns stops that and
// lists the Idempotency-Key of each donation POST seen.
func loseFirstDonationAnswer(t *testing.T, b *browser) func() []string {
	t.Helper()
	ctx, stop := context.WithCancel(b.ctx)
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	_, err := chromedp.Call(b.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: "*/api/v1/fundraisers/*/donations", RequestStage: fetch.RequestStageResponse},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var keys []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range paused {
			if err != nil {
				return
			}
			mu.Lock()
			keys = append(keys, fmt.Sprint(ev.Request.Headers["Idempotency-Key"]))
			first := len(keys) == 1
			mu.Unlock()
			if first {
				_, err = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonConnectionReset})
			} else {
				_, err = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
			}
			if err != nil && ctx.Err() == nil {
				t.Errorf("interception: %v", err)
			}
		}
	}()
	var once sync.Once
	finish := func() {
		once.Do(func() {
			_, _ = chromedp.Call(b.ctx, fetch.Disable, cdp.Empty{})
			stop()
			<-done
		})
	}
	t.Cleanup(finish)
	return func() []string {
		finish()
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(keys)
	}
}

// TestViewerPageReconnects restarts the server under an open viewer page:
// the page reconnects by itself, the new server cannot replay what the page
// missed (its room history is new), so the page re-reads the snapshot; a
// donation made before the restart is shown once, and one made after it
// arrives live.
func TestViewerPageReconnects(t *testing.T) {
	needChromium(t)
	needWebBuild(t)
	bin := buildBinary(t)
	dataDir, addr := t.TempDir(), freeAddr(t)
	s := startDemoIn(t, bin, dataDir, addr)
	code, before, err := donate(s.base, s.fundraiser, "web-test-before", "", 1500, "Ada")
	if err != nil || code != http.StatusCreated {
		t.Fatalf("donate: %d %v", code, err)
	}

	b := newBrowser(t)
	b.do(t, "open the viewer page", chromedp.Navigate(s.base+"/f/"+s.fundraiser))
	b.waitFor(t, "live updates", `document.querySelector('[data-testid=conn]')?.dataset.state === 'live'`, 20*time.Second)
	b.waitFor(t, "the offline card", `document.querySelector('[data-testid=offline]')`, 20*time.Second)

	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
		s.exited <- nil // for the cleanup
	case <-time.After(testTimeout):
		t.Fatal("the server did not exit after SIGTERM")
	}
	b.waitFor(t, "the page to notice", `document.querySelector('[data-testid=conn]')?.dataset.state !== 'live'`, 10*time.Second)
	// The connection is said apart from the stream: "Reconnecting…", and
	// the stream is not declared ended.
	b.waitFor(t, "Reconnecting…", `document.querySelector('[data-testid=conn]')?.textContent === 'Reconnecting…' && document.querySelector('[data-testid=reconnecting]')`, 10*time.Second)
	if evaluate[bool](t, b, `document.body.textContent.includes('has ended')`) {
		t.Fatal("while reconnecting, the page says the fundraiser has ended")
	}
	b.screenshot(t, "1-reconnecting")

	s = startDemoIn(t, bin, dataDir, addr)
	b.waitFor(t, "the page to reconnect", `document.querySelector('[data-testid=conn]')?.dataset.state === 'live'`, 30*time.Second)
	code, after, err := donate(s.base, s.fundraiser, "web-test-after", "", 2500, "Bea")
	if err != nil || code != http.StatusCreated {
		t.Fatalf("donate: %d %v", code, err)
	}
	b.waitFor(t, "the new donation, live", fmt.Sprintf(`document.querySelector('[data-testid=donation][data-id="%s"]')`, after), 15*time.Second)
	b.waitFor(t, "the total", `Number(document.querySelector('[data-testid=raised]')?.dataset.raised) === 4000`, 10*time.Second)
	if n := evaluate[int](t, b, fmt.Sprintf(`document.querySelectorAll('[data-testid=donation][data-id="%s"]').length`, before)); n != 1 {
		t.Fatalf("the donation from before the restart is shown %d times, want once", n)
	}
	b.screenshot(t, "2-reconnected")
	if v := evaluate[[]string](t, b, `window.__violations`); len(v) > 0 {
		t.Fatalf("Content-Security-Policy violations: %q", v)
	}
}

// TestWebRoutes checks the binary routes the web app's paths to it, with
// its headers, and leaves the API's and the WebSocket's alone.
func TestWebRoutes(t *testing.T) {
	needWebBuild(t)
	s := startDemo(t, buildBinary(t))
	get := func(path string) (*http.Response, string) {
		t.Helper()
		res, err := http.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	for _, path := range []string{"/", "/f/" + s.fundraiser, "/overlay/" + s.fundraiser, "/studio"} {
		res, page := get(path)
		if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-cache" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "media-src 'self' blob:") {
			t.Fatalf("GET %s: %d %v", path, res.StatusCode, res.Header)
		}
		script := regexp.MustCompile(`src="(/assets/[a-z]+-[A-Z0-9]{8}\.js)"`).FindStringSubmatch(page)
		if script == nil {
			t.Fatalf("GET %s names no script:\n%s", path, page)
		}
		res, _ = get(script[1])
		if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
			res.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
			t.Fatalf("GET %s: %d %v", script[1], res.StatusCode, res.Header)
		}
	}
	if res, _ := get("/api/v1/fundraisers/" + s.fundraiser); res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("the API: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res, _ := get("/api/v1/nope"); res.StatusCode != 404 || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("an unknown API path: %d %s, want the API's problem+json 404", res.StatusCode, res.Header.Get("Content-Type"))
	}
	// Unknown pages and malformed or unknown ids: a page a person can read.
	for _, path := range []string{"/nope", "/f/not.an.id", "/f/f_00000000000000000000000000000000", "/fundraisers", "/overlay/x/y/z"} {
		res, page := get(path)
		if res.StatusCode != 404 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(page, "See who is live") {
			t.Fatalf("GET %s: %d %s\n%s", path, res.StatusCode, res.Header.Get("Content-Type"), page)
		}
	}
	for _, path := range []string{"/healthz", "/metrics"} {
		if res, _ := get(path); res.StatusCode != 200 || res.Header.Get("Content-Security-Policy") != "" {
			t.Fatalf("GET %s: %d, CSP %q", path, res.StatusCode, res.Header.Get("Content-Security-Policy"))
		}
	}
	_ = dialWS(t, s.base, "") // the WebSocket still upgrades
}
