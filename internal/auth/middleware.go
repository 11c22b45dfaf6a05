package auth

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
)

// The WWW-Authenticate challenges of RFC 6750: a bare one when no token was
// given, one naming the error when the token was refused.
const (
	challenge        = `Bearer realm="givelive"`
	challengeInvalid = `Bearer realm="givelive", error="invalid_token"`
)

// OwnerFunc returns the id of the broadcaster who owns the resource a
// request is about. Its error is returned to Echo unchanged, so it can be a
// ready-made 404.
type OwnerFunc func(c echo.Context) (ownerID string, err error)

// Require authenticates the request's bearer token and lets it through only
// if its kind is one of kinds. No token or a refused token: 401 with
// WWW-Authenticate. A valid token of another kind: 403. The Principal is
// stored in the request's context (see FromContext).
func (s *Service) Require(kinds ...Kind) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, err := s.authenticateRequest(c, true)
			if err != nil {
				return err
			}
			if !slices.Contains(kinds, p.Kind) {
				return echo.NewHTTPError(http.StatusForbidden, "This operation needs "+describeKinds(kinds)+".")
			}
			c.SetRequest(c.Request().WithContext(WithPrincipal(c.Request().Context(), p)))
			return next(c)
		}
	}
}

// Optional authenticates the bearer token if there is one; without one the
// request goes on as Anonymous. A refused token is still 401: a client that
// sends a token expects it to count.
func (s *Service) Optional() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, err := s.authenticateRequest(c, false)
			if err != nil {
				return err
			}
			c.SetRequest(c.Request().WithContext(WithPrincipal(c.Request().Context(), p)))
			return next(c)
		}
	}
}

// RequireOwner lets a request through only if its Principal (stored by
// Require) is the broadcaster owner returns, or an admin when allowAdmin.
// Anyone else gets 403.
func RequireOwner(owner OwnerFunc, allowAdmin bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := FromContext(c.Request().Context())
			switch {
			case p.Kind == Anonymous:
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, challenge)
				return echo.NewHTTPError(http.StatusUnauthorized, "This operation needs a bearer token in the Authorization header.")
			case p.Kind == Admin && allowAdmin:
				return next(c)
			case p.Kind != Broadcaster:
				return echo.NewHTTPError(http.StatusForbidden, "Only the broadcaster who owns this may do this.")
			}
			id, err := owner(c)
			if err != nil {
				return err
			}
			if id != p.ID {
				return echo.NewHTTPError(http.StatusForbidden, "This belongs to another broadcaster.")
			}
			return next(c)
		}
	}
}

// authenticateRequest reads and checks the Authorization header. Without
// one it answers 401 when required, or the anonymous Principal otherwise.
func (s *Service) authenticateRequest(c echo.Context, required bool) (Principal, error) {
	header := c.Request().Header.Get(echo.HeaderAuthorization)
	if header == "" {
		if !required {
			return Principal{}, nil
		}
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, challenge)
		return Principal{}, echo.NewHTTPError(http.StatusUnauthorized, "This operation needs a bearer token in the Authorization header.")
	}
	token, ok := bearerToken(header)
	if !ok {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, challengeInvalid)
		return Principal{}, echo.NewHTTPError(http.StatusUnauthorized, `The Authorization header must be "Bearer" followed by a token.`)
	}
	p, err := s.Authenticate(c.Request().Context(), token)
	switch {
	case err == nil:
		return p, nil
	case !errors.Is(err, ErrInvalidToken):
		return Principal{}, err
	case Expired(err):
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, challengeInvalid)
		return Principal{}, echo.NewHTTPError(http.StatusUnauthorized, "The bearer token has expired; get a new one.").SetInternal(err)
	default:
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, challengeInvalid)
		return Principal{}, echo.NewHTTPError(http.StatusUnauthorized, "The bearer token is not valid.").SetInternal(err)
	}
}

// bearerToken returns the token in an Authorization header value of the
// form "Bearer <token>" (the scheme is case-insensitive).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// describeKinds names the acceptable kinds: "an admin token", "a
// broadcaster or admin token".
func describeKinds(kinds []Kind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.String()
	}
	article := "a"
	if len(names) > 0 && strings.ContainsRune("aeiou", rune(names[0][0])) {
		article = "an"
	}
	return fmt.Sprintf("%s %s token", article, strings.Join(names, " or "))
}
