package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/givelive/givelive/internal/store"
)

// fixed returns a generator of value that counts its calls.
func fixed(value string, calls *atomic.Int32) func() ([]byte, error) {
	return func() ([]byte, error) {
		calls.Add(1)
		return []byte(value), nil
	}
}

// never returns a generator that fails t if called.
func never(t *testing.T) func() ([]byte, error) {
	return func() ([]byte, error) {
		t.Error("gen called for a secret that already exists")
		return []byte("wrong"), nil
	}
}

func testSecrets(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CreatedOnce", func(t *testing.T) {
		s := open(t)
		var calls atomic.Int32
		got, err := s.Secret(t.Context(), "jwt", fixed("first", &calls))
		if err != nil {
			t.Fatalf("Secret: %v", err)
		}
		if string(got) != "first" || calls.Load() != 1 {
			t.Fatalf("first Secret = %q after %d gen calls, want %q after 1", got, calls.Load(), "first")
		}
		again, err := s.Secret(t.Context(), "jwt", never(t))
		if err != nil {
			t.Fatalf("Secret again: %v", err)
		}
		diff(t, "Secret on second use", []byte("first"), again)

		// The caller owns the returned slice.
		again[0] = 'X'
		third, err := s.Secret(t.Context(), "jwt", never(t))
		if err != nil {
			t.Fatalf("Secret a third time: %v", err)
		}
		diff(t, "Secret after the caller changed a returned slice", []byte("first"), third)
	})

	t.Run("NamesAreSeparate", func(t *testing.T) {
		s := open(t)
		var calls atomic.Int32
		a, err := s.Secret(t.Context(), "a", fixed("value-a", &calls))
		if err != nil {
			t.Fatalf("Secret(a): %v", err)
		}
		b, err := s.Secret(t.Context(), "b", fixed("value-b", &calls))
		if err != nil {
			t.Fatalf("Secret(b): %v", err)
		}
		if string(a) != "value-a" || string(b) != "value-b" || calls.Load() != 2 {
			t.Errorf("Secret(a), Secret(b) = %q, %q after %d gen calls; want value-a, value-b after 2", a, b, calls.Load())
		}
	})

	t.Run("GenError", func(t *testing.T) {
		s := open(t)
		boom := errors.New("entropy exhausted")
		_, err := s.Secret(t.Context(), "jwt", func() ([]byte, error) { return nil, boom })
		wantErr(t, "Secret with a failing gen", err, boom)

		// The failure stored nothing: the next caller's gen runs.
		var calls atomic.Int32
		got, err := s.Secret(t.Context(), "jwt", fixed("second", &calls))
		if err != nil {
			t.Fatalf("Secret after a failed gen: %v", err)
		}
		if string(got) != "second" || calls.Load() != 1 {
			t.Errorf("Secret after a failed gen = %q after %d calls, want %q after 1", got, calls.Load(), "second")
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := open(t)
		const callers = 32
		var (
			wg        sync.WaitGroup
			calls     atomic.Int32
			generated sync.Map // values some gen returned
			start     = make(chan struct{})
			results   [callers][]byte
			errs      [callers]error
		)
		for i := range callers {
			gen := func() ([]byte, error) {
				calls.Add(1)
				v := fmt.Sprintf("value-%02d", i)
				generated.Store(v, true)
				return []byte(v), nil
			}
			wg.Go(func() {
				<-start
				results[i], errs[i] = s.Secret(t.Context(), "jwt", gen)
			})
		}
		close(start)
		wg.Wait()

		for i, err := range errs {
			if err != nil {
				t.Fatalf("caller %d: Secret: %v", i, err)
			}
		}
		winner := results[0]
		if _, ok := generated.Load(string(winner)); !ok {
			t.Fatalf("Secret = %q, which no gen returned", winner)
		}
		for i, got := range results {
			if !bytes.Equal(got, winner) {
				t.Errorf("caller %d got %q, caller 0 got %q", i, got, winner)
			}
		}
		if n := calls.Load(); n < 1 || n > callers {
			t.Errorf("gen called %d times, want between 1 and %d", n, callers)
		}
		later, err := s.Secret(t.Context(), "jwt", never(t))
		if err != nil {
			t.Fatalf("Secret after the race: %v", err)
		}
		diff(t, "Secret after the race", winner, later)
	})
}
