package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/donation"
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
	if err := h.donations.Ban(ctx, req.Id, req.UserId, time.Time{}); err != nil {
		return nil, fundraiserProblem(err)
	}
	return BanUser204Response{}, nil
}

// TimeoutUser keeps a viewer out of the chat for a while.
func (h *handlers) TimeoutUser(ctx context.Context, req TimeoutUserRequestObject) (TimeoutUserResponseObject, error) {
	until := time.Now().Add(time.Duration(req.Body.DurationSeconds) * time.Second)
	if err := h.donations.Ban(ctx, req.Id, req.UserId, until); err != nil {
		return nil, fundraiserProblem(err)
	}
	return TimeoutUser204Response{}, nil
}

// UnbanUser lifts a ban.
func (h *handlers) UnbanUser(ctx context.Context, req UnbanUserRequestObject) (UnbanUserResponseObject, error) {
	if err := h.donations.Unban(ctx, req.Id, req.UserId); err != nil {
		return nil, fundraiserProblem(err)
	}
	return UnbanUser204Response{}, nil
}

// ListBans lists the fundraiser's bans and running timeouts.
func (h *handlers) ListBans(ctx context.Context, req ListBansRequestObject) (ListBansResponseObject, error) {
	bans, err := h.donations.Bans(ctx, req.Id)
	if err != nil {
		return nil, fundraiserProblem(err)
	}
	out := ListBans200JSONResponse{Items: make([]Ban, len(bans))}
	for i, b := range bans {
		out.Items[i] = Ban{UserId: b.UserID, Name: b.Name, CreatedAt: b.CreatedAt.UTC(), ExpiresAt: timePtr(b.ExpiresAt)}
	}
	return out, nil
}

// SetSlowMode sets the wait between one viewer's chat messages.
func (h *handlers) SetSlowMode(ctx context.Context, req SetSlowModeRequestObject) (SetSlowModeResponseObject, error) {
	f, err := h.donations.SetSlowMode(ctx, req.Id, req.Body.Seconds)
	if err != nil {
		return nil, fundraiserProblem(err)
	}
	return SetSlowMode200JSONResponse{Seconds: f.SlowModeSeconds}, nil
}

// SetChatModes sets donors-only chat and the new chatters' wait.
func (h *handlers) SetChatModes(ctx context.Context, req SetChatModesRequestObject) (SetChatModesResponseObject, error) {
	f, err := h.donations.SetChatModes(ctx, req.Id, store.ChatModes{
		DonorsOnly: req.Body.DonorsOnly, WaitSeconds: req.Body.NewChatterWaitSeconds,
	})
	if err != nil {
		return nil, fundraiserProblem(err)
	}
	return SetChatModes200JSONResponse(chatSettings(f)), nil
}

// SetThanks sets the broadcaster's closing message.
func (h *handlers) SetThanks(ctx context.Context, req SetThanksRequestObject) (SetThanksResponseObject, error) {
	f, err := h.donations.SetThanks(ctx, req.Id, req.Body.Text)
	if err != nil {
		return nil, fundraiserProblem(err)
	}
	return SetThanks200JSONResponse{Text: f.Thanks}, nil
}

// chatSettings are f's chat rules as the API shows them.
func chatSettings(f store.Fundraiser) ChatSettings {
	c := donation.ChatSettings(f)
	return ChatSettings{SlowModeSeconds: c.SlowModeSeconds, DonorsOnly: c.DonorsOnly,
		NewChatterWaitSeconds: c.NewChatterWaitSeconds, Closed: c.Closed}
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

// SendTestAlert shows a made-up gift on the fundraiser's overlays.
func (h *handlers) SendTestAlert(ctx context.Context, req SendTestAlertRequestObject) (SendTestAlertResponseObject, error) {
	if err := h.donations.TestAlert(ctx, req.Id); err != nil {
		return nil, fundraiserProblem(err)
	}
	return SendTestAlert204Response{}, nil
}
