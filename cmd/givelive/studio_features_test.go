package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// oneLine is true when every element sel matches sits on one line.
func oneLine(sel string) string {
	return `[...document.querySelectorAll(` + jsString(sel) + `)].every((e) => e.getClientRects().length === 1)`
}

// TestStudioFeatures covers the studio's items of issue 16, at desktop
// and phone widths: status badges that never wrap mid-word; chat rows on
// one line, with badges and times; the share panel (link, copy, QR code);
// the donor feed (times, a sound and a highlight for new gifts, failed
// gifts apart); moderation (timeouts, the list of bans, unbanning, chat
// modes); the overlay builder with its preview and a test alert; on a
// phone the selected fundraiser first; after the end no "Go live" panel,
// and the closing thanks, which the viewer page shows.
func TestStudioFeatures(t *testing.T) {
	needChromium(t)
	needWebBuild(t)
	s := startDemo(t, buildBinary(t))
	base := s.base + "/api/v1/fundraisers/" + s.fundraiser
	var np struct {
		Items []struct{ ID string }
	}
	getJSON(t, "GET", s.base+"/api/v1/nonprofits", "", nil, &np)
	if code := getJSON(t, "POST", s.base+"/api/v1/fundraisers", s.bToken, map[string]any{
		"title": "A very long fundraiser title that goes on and on about wells", "nonprofit_id": np.Items[0].ID,
		"goal": map[string]any{"amount": 20000, "currency": "USD"},
	}, nil); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	// A gift the payment provider declines (the sandbox declines 99.02).
	if code, _, err := donate(s.base, s.fundraiser, "studio-declined", "", 9902, "Declined"); err != nil || code != http.StatusCreated {
		t.Fatalf("donate: %d %v", code, err)
	}

	b := newBrowser(t)
	if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `window.__chimes = 0;`}); err != nil {
		t.Fatal(err)
	}
	b.do(t, "open the studio", chromedp.Navigate(s.base+"/studio"))
	b.do(t, "sign in",
		chromedp.SendKeys(chromedp.CSS(`[data-testid=studio-token]`), s.bToken),
		chromedp.Click(chromedp.CSS(`[data-testid=studio-signin]`)),
	)
	b.do(t, "pick the demo", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-testid=studio-fundraiser][data-id="%s"]`, s.fundraiser))))
	b.waitFor(t, "connected", fmt.Sprintf(`document.querySelector('[data-testid=studio-control][data-id="%s"]') && document.querySelector('[data-testid=studio-conn]')?.dataset.state === 'live'`, s.fundraiser), 20*time.Second)
	if !evaluate[bool](t, b, oneLine(".status")) {
		t.Fatal("a status badge wraps")
	}

	// The share panel: the viewer page's link, to copy, and its QR code.
	if got := evaluate[string](t, b, `document.querySelector('[data-testid=viewer-url]').href`); got != s.base+"/f/"+s.fundraiser {
		t.Fatalf("the viewer link %q", got)
	}
	b.do(t, "the QR code", chromedp.Click(chromedp.CSS(`[data-testid=show-qr]`)))
	b.waitFor(t, "the QR code", `document.querySelector('[data-testid=qr]')?.naturalWidth > 0`, 10*time.Second)

	// The declined gift is set apart.
	b.waitFor(t, "the declined gift apart", `document.querySelector('[data-testid=studio-feed-open] [data-status=failed]')?.textContent.includes('Declined')`, 10*time.Second)
	if evaluate[bool](t, b, `[...document.querySelectorAll('[data-testid=studio-feed] [data-testid=studio-donation]')].some((r) => r.textContent.includes('Declined'))`) {
		t.Fatal("the declined gift is among the counted ones")
	}

	// A new gift: a sound, a highlight, its time.
	donorToken, _ := session(t, s.base, "Grace")
	code, gift, err := donate(s.base, s.fundraiser, "studio-new", donorToken, 2500, "Grace")
	if err != nil || code != http.StatusCreated {
		t.Fatalf("donate: %d %v", code, err)
	}
	row := fmt.Sprintf(`document.querySelector('[data-testid=studio-feed] [data-id="%s"]')`, gift)
	b.waitFor(t, "the new gift, highlighted", row+`?.classList.contains('fresh')`, 10*time.Second)
	if !evaluate[bool](t, b, `window.__chimes > 0 && /\d/.test(`+row+`.querySelector('.feed-time').textContent)`) {
		t.Fatal("no sound, or no time, for the new gift")
	}

	// Chat rows on one line, with the donor badge and a time.
	chatAs(t, s.base, donorToken, s.fundraiser, "thank you for streaming")
	line := `[...document.querySelectorAll('[data-testid=studio-chat-line]')].find((l) => l.textContent.includes('thank you for streaming'))`
	b.waitFor(t, "the chat line", line, 10*time.Second)
	geo := evaluate[map[string]float64](t, b, `(() => { const l = `+line+`; const r = (s) => l.querySelector(s).getBoundingClientRect().top; return { who: r('.who'), text: r('.text'), del: r('[data-testid=chat-delete]'), badge: l.querySelector('[data-testid=badge-donor]') ? 1 : 0, time: /\d/.test(l.querySelector('.feed-time').textContent) ? 1 : 0 }; })()`)
	if geo["badge"] != 1 || geo["time"] != 1 {
		t.Fatalf("the studio's chat line lacks the donor badge or its time: %v", geo)
	}
	for _, k := range []string{"text", "del"} {
		if d := geo[k] - geo["who"]; d > 6 || d < -6 {
			t.Fatalf("the chat row is broken over lines (%s is %.0f px off the name): %v", k, d, geo)
		}
	}
	b.screenshot(t, "1-desktop")

	// A timeout from the chat, listed, then lifted.
	loudToken, loudID := session(t, s.base, "Loud")
	chatAs(t, s.base, loudToken, s.fundraiser, "SPAM SPAM")
	loud := `[...document.querySelectorAll('[data-testid=studio-chat-line]')].find((l) => l.textContent.includes('SPAM SPAM'))`
	b.waitFor(t, "the loud line", loud, 10*time.Second)
	loudLine := evaluate[string](t, b, loud+`.dataset.id`)
	b.do(t, "timeout", chromedp.Click(chromedp.CSS(`[data-testid=studio-chat-line][data-id="`+loudLine+`"] [data-testid=chat-timeout]`)))
	b.do(t, "10 minutes", chromedp.Click(chromedp.CSS(`[data-testid=studio-chat-line][data-id="`+loudLine+`"] [data-testid=timeout-600]`)))
	ban := fmt.Sprintf(`document.querySelector('[data-testid=ban][data-user="%s"]')`, loudID)
	b.waitFor(t, "the timeout listed", ban+`?.textContent.includes('timed out until')`, 10*time.Second)
	b.screenshot(t, "2-desktop-timeout")
	b.do(t, "lift it", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-testid=ban][data-user="%s"] [data-testid=unban]`, loudID))))
	b.waitFor(t, "the list empty", `!`+ban, 10*time.Second)

	// Chat modes.
	b.do(t, "donors only", chromedp.Click(chromedp.CSS(`[data-testid=donors-only]`)))
	b.do(t, "new chatters wait 5 minutes",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid=wait-minutes]').value = ''`),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=wait-minutes]`), "5"),
		chromedp.Click(chromedp.CSS(`[data-testid=wait-set]`)))
	waitFor(t, "the chat modes in force", func() bool {
		var snap struct {
			Chat struct {
				DonorsOnly bool `json:"donors_only"`
				Wait       int  `json:"new_chatter_wait_seconds"`
			} `json:"chat"`
		}
		getJSON(t, "GET", base, "", nil, &snap)
		return snap.Chat.DonorsOnly && snap.Chat.Wait == 300
	})

	// The overlay builder: a widget's URL, previewed; a test alert reaches an open overlay.
	overlay := b.newTab(t)
	overlay.do(t, "open the overlay", chromedp.Navigate(s.base+"/overlay/"+s.fundraiser))
	overlay.waitFor(t, "the overlay connected", `document.querySelector('[data-testid=overlay]')?.dataset.conn === 'live'`, 20*time.Second)
	b.do(t, "send a test alert", chromedp.Click(chromedp.CSS(`[data-testid=test-alert]`)))
	overlay.waitFor(t, "the test alert", `document.querySelector('[data-testid=overlay-alert]')?.dataset.id.startsWith('test-') && document.querySelector('[data-testid=overlay-alert]').textContent.includes('Test donor')`, 10*time.Second)
	overlay.screenshot(t, "3-test-alert")
	b.do(t, "the goal widget", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('[data-testid=overlay-widget]'); s.value = 'goal'; s.dispatchEvent(new Event('change', { bubbles: true })); })()`))
	b.waitFor(t, "the goal widget's URL, previewed", fmt.Sprintf(`document.querySelector('[data-testid=overlay-url]').textContent === %q && document.querySelector('[data-testid=overlay-preview]').src === %q`,
		s.base+"/overlay/"+s.fundraiser+"/goal", s.base+"/overlay/"+s.fundraiser+"/goal"), 5*time.Second)
	b.screenshot(t, "4-desktop-overlay-builder")

	// A phone: the selected fundraiser first, badges whole.
	b.phone(t)
	b.waitFor(t, "the fundraiser above the list and the form", `document.querySelector('[data-testid=studio-control]').getBoundingClientRect().top < document.querySelector('[data-testid=studio-create]').getBoundingClientRect().top && document.querySelector('[data-testid=studio-control]').getBoundingClientRect().top < document.querySelector('[data-testid=studio-fundraisers]').getBoundingClientRect().top`, 5*time.Second)
	if !evaluate[bool](t, b, oneLine(".status")) || evaluate[int](t, b, `document.documentElement.scrollWidth`) > 390 {
		t.Fatal("on a phone, a status badge wraps or the page scrolls sideways")
	}
	b.do(t, "to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	b.screenshot(t, "5-phone")

	// The end: no "Go live" panel; the closing thanks reach the viewer page.
	b.desktop(t)
	b.do(t, "end", chromedp.Click(chromedp.CSS(`[data-testid=end]`)))
	b.do(t, "confirm", chromedp.Click(chromedp.CSS(`[data-testid=end-confirm]`)))
	b.waitFor(t, "ended", `document.querySelector('[data-testid=studio-status]')?.dataset.status === 'ended' && document.querySelector('[data-testid=thanks-form]')`, 10*time.Second)
	if evaluate[bool](t, b, `!!document.querySelector('[data-testid=ingest-panel]') || !!document.querySelector('[data-testid=rotate-key]')`) {
		t.Fatal("the Go live panel is still shown after the end")
	}
	viewer := b.newTab(t)
	viewer.do(t, "open the viewer page", chromedp.Navigate(s.base+"/f/"+s.fundraiser))
	viewer.waitFor(t, "the final page", `document.querySelector('[data-testid=final]')`, 15*time.Second)
	b.do(t, "write the thanks", chromedp.SendKeys(chromedp.CSS(`[data-testid=thanks-text]`), "Thank you all, we did it!"), chromedp.Click(chromedp.CSS(`[data-testid=thanks-save]`)))
	viewer.waitFor(t, "the thanks on the viewer page", `document.querySelector('[data-testid=final-thanks]')?.textContent.includes('we did it')`, 10*time.Second)
	b.screenshot(t, "6-desktop-ended")
	viewer.screenshot(t, "7-viewer-final")
	if strings.Contains(evaluate[string](t, b, `location.href`), s.bToken) {
		t.Fatal("the token is in the URL")
	}
	noViolations(t, b)
}
