package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Records sounds and speech the overlay makes, from the first script on.
const soundProbe = `
window.__alertSounds = [];
window.__spoken = [];
window.__chimes = 0;
`

// TestOverlayFeatures covers the overlay's items of issue 16: an unknown
// id says so on the page; a long message is cut, so an alert never covers
// half the screen (found: a 480-character message did); the alert's
// sound, the message read aloud above a chosen amount, a minimum amount,
// the streamer's image, colours, text and position; and the widgets as
// their own URLs: the goal with its label and percentage, on a background
// that stays legible over a green scene, the latest donor, the top donors
// and a ticker.
func TestOverlayFeatures(t *testing.T) {
	needChromium(t)
	needWebBuild(t)
	s := startDemo(t, buildBinary(t))
	b := newBrowser(t)
	for _, probe := range []string{overlayProbe, soundProbe} {
		if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: probe}); err != nil {
			t.Fatal(err)
		}
	}

	// An unknown fundraiser: an error OBS users can see.
	b.do(t, "open an unknown overlay", chromedp.Navigate(s.base+"/overlay/f_00000000000000000000000000000000"))
	b.waitFor(t, "the error", `document.querySelector('[data-testid=overlay-problem]')?.textContent.includes('no fundraiser')`, 15*time.Second)
	b.screenshot(t, "1-unknown")

	q := url.Values{
		"tts":      {"2000"},
		"min":      {"1000"},
		"template": {"{name} just gave {amount}"},
		"bg":       {"#223344"},
		"position": {"bottom"},
		"image":    {"https://example.invalid/cheer.gif"},
	}
	b.do(t, "open the overlay", chromedp.Navigate(s.base+"/overlay/"+s.fundraiser+"?"+q.Encode()))
	b.waitFor(t, "connected", `document.querySelector('[data-testid=overlay]')?.dataset.conn === 'live'`, 20*time.Second)

	// Below the minimum: no alert. Then a long message, cut.
	small := postGift(t, s, "ov-small", 500, "Small", "")
	long := strings.Repeat("This message goes on and on. ", 17)[:480]
	big := postGift(t, s, "ov-long", 1500, "Ann", long)
	alert := fmt.Sprintf(`document.querySelector('[data-testid=overlay-alert][data-id="%s"]')`, big)
	b.waitFor(t, "the alert", alert, 10*time.Second)
	b.waitFor(t, "the alert's entrance", alert+`?.getAnimations().length === 0`, 5*time.Second)
	got := evaluate[map[string]any](t, b, `(() => { const a = `+alert+`, r = a.getBoundingClientRect(); return {
		title: a.querySelector('.overlay-title').textContent, message: a.querySelector('[data-testid=overlay-message]').textContent,
		height: r.height, bottom: r.bottom, vh: innerHeight, bg: getComputedStyle(a).backgroundColor,
		image: a.querySelector('.overlay-image')?.getAttribute('src') ?? '' }; })()`)
	if got["title"] != "Ann just gave $15.00" {
		t.Errorf("the alert's title %q, want the template filled in", got["title"])
	}
	if m := got["message"].(string); len([]rune(m)) > 140 || !strings.HasSuffix(m, "…") {
		t.Errorf("the message is %d characters, want it cut to 140: %q", len([]rune(m)), m)
	}
	if h, vh := got["height"].(float64), got["vh"].(float64); h > 0.4*vh {
		t.Errorf("the alert is %.0f px high on a %.0f px screen: over 40%%", h, vh)
	}
	if got["bg"] != "rgb(34, 51, 68)" {
		t.Errorf("the alert's background %v, want the chosen #223344", got["bg"])
	}
	if bottom, vh := got["bottom"].(float64), got["vh"].(float64); bottom < 0.6*vh {
		t.Errorf("the alert ends at %.0f of %.0f px: not at the bottom", bottom, vh)
	}
	if got["image"] != "https://example.invalid/cheer.gif" {
		t.Errorf("the alert's image %v", got["image"])
	}
	if n := evaluate[int](t, b, `window.__chimes`); n != 1 {
		t.Errorf("%d chimes for one alert", n)
	}
	if spoken := evaluate[[]string](t, b, `window.__spoken`); len(spoken) != 0 {
		t.Errorf("a $15 gift was read aloud below the $20 threshold: %q", spoken)
	}
	b.screenshot(t, "2-long-message")

	// At or above the threshold, the message is read aloud.
	loud := postGift(t, s, "ov-tts", 3000, "Bea", "Go team!")
	b.waitFor(t, "the second alert", fmt.Sprintf(`document.querySelector('[data-testid=overlay-alert][data-id="%s"]')`, loud), 20*time.Second)
	if spoken := evaluate[[]string](t, b, `window.__spoken`); len(spoken) != 1 || !strings.Contains(spoken[0], "Bea gave $30.00. Go team!") {
		t.Errorf("read aloud: %q", spoken)
	}
	if shown := evaluate[[]string](t, b, `window.__alerts`); strings.Contains(strings.Join(shown, " "), small) {
		t.Errorf("the gift below the minimum got an alert: %q", shown)
	}

	// The widgets, each its own URL, at a small size too.
	for i, size := range [][2]int64{{1280, 720}, {800, 200}} {
		b.do(t, "size", chromedp.EmulateViewport(size[0], size[1]))
		b.do(t, "the goal widget", chromedp.Navigate(s.base+"/overlay/"+s.fundraiser+"/goal?label=Road%20to%20%245k"))
		b.waitFor(t, "the goal", `document.querySelector('[data-testid=overlay-percent]')?.textContent === '0%' || document.querySelector('[data-testid=overlay-percent]')?.textContent === '1%'`, 10*time.Second)
		goal := evaluate[map[string]string](t, b, `(() => { const g = document.querySelector('[data-testid=overlay-goal]'); return { text: g.textContent, bg: getComputedStyle(g).backgroundColor }; })()`)
		if !strings.Contains(goal["text"], "Road to $5k") || !strings.Contains(goal["text"], "$50.00") {
			t.Errorf("the goal widget %q", goal["text"])
		}
		// Legible over green: a dark, nearly opaque background.
		var r, g, bl int
		var a float64
		if _, err := fmt.Sscanf(goal["bg"], "rgba(%d, %d, %d, %f)", &r, &g, &bl, &a); err != nil || a < 0.7 || g > 80 {
			t.Errorf("the goal's background %q is not dark and solid enough to read over green", goal["bg"])
		}
		b.screenshot(t, fmt.Sprintf("3-goal-%d", i))
	}
	b.do(t, "size", chromedp.EmulateViewport(1280, 720))
	for widget, want := range map[string]string{"latest": "Bea · $30.00", "top": "Bea · $30.00", "ticker": "Ann $15.00"} {
		b.do(t, "the "+widget+" widget", chromedp.Navigate(s.base+"/overlay/"+s.fundraiser+"/"+widget))
		b.waitFor(t, "the "+widget+" widget", `document.querySelector('[data-testid=overlay-`+widget+`]')?.textContent.includes(`+jsString(want)+`)`, 10*time.Second)
		b.screenshot(t, "4-"+widget)
	}
	noViolations(t, b)
}

// postGift gives through the API and returns the donation's id.
func postGift(t *testing.T, s *demoServer, key string, amount int64, name, message string) string {
	t.Helper()
	var d struct {
		ID string `json:"id"`
	}
	code := postDonation(t, s.base, s.fundraiser, key, map[string]any{"amount": amount, "currency": "USD", "name": name, "message": message}, &d)
	if code != http.StatusCreated {
		t.Fatalf("donate: %d", code)
	}
	return d.ID
}
