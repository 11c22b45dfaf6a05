package api

import (
	"context"

	"github.com/givelive/givelive/internal/auth"
)

// CreateBroadcaster registers a broadcaster; its token is in this response
// and nowhere else.
func (h *handlers) CreateBroadcaster(ctx context.Context, req CreateBroadcasterRequestObject) (CreateBroadcasterResponseObject, error) {
	b, token, err := h.auth.CreateBroadcaster(ctx, req.Body.Name)
	if err != nil {
		return nil, err
	}
	return CreateBroadcaster201JSONResponse{
		Id:        b.ID,
		Name:      b.Name,
		Token:     token,
		CreatedAt: b.CreatedAt.UTC(),
	}, nil
}

// GetCurrentBroadcaster names the broadcaster whose token signed the
// request (the middleware has checked it is a broadcaster token).
func (h *handlers) GetCurrentBroadcaster(ctx context.Context, _ GetCurrentBroadcasterRequestObject) (GetCurrentBroadcasterResponseObject, error) {
	p := auth.FromContext(ctx)
	return GetCurrentBroadcaster200JSONResponse{Id: p.ID, Name: p.Name}, nil
}
