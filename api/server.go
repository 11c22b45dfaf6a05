package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/auth"
	"github.com/givelive/givelive/internal/donation"
	"github.com/givelive/givelive/internal/payment"
	"github.com/givelive/givelive/internal/store"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxBodyBytes   = 64 << 10
	DefaultRequestTimeout = 10 * time.Second
	DefaultRateLimit      = 20 // requests per second per client IP
	DefaultRateBurst      = 40
	defaultRTMPPort       = "1935"

	// apiPrefix is where the REST API lives; openapi.yaml's server URL.
	apiPrefix = "/api/v1"
)

// Rooms is the part of the hub the API needs: a room's current stream
// position. The hub implements it; a room is a fundraiser id.
type Rooms interface {
	Position(ctx context.Context, room string) (wire.Position, error)
}

// ChatHistory is the part of the hub that remembers a room's latest chat.
type ChatHistory interface {
	RecentChat(ctx context.Context, room string, pos wire.Position, n int) ([]hub.ChatLine, error)
}

// Audience is the part of the hub that knows how many viewers watch a
// room; ok is false when this node does not know.
type Audience interface {
	Viewers(room string) (n int64, ok bool)
}

// RateLimit configures the per-client-IP token bucket on /api/v1.
type RateLimit struct {
	// PerSecond is the sustained rate. Zero means DefaultRateLimit.
	PerSecond float64
	// Burst is the bucket size. Zero means DefaultRateBurst.
	Burst int
	// Disabled turns the limit off.
	Disabled bool
}

// DefaultStripeJSURL is where browsers load Stripe.js from.
const DefaultStripeJSURL = "https://js.stripe.com/v3/"

// Payments configures the donation form for the payment provider.
type Payments struct {
	// PublishableKey is Stripe's publishable key (pk_…), given to the page.
	PublishableKey string
	// StripeJSURL is where the page loads Stripe.js. Empty means
	// DefaultStripeJSURL; tests point it at a stand-in.
	StripeJSURL string
}

// Config configures New. Store and Auth are required; every other zero
// value means the default documented on the field.
type Config struct {
	// Store is the ledger. Required.
	Store store.Store
	// Donations runs the money path and the owners' actions. Required.
	Donations *donation.Service
	// Payments is what the donation form needs to collect money with the
	// configured provider (GET /payments/config).
	Payments Payments
	// Webhooks verifies payment providers' webhooks by provider name
	// ("stripe" serves POST /payments/stripe/webhook). A provider missing
	// here answers 404.
	Webhooks map[string]payment.Webhook
	// Auth checks and issues tokens. Required.
	Auth *auth.Service
	// Rooms gives the stream position a snapshot reflects. Nil reports
	// every room at the empty position {"", 0}, which clients treat as
	// "re-read the snapshot after subscribing".
	Rooms Rooms
	// Chat gives the latest chat lines a snapshot shows a new viewer. Nil
	// leaves recent_chat out of snapshots.
	Chat ChatHistory
	// Audience counts a room's viewers for lists. Nil leaves viewers out.
	Audience Audience
	// Streams is each fundraiser's stream status: snapshots show it,
	// ending a fundraiser stops its stream, and the mediamtx hook sets it.
	// Nil shows every stream offline (and the hook answers 500).
	Streams Streams
	// StreamHealth reports how the streams this node ingests arrive, for
	// their owners. Nil answers every fundraiser "not live".
	StreamHealth StreamHealthSource
	// Replays reports each fundraiser's recordings, for the snapshot's
	// replay. Nil leaves the replay out (recording is off).
	Replays ReplaySource
	// MediaMTXSecret turns on the mediamtx auth callback and hook
	// (/api/v1/ingest/mediamtx/...), which must present it. Empty leaves
	// them off (404).
	MediaMTXSecret string
	// WebSocket serves GET /ws, mounted without the body limit, timeout or
	// rate limit of /api/v1. Nil leaves /ws unmounted (404).
	WebSocket http.Handler
	// Registry receives the HTTP metrics and is served at /metrics. Nil
	// means a new, private registry.
	Registry *prometheus.Registry
	// Ready is an extra readiness check for /readyz, beside the ledger's
	// Ping, such as Redis's. Its error is logged, not shown (it may name
	// hosts): the answer says "<ReadyName> unreachable". Nil means no extra
	// check.
	Ready func(ctx context.Context) error
	// ReadyName names the Ready check in /readyz ("redis"). Default "ready".
	ReadyName string
	// PublicURL is the server's base URL (https://live.example.org). Empty
	// means derived from each request (see TrustProxy).
	PublicURL string
	// RTMPAddr is the RTMP listener's address; its port goes into
	// ingest_url unless it is 1935. Empty means ":1935".
	RTMPAddr string
	// IngestURL, when set, is the publish URL shown to broadcasters
	// instead of one derived from PublicURL and RTMPAddr (for mediamtx in
	// front, say rtmp://media.example.org/live).
	IngestURL string
	// WHIPPath is where the embedded media server takes WHIP publishers
	// on this server's HTTP port ("/whip"); whip_url is the public base
	// URL with it. Empty means no WHIP (no whip_url).
	WHIPPath string
	// CORSOrigins are the origins allowed to call the API from a browser.
	// Empty means no CORS headers: same origin only.
	CORSOrigins []string
	// TrustProxy makes the server believe X-Forwarded-For (client IP, for
	// rate limits and logs) and X-Forwarded-Proto/Host (derived URLs). Set
	// it only behind a proxy that overwrites them.
	TrustProxy bool
	// RateLimit limits each client IP on /api/v1.
	RateLimit RateLimit
	// MaxBodyBytes limits request bodies on /api/v1 (413 beyond). Zero
	// means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// RequestTimeout bounds each /api/v1 request's context (503 beyond).
	// Zero means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Logger receives request logs and errors. Nil discards them.
	Logger *slog.Logger
}

// Server is the HTTP interface. It is safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	echo    *echo.Echo
	doc     *openapi3.T
	origin  origin
	metrics *httpMetrics
	limiter *ipLimiter
}

// New checks cfg, loads the embedded spec and builds the routes.
func New(cfg Config) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, fmt.Errorf("failed to configure api: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	var err error
	if s.origin, err = newOrigin(cfg.PublicURL, cfg.RTMPAddr, cfg.TrustProxy); err != nil {
		return nil, fmt.Errorf("failed to configure api: %w", err)
	}
	if s.doc, err = loadSpec(); err != nil {
		return nil, err
	}
	if s.metrics, err = newHTTPMetrics(cfg.Registry); err != nil {
		return nil, err
	}
	if !cfg.RateLimit.Disabled {
		s.limiter = newIPLimiter(cfg.RateLimit.PerSecond, cfg.RateLimit.Burst, time.Now)
	}
	if err := s.buildEcho(); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler returns the http.Handler serving every route.
func (s *Server) Handler() http.Handler { return s.echo }

func (c *Config) setDefaults() error {
	if c.Store == nil {
		return errors.New("Config.Store is nil")
	}
	if c.Auth == nil {
		return errors.New("Config.Auth is nil")
	}
	if c.Donations == nil {
		return errors.New("Config.Donations is nil")
	}
	if c.MediaMTXSecret != "" && len(c.MediaMTXSecret) < 16 {
		return errors.New("MediaMTXSecret is shorter than 16 characters")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Payments.StripeJSURL == "" {
		c.Payments.StripeJSURL = DefaultStripeJSURL
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.RateLimit.PerSecond == 0 {
		c.RateLimit.PerSecond = DefaultRateLimit
	}
	if c.RateLimit.Burst == 0 {
		c.RateLimit.Burst = DefaultRateBurst
	}
	if c.MaxBodyBytes < 0 || c.RequestTimeout < 0 || c.RateLimit.PerSecond < 0 || c.RateLimit.Burst < 0 {
		return errors.New("negative MaxBodyBytes, RequestTimeout or RateLimit")
	}
	return nil
}

// buildEcho wires the middleware and routes. Global middleware runs for
// every request, /ws included; the /api/v1 routes add the API's limits.
func (s *Server) buildEcho() error {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Logger.SetOutput(io.Discard)
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = echo.ExtractIPDirect()
	if s.cfg.TrustProxy {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	}
	s.echo = e

	e.Use(s.requestID, s.observe, s.recoverPanics(), s.secureHeaders())
	if len(s.cfg.CORSOrigins) > 0 {
		e.Use(s.cors())
	}
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{})))
	if s.cfg.WebSocket != nil {
		e.GET("/ws", s.webSocket)
	}
	return s.mountAPI(e.Group(apiPrefix))
}

// mountAPI registers the generated routes, each with the API's limits
// followed by its own authentication, validation and ownership checks.
//
// The chain goes on each route rather than on the group: Echo's group
// middleware registers a catch-all route that would answer 404 where the
// router should answer 405. Unknown paths under /api/v1 get the global 404.
func (s *Server) mountAPI(g *echo.Group) error {
	ops, err := s.operationMiddleware()
	if err != nil {
		return err
	}
	shared, unlimited := s.apiMiddleware(true), s.apiMiddleware(false)
	for id, mws := range ops {
		pre := shared
		if unlimitedOps[id] {
			pre = unlimited
		}
		ops[id] = append(append([]echo.MiddlewareFunc(nil), pre...), mws...)
	}
	h := &handlers{
		store:     s.cfg.Store,
		auth:      s.cfg.Auth,
		donations: s.cfg.Donations,
		rooms:     s.cfg.Rooms,
		chat:      s.cfg.Chat,
		audience:  s.cfg.Audience,
		streams:   s.cfg.Streams,
		health:    s.cfg.StreamHealth,
		replays:   s.cfg.Replays,
		origin:    s.origin,
		ingest:    strings.TrimRight(s.cfg.IngestURL, "/"),
		whipPath:  s.cfg.WHIPPath,
		payments:  s.cfg.Payments,
		log:       s.cfg.Logger,
	}
	// The webhook reads its raw body to check the signature, so it has the
	// API's body limit and timeout but not the spec's validation (which
	// re-encodes bodies). Nor the per-IP rate limit: a provider delivers
	// every donation's webhook from a few addresses, and its signature is
	// its authentication.
	g.POST("/payments/:provider/webhook", s.webhook, s.apiMiddleware(false)...)
	RegisterHandlersWithOptions(g, NewStrictHandler(h, nil), RegisterHandlersOptions{OperationMiddlewares: ops})
	return nil
}

// unlimitedOps skip the per-IP rate limit: callers that speak for many
// users from one address and authenticate with a shared secret (mediamtx
// asks before every publish and read).
var unlimitedOps = map[string]bool{"mediamtxAuth": true, "mediamtxHook": true}

// handlers implements the generated StrictServerInterface, one file per
// resource. Its methods see only a context: the principal (auth.FromContext)
// and the request's public origin are in it.
type handlers struct {
	store     store.Store
	auth      *auth.Service
	donations *donation.Service
	rooms     Rooms
	chat      ChatHistory
	audience  Audience
	streams   Streams
	health    StreamHealthSource
	replays   ReplaySource
	origin    origin
	ingest    string // Config.IngestURL
	whipPath  string // Config.WHIPPath
	payments  Payments
	log       *slog.Logger
}

var _ StrictServerInterface = (*handlers)(nil)
