package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/givelive/givelive/internal/store"
)

const (
	// broadcasterPrefix starts every broadcaster token, so secret scanners
	// and people can tell what a leaked string is.
	broadcasterPrefix = "glb_"
	// broadcasterTokenBytes is the token's entropy.
	broadcasterTokenBytes = 32
	// broadcasterTokenLen is the length of a well-formed token: the prefix
	// and the unpadded base64 of the random bytes (6 bits per character).
	broadcasterTokenLen = len(broadcasterPrefix) + (broadcasterTokenBytes*8+5)/6
)

// CreateBroadcaster registers a broadcaster and returns it with its token.
// The token is returned only here; the ledger keeps its SHA-256 hash.
func (s *Service) CreateBroadcaster(ctx context.Context, name string) (store.Broadcaster, string, error) {
	token, err := NewBroadcasterToken()
	if err != nil {
		return store.Broadcaster{}, "", err
	}
	b, err := s.store.CreateBroadcaster(ctx, name, HashToken(token))
	if err != nil {
		return store.Broadcaster{}, "", fmt.Errorf("failed to create broadcaster: %w", err)
	}
	return b, token, nil
}

// NewBroadcasterToken returns a fresh broadcaster token: "glb_" and 32
// random bytes in unpadded base64url.
func NewBroadcasterToken() (string, error) {
	b, err := randomBytes(broadcasterTokenBytes)
	if err != nil {
		return "", err
	}
	return broadcasterPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// HashToken returns the SHA-256 of token, the form in which the ledger
// stores broadcaster tokens. The tokens carry 256 random bits, so a plain
// hash (no salt, no stretching) is enough and keeps lookup by hash possible.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

func (s *Service) authenticateBroadcaster(ctx context.Context, token string) (Principal, error) {
	if len(token) != broadcasterTokenLen {
		return Principal{}, fmt.Errorf("%w: malformed broadcaster token", ErrInvalidToken)
	}
	b, err := s.store.BroadcasterByTokenHash(ctx, HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, fmt.Errorf("%w: unknown broadcaster token", ErrInvalidToken)
	}
	if err != nil {
		return Principal{}, fmt.Errorf("failed to look up broadcaster token: %w", err)
	}
	return Principal{Kind: Broadcaster, ID: b.ID, Name: b.Name}, nil
}

// randomBytes returns n bytes from crypto/rand.
func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("failed to read random bytes: %w", err)
	}
	return b, nil
}
