package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// readyTimeout bounds each readiness check.
const readyTimeout = 2 * time.Second

// healthz answers 200 while the process serves HTTP at all.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when the ledger answers a ping and Config.Ready
// passes, else 503 naming the failed checks. The errors are logged, not
// shown: they may name files or hosts.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	checks := map[string]string{"ledger": "ok"}
	var failed []string
	if err := s.cfg.Store.Ping(ctx); err != nil {
		s.log.Warn("readiness check failed", "check", "ledger", "err", err)
		checks["ledger"] = "unreachable"
		failed = append(failed, "ledger unreachable")
	}
	if s.cfg.Ready != nil {
		name := s.cfg.ReadyName
		if name == "" {
			name = "ready"
		}
		checks[name] = "ok"
		if err := s.cfg.Ready(ctx); err != nil {
			s.log.Warn("readiness check failed", "check", name, "err", err)
			checks[name] = "unreachable"
			failed = append(failed, name+" unreachable")
		}
	}
	if len(failed) > 0 {
		return &problem{
			status: http.StatusServiceUnavailable,
			typ:    typeNotReady,
			detail: "Not ready: " + strings.Join(failed, "; ") + ".",
			checks: checks,
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ok", "checks": checks})
}
