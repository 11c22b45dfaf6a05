package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/givelive/givelive/hub/wire"
)

// Records every overlay alert the page ever shows, by donation id, from
// the first script on, with what it said as it appeared: alerts come and
// go (a slow machine may take longer to answer the test than the alert
// stays), and the test must see them all.
const overlayProbe = `
window.__alerts = [];
window.__alertSeen = {};
new MutationObserver((records) => {
  for (const r of records) for (const n of r.addedNodes) {
    if (n.nodeType !== 1) continue;
    const found = n.matches('[data-testid=overlay-alert]') ? [n] : [...n.querySelectorAll('[data-testid=overlay-alert]')];
    for (const a of found) {
      window.__alerts.push(a.dataset.id);
      window.__alertSeen[a.dataset.id] = { text: a.textContent, tier: a.dataset.tier || '', tags: String(a.querySelectorAll('b, i').length) };
    }
  }
}).observe(document, { childList: true, subtree: true });
`

// TestOverlayInBrowser loads the OBS overlay on the real binary: its page
// is transparent; a donation made before it loaded is never announced; one
// made through the API while it is open shows at once, as text, styled by
// its tier, exactly once (a retry with the same Idempotency-Key adds
// nothing), then leaves after the configured duration; the goal bar moves.
func TestOverlayInBrowser(t *testing.T) {
	needChromium(t)
	needWebBuild(t)
	s := startDemo(t, buildBinary(t))
	code, old, err := donate(s.base, s.fundraiser, "overlay-old", "", 1500, "Before")
	if err != nil || code != http.StatusCreated {
		t.Fatalf("donate: %d %v", code, err)
	}

	b := newBrowser(t)
	if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: overlayProbe}); err != nil {
		t.Fatal(err)
	}
	b.do(t, "open the overlay", chromedp.Navigate(s.base+"/overlay/"+s.fundraiser+"?duration=3&tiers=500,2500"))
	b.waitFor(t, "live updates", `document.querySelector('[data-testid=overlay]')?.dataset.conn === 'live'`, 20*time.Second)
	b.waitFor(t, "the goal bar", `Number(document.querySelector('[data-testid=overlay-raised]')?.dataset.raised) === 1500`, 20*time.Second)
	for _, el := range []string{"document.documentElement", "document.body"} {
		if bg := evaluate[string](t, b, `getComputedStyle(`+el+`).backgroundColor`); bg != "rgba(0, 0, 0, 0)" {
			t.Fatalf("%s's background is %q, want transparent", el, bg)
		}
	}
	b.screenshot(t, "1-idle")

	body := map[string]any{"amount": 3000, "currency": "USD", "name": "<b>Ada</b>", "message": "for the <i>cats</i>"}
	var gift struct {
		ID string `json:"id"`
	}
	for range 2 { // the second is a retry: the same donation, no new event
		code := postDonation(t, s.base, s.fundraiser, "overlay-new", body, &gift)
		if code != http.StatusCreated && code != http.StatusOK {
			t.Fatalf("donate: %d", code)
		}
	}
	alert := fmt.Sprintf(`document.querySelector('[data-testid=overlay-alert][data-id="%s"]')`, gift.ID)
	seen := fmt.Sprintf(`window.__alertSeen[%q]`, gift.ID)
	b.waitFor(t, "the alert", seen, 20*time.Second)
	got := evaluate[map[string]string](t, b, seen)
	if !strings.Contains(got["text"], "<b>Ada</b>") || !strings.Contains(got["text"], "$30.00") || !strings.Contains(got["text"], "for the <i>cats</i>") || got["tags"] != "0" {
		t.Fatalf("the alert %v: want the name, amount and message as text", got)
	}
	if got["tier"] != "2" {
		t.Fatalf("the alert's tier %q, want 2 (3000 ≥ 2500)", got["tier"])
	}
	b.waitFor(t, "the goal bar to move", `Number(document.querySelector('[data-testid=overlay-raised]')?.dataset.raised) === 4500`, 20*time.Second)
	// For the screenshot: the alert once it has entered (or, on a slow
	// machine, already gone).
	b.waitFor(t, "the alert's entrance", `!`+alert+` || `+alert+`.getAnimations().length === 0`, 20*time.Second)
	b.screenshot(t, "2-alert")

	// The alert leaves after its duration; nothing else was ever shown.
	b.waitFor(t, "the alert to leave", `!document.querySelector('[data-testid=overlay-alert]')`, 20*time.Second)
	if shown := evaluate[[]string](t, b, `window.__alerts`); len(shown) != 1 || shown[0] != gift.ID {
		t.Fatalf("alerts shown %q, want only %s once (never %s, from before the page loaded)", shown, gift.ID, old)
	}

	// A gift that crosses the goal's 25 % milestone ($1,250 of $5,000):
	// its alert, then the milestone's.
	if code, _, err := donate(s.base, s.fundraiser, "overlay-big", "", 130000, "Big"); err != nil || code != http.StatusCreated {
		t.Fatalf("donate: %d %v", code, err)
	}
	b.waitFor(t, "the milestone alert", `document.querySelector('[data-testid=overlay-alert][data-kind=milestone]')?.textContent.includes('$1,250.00')`, 20*time.Second)
	b.screenshot(t, "3-milestone")
	if v := evaluate[[]string](t, b, `window.__violations`); len(v) > 0 {
		t.Fatalf("Content-Security-Policy violations: %q", v)
	}
	if e := evaluate[[]string](t, b, `window.__errors`); len(e) > 0 {
		t.Fatalf("the page threw: %q", e)
	}
}

// TestOverlayReconnects restarts the server under an open overlay: it
// reconnects, announces the donation made after, and none from before.
func TestOverlayReconnects(t *testing.T) {
	needChromium(t)
	needWebBuild(t)
	bin := buildBinary(t)
	dataDir, addr := t.TempDir(), freeAddr(t)
	s := startDemoIn(t, bin, dataDir, addr)
	if code, _, err := donate(s.base, s.fundraiser, "overlay-before", "", 1500, "Ada"); err != nil || code != http.StatusCreated {
		t.Fatalf("donate: %d %v", code, err)
	}

	b := newBrowser(t)
	if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: overlayProbe}); err != nil {
		t.Fatal(err)
	}
	b.do(t, "open the overlay", chromedp.Navigate(s.base+"/overlay/"+s.fundraiser+"?goal=0"))
	b.waitFor(t, "live updates", `document.querySelector('[data-testid=overlay]')?.dataset.conn === 'live'`, 20*time.Second)
	if evaluate[bool](t, b, `!!document.querySelector('[data-testid=overlay-goal]')`) {
		t.Fatal("goal=0 still shows the goal bar")
	}

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
	b.waitFor(t, "the page to notice", `document.querySelector('[data-testid=overlay]')?.dataset.conn !== 'live'`, 10*time.Second)
	s = startDemoIn(t, bin, dataDir, addr)
	b.waitFor(t, "the page to reconnect", `document.querySelector('[data-testid=overlay]')?.dataset.conn === 'live'`, 30*time.Second)
	code, after, err := donate(s.base, s.fundraiser, "overlay-after", "", 2500, "Bea")
	if err != nil || code != http.StatusCreated {
		t.Fatalf("donate: %d %v", code, err)
	}
	b.waitFor(t, "the new donation's alert", fmt.Sprintf(`window.__alertSeen[%q]`, after), 20*time.Second)
	b.screenshot(t, "1-after-restart")
	if shown := evaluate[[]string](t, b, `window.__alerts`); len(shown) != 1 || shown[0] != after {
		t.Fatalf("alerts shown %q, want only %s", shown, after)
	}
}

// postDonation gives with the given body and Idempotency-Key and decodes the answer.
func postDonation(t *testing.T, base, fundraiser, key string, body map[string]any, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", base+"/api/v1/fundraisers/"+fundraiser+"/donations", strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatalf("donation answer: %v", err)
	}
	return res.StatusCode
}

// Keeps the text of every blob the page makes a URL for: the CSV report
// is fetched and saved through one.
const blobProbe = `
window.__blobs = [];
const createObjectURL = URL.createObjectURL;
URL.createObjectURL = (b) => { b.text().then((t) => window.__blobs.push(t)); return createObjectURL.call(URL, b); };
`

// TestStudioInBrowser runs the broadcaster's studio on the real binary:
// sign in with the demo's broadcaster token, which stays out of every URL;
// the demo fundraiser is listed and selected; the stream key is hidden
// until revealed and then matches GET …/ingest; a donation made through
// the API shows in the donor feed at once; its shout-out reaches a viewer
// subscribed on the WebSocket; a chat message is deleted, its writer
// banned and slow mode set, each reaching viewers; the CSV report
// downloads; ending (after a confirmation) ends the fundraiser.
func TestStudioInBrowser(t *testing.T) {
	needChromium(t)
	needWebBuild(t)
	s := startDemo(t, buildBinary(t))
	var ingest struct {
		URL string `json:"ingest_url"`
		Key string `json:"stream_key"`
	}
	if code := getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser+"/ingest", s.bToken, nil, &ingest); code != http.StatusOK {
		t.Fatalf("ingest: %d", code)
	}
	watcher := subscribed(t, s.base, "", s.fundraiser)

	b := newBrowser(t)
	if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: blobProbe}); err != nil {
		t.Fatal(err)
	}
	b.do(t, "open the studio", chromedp.Navigate(s.base+"/studio"))
	b.waitFor(t, "the sign-in form", `document.querySelector('[data-testid=studio-token]')`, 20*time.Second)
	b.screenshot(t, "1-signin")
	b.do(t, "sign in",
		chromedp.SendKeys(chromedp.CSS(`[data-testid=studio-token]`), s.bToken),
		chromedp.Click(chromedp.CSS(`[data-testid=studio-signin]`)),
	)
	control := fmt.Sprintf(`document.querySelector('[data-testid=studio-control][data-id="%s"]')`, s.fundraiser)
	b.waitFor(t, "the fundraiser listed and selected", fmt.Sprintf(`document.querySelector('[data-testid=studio-fundraiser][data-id="%s"]') && %s`, s.fundraiser, control), 20*time.Second)
	b.waitFor(t, "live updates", `document.querySelector('[data-testid=studio-conn]')?.dataset.state === 'live'`, 20*time.Second)

	// The key: hidden, then revealed, and the one the API gives.
	b.waitFor(t, "the ingest details", `document.querySelector('[data-testid=stream-key]')`, 10*time.Second)
	if got := evaluate[string](t, b, `document.body.textContent`); strings.Contains(got, ingest.Key) {
		t.Fatal("the stream key shows before Reveal")
	}
	if got := evaluate[string](t, b, `document.querySelector('[data-testid=ingest-url]').textContent`); got != ingest.URL {
		t.Fatalf("the ingest URL %q, want %q", got, ingest.URL)
	}
	b.do(t, "reveal the key", chromedp.Click(chromedp.CSS(`[data-testid=reveal-key]`)))
	if got := evaluate[string](t, b, `document.querySelector('[data-testid=stream-key]').textContent`); got != ingest.Key {
		t.Fatalf("the revealed key %q, want %q", got, ingest.Key)
	}
	if got := evaluate[string](t, b, `document.querySelector('[data-testid=overlay-url]').textContent`); got != s.base+"/overlay/"+s.fundraiser {
		t.Fatalf("the overlay URL %q", got)
	}
	b.screenshot(t, "2-key-revealed")

	// Replacing the key (after a confirmation) shows the new one, which the
	// API agrees with; the old one is gone.
	b.do(t, "replace the key", chromedp.Click(chromedp.CSS(`[data-testid=rotate-key]`)))
	b.do(t, "confirm", chromedp.Click(chromedp.CSS(`[data-testid=rotate-key-confirm]`)))
	b.waitFor(t, "the new key", fmt.Sprintf(`document.querySelector('[data-testid=stream-key]').textContent !== %q`, ingest.Key), 10*time.Second)
	oldKey := ingest.Key
	getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser+"/ingest", s.bToken, nil, &ingest)
	if got := evaluate[string](t, b, `document.querySelector('[data-testid=stream-key]').textContent`); got != ingest.Key || got == oldKey {
		t.Fatalf("the studio shows key %q after replacing; the API has %q (was %q)", got, ingest.Key, oldKey)
	}

	// A donation through the API: in the feed at once.
	code, giftID, err := donate(s.base, s.fundraiser, "studio-gift", "", 2500, "Grace")
	if err != nil || code != http.StatusCreated {
		t.Fatalf("donate: %d %v", code, err)
	}
	row := fmt.Sprintf(`[data-testid=studio-donation][data-id="%s"]`, giftID)
	b.waitFor(t, "the donation in the feed", `document.querySelector('`+row+`')`, 10*time.Second)
	b.waitFor(t, "the total", `Number(document.querySelector('[data-testid=studio-raised]')?.dataset.raised) === 2500`, 10*time.Second)
	if got := evaluate[string](t, b, `document.querySelector('`+row+`').textContent`); !strings.Contains(got, "Grace") || !strings.Contains(got, "$25.00") {
		t.Fatalf("the feed's row %q, want Grace and $25.00", got)
	}

	// The shout-out reaches a viewer.
	b.do(t, "shout out", chromedp.Click(chromedp.CSS(row+` [data-testid=shoutout]`)))
	readUntil(t, watcher, func(ev wire.Event, _ wire.Reply) bool {
		if ev.Type != "shoutout" {
			return false
		}
		var d struct {
			DonationID string `json:"donation_id"`
			Text       string `json:"text"`
		}
		_ = json.Unmarshal(ev.Data, &d)
		if d.DonationID != giftID || !strings.Contains(d.Text, "Grace") {
			t.Fatalf("shout-out %s, want one for %s naming Grace", ev.Data, giftID)
		}
		return true
	})
	b.waitFor(t, "the shout-out in the studio's chat", `[...document.querySelectorAll('[data-testid=studio-chat-line]')].some((l) => l.textContent.includes('Thank you Grace'))`, 10*time.Second)
	b.screenshot(t, "3-shoutout")

	// Hiding a donation's message, and raising the goal, reach the viewers.
	body, _ := json.Marshal(map[string]any{"amount": 1000, "currency": "USD", "name": "Hal", "message": "read this out please"})
	req, _ := http.NewRequest("POST", s.base+"/api/v1/fundraisers/"+s.fundraiser+"/donations", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "studio-message")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var msgGift struct {
		ID string `json:"id"`
	}
	_ = json.NewDecoder(res.Body).Decode(&msgGift)
	res.Body.Close()
	msgRow := fmt.Sprintf(`[data-testid=studio-donation][data-id="%s"]`, msgGift.ID)
	b.waitFor(t, "the gift with a message", `document.querySelector('`+msgRow+`')?.textContent.includes('read this out please')`, 10*time.Second)
	b.do(t, "hide its message", chromedp.Click(chromedp.CSS(msgRow+` [data-testid=hide-message]`)))
	readUntil(t, watcher, func(ev wire.Event, _ wire.Reply) bool {
		return ev.Type == "donation.hidden" && strings.Contains(string(ev.Data), msgGift.ID)
	})
	b.waitFor(t, "the message gone from the feed", `!document.querySelector('`+msgRow+`').textContent.includes('read this out please')`, 10*time.Second)
	// Shown again, for everyone.
	b.waitFor(t, "the hidden message, to show again", `document.querySelector('`+msgRow+` [data-testid=unhide-message]')`, 10*time.Second)
	b.do(t, "show it again", chromedp.Click(chromedp.CSS(msgRow+` [data-testid=unhide-message]`)))
	readUntil(t, watcher, func(ev wire.Event, _ wire.Reply) bool {
		return ev.Type == wire.TypeDonationUnhidden && strings.Contains(string(ev.Data), "read this out please")
	})
	b.waitFor(t, "the message back in the feed", `document.querySelector('`+msgRow+`').textContent.includes('read this out please')`, 10*time.Second)
	b.do(t, "raise the goal",
		chromedp.SendKeys(chromedp.CSS(`[data-testid=goal-amount]`), "6000"),
		chromedp.Click(chromedp.CSS(`[data-testid=goal-raise]`)),
	)
	readUntil(t, watcher, func(ev wire.Event, _ wire.Reply) bool {
		return ev.Type == wire.TypeFundraiser && strings.Contains(string(ev.Data), `"amount":600000`)
	})
	b.waitFor(t, "the new goal in the studio", `Number(document.querySelector('[data-testid=studio-goal]')?.dataset.goal) === 600000`, 10*time.Second)

	// The broadcaster chats from the studio (the token rides in the
	// WebSocket subprotocol, not the URL); viewers see the broadcaster badge.
	b.do(t, "chat from the studio",
		chromedp.SendKeys(chromedp.CSS(`[data-testid=chat-input]`), "thanks for tuning in"),
		chromedp.Click(chromedp.CSS(`[data-testid=chat-send]`)),
	)
	readUntil(t, watcher, func(ev wire.Event, _ wire.Reply) bool {
		if ev.Type != wire.TypeChat {
			return false
		}
		var c wire.ChatData
		_ = json.Unmarshal(ev.Data, &c)
		if c.Text != "thanks for tuning in" || fmt.Sprint(c.User.Badges) != "[broadcaster]" {
			t.Fatalf("studio chat %s, want the text with the broadcaster badge", ev.Data)
		}
		return true
	})

	// Chat moderation: delete one message, ban its writer, slow mode.
	var ada struct {
		Token string `json:"token"`
		User  struct{ ID string }
	}
	if code := getJSON(t, "POST", s.base+"/api/v1/sessions", "", map[string]string{"name": "Ada"}, &ada); code != http.StatusCreated {
		t.Fatalf("create session: %d", code)
	}
	chatter := subscribed(t, s.base, ada.Token, s.fundraiser)
	for i, text := range []string{"first <b>message</b>", "second message"} {
		id := uint64(10 + i)
		send(t, chatter, map[string]any{"op": "chat", "id": id, "room": s.fundraiser, "text": text})
		readUntil(t, chatter, func(_ wire.Event, r wire.Reply) bool {
			if r.Op == "reply" && r.ID == id && !r.OK {
				t.Fatalf("chat: %+v", r.Error)
			}
			return r.Op == "reply" && r.ID == id
		})
	}
	line := func(text string) string {
		return `[...document.querySelectorAll('[data-testid=studio-chat-line]')].find((l) => l.textContent.includes(` + jsString(text) + `))`
	}
	b.waitFor(t, "the chat in the studio", line("first <b>message</b>")+` && `+line("second message"), 10*time.Second)
	first := evaluate[string](t, b, line("first <b>message</b>")+`.dataset.id`)
	b.do(t, "delete the first message", chromedp.Click(chromedp.CSS(`[data-testid=studio-chat-line][data-id="`+first+`"] [data-testid=chat-delete]`)))
	readUntil(t, watcher, func(ev wire.Event, _ wire.Reply) bool {
		return ev.Type == "chat.deleted" && strings.Contains(string(ev.Data), first)
	})
	// The studio keeps the deleted line, marked, so its writer can still be banned from it.
	b.waitFor(t, "the message marked deleted in the studio", line("first <b>message</b>")+`?.dataset.deleted === 'true'`, 10*time.Second)
	b.do(t, "ban Ada from the deleted line", chromedp.Click(chromedp.CSS(`[data-testid=studio-chat-line][data-id="`+first+`"] [data-testid=chat-ban]`)))
	readUntil(t, watcher, func(ev wire.Event, _ wire.Reply) bool {
		return ev.Type == "user.banned" && strings.Contains(string(ev.Data), ada.User.ID)
	})
	b.waitFor(t, "Ada's lines marked banned in the studio", line("second message")+`?.classList.contains('banned')`, 10*time.Second)
	b.waitFor(t, "Ada in the list of bans", fmt.Sprintf(`document.querySelector('[data-testid=ban][data-user="%s"]')?.textContent.includes('Ada')`, ada.User.ID), 10*time.Second)
	b.do(t, "slow mode",
		chromedp.SendKeys(chromedp.CSS(`[data-testid=slow-seconds]`), "10"),
		chromedp.Click(chromedp.CSS(`[data-testid=slow-set]`)),
	)
	b.waitFor(t, "slow mode on", `document.querySelector('[data-testid=slow-now]')?.textContent.includes('10s')`, 10*time.Second)
	var snap struct {
		Chat struct {
			SlowMode int `json:"slow_mode_seconds"`
		} `json:"chat"`
	}
	if code := getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser, "", nil, &snap); code != http.StatusOK || snap.Chat.SlowMode != 10 {
		t.Fatalf("slow mode after setting it: %d %+v", code, snap)
	}

	// The report: fetched with the token in its header and saved from a blob.
	b.do(t, "download the report", chromedp.Click(chromedp.CSS(`[data-testid=report]`)))
	b.waitFor(t, "the report", `window.__blobs.length > 0`, 10*time.Second)
	if csv := evaluate[string](t, b, `window.__blobs[0]`); !strings.HasPrefix(csv, "donation_id,") || !strings.Contains(csv, giftID) {
		t.Fatalf("the report:\n%s", csv)
	}

	// End, after confirming.
	b.do(t, "end", chromedp.Click(chromedp.CSS(`[data-testid=end]`)))
	b.waitFor(t, "the confirmation", `document.querySelector('[data-testid=end-confirm]')`, 5*time.Second)
	b.screenshot(t, "4-confirm-end")
	b.do(t, "confirm", chromedp.Click(chromedp.CSS(`[data-testid=end-confirm]`)))
	b.waitFor(t, "the fundraiser to end", `document.querySelector('[data-testid=studio-status]')?.dataset.status === 'ended' && document.querySelector('[data-testid=ended]')`, 10*time.Second)
	var f struct {
		Status string `json:"status"`
	}
	if code := getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser, "", nil, &f); code != http.StatusOK || f.Status != "ended" {
		t.Fatalf("after ending: %d %q", code, f.Status)
	}
	b.screenshot(t, "5-ended")

	// The token never went into a URL, and stays in this tab's sessionStorage only.
	if urls := evaluate[[]string](t, b, `[location.href, ...performance.getEntriesByType('resource').map((e) => e.name)]`); strings.Contains(strings.Join(urls, " "), s.bToken) {
		t.Fatalf("the token is in a URL: %q", urls)
	}
	if evaluate[bool](t, b, `JSON.stringify(localStorage).includes(`+jsString(s.bToken)+`)`) {
		t.Fatal("the token is in localStorage")
	}
	if v := evaluate[[]string](t, b, `window.__violations`); len(v) > 0 {
		t.Fatalf("Content-Security-Policy violations: %q", v)
	}
	if e := evaluate[[]string](t, b, `window.__errors`); len(e) > 0 {
		t.Fatalf("the page threw: %q", e)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestStudioCreatesFundraiser signs a new broadcaster, with no fundraiser
// yet, into the studio: a wrong token is refused; the right one gets the
// creation form, whose fundraiser is then listed, selected and theirs.
func TestStudioCreatesFundraiser(t *testing.T) {
	needChromium(t)
	needWebBuild(t)
	s := startDemo(t, buildBinary(t))
	var bc struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	if code := getJSON(t, "POST", s.base+"/api/v1/broadcasters", testAdminToken, map[string]string{"name": "Newcomer"}, &bc); code != http.StatusCreated {
		t.Fatalf("create broadcaster: %d", code)
	}

	b := newBrowser(t)
	b.do(t, "open the studio", chromedp.Navigate(s.base+"/studio"))
	b.do(t, "sign in with a wrong token",
		chromedp.SendKeys(chromedp.CSS(`[data-testid=studio-token]`), "glb_wrong"),
		chromedp.Click(chromedp.CSS(`[data-testid=studio-signin]`)),
	)
	b.waitFor(t, "the refusal", `document.querySelector('[data-testid=studio-signin-error]')?.textContent.includes('not valid')`, 10*time.Second)
	evaluate[bool](t, b, `(document.querySelector('[data-testid=studio-token]').value = '', true)`)
	b.do(t, "sign in",
		chromedp.SendKeys(chromedp.CSS(`[data-testid=studio-token]`), bc.Token),
		chromedp.Click(chromedp.CSS(`[data-testid=studio-signin]`)),
	)
	b.waitFor(t, "the creation form", `document.querySelector('[data-testid=create-nonprofit] option')`, 10*time.Second)
	if n := evaluate[int](t, b, `document.querySelectorAll('[data-testid=studio-fundraiser]').length`); n != 0 {
		t.Fatalf("a new broadcaster sees %d fundraisers", n)
	}
	b.do(t, "create a fundraiser",
		chromedp.SendKeys(chromedp.CSS(`[data-testid=create-title]`), "Bake sale marathon"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=create-goal]`), "750"),
		chromedp.Click(chromedp.CSS(`[data-testid=create-submit]`)),
	)
	b.waitFor(t, "the new fundraiser, selected", `document.querySelector('[data-testid=studio-title]')?.textContent === 'Bake sale marathon' && document.querySelectorAll('[data-testid=studio-fundraiser]').length === 1`, 10*time.Second)
	b.screenshot(t, "1-created")
	var list struct {
		Items []struct {
			ID    string `json:"id"`
			Title string `json:"title"`
			Goal  struct {
				Amount int64 `json:"amount"`
			} `json:"goal"`
		} `json:"items"`
	}
	if code := getJSON(t, "GET", s.base+"/api/v1/fundraisers?broadcaster_id="+bc.ID, "", nil, &list); code != http.StatusOK || len(list.Items) != 1 ||
		list.Items[0].Title != "Bake sale marathon" || list.Items[0].Goal.Amount != 75000 {
		t.Fatalf("the broadcaster's fundraisers: %d %+v", code, list)
	}
	if got := evaluate[string](t, b, `document.querySelector('[data-testid=studio-control]').dataset.id`); got != list.Items[0].ID {
		t.Fatalf("the studio selected %s, want %s", got, list.Items[0].ID)
	}
	if v := evaluate[[]string](t, b, `window.__violations`); len(v) > 0 {
		t.Fatalf("Content-Security-Policy violations: %q", v)
	}
}
