package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/givelive/givelive/internal/payment"
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

// SetPayoutAccount links a nonprofit to its own Stripe account, after the
// provider confirms the account can receive its donations.
func (h *handlers) SetPayoutAccount(ctx context.Context, req SetPayoutAccountRequestObject) (SetPayoutAccountResponseObject, error) {
	if _, err := h.store.GetNonprofit(ctx, req.Id); errors.Is(err, store.ErrNotFound) {
		return nil, notFound("nonprofit")
	} else if err != nil {
		return nil, err
	}
	account := req.Body.Account
	if err := h.donations.CheckPayoutAccount(ctx, account); err != nil {
		if errors.Is(err, payment.ErrAccountUnusable) {
			_, reason, _ := strings.Cut(err.Error(), ": ")
			return nil, unprocessable("account", reason)
		}
		return nil, &problem{status: http.StatusBadGateway, typ: typeProvider,
			detail: "The payment service could not be asked about this account right now; try again.", cause: err}
	}
	n, err := h.store.SetPayoutAccount(ctx, req.Id, account)
	if err != nil {
		return nil, err
	}
	h.log.InfoContext(ctx, "nonprofit payout account linked", "nonprofit", n.ID, "account", account)
	return SetPayoutAccount200JSONResponse(adminNonprofitOut(n)), nil
}

// RemovePayoutAccount unlinks a nonprofit's own account: its donations are
// collected by the platform again.
func (h *handlers) RemovePayoutAccount(ctx context.Context, req RemovePayoutAccountRequestObject) (RemovePayoutAccountResponseObject, error) {
	n, err := h.store.SetPayoutAccount(ctx, req.Id, "")
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("nonprofit")
	}
	if err != nil {
		return nil, err
	}
	h.log.InfoContext(ctx, "nonprofit payout account removed", "nonprofit", n.ID)
	return RemovePayoutAccount200JSONResponse(adminNonprofitOut(n)), nil
}

// nonprofitOut is a nonprofit as anyone may see it: whether its donations
// go straight to it, not to which account.
func nonprofitOut(n store.Nonprofit) Nonprofit {
	return Nonprofit{
		Id:             n.ID,
		Name:           n.Name,
		RegistrationId: n.RegistrationID,
		Country:        n.Country,
		Verified:       n.Verified,
		CreatedAt:      n.CreatedAt.UTC(),
		VerifiedAt:     timePtr(n.VerifiedAt),
		DirectPayouts:  n.PayoutAccount != "",
	}
}

// adminNonprofitOut adds the payout account, for admins.
func adminNonprofitOut(n store.Nonprofit) Nonprofit {
	out := nonprofitOut(n)
	if n.PayoutAccount != "" {
		account := n.PayoutAccount
		out.PayoutAccount = &account
	}
	return out
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
