package main

import (
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/givelive/givelive/hub/wire"
)

// The browser tests of issue 16: each item of the viewer page, the home
// page, the studio and the overlay, at desktop and phone widths, with
// screenshots under $GIVELIVE_ARTIFACTS.

// contrastJS defines contrast(el), the WCAG contrast ratio of el's text
// colour against the first opaque background behind it.
const contrastJS = `
(() => {
  const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  window.contrast = (el) => {
    const fg = rgb(getComputedStyle(el).color);
    let bg = null;
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) { bg = c; break; }
    }
    bg = bg || [255, 255, 255];
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
  };
  return true;
})()
`

// press sends one key (Tab, Enter, or a character) to the page.
func (b *browser) press(t *testing.T, key string) {
	t.Helper()
	b.do(t, "press "+key, chromedp.KeyEvent(key))
}

// tabTo presses Tab until the focused element matches sel, as a keyboard
// user would; it fails after max presses.
func (b *browser) tabTo(t *testing.T, sel string, max int) {
	t.Helper()
	for range max {
		if evaluate[bool](t, b, `!!document.activeElement?.matches(`+jsString(sel)+`)`) {
			return
		}
		b.press(t, "\t")
	}
	b.screenshot(t, "failed")
	t.Fatalf("%s was not reached with %d presses of Tab (at %s)", sel, max, evaluate[string](t, b, `document.activeElement?.outerHTML.slice(0, 120) ?? ''`))
}

// typeKeys types text into the focused element, key by key.
func (b *browser) typeKeys(t *testing.T, text string) {
	t.Helper()
	b.do(t, "type", chromedp.KeyEvent(text))
}

func (b *browser) phone(t *testing.T) {
	t.Helper()
	b.do(t, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
}

func (b *browser) desktop(t *testing.T) {
	t.Helper()
	b.do(t, "desktop viewport", chromedp.EmulateViewport(1280, 900))
}

// newTab opens another tab in the same browser.
func (b *browser) newTab(t *testing.T) *browser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	tab := &browser{ctx: ctx, artifacts: b.artifacts}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: pageProbe}); err != nil {
		t.Fatal(err)
	}
	return tab
}

func noViolations(t *testing.T, b *browser) {
	t.Helper()
	if v := evaluate[[]string](t, b, `window.__violations`); len(v) > 0 {
		t.Fatalf("Content-Security-Policy violations: %q", v)
	}
	if e := evaluate[[]string](t, b, `window.__errors`); len(e) > 0 {
		t.Fatalf("the page threw: %q", e)
	}
}

// chatAs says texts in room as the viewer token is, and returns the
// messages' ids, in order.
func chatAs(t *testing.T, base, token, room string, texts ...string) (ids []string) {
	t.Helper()
	ws := subscribed(t, base, token, room)
	defer ws.CloseNow() // a chatter gone: no longer a viewer
	for i, text := range texts {
		send(t, ws, map[string]any{"op": "chat", "id": 50 + i, "room": room, "text": text})
	}
	replies := 0
	readUntil(t, ws, func(ev wire.Event, r wire.Reply) bool {
		if r.Op == "reply" && r.ID >= 50 {
			if !r.OK {
				t.Fatalf("chat: %+v", r.Error)
			}
			replies++
		}
		if ev.Type == wire.TypeChat {
			var c wire.ChatData
			_ = json.Unmarshal(ev.Data, &c)
			ids = append(ids, c.ID)
		}
		return replies == len(texts) && len(ids) == len(texts)
	})
	return ids
}

// TestViewerPageFeatures covers the viewer page's items of issue 16 (the
// player's own controls need video: TestViewerPageInBrowser covers them):
// recent chat on join, moderation applied; chat beside the video on a
// desktop and under it, in a tab, on a phone; sharing; the goal as a
// progressbar; contrast of the Give button and the amounts; sticker
// pictures; the locked sticker explained in words; viewers counted
// without the overlay and the studio; the chat's rules shown before
// anyone breaks them; a refusal that goes away; signing in, chatting and
// giving with the keyboard only; and, once ended, the final page.
func TestViewerPageFeatures(t *testing.T) {
	needChromium(t)
	needWebBuild(t)
	s := startDemo(t, buildBinary(t))
	base := "/api/v1/fundraisers/" + s.fundraiser

	// Chat before anyone opens the page; one line deleted.
	early, _ := session(t, s.base, "Early bird")
	ids := chatAs(t, s.base, early, s.fundraiser, "first!", "this one goes", "hello everyone")
	if code := getJSON(t, "DELETE", s.base+base+"/chat/"+ids[1], s.bToken, nil, nil); code != http.StatusNoContent {
		t.Fatalf("delete chat: %d", code)
	}

	b := newBrowser(t)
	viewerURL := s.base + "/f/" + s.fundraiser
	b.do(t, "open the viewer page", chromedp.Navigate(viewerURL))
	b.waitFor(t, "connected", `document.querySelector('[data-testid=conn]')?.dataset.state === 'live'`, 20*time.Second)
	evaluate[bool](t, b, contrastJS)

	// Recent chat on join, without the deleted line.
	lines := evaluate[[]string](t, b, `[...document.querySelectorAll('[data-testid=chat-line] .text')].map((l) => l.textContent)`)
	if strings.Join(lines, "|") != "first!|hello everyone" {
		t.Fatalf("chat on join %q, want the two lines not deleted", lines)
	}

	// Desktop: chat beside the video.
	if !evaluate[bool](t, b, `(() => { const v = document.querySelector('.screen').getBoundingClientRect(), c = document.querySelector('section.chat').getBoundingClientRect(); return c.left >= v.right - 1 && c.top < 200; })()`) {
		t.Fatal("on a desktop, chat is not beside the video")
	}

	// Sharing: the link, to copy.
	b.do(t, "share", chromedp.Click(chromedp.CSS(`[data-testid=share]`)))
	b.waitFor(t, "the share menu", `document.querySelector('[data-testid=share-url]')?.value === `+jsString(viewerURL), 5*time.Second)
	b.do(t, "copy the link", chromedp.Click(chromedp.CSS(`[data-testid=share-copy]`)))
	b.waitFor(t, "copied (or said why not)", `/copied|Copy failed/.test(document.querySelector('[data-testid=share-copy]').textContent)`, 5*time.Second)
	b.screenshot(t, "1-desktop-share")

	// The goal bar says its values; the Give button and amounts are legible.
	bar := evaluate[map[string]string](t, b, `(() => { const b = document.querySelector('[data-testid=goal-bar]'); return { role: b.getAttribute('role'), now: b.getAttribute('aria-valuenow'), max: b.getAttribute('aria-valuemax'), text: b.getAttribute('aria-valuetext') }; })()`)
	if bar["role"] != "progressbar" || bar["now"] != "0" || bar["max"] != "500000" || !strings.Contains(bar["text"], "$5,000.00") {
		t.Fatalf("the goal bar %v, want a progressbar with its values", bar)
	}
	for _, sel := range []string{"[data-testid=give]", "[data-testid=raised]", ".verified"} {
		if c := evaluate[float64](t, b, `contrast(document.querySelector(`+jsString(sel)+`))`); c < 4.5 {
			t.Errorf("%s has contrast %.2f, want at least 4.5", sel, c)
		}
	}

	// Stickers are pictures shipped with the app; the locked one says why, in words.
	if n := evaluate[int](t, b, `[...document.querySelectorAll('.sticker img')].filter((i) => /\/assets\/.*\.svg$/.test(i.src) && i.complete && i.naturalWidth > 0).length`); n != 7 {
		t.Fatalf("%d sticker pictures loaded, want 7 SVGs", n)
	}
	hint := evaluate[string](t, b, `(() => { const h = document.querySelector('[data-testid=sticker-hint]'); return h.offsetHeight > 0 ? h.textContent : ''; })()`)
	if !strings.Contains(hint, "Join the chat") {
		t.Fatalf("the sticker hint %q", hint)
	}

	// Viewers: this page only, not the overlay (another tab) nor a studio.
	overlay := b.newTab(t)
	overlay.do(t, "open the overlay", chromedp.Navigate(s.base+"/overlay/"+s.fundraiser))
	overlay.waitFor(t, "the overlay connected", `document.querySelector('[data-testid=overlay]')?.dataset.conn === 'live'`, 20*time.Second)
	studio := dialWS(t, s.base, s.bToken)
	send(t, studio, map[string]any{"op": "subscribe", "id": 1, "room": s.fundraiser})
	b.waitFor(t, "one watching", `document.querySelector('[data-testid=viewers]')?.textContent.includes('1 watching')`, 10*time.Second)
	other := dialWS(t, s.base, "")
	send(t, other, map[string]any{"op": "subscribe", "id": 1, "room": s.fundraiser})
	b.waitFor(t, "two watching", `document.querySelector('[data-testid=viewers]')?.textContent.includes('2 watching')`, 10*time.Second)

	// Keyboard only: sign in and chat.
	b.do(t, "start from the top", chromedp.Evaluate[chromedp.Void](`document.activeElement?.blur(), window.scrollTo(0, 0)`))
	b.tabTo(t, "[data-testid=signin-name]", 60)
	b.typeKeys(t, "Kim")
	b.press(t, "\r")
	b.waitFor(t, "signed in", `document.querySelector('[data-testid=me]')?.textContent === 'Kim'`, 10*time.Second)
	b.waitFor(t, "connected as Kim", `document.querySelector('[data-testid=conn]')?.dataset.state === 'live' && document.querySelector('[data-testid=chat-input]')`, 10*time.Second)
	b.do(t, "focus the chat", chromedp.Focus(chromedp.CSS(`[data-testid=chat-input]`)))
	b.typeKeys(t, "typed with the keyboard")
	b.press(t, "\r")
	b.waitFor(t, "the line", `[...document.querySelectorAll('[data-testid=chat-line]')].some((l) => l.textContent.includes('typed with the keyboard'))`, 10*time.Second)

	// The chat's rules, shown before anyone breaks them; a refusal that goes away.
	if code := getJSON(t, "PUT", s.base+base+"/slow-mode", s.bToken, map[string]int{"seconds": 30}, nil); code != http.StatusOK {
		t.Fatalf("slow mode: %d", code)
	}
	if code := getJSON(t, "PUT", s.base+base+"/chat-modes", s.bToken, map[string]any{"donors_only": true, "new_chatter_wait_seconds": 0}, nil); code != http.StatusOK {
		t.Fatalf("chat modes: %d", code)
	}
	b.waitFor(t, "the rules", `(() => { const r = document.querySelector('[data-testid=chat-rules]')?.textContent ?? ''; return r.includes('Slow mode: one message every 30 s') && r.includes('Donors only'); })()`, 10*time.Second)
	b.do(t, "chat again", chromedp.Focus(chromedp.CSS(`[data-testid=chat-input]`)))
	b.typeKeys(t, "not a donor yet")
	b.press(t, "\r")
	b.waitFor(t, "the refusal", `document.querySelector('[data-testid=chat-note]')?.textContent.includes('Only donors')`, 10*time.Second)
	b.screenshot(t, "2-desktop-refused")
	b.waitFor(t, "the refusal to go away", `!document.querySelector('[data-testid=chat-note]')`, 10*time.Second)

	// Keyboard only: give.
	b.do(t, "from the top", chromedp.Evaluate[chromedp.Void](`document.activeElement?.blur(), window.scrollTo(0, 0)`))
	b.tabTo(t, "[data-testid=preset-1000]", 80)
	b.press(t, "\r")
	b.tabTo(t, "[data-testid=give]", 20)
	b.press(t, "\r")
	b.waitFor(t, "the gift", `document.querySelector('[data-testid=donate-result]')?.dataset.status === 'succeeded'`, 20*time.Second)
	b.waitFor(t, "the sticker unlocked, said in words", `document.querySelector('[data-testid="sticker-i-donated"]').dataset.locked === 'false' && document.querySelector('[data-testid=sticker-hint]').textContent.includes('unlocked')`, 10*time.Second)
	b.screenshot(t, "3-desktop-given")

	// A phone: chat right under the video, in a tab; giving in another.
	b.phone(t)
	b.do(t, "to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	b.waitFor(t, "chat under the video", `(() => { const c = document.querySelector('section.chat').getBoundingClientRect(), v = document.querySelector('.screen').getBoundingClientRect(); return c.top >= v.bottom - 1 && c.top < 520 && document.documentElement.scrollWidth <= 390; })()`, 5*time.Second)
	b.screenshot(t, "4-phone-chat")
	b.do(t, "the Give tab", chromedp.Click(chromedp.CSS(`[data-testid=tab-give]`)))
	b.waitFor(t, "the form, chat hidden", `document.querySelector('[data-testid=donate-form]').offsetHeight > 0 && document.querySelector('section.chat').offsetHeight === 0`, 5*time.Second)
	b.screenshot(t, "5-phone-give")

	// The end: the final page, with the host's thanks.
	if code := getJSON(t, "PUT", s.base+base+"/thanks", s.bToken, map[string]string{"text": "You were amazing. Thank you!"}, nil); code != http.StatusOK {
		t.Fatalf("thanks: %d", code)
	}
	if code := getJSON(t, "POST", s.base+base+"/end", s.bToken, nil, nil); code != http.StatusOK {
		t.Fatalf("end: %d", code)
	}
	b.waitFor(t, "the final page", `document.querySelector('[data-testid=final-total]')?.textContent.includes('$10.00') && document.querySelector('[data-testid=final-thanks]')?.textContent.includes('You were amazing')`, 15*time.Second)
	total := evaluate[string](t, b, `document.querySelector('[data-testid=final-total]').textContent`)
	if !strings.Contains(total, "from 1 donor for Clean Water Demo Trust") {
		t.Fatalf("the final total %q", total)
	}
	if !evaluate[bool](t, b, `document.querySelector('[data-testid=final-top]')?.textContent.includes('Kim')`) {
		t.Fatal("the final page lacks the top donors")
	}
	b.screenshot(t, "6-phone-final")
	b.do(t, "the Chat tab", chromedp.Click(chromedp.CSS(`[data-testid=tab-chat]`)))
	b.waitFor(t, "chat closed", `document.querySelector('[data-testid=chat-closed]')?.offsetHeight > 0`, 5*time.Second)
	b.desktop(t)
	b.screenshot(t, "7-desktop-final")
	noViolations(t, b)
}

// TestHomePage: the home page says what GiveLive is and offers "Start a
// fundraiser"; a fundraiser with no video is not listed as live; a
// scheduled one is visible, coming up; cards show the amount raised and a
// picture, the fundraiser's link preview image. (A live card with its
// viewers, and one whose video stopped: TestViewerPageInBrowser.)
func TestHomePage(t *testing.T) {
	needChromium(t)
	needWebBuild(t)
	s := startDemo(t, buildBinary(t))
	var np struct {
		Items []struct{ ID string }
	}
	getJSON(t, "GET", s.base+"/api/v1/nonprofits", "", nil, &np)
	var second struct{ ID string }
	if code := getJSON(t, "POST", s.base+"/api/v1/fundraisers", s.bToken, map[string]any{
		"title": "Sunday bake-along", "nonprofit_id": np.Items[0].ID, "goal": map[string]any{"amount": 20000, "currency": "USD"},
	}, &second); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	if code, _, err := donate(s.base, s.fundraiser, "home-1", "", 2500, "Ann"); err != nil || code != http.StatusCreated {
		t.Fatalf("donate: %d %v", code, err)
	}
	// The demo fundraiser ends: it is listed as ended, with what it raised.
	if code := getJSON(t, "POST", s.base+"/api/v1/fundraisers/"+s.fundraiser+"/end", s.bToken, nil, nil); code != http.StatusOK {
		t.Fatalf("end: %d", code)
	}

	b := newBrowser(t)
	for _, size := range []string{"desktop", "phone"} {
		if size == "phone" {
			b.phone(t)
		}
		b.do(t, "open the home page", chromedp.Navigate(s.base+"/"))
		b.waitFor(t, "the lists", `document.querySelector('[data-testid=soon-list] [data-testid=card]')`, 15*time.Second)
		if got := evaluate[string](t, b, `document.querySelector('.hero').textContent`); !strings.Contains(got, "live-stream fundraisers for verified nonprofits") {
			t.Fatalf("the home page does not say what GiveLive is: %q", got)
		}
		if href := evaluate[string](t, b, `document.querySelector('[data-testid=start]').getAttribute('href')`); href != "/studio" {
			t.Fatalf("Start a fundraiser goes to %q", href)
		}
		if evaluate[bool](t, b, `!!document.querySelector('[data-testid=live-list] [data-testid=card]')`) {
			t.Fatal("a fundraiser without video is listed as live")
		}
		soon := fmt.Sprintf(`document.querySelector('[data-testid=soon-list] [data-id="%s"]')`, second.ID)
		if !evaluate[bool](t, b, `!!`+soon+` && `+soon+`.textContent.includes('Sunday bake-along') && `+soon+`.textContent.includes('Starting soon')`) {
			t.Fatal("the scheduled fundraiser is not shown as coming up")
		}
		ended := fmt.Sprintf(`document.querySelector('[data-testid=ended-list] [data-id="%s"]')`, s.fundraiser)
		b.waitFor(t, "the ended card's picture", ended+`?.querySelector('img')?.naturalWidth === 1200`, 10*time.Second)
		if got := evaluate[string](t, b, ended+`.querySelector('[data-testid=card-raised]').textContent`); !strings.Contains(got, "$25.00") {
			t.Fatalf("the ended card says %q, want $25.00 raised", got)
		}
		if size == "phone" && evaluate[int](t, b, `document.documentElement.scrollWidth`) > 390 {
			t.Fatal("the home page scrolls sideways on a phone")
		}
		b.screenshot(t, "home-"+size)
	}
	noViolations(t, b)
}

// TestLinkPreviewsAndNotFound: the HTML of /f/{id} names the fundraiser,
// its broadcaster, nonprofit and amount raised in Open Graph and Twitter
// tags, with an image that is a PNG; unknown pages are pages a person can
// read, in a browser too.
func TestLinkPreviewsAndNotFound(t *testing.T) {
	needWebBuild(t)
	s := startDemo(t, buildBinary(t))
	if code, _, err := donate(s.base, s.fundraiser, "og-1", "", 4200, "Ann"); err != nil || code != http.StatusCreated {
		t.Fatalf("donate: %d %v", code, err)
	}
	res, err := http.Get(s.base + "/f/" + s.fundraiser)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`<meta property="og:title" content="Demo stream for clean water">`,
		`Demo Broadcaster is raising money for Clean Water Demo Trust: $42.00 of $5,000.00 raised by 1 donor`,
		`<meta property="og:image" content="` + s.base + `/og/` + s.fundraiser + `.png">`,
		`<meta name="twitter:card" content="summary_large_image">`,
	} {
		if !strings.Contains(string(html), want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	res, err = http.Get(s.base + "/og/" + s.fundraiser + ".png")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(res.Body)
	res.Body.Close()
	if err != nil || img.Bounds().Dx() != 1200 {
		t.Fatalf("the preview image: %v", err)
	}
}

// TestNotFoundInBrowser: what a person sees at a mistyped address.
func TestNotFoundInBrowser(t *testing.T) {
	needChromium(t)
	needWebBuild(t)
	s := startDemo(t, buildBinary(t))
	b := newBrowser(t)
	for i, path := range []string{"/no-such-page", "/f/not.an.id", "/f/f_00000000000000000000000000000000"} {
		b.do(t, "open "+path, chromedp.Navigate(s.base+path))
		b.waitFor(t, "the page", `document.querySelector('[data-testid=not-found]')`, 10*time.Second)
		if i == 0 {
			b.phone(t)
		}
		b.screenshot(t, fmt.Sprintf("404-%d", i))
	}
	noViolations(t, b)
}
