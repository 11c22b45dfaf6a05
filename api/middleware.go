package api

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

const (
	// ctxKeyRequestID is where requestID keeps the id in the echo.Context.
	ctxKeyRequestID = "givelive.request_id"
	// maxRequestIDLen bounds a client-supplied X-Request-Id.
	maxRequestIDLen = 64
	// hstsMaxAge is one year, sent only when PublicURL is https.
	hstsMaxAge = 365 * 24 * 60 * 60
	// apiCSP forbids a browser from doing anything with an API response
	// but read it: no scripts, no framing.
	apiCSP = "default-src 'none'; frame-ancestors 'none'"
)

// requestID gives every request an id: the client's X-Request-Id if it is
// short and plain (so it cannot forge log lines), a fresh one otherwise. The
// id is echoed in the response, logged and put in problem documents.
func (s *Server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !validRequestID(id) {
			id = rand.Text()
		}
		c.Set(ctxKeyRequestID, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return false
		}
	}
	return true
}

// requestIDFrom returns the request's id, or "" before requestID ran.
func requestIDFrom(c echo.Context) string {
	id, _ := c.Get(ctxKeyRequestID).(string)
	return id
}

// observe answers any error through the HTTPErrorHandler (so the final
// status is known), then counts and logs the request. It logs the path
// without its query (the WebSocket's token travels in the query) and no
// header or body.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		elapsed := time.Since(start)
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		s.metrics.observe(route, c.Request().Method, status, elapsed)
		s.logRequest(c, route, status, elapsed, err)
		return nil
	}
}

func (s *Server) logRequest(c echo.Context, route string, status int, elapsed time.Duration, err error) {
	level := slog.LevelInfo
	if status >= http.StatusInternalServerError {
		level = slog.LevelError
	}
	req := c.Request()
	attrs := []slog.Attr{
		slog.String("method", req.Method),
		slog.String("path", req.URL.Path),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Duration("latency", elapsed),
		slog.String("request_id", requestIDFrom(c)),
		slog.String("ip", c.RealIP()),
		slog.Int64("bytes_out", c.Response().Size),
	}
	// Only server-side failures carry their cause: a 4xx cause is the
	// client's input, which may hold anything.
	if err != nil && level == slog.LevelError {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	s.log.LogAttrs(req.Context(), level, "http request", attrs...)
}

// recoverPanics turns a panic into a 500 problem, logging it with its stack.
func (s *Server) recoverPanics() echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableErrorHandler: true, // observe answers it
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.log.Error("panic serving request", "err", err, "stack", string(stack),
				"request_id", requestIDFrom(c), "path", c.Request().URL.Path)
			return fmt.Errorf("panic: %w", err)
		},
	})
}

// secureHeaders sets the headers every response carries. HSTS only when the
// public URL is https: on plain http it would lock browsers out.
func (s *Server) secureHeaders() echo.MiddlewareFunc {
	hsts := 0
	if strings.HasPrefix(s.origin.publicBase, "https://") {
		hsts = hstsMaxAge
	}
	return middleware.SecureWithConfig(middleware.SecureConfig{
		ContentTypeNosniff: "nosniff",
		XFrameOptions:      "DENY",
		HSTSMaxAge:         hsts,
		ReferrerPolicy:     "no-referrer",
	})
}

// cors allows the configured origins. It is global, not on /api/v1, because
// Echo answers preflight OPTIONS requests outside the group's middleware.
func (s *Server) cors() echo.MiddlewareFunc {
	return middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOrigins: s.cfg.CORSOrigins,
		AllowMethods: []string{http.MethodGet, http.MethodPost},
		AllowHeaders: []string{echo.HeaderAuthorization, echo.HeaderContentType, "Idempotency-Key", echo.HeaderXRequestID},
		ExposeHeaders: []string{echo.HeaderXRequestID, echo.HeaderRetryAfter, echo.HeaderWWWAuthenticate,
			echo.HeaderAllow},
		MaxAge: 600,
	})
}

// apiMiddleware is the /api/v1 group's chain, outermost first: the rate
// limit (cheapest refusal first), the body's deadline and limit, the
// context deadline, the API's response headers and the request's origin
// for derived URLs.
func (s *Server) apiMiddleware(rateLimited bool) []echo.MiddlewareFunc {
	var mws []echo.MiddlewareFunc
	if s.limiter != nil && rateLimited {
		mws = append(mws, s.rateLimit)
	}
	return append(mws,
		s.bodyDeadline,
		s.bodyLimit(),
		middleware.ContextTimeoutWithConfig(middleware.ContextTimeoutConfig{Timeout: s.cfg.RequestTimeout}),
		apiHeaders,
		s.withOrigin,
	)
}

// rateLimit refuses a client IP over its token bucket with 429 and a
// Retry-After in whole seconds.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ok, wait := s.limiter.allow(c.RealIP())
		if ok {
			return next(c)
		}
		secs := max(1, int((wait+time.Second-1)/time.Second))
		c.Response().Header().Set(echo.HeaderRetryAfter, strconv.Itoa(secs))
		return &problem{
			status: http.StatusTooManyRequests,
			typ:    typeRateLimited,
			detail: fmt.Sprintf("Too many requests from your address; retry in %d s.", secs),
		}
	}
}

// bodyLimit wraps Echo's body limit so its 413 names the limit.
func (s *Server) bodyLimit() echo.MiddlewareFunc {
	limit := middleware.BodyLimit(strconv.FormatInt(s.cfg.MaxBodyBytes, 10) + "B")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		h := limit(next)
		return func(c echo.Context) error {
			err := h(c)
			var he *echo.HTTPError
			if errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge {
				return &problem{
					status: http.StatusRequestEntityTooLarge,
					detail: fmt.Sprintf("The request body is larger than %d bytes.", s.cfg.MaxBodyBytes),
				}
			}
			return err
		}
	}
}

// apiHeaders: API responses are data, never documents to render, and many
// carry secrets (tokens, stream keys), so no caching anywhere.
func apiHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set(echo.HeaderContentSecurityPolicy, apiCSP)
		h.Set(echo.HeaderCacheControl, "no-store")
		return next(c)
	}
}
