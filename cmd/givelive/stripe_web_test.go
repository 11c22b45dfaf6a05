package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/payment/stripe/stripetest"
)

const (
	testStripeSecret      = "sk_test_givelive_browser"
	testStripePublishable = "pk_test_givelive_browser"
	testStripeWebhook     = "whsec_givelive_browser"
)

// startStripeDemo runs the binary with GIVELIVE_PAYMENTS=stripe against a
// local stand-in of Stripe's API and Stripe.js, whose webhooks go to the
// binary.
func startStripeDemo(t *testing.T) (*demoServer, *stripetest.Server) {
	t.Helper()
	fake := stripetest.Start(t, stripetest.Config{
		SecretKey: testStripeSecret, PublishableKey: testStripePublishable, WebhookSecret: testStripeWebhook,
	})
	s := startDemoIn(t, buildBinary(t), t.TempDir(), freeAddr(t),
		"GIVELIVE_PAYMENTS=stripe",
		"GIVELIVE_STRIPE_SECRET_KEY="+testStripeSecret,
		"GIVELIVE_STRIPE_PUBLISHABLE_KEY="+testStripePublishable,
		"GIVELIVE_STRIPE_WEBHOOK_SECRET="+testStripeWebhook,
		"GIVELIVE_STRIPE_API_URL="+fake.URL(),
		"GIVELIVE_STRIPE_JS_URL="+fake.JSURL(),
	)
	fake.SetWebhookURL(s.base + "/api/v1/payments/stripe/webhook")
	return s, fake
}

// inFrame runs actions on the document of the first iframe that sel
// matches: the Payment Element and the 3-D Secure challenge are frames of
// Stripe's origin, which the page itself cannot reach into.
func (b *browser) inFrame(t *testing.T, what, sel string, actions func(frame *chromedp.Node) []chromedp.Action[chromedp.Void]) {
	t.Helper()
	var frame *chromedp.Node
	deadline := time.Now().Add(20 * time.Second)
	for frame == nil {
		nodes, err := chromedp.Run(b.ctx, chromedp.Nodes(chromedp.CSS(sel), chromedp.AtLeast(0)))
		if err != nil {
			t.Fatalf("%s: find %s: %v", what, sel, err)
		}
		if len(nodes) > 0 && nodes[0].ContentDocument != nil {
			frame = nodes[0]
			break
		}
		if time.Now().After(deadline) {
			b.screenshot(t, "failed")
			t.Fatalf("%s: no frame %s with a document", what, sel)
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.do(t, what, actions(frame)...)
}

// erase is what a person types to empty a field: End, then backspaces.
var erase = kb.End + strings.Repeat(kb.Backspace, 30)

// typeCard fills the Payment Element's card fields.
func (b *browser) typeCard(t *testing.T, number string) {
	t.Helper()
	b.inFrame(t, "type the card "+number, `[data-testid=payment-element] iframe`, func(f *chromedp.Node) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{
			chromedp.Click(chromedp.CSS(`#tab-card`), chromedp.FromNode(f)),
			chromedp.SendKeys(chromedp.CSS(`#number`), erase+number, chromedp.FromNode(f)),
			chromedp.SendKeys(chromedp.CSS(`#exp`), erase+"12 / 34", chromedp.FromNode(f)),
			chromedp.SendKeys(chromedp.CSS(`#cvc`), erase+"123", chromedp.FromNode(f)),
		}
	})
}

// waitAcross polls expr until it is truthy, through navigations (which
// destroy the page's JavaScript context under a plain Poll).
func (b *browser) waitAcross(t *testing.T, what, expr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	b.screenshot(t, "failed")
	t.Fatalf("%s: not true after %v (last error: %v)", what, timeout, last)
}

// typeAmount replaces the "Other" amount.
func (b *browser) typeAmount(t *testing.T, amount string) {
	t.Helper()
	b.do(t, "type the amount "+amount, chromedp.SendKeys(chromedp.CSS(`[data-testid=amount]`), erase+amount))
}

func giveLabel(t *testing.T, b *browser) string {
	return evaluate[string](t, b, `document.querySelector('[data-testid=give]').textContent`)
}

const donateResult = `document.querySelector('[data-testid=donate-result]')`

// TestGiveWithStripeInBrowser is the real money path's "done when", in
// headless Chromium on the real binary, with Stripe played by a local
// stand-in: a donor types amounts as people do, gives through the Payment
// Element with a 3-D Secure step to a nonprofit that has its own Stripe
// account (a destination charge); the page says pending while Stripe's
// webhook is late and thanks the donor once it arrives; the gift counts
// once however often the webhook comes; every viewer sees it; the receipt
// shows it. A declined card counts nothing, and a bank payment goes to the
// bank and back to the page, which picks up where the donor left.
func TestGiveWithStripeInBrowser(t *testing.T) {
	needChromium(t)
	needWebBuild(t)
	s, fake := startStripeDemo(t)

	// The demo nonprofit receives its gifts in its own Stripe account.
	var f struct {
		Nonprofit struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"nonprofit"`
	}
	if code := getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser, "", nil, &f); code != 200 {
		t.Fatalf("snapshot: %d", code)
	}
	fake.AddAccount("acct_1CleanWaterDemo", true)
	if code := getJSON(t, "PUT", s.base+"/api/v1/nonprofits/"+f.Nonprofit.ID+"/payout-account", testAdminToken,
		map[string]string{"account": "acct_1CleanWaterDemo"}, nil); code != 200 {
		t.Fatalf("link the payout account: %d", code)
	}
	watcher := subscribed(t, s.base, "", s.fundraiser)

	b := newBrowser(t)
	b.do(t, "open the viewer page", chromedp.Navigate(s.base+"/f/"+s.fundraiser))
	b.waitFor(t, "the Payment Element", `document.querySelector('[data-testid=donate-form]')?.dataset.provider === 'stripe' && document.querySelector('[data-testid=payment-element]')?.dataset.state === 'ready'`, 30*time.Second)

	// Amounts as people type them; 10 selects the $10 preset.
	for _, c := range []struct{ typed, label string }{{"$20", "Give $20.00"}, {"20.50", "Give $20.50"}, {"1,000", "Give $1,000.00"}, {"7,5", "Give $7.50"}} {
		b.typeAmount(t, c.typed)
		if got := giveLabel(t, b); got != c.label {
			t.Fatalf("typed %q: the button says %q, want %q", c.typed, got, c.label)
		}
	}
	b.typeAmount(t, "10")
	if !evaluate[bool](t, b, `document.querySelector('[data-testid=preset-1000]').getAttribute('aria-pressed') === 'true'`) {
		t.Fatal("typing 10 does not select the $10 preset")
	}
	// Too little: said in the donor's money, before anything is sent.
	b.typeAmount(t, "0.50")
	b.do(t, "give too little", chromedp.Click(chromedp.CSS(`[data-testid=give]`)))
	b.waitFor(t, "the minimum", donateResult+`?.textContent === 'The minimum gift is $1.00.'`, 5*time.Second)
	if n := len(fake.PaymentIntents()); n != 0 {
		t.Fatalf("%d PaymentIntents after a refused amount", n)
	}

	// A card that needs 3-D Secure, while Stripe's webhook is late.
	fake.HoldWebhooks()
	b.typeAmount(t, "$20")
	b.do(t, "name the gift",
		chromedp.SendKeys(chromedp.CSS(`[data-testid=donor-name]`), "Ada"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=donor-message]`), "For the wells"),
	)
	b.typeCard(t, "4000 0027 6000 3184")
	b.screenshot(t, "1-card")
	b.do(t, "give", chromedp.Click(chromedp.CSS(`[data-testid=give]`)))
	b.waitFor(t, "the 3-D Secure challenge", `document.querySelector('[data-stripe-standin="3ds"] iframe')`, 20*time.Second)
	b.screenshot(t, "2-3ds")
	b.inFrame(t, "complete 3-D Secure", `[data-stripe-standin="3ds"] iframe`, func(f *chromedp.Node) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`#complete`), chromedp.FromNode(f))}
	})
	b.waitFor(t, "pending while the webhook is late", donateResult+`?.dataset.status === 'pending'`, 20*time.Second)
	b.screenshot(t, "3-pending")
	pis := fake.PaymentIntents()
	if len(pis) != 1 || pis[0].Status != "succeeded" || pis[0].Amount != 2000 || pis[0].Destination != "acct_1CleanWaterDemo" {
		t.Fatalf("PaymentIntents %+v: want one succeeded destination charge of 2000 to the nonprofit's account", pis)
	}
	donationID := pis[0].Metadata["donation_id"]
	var rec struct{ Status string }
	if code := getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser+"/donations/"+donationID, "", nil, &rec); code != 200 || rec.Status != "pending" {
		t.Fatalf("before the webhook the ledger says %d %q, want pending", code, rec.Status)
	}
	if evaluate[int64](t, b, `Number(document.querySelector('[data-testid=raised]').dataset.raised)`) != 0 {
		t.Fatal("the total moved before Stripe's webhook settled the gift")
	}

	fake.ReleaseWebhooks()
	b.waitFor(t, "the thank-you", donateResult+`?.dataset.status === 'succeeded'`, 20*time.Second)
	if got := evaluate[string](t, b, donateResult+`.textContent`); !strings.Contains(got, "Thank you") || !strings.Contains(got, "$20.00") {
		t.Fatalf("thank-you %q", got)
	}
	b.waitFor(t, "the total", `Number(document.querySelector('[data-testid=raised]')?.dataset.raised) === 2000`, 10*time.Second)
	waitDonationEvent(t, watcher, donationID)
	b.screenshot(t, "4-thanks")

	// The broadcaster's list (the studio's feed) has it, succeeded.
	var list struct {
		Items []struct{ ID, Status string }
	}
	if code := getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser+"/donations", s.bToken, nil, &list); code != 200 ||
		len(list.Items) != 1 || list.Items[0].ID != donationID || list.Items[0].Status != "succeeded" {
		t.Fatalf("the broadcaster's list: %d %+v", code, list)
	}

	// Stripe delivers the success twice more: it counts once.
	if n := fake.Redeliver("payment_intent.succeeded"); n != 1 {
		t.Fatalf("redelivered %d events", n)
	}
	waitFor(t, "the duplicates to be delivered", func() bool {
		for _, e := range fake.Events() {
			if e.Type == "payment_intent.succeeded" && e.Delivered >= 2 {
				return true
			}
		}
		return false
	})
	var snap struct {
		Totals struct{ Raised, Donations int64 }
	}
	if code := getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser, "", nil, &snap); code != 200 || snap.Totals.Raised != 2000 || snap.Totals.Donations != 1 {
		t.Fatalf("after a duplicate webhook: %d %+v, want 2000 raised in one donation", code, snap.Totals)
	}

	// The receipt.
	if _, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(`[data-testid=receipt-link]`))); err != nil {
		b.screenshot(t, "failed")
		t.Fatalf("follow the receipt link: %v", err)
	}
	b.waitFor(t, "the receipt", `document.querySelector('[data-testid=receipt]')?.dataset.status === 'succeeded'`, 15*time.Second)
	for sel, want := range map[string]string{
		"receipt-amount":    "$20.00",
		"receipt-nonprofit": f.Nonprofit.Name,
		"receipt-donor":     "Ada",
		"receipt-status":    "paid straight to " + f.Nonprofit.Name,
	} {
		if got := evaluate[string](t, b, fmt.Sprintf(`document.querySelector('[data-testid=%s]').textContent`, sel)); !strings.Contains(got, want) {
			t.Errorf("receipt %s %q, want %q", sel, got, want)
		}
	}
	if got := evaluate[string](t, b, `location.pathname`); got != "/d/"+donationID {
		t.Fatalf("the receipt is at %s", got)
	}
	b.screenshot(t, "5-receipt")
	b.do(t, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.waitFor(t, "the receipt on a phone", `document.documentElement.scrollWidth <= 390`, 5*time.Second)
	b.screenshot(t, "6-receipt-phone")
	b.do(t, "desktop viewport", chromedp.EmulateViewport(1280, 900))

	// A declined card: the donor reads why, nothing is counted.
	b.do(t, "back to the viewer page", chromedp.Navigate(s.base+"/f/"+s.fundraiser))
	b.waitFor(t, "the Payment Element", `document.querySelector('[data-testid=payment-element]')?.dataset.state === 'ready'`, 30*time.Second)
	b.do(t, "choose $5", chromedp.Click(chromedp.CSS(`[data-testid=preset-500]`)))
	b.typeCard(t, "4000 0000 0000 0002")
	b.do(t, "give with a declined card", chromedp.Click(chromedp.CSS(`[data-testid=give]`)))
	b.waitFor(t, "the decline", donateResult+`?.dataset.status === 'error' && `+donateResult+`.textContent.includes('declined')`, 20*time.Second)

	// The same gift, another card: the same donation and PaymentIntent.
	b.typeCard(t, "4242 4242 4242 4242")
	b.do(t, "give again", chromedp.Click(chromedp.CSS(`[data-testid=give]`)))
	b.waitFor(t, "the second thank-you", donateResult+`?.dataset.status === 'succeeded'`, 20*time.Second)
	if n := len(fake.PaymentIntents()); n != 2 {
		t.Fatalf("%d PaymentIntents: the retry after a decline made a new one", n)
	}
	b.waitFor(t, "the total", `Number(document.querySelector('[data-testid=raised]')?.dataset.raised) === 2500`, 10*time.Second)

	// A bank payment: off to the bank, back to the page, thanked.
	b.do(t, "choose $25", chromedp.Click(chromedp.CSS(`[data-testid=preset-2500]`)))
	b.inFrame(t, "choose the bank", `[data-testid=payment-element] iframe`, func(f *chromedp.Node) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`#tab-bank`), chromedp.FromNode(f))}
	})
	b.do(t, "give by bank", chromedp.Click(chromedp.CSS(`[data-testid=give]`)))
	b.waitAcross(t, "the bank's page", `location.pathname.startsWith('/bank/') && document.querySelector('#authorize')`, 20*time.Second)
	b.screenshot(t, "7-bank")
	b.do(t, "authorize at the bank", chromedp.Click(chromedp.CSS(`#authorize`)))
	b.waitAcross(t, "back on the viewer page, thanked", `location.pathname === '/f/`+s.fundraiser+`' && `+donateResult+`?.dataset.status === 'succeeded'`, 30*time.Second)
	if got := evaluate[string](t, b, `location.search`); got != "" {
		t.Fatalf("the payment's details stay in the address bar: %q", got)
	}
	b.waitFor(t, "the total", `Number(document.querySelector('[data-testid=raised]')?.dataset.raised) === 5000`, 10*time.Second)
	b.do(t, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.waitFor(t, "the phone layout", `document.documentElement.scrollWidth <= 390`, 5*time.Second)
	b.screenshot(t, "8-phone")

	if v := evaluate[[]string](t, b, `window.__violations`); len(v) > 0 {
		t.Fatalf("Content-Security-Policy violations: %q", v)
	}
	if e := evaluate[[]string](t, b, `window.__errors`); len(e) > 0 {
		t.Fatalf("the page threw: %q", e)
	}
}

// waitDonationEvent reads ws until the donation event of id.
func waitDonationEvent(t *testing.T, ws *websocket.Conn, id string) {
	t.Helper()
	readUntil(t, ws, func(ev wire.Event, _ wire.Reply) bool {
		return ev.Type == wire.TypeDonation && strings.Contains(string(ev.Data), id)
	})
}
