package api_test

import (
	"strconv"
	"testing"

	"github.com/givelive/givelive/api"
	"github.com/givelive/givelive/internal/donation"
	"github.com/givelive/givelive/internal/payment"
	"github.com/givelive/givelive/internal/payment/stripe"
	"github.com/givelive/givelive/internal/payment/stripe/stripetest"
)

// BenchmarkCreateDonation is POST /fundraisers/{id}/donations over loopback
// HTTP on a durable SQLite ledger: with the sandbox (recorded settled in
// one transaction), and with Stripe played by the stand-in (recorded
// pending, a PaymentIntent created over loopback HTTP, its id and client
// secret recorded).
func BenchmarkCreateDonation(b *testing.B) {
	for _, provider := range []string{"sandbox", "stripe"} {
		b.Run(provider, func(b *testing.B) {
			var e *env
			if provider == "sandbox" {
				e = newEnv(b)
			} else {
				fake := stripetest.Start(b, stripetest.Config{SecretKey: "sk_test_bench", PublishableKey: "pk_test_bench", WebhookSecret: "whsec_bench"})
				p, err := stripe.New(stripe.Config{SecretKey: "sk_test_bench", WebhookSecret: "whsec_bench", APIURL: fake.URL(), MaxNetworkRetries: -1})
				if err != nil {
					b.Fatal(err)
				}
				e = newEnvWithDonations(b, func(c *donation.Config) { c.Provider = p },
					func(c *api.Config) { c.Webhooks = map[string]payment.Webhook{"stripe": p} })
			}
			np := e.nonprofit(b, true)
			_, token := e.broadcaster(b, "Bench")
			path := "/api/v1/fundraisers/" + e.fundraiser(b, token, np).ID + "/donations"
			body := map[string]any{"amount": 2500, "currency": "USD", "name": "Ada", "message": "go go go"}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				e.do(b, "POST", path, "", body, "Idempotency-Key", "bench-"+strconv.Itoa(i)).want(b, 201)
			}
		})
	}
}
