package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
)

// CreateShoutout announces the broadcaster's thanks for a donation.
func (h *handlers) CreateShoutout(ctx context.Context, req CreateShoutoutRequestObject) (CreateShoutoutResponseObject, error) {
	data, err := h.donations.Shoutout(ctx, req.Id, req.Body.DonationId, req.Body.Text)
	if err != nil {
		return nil, donationActionProblem(err)
	}
	return CreateShoutout201JSONResponse{DonationId: data.DonationID, Text: data.Text}, nil
}

// DeleteChatMessage tells viewers to remove a chat message.
func (h *handlers) DeleteChatMessage(ctx context.Context, req DeleteChatMessageRequestObject) (DeleteChatMessageResponseObject, error) {
	if err := h.donations.DeleteChat(ctx, req.Id, req.MessageId); err != nil {
		return nil, fundraiserProblem(err)
	}
	return DeleteChatMessage204Response{}, nil
}

// BanUser bans a viewer from the fundraiser's chat and stickers.
func (h *handlers) BanUser(ctx context.Context, req BanUserRequestObject) (BanUserResponseObject, error) {
	if err := h.donations.Ban(ctx, req.Id, req.UserId); err != nil {
		return nil, fundraiserProblem(err)
	}
	return BanUser204Response{}, nil
}

// UnbanUser lifts a ban.
func (h *handlers) UnbanUser(ctx context.Context, req UnbanUserRequestObject) (UnbanUserResponseObject, error) {
	if err := h.donations.Unban(ctx, req.Id, req.UserId); err != nil {
		return nil, fundraiserProblem(err)
	}
	return UnbanUser204Response{}, nil
}

// SetSlowMode sets the wait between one viewer's chat messages.
func (h *handlers) SetSlowMode(ctx context.Context, req SetSlowModeRequestObject) (SetSlowModeResponseObject, error) {
	f, err := h.donations.SetSlowMode(ctx, req.Id, req.Body.Seconds)
	if err != nil {
		return nil, fundraiserProblem(err)
	}
	return SetSlowMode200JSONResponse{Seconds: f.SlowModeSeconds}, nil
}

// RaiseGoal raises a fundraiser's goal.
func (h *handlers) RaiseGoal(ctx context.Context, req RaiseGoalRequestObject) (RaiseGoalResponseObject, error) {
	f, err := h.donations.RaiseGoal(ctx, req.Id, wire.Money{Amount: req.Body.Amount, Currency: string(req.Body.Currency)})
	if err != nil {
		return nil, fundraiserProblem(err)
	}
	pub, err := newRefs(h.store).fundraiser(ctx, f)
	if err != nil {
		return nil, err
	}
	return RaiseGoal200JSONResponse(pub), nil
}

// fundraiserProblem answers refusals of actions on a fundraiser.
func fundraiserProblem(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("fundraiser")
	case errors.Is(err, store.ErrEnded):
		return &problem{status: http.StatusConflict, detail: "This fundraiser has ended.", cause: err}
	case errors.Is(err, store.ErrConflict):
		return &problem{status: http.StatusConflict, detail: conflictDetail(err), cause: err}
	}
	return donationProblem(err)
}
