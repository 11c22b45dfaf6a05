package storetest

import (
	"testing"
	"time"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
)

func testModeration(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("Bans", func(t *testing.T) {
		s := open(t)
		f := liveFundraiser(t, s, 1_000, nil)
		other := liveFundraiser(t, s, 1_000, nil)
		banned := func(f store.Fundraiser, user string, want bool) {
			t.Helper()
			got, err := s.IsBanned(t.Context(), f.ID, user)
			if err != nil || got != want {
				t.Errorf("IsBanned(%s) = %v, %v; want %v, nil", user, got, err, want)
			}
		}
		banned(f, "u_1", false)

		if changed, err := s.BanUser(t.Context(), f.ID, "u_1", time.Time{}); err != nil || !changed {
			t.Fatalf("BanUser = changed %v, %v; want true, nil", changed, err)
		}
		checkEvents(t, s, event{Room: f.ID, Type: wire.TypeUserBanned, Data: wire.UserBannedData{UserID: "u_1"}})
		if changed, err := s.BanUser(t.Context(), f.ID, "u_1", time.Time{}); err != nil || changed {
			t.Errorf("banning twice = changed %v, %v; want false, nil", changed, err)
		}
		checkEvents(t, s)
		banned(f, "u_1", true)
		banned(f, "u_2", false)
		banned(other, "u_1", false)

		if changed, err := s.UnbanUser(t.Context(), f.ID, "u_1"); err != nil || !changed {
			t.Errorf("UnbanUser = changed %v, %v; want true, nil", changed, err)
		}
		if changed, err := s.UnbanUser(t.Context(), f.ID, "u_1"); err != nil || changed {
			t.Errorf("unbanning twice = changed %v, %v; want false, nil", changed, err)
		}
		banned(f, "u_1", false)
		checkEvents(t, s, event{Room: f.ID, Type: wire.TypeUserUnbanned, Data: wire.UserUnbannedData{UserID: "u_1"}})

		// Ended fundraisers keep their moderation.
		mustStatus(t, s, f, store.StatusEnded)
		drain(t, s)
		if changed, err := s.BanUser(t.Context(), f.ID, "u_3", time.Time{}); err != nil || !changed {
			t.Errorf("BanUser on an ended fundraiser = changed %v, %v; want true, nil", changed, err)
		}
		banned(f, "u_3", true)

		if _, err := s.BanUser(t.Context(), f.ID, "", time.Time{}); err == nil {
			t.Error("BanUser with an empty user id succeeded")
		}
		_, err := s.BanUser(t.Context(), unknownFundraiser, "u_1", time.Time{})
		wantErr(t, "BanUser on an unknown fundraiser", err, store.ErrNotFound)
		_, err = s.UnbanUser(t.Context(), unknownFundraiser, "u_1")
		wantErr(t, "UnbanUser on an unknown fundraiser", err, store.ErrNotFound)
		_, err = s.IsBanned(t.Context(), unknownFundraiser, "u_1")
		wantErr(t, "IsBanned on an unknown fundraiser", err, store.ErrNotFound)
		_, err = s.ListBans(t.Context(), unknownFundraiser)
		wantErr(t, "ListBans on an unknown fundraiser", err, store.ErrNotFound)
	})

	// A ban holds against the banned viewer's browser: their other
	// sessions, earlier or later, are banned too; other browsers and
	// sessions without one are not. Lifting it through any of the
	// browser's sessions frees them all.
	t.Run("BansHoldOnTheBrowser", func(t *testing.T) {
		s := open(t)
		f := liveFundraiser(t, s, 1_000, nil)
		troll := mustSession(t, s, "Troll", "dv_TROLL")
		earlier := mustSession(t, s, "Old name", "dv_TROLL")
		neighbour := mustSession(t, s, "Neighbour", "dv_OTHER")
		loose := mustSession(t, s, "No browser", "")
		loose2 := mustSession(t, s, "No browser either", "")
		drain(t, s)
		if _, err := s.BanUser(t.Context(), f.ID, troll.ID, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.BanUser(t.Context(), f.ID, loose.ID, time.Time{}); err != nil {
			t.Fatal(err)
		}
		drain(t, s)
		later := mustSession(t, s, "Totally someone else", "dv_TROLL")
		for _, tt := range []struct {
			sess store.Session
			want bool
		}{{troll, true}, {earlier, true}, {later, true}, {neighbour, false}, {loose, true}, {loose2, false}} {
			got, err := s.IsBanned(t.Context(), f.ID, tt.sess.ID)
			if err != nil || got != tt.want {
				t.Errorf("IsBanned(%s) = %v, %v; want %v", tt.sess.Name, got, err, tt.want)
			}
		}
		bans, err := s.ListBans(t.Context(), f.ID)
		if err != nil || len(bans) != 2 {
			t.Fatalf("ListBans = %+v, %v; want two", bans, err)
		}
		names := map[string]string{bans[0].UserID: bans[0].Name, bans[1].UserID: bans[1].Name}
		if names[troll.ID] != "Troll" || names[loose.ID] != "No browser" {
			t.Errorf("ListBans names %v", names)
		}

		// Lifted through the later session, which was never banned itself.
		if changed, err := s.UnbanUser(t.Context(), f.ID, later.ID); err != nil || !changed {
			t.Fatalf("UnbanUser(later) = %v, %v", changed, err)
		}
		checkEvents(t, s,
			event{Room: f.ID, Type: wire.TypeUserUnbanned, Data: wire.UserUnbannedData{UserID: troll.ID}},
			event{Room: f.ID, Type: wire.TypeUserUnbanned, Data: wire.UserUnbannedData{UserID: later.ID}})
		for _, sess := range []store.Session{troll, earlier, later} {
			if got, err := s.IsBanned(t.Context(), f.ID, sess.ID); err != nil || got {
				t.Errorf("IsBanned(%s) after the unban = %v, %v", sess.Name, got, err)
			}
		}
	})

	// A timeout ends by itself; banning again sets a new end, or none.
	t.Run("Timeouts", func(t *testing.T) {
		s := open(t)
		f := liveFundraiser(t, s, 1_000, nil)
		v := mustSession(t, s, "Loud", "dv_LOUD")
		drain(t, s)
		until := time.Now().Add(time.Hour).Truncate(time.Millisecond)
		if changed, err := s.BanUser(t.Context(), f.ID, v.ID, until); err != nil || !changed {
			t.Fatalf("BanUser(timeout) = %v, %v", changed, err)
		}
		checkEvents(t, s, event{Room: f.ID, Type: wire.TypeUserBanned, Data: wire.UserBannedData{UserID: v.ID, Until: until.UnixMilli()}})
		if changed, err := s.BanUser(t.Context(), f.ID, v.ID, until); err != nil || changed {
			t.Errorf("the same timeout again = %v, %v; want a no-op", changed, err)
		}
		bans, err := s.ListBans(t.Context(), f.ID)
		if err != nil || len(bans) != 1 || !bans[0].ExpiresAt.Equal(until) || bans[0].Name != "Loud" {
			t.Fatalf("ListBans = %+v, %v; want the timeout until %v", bans, err, until)
		}
		if got, _ := s.IsBanned(t.Context(), f.ID, v.ID); !got {
			t.Error("a running timeout does not hold")
		}
		// A timeout that has run out holds no more, and is not listed.
		if _, err := s.BanUser(t.Context(), f.ID, v.ID, time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.IsBanned(t.Context(), f.ID, v.ID); got {
			t.Error("a timeout that has ended still holds")
		}
		if bans, _ := s.ListBans(t.Context(), f.ID); len(bans) != 0 {
			t.Errorf("an ended timeout is listed: %+v", bans)
		}
		// Made permanent.
		drain(t, s)
		if changed, err := s.BanUser(t.Context(), f.ID, v.ID, time.Time{}); err != nil || !changed {
			t.Fatalf("BanUser(for good) over a timeout = %v, %v", changed, err)
		}
		checkEvents(t, s, event{Room: f.ID, Type: wire.TypeUserBanned, Data: wire.UserBannedData{UserID: v.ID}})
		if bans, _ := s.ListBans(t.Context(), f.ID); len(bans) != 1 || !bans[0].ExpiresAt.IsZero() {
			t.Errorf("ListBans after the ban = %+v", bans)
		}
	})

	t.Run("ChatModesAndThanks", func(t *testing.T) {
		s := open(t)
		f := liveFundraiser(t, s, 1_000, nil)
		got, err := s.SetChatModes(t.Context(), f.ID, store.ChatModes{DonorsOnly: true, WaitSeconds: 600})
		if err != nil || !got.ChatDonorsOnly || got.ChatWaitSeconds != 600 {
			t.Fatalf("SetChatModes = %+v, %v", got, err)
		}
		diff(t, "SetChatModes result and GetFundraiser", mustGet(t, s, f.ID), got)
		if _, err := s.SetChatModes(t.Context(), f.ID, store.ChatModes{WaitSeconds: -1}); err == nil {
			t.Error("a negative wait was accepted")
		}
		got, err = s.SetThanks(t.Context(), f.ID, "Thank you all!")
		if err != nil || got.Thanks != "Thank you all!" || !got.ChatDonorsOnly {
			t.Fatalf("SetThanks = %+v, %v", got, err)
		}
		diff(t, "SetThanks result and GetFundraiser", mustGet(t, s, f.ID), got)
		_, err = s.SetChatModes(t.Context(), unknownFundraiser, store.ChatModes{})
		wantErr(t, "SetChatModes of an unknown fundraiser", err, store.ErrNotFound)
		_, err = s.SetThanks(t.Context(), unknownFundraiser, "x")
		wantErr(t, "SetThanks of an unknown fundraiser", err, store.ErrNotFound)
		checkEvents(t, s)
	})

	t.Run("SlowMode", func(t *testing.T) {
		s := open(t)
		f := liveFundraiser(t, s, 1_000, nil)
		if f.SlowModeSeconds != 0 {
			t.Errorf("new fundraiser has slow mode %d", f.SlowModeSeconds)
		}
		got, err := s.SetSlowMode(t.Context(), f.ID, 30)
		if err != nil {
			t.Fatalf("SetSlowMode: %v", err)
		}
		want := mustGet(t, s, f.ID)
		if want.SlowModeSeconds != 30 {
			t.Errorf("SlowModeSeconds = %d, want 30", want.SlowModeSeconds)
		}
		diff(t, "SetSlowMode result and GetFundraiser", want, got)
		want.SlowModeSeconds = 0
		diff(t, "fundraiser apart from slow mode", f, want)

		if got, err = s.SetSlowMode(t.Context(), f.ID, 0); err != nil || got.SlowModeSeconds != 0 {
			t.Errorf("SetSlowMode(0) = %d, %v; want 0, nil", got.SlowModeSeconds, err)
		}
		if _, err := s.SetSlowMode(t.Context(), f.ID, -1); err == nil {
			t.Error("SetSlowMode(-1) succeeded")
		}
		_, err = s.SetSlowMode(t.Context(), unknownFundraiser, 5)
		wantErr(t, "SetSlowMode of an unknown fundraiser", err, store.ErrNotFound)
		checkEvents(t, s)
	})
}
