package storetest

import (
	"testing"

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

		if changed, err := s.BanUser(t.Context(), f.ID, "u_1"); err != nil || !changed {
			t.Fatalf("BanUser = changed %v, %v; want true, nil", changed, err)
		}
		checkEvents(t, s, event{Room: f.ID, Type: wire.TypeUserBanned, Data: wire.UserBannedData{UserID: "u_1"}})
		if changed, err := s.BanUser(t.Context(), f.ID, "u_1"); err != nil || changed {
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
		checkEvents(t, s)

		// Ended fundraisers keep their moderation.
		mustStatus(t, s, f, store.StatusEnded)
		drain(t, s)
		if changed, err := s.BanUser(t.Context(), f.ID, "u_3"); err != nil || !changed {
			t.Errorf("BanUser on an ended fundraiser = changed %v, %v; want true, nil", changed, err)
		}
		banned(f, "u_3", true)

		if _, err := s.BanUser(t.Context(), f.ID, ""); err == nil {
			t.Error("BanUser with an empty user id succeeded")
		}
		_, err := s.BanUser(t.Context(), unknownFundraiser, "u_1")
		wantErr(t, "BanUser on an unknown fundraiser", err, store.ErrNotFound)
		_, err = s.UnbanUser(t.Context(), unknownFundraiser, "u_1")
		wantErr(t, "UnbanUser on an unknown fundraiser", err, store.ErrNotFound)
		_, err = s.IsBanned(t.Context(), unknownFundraiser, "u_1")
		wantErr(t, "IsBanned on an unknown fundraiser", err, store.ErrNotFound)
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
