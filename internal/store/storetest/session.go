package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/givelive/givelive/internal/store"
)

func testSessions(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CreateAndGet", func(t *testing.T) {
		s := open(t)
		before := time.Now()
		got, err := s.CreateSession(t.Context(), "Ada", "dv_A")
		if err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		checkID(t, "u_", got.ID)
		checkTime(t, "CreatedAt", got.CreatedAt, before)
		diff(t, "created session", store.Session{ID: got.ID, Name: "Ada", DeviceID: "dv_A", CreatedAt: got.CreatedAt}, got)

		read, err := s.GetSession(t.Context(), got.ID)
		if err != nil {
			t.Fatalf("GetSession: %v", err)
		}
		diff(t, "GetSession", got, read)

		// Names need not be unique; IDs are.
		other, err := s.CreateSession(t.Context(), "Ada", "")
		if err != nil {
			t.Fatalf("CreateSession again: %v", err)
		}
		if other.ID == got.ID {
			t.Errorf("two sessions share the ID %s", got.ID)
		}
	})

	t.Run("Unknown", func(t *testing.T) {
		s := open(t)
		for _, id := range []string{"u_0190f0f0f0f07000800000000000dead", ""} {
			_, err := s.GetSession(t.Context(), id)
			wantErr(t, "GetSession("+id+")", err, store.ErrNotFound)
			_, err = s.ChatterSince(t.Context(), id)
			wantErr(t, "ChatterSince("+id+")", err, store.ErrNotFound)
		}
	})

	// A browser's first session dates its viewer: later sessions from the
	// same browser share it; other browsers, and sessions without one,
	// have their own.
	t.Run("ChatterSince", func(t *testing.T) {
		s := open(t)
		first := mustSession(t, s, "Ada", "dv_A")
		time.Sleep(2 * time.Millisecond) // distinct millisecond timestamps
		later := mustSession(t, s, "Not Ada", "dv_A")
		other := mustSession(t, s, "Bob", "dv_B")
		loose := mustSession(t, s, "Cy", "")
		loose2 := mustSession(t, s, "Cy", "")
		for _, tt := range []struct {
			sess store.Session
			want time.Time
		}{{first, first.CreatedAt}, {later, first.CreatedAt}, {other, other.CreatedAt}, {loose, loose.CreatedAt}, {loose2, loose2.CreatedAt}} {
			got, err := s.ChatterSince(t.Context(), tt.sess.ID)
			if err != nil || !got.Equal(tt.want) {
				t.Errorf("ChatterSince(%s %s) = %v, %v; want %v", tt.sess.Name, tt.sess.DeviceID, got, err, tt.want)
			}
		}
		if !later.CreatedAt.After(first.CreatedAt) {
			t.Fatalf("sessions made 2 ms apart have times %v and %v", first.CreatedAt, later.CreatedAt)
		}
	})

	// Writers from many goroutines all succeed (no "database is locked")
	// and read their own writes.
	t.Run("ConcurrentWriters", func(t *testing.T) {
		s := open(t)
		const writers, each = 8, 20
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			ids = make(map[string]bool)
		)
		for w := range writers {
			wg.Go(func() {
				for range each {
					sess, err := s.CreateSession(t.Context(), "viewer", "")
					if err != nil {
						t.Errorf("writer %d: CreateSession: %v", w, err)
						return
					}
					read, err := s.GetSession(t.Context(), sess.ID)
					if err != nil {
						t.Errorf("writer %d: GetSession(%s): %v", w, sess.ID, err)
						return
					}
					diff(t, "GetSession after CreateSession", sess, read)
					mu.Lock()
					ids[sess.ID] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(ids) != writers*each {
			t.Errorf("%d distinct session IDs, want %d", len(ids), writers*each)
		}
	})
}

func mustSession(t *testing.T, s store.Store, name, device string) store.Session {
	t.Helper()
	sess, err := s.CreateSession(t.Context(), name, device)
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return sess
}
