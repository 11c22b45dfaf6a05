package client_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/givelive/givelive/client"
	"github.com/givelive/givelive/hub/wire"
)

// TestSubscribeReceivesTypedEvents: a subscription starts with the
// snapshot, then carries chat, stickers and donations as typed data.
func TestSubscribeReceivesTypedEvents(t *testing.T) {
	s := startServer(t)
	room, _ := s.fundraiser(t)
	token, userID := s.viewer(t, "Ada")
	c := dial(t, s.URL, token)
	sub := subscribe(t, c, room)

	ev, snap := nextOf[*client.Snapshot](t, sub, client.TypeSnapshot)
	if snap.Id != room || snap.Title != "Speedruns for water" || snap.Totals.Raised != 0 || ev.Room != room {
		t.Fatalf("snapshot %+v", snap)
	}

	ctx := t.Context()
	if err := c.Chat(ctx, room, "hello  everyone"); err != nil {
		t.Fatal(err)
	}
	ev, chat := nextOf[wire.ChatData](t, sub, wire.TypeChat)
	if chat.Text != "hello  everyone" || chat.User.ID != userID || chat.User.Name != "Ada" || chat.ID == "" {
		t.Fatalf("chat %+v", chat)
	}
	if ev.Offset != 1 || time.Since(ev.Time) > time.Minute || ev.Room != room {
		t.Fatalf("chat event %+v", ev)
	}

	if err := c.Sticker(ctx, room, "heart"); err != nil {
		t.Fatal(err)
	}
	ev, sticker := nextOf[wire.StickerData](t, sub, wire.TypeSticker)
	if sticker.Sticker != "heart" || sticker.User.ID != userID || ev.Offset != 0 {
		t.Fatalf("sticker %+v at %d", sticker, ev.Offset)
	}

	// The Conn's API carries the viewer's token: the gift is theirs.
	receipt, err := c.API().Donate(ctx, room, client.DonationRequest{Amount: 2500, Currency: "USD", Name: "Ada", Message: "go go go"})
	if err != nil {
		t.Fatal(err)
	}
	_, d := nextOf[wire.DonationData](t, sub, wire.TypeDonation)
	want := wire.DonationData{ID: receipt.Id, Name: "Ada", Amount: 2500, Currency: "USD", Message: "go go go",
		Total: wire.Total{Raised: 2500, Goal: 500000, Donors: 1, Currency: "USD"}}
	if d != want {
		t.Fatalf("donation %+v, want %+v", d, want)
	}
	// Having given, the viewer's chat carries the donor badge and the
	// donor sticker is unlocked.
	if err := c.Sticker(ctx, room, wire.StickerIDonated); err != nil {
		t.Fatal(err)
	}
	nextOf[wire.StickerData](t, sub, wire.TypeSticker)
	if got := sub.Position(); got.Offset != 2 || got.Epoch == "" {
		t.Fatalf("position %+v", got)
	}
}

// TestResumeAfterDisconnect: whether the server goes away (1001) or the
// network dies (no close frame), the client reconnects, resumes with
// since and gets the donation made while it was away, exactly once,
// without a new snapshot.
func TestResumeAfterDisconnect(t *testing.T) {
	for _, tc := range []struct {
		name string
		down func(*testing.T, *server, *proxy)
		up   func(*testing.T, *server, *proxy)
	}{
		{"server restart 1001",
			func(t *testing.T, s *server, _ *proxy) { s.stopHub(t) },
			func(t *testing.T, s *server, _ *proxy) { s.startHub(t, true) }},
		{"network cut 1006",
			func(t *testing.T, _ *server, p *proxy) { p.down.Store(true); p.cut() },
			func(t *testing.T, _ *server, p *proxy) { p.down.Store(false) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t)
			p := startProxy(t, s.URL)
			room, _ := s.fundraiser(t)
			st := newStates()
			c := dial(t, p.URL, "", func(o *client.Options) { o.OnStateChange = st.record })
			sub := subscribe(t, c, room)
			nextOf[*client.Snapshot](t, sub, client.TypeSnapshot)
			first := s.donate(t, room, 1000, "Ada")
			if _, d := nextOf[wire.DonationData](t, sub, wire.TypeDonation); d.ID != first {
				t.Fatalf("first donation %+v", d)
			}

			tc.down(t, s, p)
			st.wait(t, client.StateReconnecting)
			away := s.donate(t, room, 2000, "Bob")
			s.waitPosition(t, room, 2)
			tc.up(t, s, p)
			st.wait(t, client.StateConnected)

			_, d := nextOf[wire.DonationData](t, sub, wire.TypeDonation)
			if d.ID != away || d.Total.Raised != 3000 {
				t.Fatalf("donation made while away: %+v", d)
			}
			// A later event comes next: the one made while away came once.
			last := s.donate(t, room, 3000, "Cy")
			if _, d := nextOf[wire.DonationData](t, sub, wire.TypeDonation); d.ID != last {
				t.Fatalf("after the resumed donation came %+v, want %s", d, last)
			}
			if got := c.Stats().Reconnects; got < 1 {
				t.Fatalf("reconnects %d", got)
			}
			if got := sub.Stats(); got.Snapshots != 1 || got.Resumes < 1 || got.Duplicates != 0 {
				t.Fatalf("stats %+v", got)
			}
		})
	}
}

// TestSnapshotWhenGapNotRecovered: after a restart that lost the rooms'
// history (a new epoch), the server answers recovered:false; the client
// delivers a fresh snapshot that includes the donation made while away,
// then continues live.
func TestSnapshotWhenGapNotRecovered(t *testing.T) {
	s := startServer(t)
	room, _ := s.fundraiser(t)
	c := dial(t, s.URL, "")
	sub := subscribe(t, c, room)
	_, first := nextOf[*client.Snapshot](t, sub, client.TypeSnapshot)
	s.donate(t, room, 1000, "Ada")
	nextOf[wire.DonationData](t, sub, wire.TypeDonation)

	s.stopHub(t)
	away := s.donate(t, room, 2000, "Bob")
	s.waitPosition(t, room, 2) // published into the history about to be lost
	s.startHub(t, false)

	ev, snap := nextOf[*client.Snapshot](t, sub, client.TypeSnapshot)
	if snap.Position.Epoch == first.Position.Epoch {
		t.Fatalf("snapshot from the old epoch %q", snap.Position.Epoch)
	}
	if snap.Totals.Raised != 3000 || len(snap.RecentDonations) != 2 || snap.RecentDonations[0].Id != away {
		t.Fatalf("snapshot after the gap: totals %+v, recent %+v", snap.Totals, snap.RecentDonations)
	}
	if ev.Offset != uint64(snap.Position.Offset) {
		t.Fatalf("snapshot event offset %d, position %+v", ev.Offset, snap.Position)
	}
	last := s.donate(t, room, 3000, "Cy")
	_, d := nextOf[wire.DonationData](t, sub, wire.TypeDonation)
	if d.ID != last || d.Total.Raised != 6000 {
		t.Fatalf("live after the snapshot: %+v", d)
	}
	if got := sub.Stats(); got.Snapshots != 2 {
		t.Fatalf("stats %+v", got)
	}
	if got := sub.Position(); got.Epoch != snap.Position.Epoch {
		t.Fatalf("position %+v, want the new epoch %q", got, snap.Position.Epoch)
	}
}

// TestDuplicateDonationsDeliveredOnce: a donation event repeated by the
// server (an outbox retry, a failover) reaches the application once, also
// when the donation was already in the snapshot.
func TestDuplicateDonationsDeliveredOnce(t *testing.T) {
	s := startServer(t)
	room, _ := s.fundraiser(t)
	before := s.donate(t, room, 1500, "Early")
	c := dial(t, s.URL, "")
	sub := subscribe(t, c, room)
	_, snap := nextOf[*client.Snapshot](t, sub, client.TypeSnapshot)
	if len(snap.RecentDonations) != 1 || snap.RecentDonations[0].Id != before {
		t.Fatalf("snapshot donations %+v", snap.RecentDonations)
	}

	id := s.donate(t, room, 2500, "Ada")
	ev, d := nextOf[wire.DonationData](t, sub, wire.TypeDonation)
	if d.ID != id {
		t.Fatalf("donation %+v", d)
	}
	s.publish(t, room, wire.TypeDonation, ev.Raw) // the same event again
	s.publish(t, room, wire.TypeDonation, wire.DonationData{ID: before, Name: "Early", Amount: 1500, Currency: "USD"})
	s.publish(t, room, wire.TypeMilestone, wire.MilestoneData{Amount: 4000, Currency: "USD"})

	if _, m := nextOf[wire.MilestoneData](t, sub, wire.TypeMilestone); m.Amount != 4000 {
		t.Fatalf("milestone %+v", m)
	}
	if got := sub.Stats(); got.Duplicates != 2 {
		t.Fatalf("stats %+v, want 2 duplicates", got)
	}
}

// TestCommandErrorsAreTyped: refusals surface as *CommandError with the
// protocol's code, and leave the connection open.
func TestCommandErrorsAreTyped(t *testing.T) {
	s := startServer(t)
	room, owner := s.fundraiser(t)
	ctx := t.Context()
	adaToken, _ := s.viewer(t, "Ada")
	ada := dial(t, s.URL, adaToken)
	subscribe(t, ada, room)
	bobToken, bobID := s.viewer(t, "Bob")
	bob := dial(t, s.URL, bobToken)
	subscribe(t, bob, room)
	anon := dial(t, s.URL, "")
	subscribe(t, anon, room)

	ban, err := s.admin.Raw().BanUserWithResponse(ctx, room, bobID, bearer(owner))
	if err != nil || ban.StatusCode() != 204 {
		t.Fatalf("ban: %v %d %s", err, ban.StatusCode(), ban.Body)
	}

	for _, tc := range []struct {
		name string
		run  func() error
		code string
	}{
		{"anonymous chat", func() error { return anon.Chat(ctx, room, "hi") }, wire.ErrUnauthenticated},
		{"room not subscribed", func() error { return ada.Chat(ctx, "f_elsewhere", "hi") }, wire.ErrForbidden},
		{"donor sticker before giving", func() error { return ada.Sticker(ctx, room, wire.StickerIDonated) }, wire.ErrStickerLocked},
		{"unknown sticker", func() error { return ada.Sticker(ctx, room, "unicorn") }, wire.ErrBadRequest},
		{"chat too long", func() error { return ada.Chat(ctx, room, strings.Repeat("a", 301)) }, wire.ErrTooLong},
		{"command over 4096 bytes", func() error { return ada.Chat(ctx, room, strings.Repeat("a", 5000)) }, wire.ErrBadRequest},
		{"banned", func() error { return bob.Chat(ctx, room, "hi") }, wire.ErrBanned},
		{"rate limited", func() error {
			for range 3 { // the burst
				if err := ada.Chat(ctx, room, "spam"); err != nil {
					return err
				}
			}
			return ada.Chat(ctx, room, "spam")
		}, wire.ErrRateLimited},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			var ce *client.CommandError
			if !errors.As(err, &ce) || ce.Code != tc.code || ce.Message == "" {
				t.Fatalf("error %v (%T), want code %s", err, err, tc.code)
			}
		})
	}
	for _, c := range []*client.Conn{ada, bob, anon} {
		if err := c.Ping(ctx); err != nil {
			t.Fatalf("ping after refusals: %v", err)
		}
	}
	if _, err := ada.Send(ctx, wire.Command{Op: wire.OpSubscribe, Room: room}); err == nil {
		t.Fatal("Send accepted a subscribe")
	}
}

// TestBadTokenStopsReconnecting: 4001 ends the Conn for good, at Dial and
// after a reconnect with a token that has meanwhile expired.
func TestBadTokenStopsReconnecting(t *testing.T) {
	s := startServer(t)
	room, _ := s.fundraiser(t)

	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	_, err := client.Dial(ctx, s.URL, &client.Options{Token: "not-a-token"})
	var ce *client.CloseError
	if !errors.As(err, &ce) || ce.Code != wire.CloseBadToken {
		t.Fatalf("dial with a bad token: %v", err)
	}
	if strings.Contains(err.Error(), "not-a-token") {
		t.Fatalf("error shows the token: %v", err)
	}

	token, _ := s.viewer(t, "Ada")
	st := newStates()
	c := dial(t, s.URL, token, func(o *client.Options) { o.OnStateChange = st.record })
	sub := subscribe(t, c, room)
	nextOf[*client.Snapshot](t, sub, client.TypeSnapshot)

	s.clock.Advance(48 * time.Hour) // the viewer token expires
	s.stopHub(t)
	s.startHub(t, true)
	select {
	case <-c.Done():
	case <-time.After(waitFor):
		t.Fatalf("Conn still running; states %v", st.all())
	}
	if err := c.Err(); !errors.As(err, &ce) || ce.Code != wire.CloseBadToken {
		t.Fatalf("Conn error %v, want 4001", err)
	}
	if _, err := sub.Next(t.Context()); !errors.As(err, &ce) || ce.Code != wire.CloseBadToken {
		t.Fatalf("Next: %v, want 4001", err)
	}
	if err := c.Chat(t.Context(), room, "hi"); !errors.As(err, &ce) {
		t.Fatalf("Chat after 4001: %v", err)
	}
	if got := st.all(); got[len(got)-1] != client.StateClosed || c.State() != client.StateClosed {
		t.Fatalf("states %v", got)
	}
	// No more handshakes: several backoffs later the count has not moved.
	dials := s.dials.Load()
	time.Sleep(300 * time.Millisecond)
	if got := s.dials.Load(); got != dials {
		t.Fatalf("%d handshakes after 4001", got-dials)
	}
}

// TestSlowReaderLosesNothing: a subscription whose queue overflows stops
// taking live events and catches up from the server's history once the
// application reads again: every event arrives, once, in order.
func TestSlowReaderLosesNothing(t *testing.T) {
	s := startServer(t)
	room, _ := s.fundraiser(t)
	c := dial(t, s.URL, "", func(o *client.Options) { o.QueueSize = 4 })
	sub := subscribe(t, c, room)
	nextOf[*client.Snapshot](t, sub, client.TypeSnapshot)

	const n = 40
	for i := range n {
		s.publish(t, room, wire.TypeMilestone, wire.MilestoneData{Amount: int64(i), Currency: "USD"})
	}
	s.waitPosition(t, room, n)
	// Let the client meet the full queue before reading.
	deadline := time.Now().Add(waitFor)
	for sub.Stats().Overflows == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("queue never overflowed: %+v", sub.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i := range n {
		ev, m := nextOf[wire.MilestoneData](t, sub, wire.TypeMilestone)
		if m.Amount != int64(i) || ev.Offset != uint64(i+1) {
			t.Fatalf("event %d: %+v at offset %d", i, m, ev.Offset)
		}
	}
	if got := sub.Stats(); got.Resumes < 1 || got.Snapshots != 1 {
		t.Fatalf("stats %+v", got)
	}
}

// TestUnsubscribe: Next ends with ErrUnsubscribed, the room can be joined
// again, and a Conn holds one Subscription per room.
func TestUnsubscribe(t *testing.T) {
	s := startServer(t)
	room, _ := s.fundraiser(t)
	c := dial(t, s.URL, "")
	sub := subscribe(t, c, room)
	if _, err := c.Subscribe(t.Context(), room); !errors.Is(err, client.ErrAlreadySubscribed) {
		t.Fatalf("second subscribe: %v", err)
	}
	sub.Unsubscribe()
	nextOf[*client.Snapshot](t, sub, client.TypeSnapshot) // queued before
	if _, err := sub.Next(t.Context()); !errors.Is(err, client.ErrUnsubscribed) {
		t.Fatalf("Next after Unsubscribe: %v", err)
	}
	again := subscribe(t, c, room)
	nextOf[*client.Snapshot](t, again, client.TypeSnapshot)
	s.donate(t, room, 1000, "Ada")
	nextOf[wire.DonationData](t, again, wire.TypeDonation)

	if _, err := c.Subscribe(t.Context(), "f_missing"); err == nil {
		t.Fatal("subscribed to a fundraiser that does not exist")
	} else if ae := (*client.APIError)(nil); !errors.As(err, &ae) || ae.Status != 404 {
		t.Fatalf("subscribe to a missing fundraiser: %v", err)
	}
}

// TestCloseLeavesNothingRunning: Close ends subscriptions and commands,
// also while reconnecting, and leaves no goroutine behind.
func TestCloseLeavesNothingRunning(t *testing.T) {
	s := startServer(t)
	p := startProxy(t, s.URL)
	room, _ := s.fundraiser(t)
	token, _ := s.viewer(t, "Ada")
	baseline := goleak.IgnoreCurrent()

	st := newStates()
	c, err := client.Dial(t.Context(), p.URL, &client.Options{
		Token: token, BackoffMin: time.Millisecond, BackoffMax: 20 * time.Millisecond,
		OnStateChange: st.record, // the keepalive runs (default interval) and must stop too
	})
	if err != nil {
		t.Fatal(err)
	}
	sub := subscribe(t, c, room)
	nextOf[*client.Snapshot](t, sub, client.TypeSnapshot)
	if err := c.Chat(t.Context(), room, "hi"); err != nil {
		t.Fatal(err)
	}
	nextOf[wire.ChatData](t, sub, wire.TypeChat)

	// Close while the network is down and a command waits for it.
	p.down.Store(true)
	p.cut()
	st.wait(t, client.StateReconnecting)
	waiting := make(chan error, 1)
	go func() { waiting <- c.Ping(context.Background()) }()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-waiting; !errors.Is(err, client.ErrClosed) {
		t.Fatalf("command waiting at Close: %v", err)
	}
	if _, err := sub.Next(t.Context()); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	if err := c.Err(); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Err after Close: %v", err)
	}
	if _, err := c.Subscribe(t.Context(), room); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Subscribe after Close: %v", err)
	}
	_ = c.Close()
	if got := st.all(); !slices.Equal(got[len(got)-1:], []client.State{client.StateClosed}) {
		t.Fatalf("states %v", got)
	}
	goleak.VerifyNone(t, baseline)
}

// TestAnonymousGiftEarnsNoBadge: a viewer whose only gift is anonymous
// chats without the donor badge (it would point at the giver), yet may send
// the i-donated sticker by their own choice. A named gift then earns the
// badge.
func TestAnonymousGiftEarnsNoBadge(t *testing.T) {
	s := startServer(t)
	room, _ := s.fundraiser(t)
	token, userID := s.viewer(t, "Ada")
	c := dial(t, s.URL, token)
	sub := subscribe(t, c, room)
	nextOf[*client.Snapshot](t, sub, client.TypeSnapshot)
	ctx := t.Context()

	if _, err := c.API().Donate(ctx, room, client.DonationRequest{Amount: 2500, Currency: "USD", Anonymous: true}); err != nil {
		t.Fatal(err)
	}
	if _, d := nextOf[wire.DonationData](t, sub, wire.TypeDonation); d.Name != "Anonymous" {
		t.Fatalf("anonymous donation announced as %q", d.Name)
	}
	if err := c.Chat(ctx, room, "great stream"); err != nil {
		t.Fatal(err)
	}
	if _, chat := nextOf[wire.ChatData](t, sub, wire.TypeChat); chat.User.ID != userID || len(chat.User.Badges) != 0 {
		t.Fatalf("chat after an anonymous gift: %+v, want no badge", chat.User)
	}
	if err := c.Sticker(ctx, room, wire.StickerIDonated); err != nil {
		t.Fatalf("i-donated after an anonymous gift: %v", err)
	}
	nextOf[wire.StickerData](t, sub, wire.TypeSticker)

	if _, err := c.API().Donate(ctx, room, client.DonationRequest{Amount: 1000, Currency: "USD", Name: "Ada"}); err != nil {
		t.Fatal(err)
	}
	nextOf[wire.DonationData](t, sub, wire.TypeDonation)
	if err := c.Chat(ctx, room, "and once more, by name"); err != nil {
		t.Fatal(err)
	}
	if _, chat := nextOf[wire.ChatData](t, sub, wire.TypeChat); !slices.Equal(chat.User.Badges, []string{wire.BadgeDonor}) {
		t.Fatalf("chat after a named gift: badges %v, want donor", chat.User.Badges)
	}
}
