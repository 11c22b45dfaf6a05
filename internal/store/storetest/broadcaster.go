package storetest

import (
	"testing"
	"time"

	"github.com/givelive/givelive/internal/store"
)

func testBroadcasters(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CreateAndGet", func(t *testing.T) {
		s := open(t)
		before := time.Now()
		got, err := s.CreateBroadcaster(t.Context(), "Zoë Streams", tokenHash("token-1"))
		if err != nil {
			t.Fatalf("CreateBroadcaster: %v", err)
		}
		checkID(t, "b_", got.ID)
		checkTime(t, "CreatedAt", got.CreatedAt, before)
		diff(t, "created broadcaster", store.Broadcaster{ID: got.ID, Name: "Zoë Streams", CreatedAt: got.CreatedAt}, got)

		read, err := s.GetBroadcaster(t.Context(), got.ID)
		if err != nil {
			t.Fatalf("GetBroadcaster: %v", err)
		}
		diff(t, "GetBroadcaster", got, read)

		_, err = s.GetBroadcaster(t.Context(), "b_0190f0f0f0f07000800000000000dead")
		wantErr(t, "GetBroadcaster(unknown)", err, store.ErrNotFound)
		_, err = s.GetBroadcaster(t.Context(), "")
		wantErr(t, "GetBroadcaster(\"\")", err, store.ErrNotFound)
	})

	t.Run("TokenHash", func(t *testing.T) {
		s := open(t)
		h1, h2 := tokenHash("token-1"), tokenHash("token-2")
		b1, err := s.CreateBroadcaster(t.Context(), "one", h1)
		if err != nil {
			t.Fatalf("CreateBroadcaster(one): %v", err)
		}
		b2, err := s.CreateBroadcaster(t.Context(), "two", h2)
		if err != nil {
			t.Fatalf("CreateBroadcaster(two): %v", err)
		}
		for _, c := range []struct {
			hash []byte
			want store.Broadcaster
		}{{h1, b1}, {h2, b2}} {
			got, err := s.BroadcasterByTokenHash(t.Context(), c.hash)
			if err != nil {
				t.Fatalf("BroadcasterByTokenHash(%s's hash): %v", c.want.Name, err)
			}
			diff(t, "BroadcasterByTokenHash", c.want, got)
		}

		flipped := append([]byte(nil), h1...)
		flipped[len(flipped)-1] ^= 1
		for name, hash := range map[string][]byte{
			"unknown token":    tokenHash("token-3"),
			"last bit flipped": flipped,
			"prefix":           h1[:16],
			"empty":            {},
			"nil":              nil,
		} {
			_, err := s.BroadcasterByTokenHash(t.Context(), hash)
			wantErr(t, "BroadcasterByTokenHash("+name+")", err, store.ErrNotFound)
		}
	})

	t.Run("DuplicateTokenHash", func(t *testing.T) {
		s := open(t)
		h := tokenHash("shared")
		first, err := s.CreateBroadcaster(t.Context(), "first", h)
		if err != nil {
			t.Fatalf("CreateBroadcaster(first): %v", err)
		}
		_, err = s.CreateBroadcaster(t.Context(), "second", tokenHash("shared"))
		wantErr(t, "CreateBroadcaster with a token hash in use", err, store.ErrConflict)

		got, err := s.BroadcasterByTokenHash(t.Context(), h)
		if err != nil {
			t.Fatalf("BroadcasterByTokenHash: %v", err)
		}
		diff(t, "owner of the shared hash", first, got)
	})
}
