package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/auth"
	"github.com/givelive/givelive/internal/store"
)

// defaultListLimit is the page size of GET /fundraisers without limit.
const defaultListLimit = 50

// CreateFundraiser creates a scheduled fundraiser for the calling
// broadcaster. A nonprofit that is unknown or unverified is a problem with
// the nonprofit_id field: 422.
func (h *handlers) CreateFundraiser(ctx context.Context, req CreateFundraiserRequestObject) (CreateFundraiserResponseObject, error) {
	p := auth.FromContext(ctx)
	if p.Kind != auth.Broadcaster {
		return nil, &problem{status: http.StatusForbidden, detail: "This operation needs a broadcaster token."}
	}
	body := req.Body
	np, err := h.store.GetNonprofit(ctx, body.NonprofitId)
	if err != nil {
		return nil, nonprofitProblem(err)
	}
	if !np.Verified {
		return nil, nonprofitProblem(store.ErrNotVerified)
	}
	key, err := auth.NewStreamKey()
	if err != nil {
		return nil, err
	}
	f, err := h.store.CreateFundraiser(ctx, store.NewFundraiser{
		BroadcasterID: p.ID,
		NonprofitID:   np.ID,
		Title:         body.Title,
		GoalAmount:    body.Goal.Amount,
		Currency:      string(body.Goal.Currency),
		StreamKey:     key,
		Milestones:    milestonesIn(body.Milestones),
	})
	if err != nil {
		// The ledger checks the nonprofit again in its transaction.
		return nil, nonprofitProblem(err)
	}
	r := newRefs(h.store)
	r.nonprofits[np.ID] = NonprofitRef{Id: np.ID, Name: np.Name, Country: np.Country}
	r.broadcasters[p.ID] = BroadcasterRef{Id: p.ID, Name: p.Name}
	pub, err := r.fundraiser(ctx, f)
	if err != nil {
		return nil, err
	}
	return CreateFundraiser201JSONResponse{
		Id: pub.Id, Title: pub.Title, Status: pub.Status,
		Nonprofit: pub.Nonprofit, Broadcaster: pub.Broadcaster, Goal: pub.Goal,
		CreatedAt: pub.CreatedAt, StartedAt: pub.StartedAt, EndedAt: pub.EndedAt,
		Milestones: pub.Milestones,
		StreamKey:  f.StreamKey,
		IngestUrl:  h.ingestURL(ctx),
	}, nil
}

// nonprofitProblem maps the ledger's answers about a fundraiser's nonprofit
// to 422s on nonprofit_id; other errors pass through.
func nonprofitProblem(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return unprocessable("nonprofit_id", "no nonprofit has this id")
	case errors.Is(err, store.ErrNotVerified):
		return unprocessable("nonprofit_id",
			"this nonprofit is not verified yet; an admin must verify it before it can receive fundraisers")
	}
	return err
}

// ListFundraisers lists fundraisers newest first, without stream keys.
func (h *handlers) ListFundraisers(ctx context.Context, req ListFundraisersRequestObject) (ListFundraisersResponseObject, error) {
	filter := store.FundraiserFilter{Limit: defaultListLimit}
	if s := req.Params.Status; s != nil {
		filter.Status = string(*s)
	}
	if b := req.Params.BroadcasterId; b != nil {
		filter.BroadcasterID = *b
	}
	if l := req.Params.Limit; l != nil {
		filter.Limit = *l
	}
	fs, err := h.store.ListFundraisers(ctx, filter)
	if err != nil {
		return nil, err
	}
	r := newRefs(h.store)
	items := make([]Fundraiser, len(fs))
	for i, f := range fs {
		if items[i], err = r.fundraiser(ctx, f); err != nil {
			return nil, err
		}
		raised, onAir := f.Raised, f.Status == store.StatusLive && h.streams != nil && h.streams.IsLive(ctx, f.ID)
		items[i].Raised, items[i].OnAir = &raised, &onAir
		if h.audience != nil && f.Status != store.StatusEnded {
			if n, ok := h.audience.Viewers(f.ID); ok {
				items[i].Viewers = &n
			}
		}
	}
	return ListFundraisers200JSONResponse{Items: items}, nil
}

// GetFundraiser answers the snapshot a client starts from before it
// subscribes to the room.
//
// Order matters. Events reach the hub only after their ledger transaction
// has committed (the outbox), so every event at or before a position P was
// committed before P could be read. Reading P first and the ledger after
// therefore gives a snapshot that reflects at least everything up to P: a
// client subscribing with since=P misses nothing. It may see again an event
// whose effect the snapshot already shows, and deduplicates by id. Reading
// the ledger first would let an event land between the two reads and be
// neither in the snapshot nor after P.
//
// The fundraiser is looked up once before the position so that unknown ids
// never make the hub create a room.
func (h *handlers) GetFundraiser(ctx context.Context, req GetFundraiserRequestObject) (GetFundraiserResponseObject, error) {
	if _, err := h.fundraiser(ctx, req.Id); err != nil {
		return nil, err
	}
	pos, err := h.position(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	f, err := h.fundraiser(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	pub, err := newRefs(h.store).fundraiser(ctx, f)
	if err != nil {
		return nil, err
	}
	recent, err := h.store.RecentDonations(ctx, f.ID, recentDonations)
	if err != nil {
		return nil, err
	}
	top, err := h.store.TopDonors(ctx, f.ID, topDonors)
	if err != nil {
		return nil, err
	}
	snap := GetFundraiser200JSONResponse{
		Id: pub.Id, Title: pub.Title, Status: pub.Status,
		Nonprofit: pub.Nonprofit, Broadcaster: pub.Broadcaster, Goal: pub.Goal,
		CreatedAt: pub.CreatedAt, StartedAt: pub.StartedAt, EndedAt: pub.EndedAt,
		Milestones: pub.Milestones,
		Totals: Totals{Raised: f.Raised, Goal: f.GoalAmount, Donors: f.Donors,
			Donations: f.DonationCount, Currency: f.Currency},
		Stream:          h.streamOut(ctx, f),
		RecentDonations: make([]Donation, len(recent)),
		TopDonors:       make([]TopDonor, len(top)),
		Chat:            chatSettings(f),
		Thanks:          f.Thanks,
		Position:        pos,
		Replay:          h.replayOut(ctx, f),
	}
	for i, d := range recent {
		snap.RecentDonations[i] = donationOut(d)
	}
	if snap.RecentChat, err = h.recentChat(ctx, f.ID, pos); err != nil {
		return nil, err
	}
	for i, d := range top {
		snap.TopDonors[i] = TopDonor{Name: d.Name, Amount: d.Amount, Donations: d.Donations}
	}
	return snap, nil
}

// recentChatLines is how many chat lines a snapshot shows a new viewer.
const recentChatLines = 50

// recentChat is the room's latest chat up to pos, or nil without a hub.
// A hub that cannot read it leaves the snapshot without chat rather than
// failing it.
func (h *handlers) recentChat(ctx context.Context, room string, pos Position) (*[]ChatMessage, error) {
	if h.chat == nil {
		return nil, nil
	}
	lines, err := h.chat.RecentChat(ctx, room, wire.Position{Epoch: pos.Epoch, Offset: uint64(pos.Offset)}, recentChatLines)
	if err != nil {
		h.log.WarnContext(ctx, "recent chat left out of a snapshot", "fundraiser", room, "err", err)
		return nil, nil
	}
	out := make([]ChatMessage, len(lines))
	for i, l := range lines {
		badges := l.User.Badges
		if badges == nil {
			badges = []string{}
		}
		out[i] = ChatMessage{Id: l.ID, Text: l.Text, Ts: l.Time, User: ChatUser{Id: l.User.ID, Name: l.User.Name, Badges: badges}}
	}
	return &out, nil
}

// milestonesIn passes the request's milestones on: absent (nil) means the
// ledger's defaults, empty means none.
func milestonesIn(m *[]int) []int {
	if m == nil {
		return nil
	}
	return append([]int{}, (*m)...)
}

// GetFundraiserIngest shows the owner (checked by RequireOwner) where and
// with which key to publish.
func (h *handlers) GetFundraiserIngest(ctx context.Context, req GetFundraiserIngestRequestObject) (GetFundraiserIngestResponseObject, error) {
	f, err := h.fundraiser(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	return GetFundraiserIngest200JSONResponse{IngestUrl: h.ingestURL(ctx), StreamKey: f.StreamKey, WhipUrl: h.whipURL(ctx)}, nil
}

// RotateStreamKey gives the owner (checked by RequireOwner) a new stream
// key; the old one stops working and its publisher is disconnected.
func (h *handlers) RotateStreamKey(ctx context.Context, req RotateStreamKeyRequestObject) (RotateStreamKeyResponseObject, error) {
	key, err := auth.NewStreamKey()
	if err != nil {
		return nil, err
	}
	f, err := h.store.RotateStreamKey(ctx, req.Id, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, notFound("fundraiser")
	case errors.Is(err, store.ErrConflict):
		return nil, &problem{status: http.StatusConflict, detail: "This fundraiser has ended; its stream key cannot change.", cause: err}
	case err != nil:
		return nil, err
	}
	if h.streams != nil {
		h.streams.Disconnect(f.ID)
	}
	return RotateStreamKey200JSONResponse{IngestUrl: h.ingestURL(ctx), StreamKey: f.StreamKey, WhipUrl: h.whipURL(ctx)}, nil
}

// ingestURL is where broadcasters publish: the configured URL, or one
// derived from the public host and the RTMP port.
func (h *handlers) ingestURL(ctx context.Context) string {
	if h.ingest != "" {
		return h.ingest
	}
	return h.origin.ingestURL(ctx)
}

// whipURL is where broadcasters publish over WHIP (the stream key as the
// bearer token), or nil when this server takes no WHIP.
func (h *handlers) whipURL(ctx context.Context) *string {
	if h.whipPath == "" {
		return nil
	}
	u := h.origin.whipURL(ctx, h.whipPath)
	return &u
}

// EndFundraiser ends a fundraiser (owner or admin, checked by RequireOwner).
// Ending an ended fundraiser answers it unchanged.
func (h *handlers) EndFundraiser(ctx context.Context, req EndFundraiserRequestObject) (EndFundraiserResponseObject, error) {
	before, err := h.fundraiser(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	f, err := h.donations.End(ctx, req.Id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, notFound("fundraiser")
	case errors.Is(err, store.ErrConflict):
		return nil, &problem{status: http.StatusConflict, detail: "This fundraiser cannot be ended from its current status.", cause: err}
	case err != nil:
		return nil, err
	}
	if h.streams != nil && before.Status != store.StatusEnded {
		// The publisher is disconnected and the room hears the stream
		// ended; the fundraiser event is on its way through the outbox.
		if err := h.streams.Ended(ctx, f.ID); err != nil {
			// The fundraiser has ended, and its "fundraiser" event is in
			// the outbox; clients that miss "stream ended" learn it there.
			h.log.Warn("stream end not announced", "fundraiser", f.ID, "err", err)
		}
	}
	pub, err := newRefs(h.store).fundraiser(ctx, f)
	if err != nil {
		return nil, err
	}
	return EndFundraiser200JSONResponse(pub), nil
}

// fundraiser reads a fundraiser, answering 404 for an unknown id.
func (h *handlers) fundraiser(ctx context.Context, id string) (store.Fundraiser, error) {
	f, err := h.store.GetFundraiser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Fundraiser{}, notFound("fundraiser")
	}
	return f, err
}

// position reads the room's stream position; without a hub it is empty.
func (h *handlers) position(ctx context.Context, room string) (Position, error) {
	if h.rooms == nil {
		return Position{}, nil
	}
	pos, err := h.rooms.Position(ctx, room)
	if err != nil {
		return Position{}, &problem{
			status: http.StatusServiceUnavailable,
			detail: "The fundraiser's live position is unavailable right now; try again.",
			cause:  fmt.Errorf("failed to read room position: %w", err),
		}
	}
	if pos.Offset > math.MaxInt64 {
		return Position{}, fmt.Errorf("room %s offset %d overflows int64", room, pos.Offset)
	}
	return Position{Epoch: pos.Epoch, Offset: int64(pos.Offset)}, nil
}

// streamOut is the stream's state: ended with the fundraiser, else live
// (with its playlist) while a media server reports it (this node's or,
// with several nodes, another's), else offline.
func (h *handlers) streamOut(ctx context.Context, f store.Fundraiser) Stream {
	switch {
	case f.Status == store.StatusEnded:
		return Stream{Status: StreamStatusEnded}
	case h.streams != nil && h.streams.IsLive(ctx, f.ID):
		hls := "/hls/" + f.ID + "/index.m3u8"
		return Stream{Status: StreamStatusLive, Hls: &hls}
	default:
		return Stream{Status: StreamStatusOffline}
	}
}

// refs resolves the nonprofit and broadcaster a fundraiser refers to,
// reading each once per request however many fundraisers share it.
type refs struct {
	store        store.Store
	nonprofits   map[string]NonprofitRef
	broadcasters map[string]BroadcasterRef
}

func newRefs(s store.Store) *refs {
	return &refs{store: s, nonprofits: map[string]NonprofitRef{}, broadcasters: map[string]BroadcasterRef{}}
}

// fundraiser is f's public view: never the stream key.
func (r *refs) fundraiser(ctx context.Context, f store.Fundraiser) (Fundraiser, error) {
	np, err := r.nonprofit(ctx, f.NonprofitID)
	if err != nil {
		return Fundraiser{}, err
	}
	b, err := r.broadcaster(ctx, f.BroadcasterID)
	if err != nil {
		return Fundraiser{}, err
	}
	return Fundraiser{
		Id:          f.ID,
		Title:       f.Title,
		Status:      FundraiserStatus(f.Status),
		Nonprofit:   np,
		Broadcaster: b,
		Goal:        Money{Amount: f.GoalAmount, Currency: Currency(f.Currency)},
		CreatedAt:   f.CreatedAt.UTC(),
		StartedAt:   timePtr(f.StartedAt),
		EndedAt:     timePtr(f.EndedAt),
		Milestones:  append([]int{}, f.Milestones...),
	}, nil
}

func (r *refs) nonprofit(ctx context.Context, id string) (NonprofitRef, error) {
	if ref, ok := r.nonprofits[id]; ok {
		return ref, nil
	}
	n, err := r.store.GetNonprofit(ctx, id)
	if err != nil {
		return NonprofitRef{}, err
	}
	ref := NonprofitRef{Id: n.ID, Name: n.Name, Country: n.Country}
	r.nonprofits[id] = ref
	return ref, nil
}

func (r *refs) broadcaster(ctx context.Context, id string) (BroadcasterRef, error) {
	if ref, ok := r.broadcasters[id]; ok {
		return ref, nil
	}
	b, err := r.store.GetBroadcaster(ctx, id)
	if err != nil {
		return BroadcasterRef{}, err
	}
	ref := BroadcasterRef{Id: b.ID, Name: b.Name}
	r.broadcasters[id] = ref
	return ref, nil
}
