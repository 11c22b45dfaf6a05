package auth

import (
	"context"
	"time"
)

// Kind says which kind of token authenticated a request.
type Kind int

// The kinds of principal. The zero Kind is Anonymous: no token was given.
const (
	Anonymous Kind = iota
	Admin
	Broadcaster
	Viewer
)

// String returns the kind's name in lower case.
func (k Kind) String() string {
	switch k {
	case Anonymous:
		return "anonymous"
	case Admin:
		return "admin"
	case Broadcaster:
		return "broadcaster"
	case Viewer:
		return "viewer"
	default:
		return "unknown"
	}
}

// Principal is who a token speaks for. The zero Principal is anonymous.
type Principal struct {
	Kind Kind
	// ID is the broadcaster id or the viewer's session id; empty for Admin.
	ID string
	// Name is the broadcaster's or viewer's display name; "admin" for Admin.
	Name string
	// ExpiresAt is when the token stops working; zero for tokens that do
	// not expire (admin and broadcaster tokens).
	ExpiresAt time.Time
}

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the Principal stored by WithPrincipal (or by the
// middleware), or the anonymous zero Principal.
func FromContext(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}
