package api

import (
	"context"
	"crypto/rand"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// deviceCookie names the cookie that tells a viewer's browser apart (see
// deviceCookies). Its value is "dv_" and 26 base32 characters.
const (
	deviceCookie       = "givelive_device"
	deviceCookieMaxAge = 365 * 24 * 60 * 60
)

type deviceKey struct{}

// CreateSession creates a viewer identity, made in the browser the device
// cookie names, and signs its token.
func (h *handlers) CreateSession(ctx context.Context, req CreateSessionRequestObject) (CreateSessionResponseObject, error) {
	name, err := displayName("name", req.Body.Name)
	if err != nil {
		return nil, err
	}
	device, _ := ctx.Value(deviceKey{}).(string)
	sess, err := h.store.CreateSession(ctx, name, device)
	if err != nil {
		return nil, err
	}
	token, exp, err := h.auth.IssueViewerToken(sess.ID, sess.Name)
	if err != nil {
		return nil, err
	}
	return CreateSession201JSONResponse{
		Token:     token,
		User:      User{Id: sess.ID, Name: sess.Name},
		ExpiresAt: exp.UTC(),
	}, nil
}

// deviceCookies gives each browser an opaque id, kept in an HttpOnly
// cookie that only POST /sessions sees, and passes it to CreateSession. A
// viewer who signs out of the page and picks another name gets a new
// session, but from the same browser: a ban holds against it, and the wait
// of new chatters counts from the first. The page's script cannot read or
// clear it. A missing or malformed cookie gets a fresh id.
func (s *Server) deviceCookies(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := ""
		if ck, err := c.Cookie(deviceCookie); err == nil && validDevice(ck.Value) {
			id = ck.Value
		} else {
			id = "dv_" + rand.Text()
		}
		r := c.Request()
		http.SetCookie(c.Response(), &http.Cookie{
			Name:     deviceCookie,
			Value:    id,
			Path:     apiPrefix + "/sessions",
			MaxAge:   deviceCookieMaxAge,
			HttpOnly: true,
			Secure:   s.origin.base(r).scheme == "https",
			SameSite: http.SameSiteStrictMode,
		})
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), deviceKey{}, id)))
		return next(c)
	}
}

// validDevice accepts the ids deviceCookies makes.
func validDevice(v string) bool {
	rest, ok := strings.CutPrefix(v, "dv_")
	if !ok || len(rest) != 26 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
