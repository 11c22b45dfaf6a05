package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/givelive/givelive/client/web"
	"github.com/givelive/givelive/internal/config"
	"github.com/givelive/givelive/internal/money"
	"github.com/givelive/givelive/internal/store"
)

// newWebApp is the web app embedded in the binary; without its bundle the
// pages answer 503 and the log says how to build it.
func newWebApp(cfg config.Config, ledger store.Store, live liveness, log *slog.Logger) *web.Handler {
	return web.New(web.Options{
		Logger:    log.With("component", "web"),
		Sources:   stripeSources(cfg),
		Catalog:   catalog{ledger: ledger, live: live},
		PublicURL: cfg.PublicURL,
	})
}

// liveness tells whether a fundraiser's video is arriving (streams.Tracker).
type liveness interface {
	IsLive(ctx context.Context, fundraiserID string) bool
}

// catalog describes fundraisers for link previews, from the ledger.
type catalog struct {
	ledger store.Store
	live   liveness
}

func (c catalog) Preview(ctx context.Context, id string) (web.Preview, error) {
	f, err := c.ledger.GetFundraiser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return web.Preview{}, web.ErrNotFound
	}
	if err != nil {
		return web.Preview{}, err
	}
	np, err := c.ledger.GetNonprofit(ctx, f.NonprofitID)
	if err != nil {
		return web.Preview{}, err
	}
	b, err := c.ledger.GetBroadcaster(ctx, f.BroadcasterID)
	if err != nil {
		return web.Preview{}, err
	}
	pct := 0
	if f.GoalAmount > 0 {
		pct = int(min(100, max(0, f.Raised*100/f.GoalAmount)))
	}
	return web.Preview{
		Title: f.Title, Broadcaster: b.Name, Nonprofit: np.Name,
		Raised: money.Format(f.Raised, f.Currency), Goal: money.Format(f.GoalAmount, f.Currency),
		Percent: pct, Donors: f.Donors, Status: f.Status,
		Live: f.Status == store.StatusLive && c.live != nil && c.live.IsLive(ctx, f.ID),
	}, nil
}

// stripeSources is what the pages need beside their own origin when
// donations go through Stripe: load Stripe.js, show its frames (the
// Payment Element, 3-D Secure challenges) and let it reach Stripe's API.
// With a local stand-in (tests), exactly its origins.
func stripeSources(cfg config.Config) *web.Sources {
	if cfg.Payments != "stripe" {
		return nil
	}
	js, api := originOf(cfg.StripeJSURL), originOf(cfg.StripeAPIURL)
	s := &web.Sources{Script: []string{js}, Frame: []string{js}, Connect: []string{api}}
	if js == "https://js.stripe.com" {
		s.Script = append(s.Script, "https://*.js.stripe.com")
		s.Frame = append(s.Frame, "https://*.js.stripe.com", "https://hooks.stripe.com")
	}
	return s
}

// originOf is a URL's scheme and host, as CSP names a source.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "'none'"
	}
	return u.Scheme + "://" + u.Host
}

// routeWeb sends the web app's paths (/, /f/{id}, /assets/) to app, with
// its own caching and Content-Security-Policy, and everything else (/api,
// /ws, /hls, /metrics, /healthz, /readyz) on to rest.
func routeWeb(app, rest http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if web.Owns(r.URL.Path) {
			app.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})
}
