package api

import (
	"context"
	"time"

	"github.com/givelive/givelive/internal/store"
)

// ReplayInfo is what the media side knows of a fundraiser's recordings.
type ReplayInfo struct {
	StartedAt time.Time     // first recorded frame; zero when nothing is recorded yet
	Duration  time.Duration // all broadcasts together
	Available bool          // at least one segment is recorded
	Recording bool          // a broadcast is being recorded now
}

// ReplaySource reports a fundraiser's recordings, on this node or, in a
// cluster, on any. ok false: nothing is recorded, or an error the
// implementation logged (the snapshot then leaves the replay out).
type ReplaySource interface {
	Replay(ctx context.Context, fundraiserID string) (ReplayInfo, bool)
}

// replayOut is the snapshot's replay: where a live fundraiser's recording
// will be, where an ended one's replay is; nil without recording, or for
// an ended fundraiser with nothing kept.
func (h *handlers) replayOut(ctx context.Context, f store.Fundraiser) *Replay {
	if h.replays == nil {
		return nil
	}
	info, ok := h.replays.Replay(ctx, f.ID)
	if f.Status == store.StatusEnded && (!ok || !info.Available) {
		return nil
	}
	r := &Replay{
		Url:        "/replay/" + f.ID + "/index.m3u8",
		Available:  ok && info.Available,
		Recording:  ok && info.Recording,
		DurationMs: info.Duration.Milliseconds(),
	}
	if ok && !info.StartedAt.IsZero() {
		at := info.StartedAt.UTC()
		r.StartedAt = &at
	}
	return r
}

// maxReplayPage bounds one page of ListReplayDonations.
const maxReplayPage = 200

// ListReplayDonations pages through the donations a replay shows again:
// succeeded ones, as viewers saw them (public names and messages).
func (h *handlers) ListReplayDonations(ctx context.Context, req ListReplayDonationsRequestObject) (ListReplayDonationsResponseObject, error) {
	if _, err := h.fundraiser(ctx, req.Id); err != nil {
		return nil, err
	}
	limit := maxReplayPage
	if req.Params.Limit != nil {
		limit = min(max(*req.Params.Limit, 1), maxReplayPage)
	}
	ds, err := h.store.ListDonations(ctx, store.DonationFilter{
		FundraiserID: req.Id, Status: store.DonationSucceeded, Before: deref(req.Params.Before), Limit: limit + 1,
	})
	if err != nil {
		return nil, err
	}
	page := ReplayDonationPage{Items: make([]Donation, 0, min(len(ds), limit))}
	for i, d := range ds {
		if i == limit {
			next := ds[i-1].ID
			page.Next = &next
			break
		}
		page.Items = append(page.Items, donationOut(d))
	}
	return ListReplayDonations200JSONResponse(page), nil
}
