package moderation

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
)

// ledger is an in-memory Ledger that counts reads.
type ledger struct {
	mu     sync.Mutex
	f      store.Fundraiser
	bans   map[string]bool
	donors map[string]bool
	since  map[string]time.Time
	reads  int
	broken bool
}

func (l *ledger) GetFundraiser(_ context.Context, id string) (store.Fundraiser, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reads++
	if l.broken {
		return store.Fundraiser{}, errors.New("ledger down")
	}
	if id != l.f.ID {
		return store.Fundraiser{}, store.ErrNotFound
	}
	return l.f, nil
}

func (l *ledger) IsBanned(_ context.Context, _, userID string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reads++
	return l.bans[userID], nil
}

func (l *ledger) DonorStatus(_ context.Context, _, userID string) (store.DonorStatus, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reads++
	return store.DonorStatus{Donated: l.donors[userID]}, nil
}

func (l *ledger) ChatterSince(_ context.Context, userID string) (time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reads++
	t, ok := l.since[userID]
	if !ok {
		return time.Time{}, store.ErrNotFound
	}
	return t, nil
}

func (l *ledger) set(fn func(l *ledger)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn(l)
}

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newPolicy(l *ledger) (*Policy, *clock) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	p := NewPolicy(l, time.Second)
	p.now = c.now
	return p, c
}

func code(err error) string {
	var we *wire.Error
	if errors.As(err, &we) {
		return we.Code
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return ""
}

func TestPolicyBansChatAndStickersButNeverTheOwner(t *testing.T) {
	l := &ledger{f: store.Fundraiser{ID: "f_1", BroadcasterID: "b_1"}, bans: map[string]bool{"u_bad": true, "b_1": true}}
	p, _ := newPolicy(l)
	ctx := t.Context()
	for _, tt := range []struct{ user, op, want string }{
		{"u_bad", wire.OpChat, wire.ErrBanned},
		{"u_bad", wire.OpSticker, wire.ErrBanned},
		{"u_ok", wire.OpChat, ""},
		{"u_ok", wire.OpSticker, ""},
		{"b_1", wire.OpChat, ""}, // a ban row for the owner is ignored
	} {
		if got := code(p.Allow(ctx, "f_1", tt.user, tt.op)); got != tt.want {
			t.Errorf("Allow(%s, %s) = %q, want %q", tt.user, tt.op, got, tt.want)
		}
	}
}

func TestPolicyBanAppliesAtOnceOnThisNodeAndAfterRefreshFromElsewhere(t *testing.T) {
	l := &ledger{f: store.Fundraiser{ID: "f_1", BroadcasterID: "b_1"}, bans: map[string]bool{}}
	p, c := newPolicy(l)
	ctx := t.Context()
	if got := code(p.Allow(ctx, "f_1", "u_1", wire.OpChat)); got != "" {
		t.Fatalf("before any ban: %q", got)
	}
	p.Banned("f_1", "u_1", true) // banned through this node
	if got := code(p.Allow(ctx, "f_1", "u_1", wire.OpChat)); got != wire.ErrBanned {
		t.Fatalf("after Banned: %q, want banned", got)
	}
	// Another node bans u_2: seen once the cached answer is older than refresh.
	_ = p.Allow(ctx, "f_1", "u_2", wire.OpSticker)
	l.set(func(l *ledger) { l.bans["u_2"] = true })
	if got := code(p.Allow(ctx, "f_1", "u_2", wire.OpSticker)); got != "" {
		t.Fatalf("within refresh: %q, want the cached answer", got)
	}
	c.advance(time.Second)
	if got := code(p.Allow(ctx, "f_1", "u_2", wire.OpSticker)); got != wire.ErrBanned {
		t.Fatalf("after refresh: %q, want banned", got)
	}
	p.Banned("f_1", "u_1", false)
	if got := code(p.Allow(ctx, "f_1", "u_1", wire.OpChat)); got != "" {
		t.Fatalf("after the ban was lifted: %q", got)
	}
}

func TestPolicySlowModeSpacesEachViewersMessages(t *testing.T) {
	l := &ledger{f: store.Fundraiser{ID: "f_1", BroadcasterID: "b_1", SlowModeSeconds: 10}, bans: map[string]bool{}}
	p, c := newPolicy(l)
	ctx := t.Context()
	steps := []struct {
		after    time.Duration
		user, op string
		want     string
	}{
		{0, "u_1", wire.OpChat, ""},
		{0, "u_2", wire.OpChat, ""}, // each viewer has their own wait
		{time.Second, "u_1", wire.OpChat, wire.ErrSlowMode},
		{0, "u_1", wire.OpSticker, ""}, // stickers are not slowed
		{0, "b_1", wire.OpChat, ""},    // nor the broadcaster
		{0, "b_1", wire.OpChat, ""},
		{9 * time.Second, "u_1", wire.OpChat, ""}, // 10 s after the first
		{0, "u_1", wire.OpChat, wire.ErrSlowMode},
	}
	for i, s := range steps {
		c.advance(s.after)
		if got := code(p.Allow(ctx, "f_1", s.user, s.op)); got != s.want {
			t.Fatalf("step %d: Allow(%s, %s) = %q, want %q", i, s.user, s.op, got, s.want)
		}
	}
	p.SlowMode("f_1", 0)
	if got := code(p.Allow(ctx, "f_1", "u_1", wire.OpChat)); got != "" {
		t.Fatalf("after slow mode was turned off: %q", got)
	}
}

func TestPolicyReadsTheLedgerOncePerRefresh(t *testing.T) {
	l := &ledger{f: store.Fundraiser{ID: "f_1", BroadcasterID: "b_1"}, bans: map[string]bool{}}
	p, _ := newPolicy(l)
	for range 100 {
		if err := p.Allow(t.Context(), "f_1", "u_1", wire.OpChat); err != nil {
			t.Fatal(err)
		}
	}
	if l.reads != 2 { // the fundraiser and u_1's ban
		t.Fatalf("ledger reads = %d for 100 messages within the refresh time, want 2", l.reads)
	}
}

func TestPolicyLedgerErrorsAreNotUserErrors(t *testing.T) {
	l := &ledger{f: store.Fundraiser{ID: "f_1"}, broken: true}
	p, _ := newPolicy(l)
	err := p.Allow(t.Context(), "f_1", "u_1", wire.OpChat)
	var we *wire.Error
	if err == nil || errors.As(err, &we) {
		t.Fatalf("Allow with the ledger down = %v, want a plain (internal) error", err)
	}
}

func TestPolicyDonorsOnlyLetsDonorsChat(t *testing.T) {
	l := &ledger{f: store.Fundraiser{ID: "f_1", BroadcasterID: "b_1", ChatDonorsOnly: true},
		bans: map[string]bool{}, donors: map[string]bool{"u_gave": true}}
	p, _ := newPolicy(l)
	ctx := t.Context()
	for _, tt := range []struct{ user, op, want string }{
		{"u_gave", wire.OpChat, ""},
		{"u_new", wire.OpChat, wire.ErrDonorsOnly},
		{"u_new", wire.OpSticker, ""}, // reactions stay open
		{"b_1", wire.OpChat, ""},
	} {
		if got := code(p.Allow(ctx, "f_1", tt.user, tt.op)); got != tt.want {
			t.Errorf("Allow(%s, %s) = %q, want %q", tt.user, tt.op, got, tt.want)
		}
	}
	// A gift settled on this node lets its giver in at once.
	p.Donated("f_1", "u_new")
	if got := code(p.Allow(ctx, "f_1", "u_new", wire.OpChat)); got != "" {
		t.Errorf("after Donated: %q", got)
	}
	// A gift settled elsewhere is read at the next message (no's are not kept).
	l.set(func(l *ledger) { l.donors["u_other"] = false })
	_ = p.Allow(ctx, "f_1", "u_other", wire.OpChat)
	l.set(func(l *ledger) { l.donors["u_other"] = true })
	if got := code(p.Allow(ctx, "f_1", "u_other", wire.OpChat)); got != "" {
		t.Errorf("after a gift made elsewhere: %q", got)
	}
	p.Modes("f_1", store.ChatModes{})
	if got := code(p.Allow(ctx, "f_1", "u_nobody", wire.OpChat)); got != "" {
		t.Errorf("after donors only was turned off: %q", got)
	}
}

func TestPolicyNewChattersWait(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	l := &ledger{f: store.Fundraiser{ID: "f_1", BroadcasterID: "b_1", ChatWaitSeconds: 600}, bans: map[string]bool{},
		since: map[string]time.Time{"u_old": start.Add(-time.Hour), "u_new": start.Add(-time.Minute)}}
	p, c := newPolicy(l)
	ctx := t.Context()
	if got := code(p.Allow(ctx, "f_1", "u_old", wire.OpChat)); got != "" {
		t.Errorf("a viewer here for an hour: %q", got)
	}
	err := p.Allow(ctx, "f_1", "u_new", wire.OpChat)
	if got := code(err); got != wire.ErrTooNew || !strings.Contains(err.Error(), "9 min") {
		t.Errorf("a viewer here for a minute: %v, want too_new saying 9 min", err)
	}
	if got := code(p.Allow(ctx, "f_1", "b_1", wire.OpChat)); got != "" {
		t.Errorf("the broadcaster: %q", got)
	}
	c.advance(9 * time.Minute)
	if got := code(p.Allow(ctx, "f_1", "u_new", wire.OpChat)); got != "" {
		t.Errorf("ten minutes in: %q", got)
	}
}

func TestPolicyChatClosesWhenTheFundraiserEnds(t *testing.T) {
	l := &ledger{f: store.Fundraiser{ID: "f_1", BroadcasterID: "b_1", Status: store.StatusLive}, bans: map[string]bool{}}
	p, c := newPolicy(l)
	ctx := t.Context()
	if got := code(p.Allow(ctx, "f_1", "u_1", wire.OpChat)); got != "" {
		t.Fatalf("while live: %q", got)
	}
	l.set(func(l *ledger) { l.f.Status = store.StatusEnded })
	c.advance(time.Second)
	for _, op := range []string{wire.OpChat, wire.OpSticker} {
		if got := code(p.Allow(ctx, "f_1", "u_1", op)); got != wire.ErrChatClosed {
			t.Errorf("%s after the end: %q, want chat_closed", op, got)
		}
	}
	if got := code(p.Allow(ctx, "f_1", "b_1", wire.OpChat)); got != "" {
		t.Errorf("the broadcaster's last word after the end: %q", got)
	}
}

// TestPolicyNewChattersWaitSparesAccountsWithoutSession: a broadcaster
// chatting in another's fundraiser has no viewer session to date; the wait
// is not theirs to serve, and it is no internal error either.
func TestPolicyNewChattersWaitSparesAccountsWithoutSession(t *testing.T) {
	l := &ledger{f: store.Fundraiser{ID: "f_1", BroadcasterID: "b_1", ChatWaitSeconds: 600}, bans: map[string]bool{}, since: map[string]time.Time{}}
	p, _ := newPolicy(l)
	if got := code(p.Allow(t.Context(), "f_1", "b_2", wire.OpChat)); got != "" {
		t.Fatalf("another broadcaster chatting: %q", got)
	}
}
