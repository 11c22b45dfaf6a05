package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// issuer and viewerAudience are checked on every viewer token, so a
	// token minted for another purpose with the same key is refused.
	issuer         = "givelive"
	viewerAudience = "viewer"
	// leeway tolerates clock skew between the nodes sharing a ledger.
	leeway = 30 * time.Second
)

// viewerClaims are a viewer token's claims: sub is the session id.
type viewerClaims struct {
	Name string `json:"name"`
	jwt.RegisteredClaims
}

// IssueViewerToken signs a viewer token for the session sessionID with
// display name name. It returns the token and when it expires.
func (s *Service) IssueViewerToken(sessionID, name string) (string, time.Time, error) {
	now := s.now().Truncate(time.Second)
	exp := now.Add(s.ttl)
	claims := viewerClaims{
		Name: name,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   sessionID,
			Audience:  jwt.ClaimStrings{viewerAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("failed to sign viewer token: %w", err)
	}
	return token, exp, nil
}

func (s *Service) authenticateViewer(token string) (Principal, error) {
	var claims viewerClaims
	_, err := s.parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return s.key, nil })
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if claims.Subject == "" {
		return Principal{}, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	return Principal{
		Kind:      Viewer,
		ID:        claims.Subject,
		Name:      claims.Name,
		ExpiresAt: claims.ExpiresAt.Time,
	}, nil
}

// Expired reports whether err says the token has expired, so callers can
// tell the client to get a new one rather than that its token is bad.
func Expired(err error) bool {
	return errors.Is(err, jwt.ErrTokenExpired)
}
