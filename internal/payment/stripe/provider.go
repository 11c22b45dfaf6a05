package stripe

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	stripeapi "github.com/stripe/stripe-go/v85"

	"github.com/givelive/givelive/internal/payment"
)

// DefaultTimeout bounds each HTTP request to Stripe when Config.HTTPClient is
// nil.
const DefaultTimeout = 10 * time.Second

// Config configures a Provider. Only SecretKey is required.
type Config struct {
	// SecretKey is the Stripe API key: a secret key (sk_test_…, sk_live_…)
	// or a restricted key (rk_…) allowed to write PaymentIntents and
	// Refunds. Required.
	SecretKey string
	// WebhookSecret is the webhook endpoint's signing secret (whsec_…).
	// Required for ParseWebhook, which rejects every request without it.
	WebhookSecret string
	// APIURL is the base URL of Stripe's API. Default
	// "https://api.stripe.com"; tests point it at a fake.
	APIURL string
	// HTTPClient makes the requests to Stripe. Default: a client with
	// DefaultTimeout.
	HTTPClient *http.Client
	// Tolerance is how old a webhook's signed timestamp may be. Default
	// (zero or negative): stripe-go's 300 s.
	Tolerance time.Duration
	// MaxNetworkRetries is how often stripe-go retries a request that got
	// no answer from Stripe's API itself (network errors, a proxy's error
	// page) or a lock timeout, with the same idempotency key, after a
	// backoff of 0.5 s or more. Stripe's own error answers, 5xx included,
	// are not retried. Default (zero): 2. Negative: no retries.
	MaxNetworkRetries int
	// Logger receives stripe-go's warnings and errors, and one debug line
	// per request. Default (nil): discard.
	Logger *slog.Logger
}

// Provider is the Stripe payment.Provider and payment.Webhook. It is
// immutable after New and safe for concurrent use.
type Provider struct {
	client        *stripeapi.Client
	webhookSecret string
	tolerance     time.Duration
}

var (
	_ payment.Provider       = (*Provider)(nil)
	_ payment.Webhook        = (*Provider)(nil)
	_ payment.AccountChecker = (*Provider)(nil)
)

// New checks cfg and returns a Provider. It makes no request to Stripe.
func New(cfg Config) (*Provider, error) {
	if err := checkSecretKey(cfg.SecretKey); err != nil {
		return nil, err
	}
	if cfg.WebhookSecret != "" && !strings.HasPrefix(cfg.WebhookSecret, "whsec_") {
		return nil, errors.New("stripe: WebhookSecret must be a webhook signing secret (whsec_…)")
	}
	apiURL := cfg.APIURL
	if apiURL == "" {
		apiURL = stripeapi.APIURL
	}
	if u, err := url.Parse(apiURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("stripe: APIURL %q is not an http(s) URL", apiURL)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	retries := stripeapi.DefaultMaxNetworkRetries
	if cfg.MaxNetworkRetries > 0 {
		retries = int64(cfg.MaxNetworkRetries)
	} else if cfg.MaxNetworkRetries < 0 {
		retries = 0
	}
	tolerance := cfg.Tolerance
	if tolerance <= 0 {
		tolerance = defaultTolerance
	}

	backend := stripeapi.GetBackendWithConfig(stripeapi.APIBackend, &stripeapi.BackendConfig{
		HTTPClient:        hc,
		URL:               stripeapi.String(apiURL),
		MaxNetworkRetries: stripeapi.Int64(retries),
		LeveledLogger:     newLogger(cfg.Logger),
		EnableTelemetry:   stripeapi.Bool(false),
	})
	// Only the API backend is used (PaymentIntents, Refunds, Accounts); the
	// other services of the client stay without a backend.
	client := stripeapi.NewClient(cfg.SecretKey, stripeapi.WithBackends(&stripeapi.Backends{API: backend}))
	return &Provider{client: client, webhookSecret: cfg.WebhookSecret, tolerance: tolerance}, nil
}

// checkSecretKey refuses keys that cannot create payments (publishable keys,
// webhook secrets, typos) without ever echoing the key.
func checkSecretKey(key string) error {
	for _, prefix := range []string{"sk_test_", "sk_live_", "rk_test_", "rk_live_"} {
		if strings.HasPrefix(key, prefix) && len(key) > len(prefix) {
			return nil
		}
	}
	if key == "" {
		return errors.New("stripe: SecretKey is required")
	}
	return errors.New("stripe: SecretKey must be a secret key (sk_test_…, sk_live_…) or a restricted key (rk_…)")
}

// Name returns "stripe", the provider name stored with each donation.
func (p *Provider) Name() string { return "stripe" }
