package api

import (
	"context"
	"errors"
	"time"

	"github.com/givelive/givelive/internal/store"
)

// CreateNonprofit registers an unverified nonprofit.
func (h *handlers) CreateNonprofit(ctx context.Context, req CreateNonprofitRequestObject) (CreateNonprofitResponseObject, error) {
	n, err := h.store.CreateNonprofit(ctx, store.NewNonprofit{
		Name:           req.Body.Name,
		RegistrationID: req.Body.RegistrationId,
		Country:        req.Body.Country,
	})
	if err != nil {
		return nil, err
	}
	return CreateNonprofit201JSONResponse(nonprofitOut(n)), nil
}

// VerifyNonprofit marks a nonprofit verified; again is fine.
func (h *handlers) VerifyNonprofit(ctx context.Context, req VerifyNonprofitRequestObject) (VerifyNonprofitResponseObject, error) {
	n, err := h.store.VerifyNonprofit(ctx, req.Id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("nonprofit")
	}
	if err != nil {
		return nil, err
	}
	return VerifyNonprofit200JSONResponse(nonprofitOut(n)), nil
}

// ListNonprofits lists the verified nonprofits by name.
func (h *handlers) ListNonprofits(ctx context.Context, _ ListNonprofitsRequestObject) (ListNonprofitsResponseObject, error) {
	ns, err := h.store.ListNonprofits(ctx, true)
	if err != nil {
		return nil, err
	}
	items := make([]Nonprofit, len(ns))
	for i, n := range ns {
		items[i] = nonprofitOut(n)
	}
	return ListNonprofits200JSONResponse{Items: items}, nil
}

func nonprofitOut(n store.Nonprofit) Nonprofit {
	return Nonprofit{
		Id:             n.ID,
		Name:           n.Name,
		RegistrationId: n.RegistrationID,
		Country:        n.Country,
		Verified:       n.Verified,
		CreatedAt:      n.CreatedAt.UTC(),
		VerifiedAt:     timePtr(n.VerifiedAt),
	}
}

// timePtr is nil for the zero time ("not yet"), as the spec's nullable
// times want.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
