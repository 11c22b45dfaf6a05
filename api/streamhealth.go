package api

import (
	"context"
)

// StreamHealthSource reports how a fundraiser's stream reaches this node's
// media server: false when this node does not receive it. In a cluster the
// caller routes the request to the node that ingests the stream.
type StreamHealthSource interface {
	StreamHealth(ctx context.Context, fundraiserID string) (StreamHealth, bool)
}

var noStore = "no-store"

// GetStreamHealth tells the owner (checked by RequireOwner) how their
// stream arrives, so they can fix their encoder while live.
func (h *handlers) GetStreamHealth(ctx context.Context, req GetStreamHealthRequestObject) (GetStreamHealthResponseObject, error) {
	if _, err := h.fundraiser(ctx, req.Id); err != nil {
		return nil, err
	}
	out := StreamHealth{Warnings: []string{}}
	if h.health != nil {
		if got, ok := h.health.StreamHealth(ctx, req.Id); ok {
			out = got
			out.Live = true
			if out.Warnings == nil {
				out.Warnings = []string{}
			}
		}
	}
	return GetStreamHealth200JSONResponse{Body: out, Headers: GetStreamHealth200ResponseHeaders{CacheControl: &noStore}}, nil
}
