package api

import (
	"context"
)

// CreateSession creates a viewer identity and signs its token.
func (h *handlers) CreateSession(ctx context.Context, req CreateSessionRequestObject) (CreateSessionResponseObject, error) {
	name, err := displayName("name", req.Body.Name)
	if err != nil {
		return nil, err
	}
	sess, err := h.store.CreateSession(ctx, name)
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
