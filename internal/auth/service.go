package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/givelive/givelive/internal/store"
)

// ErrInvalidToken is wrapped by every error that means "this token does not
// authenticate anyone": malformed, unknown, tampered with or expired. REST
// callers answer 401; the WebSocket closes with 4001. Other errors from
// Authenticate are failures of the ledger, not of the token.
var ErrInvalidToken = errors.New("invalid token")

const (
	// DefaultViewerTTL is how long a viewer token lasts when
	// Config.ViewerTTL is zero.
	DefaultViewerTTL = 24 * time.Hour

	// jwtSecretName names the ledger secret that signs viewer tokens.
	jwtSecretName = "jwt-hs256"
	// jwtKeyBytes is the size of the signing key; HS256 wants at least 32.
	jwtKeyBytes = 32
	// loadTimeout bounds how long New waits for the ledger.
	loadTimeout = 30 * time.Second
	// maxTokenLen refuses absurdly long tokens before hashing or parsing
	// them. Real tokens are under 400 bytes.
	maxTokenLen = 4096
)

// Config configures New.
type Config struct {
	// AdminToken is the operator's token. Empty disables admin access.
	AdminToken string
	// Store is the ledger holding broadcaster token hashes and the JWT
	// signing key. Required.
	Store store.Store
	// ViewerTTL is how long a viewer token lasts. Zero means
	// DefaultViewerTTL.
	ViewerTTL time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// Service issues and checks tokens. It is safe for concurrent use.
type Service struct {
	store     store.Store
	adminHash [sha256.Size]byte
	hasAdmin  bool
	key       []byte
	ttl       time.Duration
	now       func() time.Time
	parser    *jwt.Parser
}

// New loads the viewer-token signing key from the ledger, creating it on
// first use, and returns a ready Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("failed to start auth: Config.Store is nil")
	}
	if cfg.ViewerTTL < 0 {
		return nil, fmt.Errorf("failed to start auth: negative ViewerTTL %v", cfg.ViewerTTL)
	}
	s := &Service{store: cfg.Store, ttl: cfg.ViewerTTL, now: cfg.Now}
	if s.ttl == 0 {
		s.ttl = DefaultViewerTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.AdminToken != "" {
		s.adminHash = sha256.Sum256([]byte(cfg.AdminToken))
		s.hasAdmin = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	key, err := cfg.Store.Secret(ctx, jwtSecretName, func() ([]byte, error) { return randomBytes(jwtKeyBytes) })
	if err != nil {
		return nil, fmt.Errorf("failed to load the viewer token key: %w", err)
	}
	if len(key) < jwtKeyBytes {
		return nil, fmt.Errorf("failed to load the viewer token key: %d bytes, want at least %d", len(key), jwtKeyBytes)
	}
	s.key = key
	s.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(viewerAudience),
		jwt.WithLeeway(leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(s.now),
	)
	return s, nil
}

// Authenticate returns the Principal token speaks for. token is the bare
// token, without "Bearer ". Any token that does not authenticate gets an
// error wrapping ErrInvalidToken; other errors are ledger failures.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	switch {
	case token == "":
		return Principal{}, fmt.Errorf("%w: empty", ErrInvalidToken)
	case len(token) > maxTokenLen:
		return Principal{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, maxTokenLen)
	case s.isAdmin(token):
		return Principal{Kind: Admin, Name: "admin"}, nil
	case strings.HasPrefix(token, broadcasterPrefix):
		return s.authenticateBroadcaster(ctx, token)
	default:
		return s.authenticateViewer(token)
	}
}

// isAdmin compares token with the admin token in constant time. Comparing
// hashes keeps the time independent of both lengths too.
func (s *Service) isAdmin(token string) bool {
	sum := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(sum[:], s.adminHash[:]) == 1 && s.hasAdmin
}
