package api

import (
	"context"
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
