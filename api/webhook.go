package api

import (
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/givelive/givelive/internal/payment"
)

// webhook serves POST /payments/{provider}/webhook: it verifies the
// provider's signature over the raw body and applies the event once. A
// provider that is not configured is a 404, like an unknown path.
func (s *Server) webhook(c echo.Context) error {
	name := c.Param("provider")
	wh, ok := s.cfg.Webhooks[name]
	if !ok {
		return &problem{status: http.StatusNotFound, detail: "No payment provider " + name + " is configured on this server."}
	}
	// The body limit middleware turns an oversized body into a 413 here.
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	ev, err := wh.ParseWebhook(body, c.Request().Header)
	switch {
	case errors.Is(err, payment.ErrBadSignature):
		return &problem{status: http.StatusBadRequest, typ: typeSignature,
			detail: "The webhook signature is missing or does not match; check the webhook secret.", cause: err}
	case err != nil:
		return &problem{status: http.StatusBadRequest, typ: typeValidation,
			detail: "The webhook payload could not be read as an event.", cause: err}
	}
	if err := s.cfg.Donations.ApplyEvent(c.Request().Context(), name, ev); err != nil {
		// 5xx makes the provider deliver the event again later.
		return err
	}
	return c.JSON(http.StatusOK, map[string]bool{"received": true})
}
