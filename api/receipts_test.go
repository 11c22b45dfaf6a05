package api_test

import (
	"strings"
	"testing"

	"github.com/givelive/givelive/api"
)

type receiptOut struct {
	Donation   donationOut `json:"donation"`
	Fundraiser struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Status      string `json:"status"`
		Broadcaster struct {
			Name string `json:"name"`
		} `json:"broadcaster"`
	} `json:"fundraiser"`
	Nonprofit struct {
		ID             string `json:"id"`
		Name           string `json:"name"`
		RegistrationID string `json:"registration_id"`
		Country        string `json:"country"`
	} `json:"nonprofit"`
	Direct bool `json:"direct"`
}

type nonprofitOut struct {
	ID            string  `json:"id"`
	DirectPayouts *bool   `json:"direct_payouts"`
	PayoutAccount *string `json:"payout_account"`
}

type payoutOut struct {
	Nonprofit struct {
		ID string `json:"id"`
	} `json:"nonprofit"`
	Raised        int64  `json:"raised"`
	Direct        int64  `json:"direct"`
	Owed          int64  `json:"owed"`
	PayoutAccount string `json:"payout_account"`
}

// A receipt names the nonprofit and its registration, the amount, date and
// status, and never the name of an anonymous donor, to whoever has the id.
func TestReceiptShowsWhereTheMoneyWent(t *testing.T) {
	e := newDonationEnv(t)
	named := e.give(t, "named", "", map[string]any{"amount": 2050, "name": "Ada", "message": "for the wells"})
	anon := e.give(t, "anon", e.viewer(t, "Bob Secret"), map[string]any{"amount": 1000, "name": "Bob Secret", "anonymous": true})

	var r receiptOut
	e.do(t, "GET", "/api/v1/donations/"+named.ID, "", nil).want(t, 200).json(t, &r)
	if r.Donation.ID != named.ID || r.Donation.Amount != 2050 || r.Donation.Currency != "USD" ||
		r.Donation.Status != "succeeded" || r.Donation.Name != "Ada" || r.Donation.SettledAt == nil {
		t.Errorf("receipt donation %+v", r.Donation)
	}
	if r.Fundraiser.ID != e.fid || r.Fundraiser.Title != "Speedruns for water" || r.Fundraiser.Broadcaster.Name != "Streamer" {
		t.Errorf("receipt fundraiser %+v", r.Fundraiser)
	}
	if r.Nonprofit.ID != e.nonprofitID || r.Nonprofit.Name != "Water for All" || r.Nonprofit.RegistrationID != "1234567" || r.Nonprofit.Country != "GB" {
		t.Errorf("receipt nonprofit %+v", r.Nonprofit)
	}
	if r.Direct {
		t.Error("a gift to a nonprofit without its own account is marked direct")
	}

	raw := e.do(t, "GET", "/api/v1/donations/"+anon.ID, "", nil).want(t, 200)
	raw.json(t, &r)
	if r.Donation.Name != "Anonymous" || !r.Donation.Anonymous {
		t.Errorf("anonymous receipt names %q", r.Donation.Name)
	}
	if containsAny(string(raw.body), "Bob", "Secret") {
		t.Errorf("anonymous receipt leaks the donor: %s", raw.body)
	}

	e.do(t, "GET", "/api/v1/donations/d_00000000000000000000000000000000", "", nil).problem(t, 404)
	e.do(t, "GET", "/api/v1/donations/not%20an%20id", "", nil).problem(t, 400)
}

// An admin links a nonprofit to its own account: later gifts are charged
// there (the receipt says so), earlier ones stay as they were, and the
// payout report splits what is already with the nonprofit from what the
// platform owes it.
func TestPayoutAccountSendsGiftsStraightToTheNonprofit(t *testing.T) {
	e := newDonationEnv(t)
	before := e.give(t, "before", "", map[string]any{"amount": 3000})

	path := "/api/v1/nonprofits/" + e.nonprofitID + "/payout-account"
	body := map[string]any{"account": "acct_1RiverCharity"}
	e.do(t, "PUT", path, e.ownerToken, body).problem(t, 403)
	e.do(t, "PUT", path, "", body).problem(t, 401)
	e.do(t, "PUT", path, adminToken, map[string]any{"account": "sk_live_oops"}).problem(t, 400)
	e.do(t, "PUT", "/api/v1/nonprofits/np_00000000000000000000000000000000/payout-account", adminToken, body).problem(t, 404)

	var n nonprofitOut
	e.do(t, "PUT", path, adminToken, body).want(t, 200).json(t, &n)
	if n.PayoutAccount == nil || *n.PayoutAccount != "acct_1RiverCharity" || n.DirectPayouts == nil || !*n.DirectPayouts {
		t.Fatalf("linked nonprofit %+v", n)
	}
	// The public list says gifts go straight to it, not to which account.
	var list struct{ Items []nonprofitOut }
	r := e.do(t, "GET", "/api/v1/nonprofits", "", nil).want(t, 200)
	r.json(t, &list)
	if len(list.Items) != 1 || list.Items[0].DirectPayouts == nil || !*list.Items[0].DirectPayouts || list.Items[0].PayoutAccount != nil {
		t.Fatalf("public nonprofit %s", r.body)
	}

	after := e.give(t, "after", "", map[string]any{"amount": 2000})
	var rec receiptOut
	e.do(t, "GET", "/api/v1/donations/"+after.ID, "", nil).want(t, 200).json(t, &rec)
	if !rec.Direct {
		t.Error("a gift after linking is not marked direct")
	}
	e.do(t, "GET", "/api/v1/donations/"+before.ID, "", nil).want(t, 200).json(t, &rec)
	if rec.Direct {
		t.Error("a gift from before linking became direct")
	}
	d, err := e.store.GetDonation(t.Context(), after.ID)
	if err != nil || d.Destination != "acct_1RiverCharity" {
		t.Fatalf("ledger destination %q, %v", d.Destination, err)
	}

	var payouts struct{ Items []payoutOut }
	e.do(t, "GET", "/api/v1/payouts", adminToken, nil).want(t, 200).json(t, &payouts)
	if len(payouts.Items) != 1 {
		t.Fatalf("payouts %+v", payouts.Items)
	}
	if p := payouts.Items[0]; p.Raised != 5000 || p.Direct != 2000 || p.Owed != 3000 || p.PayoutAccount != "acct_1RiverCharity" {
		t.Fatalf("payout %+v: want 5000 raised, 2000 direct, 3000 owed", p)
	}

	// Unlinked: gifts are collected by the platform again.
	n = nonprofitOut{}
	e.do(t, "DELETE", path, adminToken, nil).want(t, 200).json(t, &n)
	if n.PayoutAccount != nil || n.DirectPayouts == nil || *n.DirectPayouts {
		t.Fatalf("unlinked nonprofit %+v", n)
	}
	last := e.give(t, "last", "", map[string]any{"amount": 1000})
	e.do(t, "GET", "/api/v1/donations/"+last.ID, "", nil).want(t, 200).json(t, &rec)
	if rec.Direct {
		t.Error("a gift after unlinking is marked direct")
	}
}

func TestPaymentConfig(t *testing.T) {
	var c struct {
		MinAmount      int64   `json:"min_amount"`
		MaxAmount      int64   `json:"max_amount"`
		Provider       string  `json:"provider"`
		PublishableKey *string `json:"publishable_key"`
		StripeJSURL    *string `json:"stripe_js_url"`
	}
	e := newEnv(t)
	e.do(t, "GET", "/api/v1/payments/config", "", nil).want(t, 200).json(t, &c)
	if c.Provider != "sandbox" || c.PublishableKey != nil || c.StripeJSURL != nil || c.MinAmount != 100 || c.MaxAmount != 1_000_000 {
		t.Fatalf("sandbox config %+v", c)
	}

	s, _ := newStripeEnv(t, func(cfg *api.Config) { cfg.Payments.PublishableKey = "pk_test_givelive" })
	s.do(t, "GET", "/api/v1/payments/config", "", nil).want(t, 200).json(t, &c)
	if c.Provider != "stripe" || c.PublishableKey == nil || *c.PublishableKey != "pk_test_givelive" ||
		c.StripeJSURL == nil || *c.StripeJSURL != api.DefaultStripeJSURL {
		t.Fatalf("stripe config %+v", c)
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
