// Package brokertest is the contract every hub.Broker must keep: offsets,
// epochs, history and recovery semantics, and delivery order. A broker's
// tests call Run with a constructor for fresh, empty brokers.
package brokertest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/wire"
)

// Config describes the broker under test.
type Config struct {
	// New returns a fresh broker whose history holds at least HistorySize
	// publications per room. Run closes it.
	New         func(t *testing.T) hub.Broker
	HistorySize int
}

// Recorder is a PublicationHandler that keeps what it receives, for tests
// of brokers. It is safe for concurrent use.
type Recorder struct {
	mu   sync.Mutex
	got  map[string][]hub.Publication
	wake chan struct{}
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{got: map[string][]hub.Publication{}, wake: make(chan struct{}, 1)}
}

// HandlePublication records p.
func (r *Recorder) HandlePublication(room string, p hub.Publication) {
	r.mu.Lock()
	r.got[room] = append(r.got[room], p)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Count is how many publications room has received.
func (r *Recorder) Count(room string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got[room])
}

// Wake receives after a publication arrives (coalesced).
func (r *Recorder) Wake() <-chan struct{} { return r.wake }

// Wait returns the room's publications once there are n of them.
func (r *Recorder) Wait(t testing.TB, room string, n int) []hub.Publication {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		r.mu.Lock()
		got := append([]hub.Publication(nil), r.got[room]...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.wake:
		case <-deadline:
			t.Fatalf("room %s: received %d publications, want %d", room, len(got), n)
		}
	}
}

func start(t *testing.T, cfg Config) (hub.Broker, *Recorder) {
	t.Helper()
	b := cfg.New(t)
	rec := NewRecorder()
	if err := b.Start(rec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, rec
}

func publish(t *testing.T, b hub.Broker, room, typ, data string) wire.Position {
	t.Helper()
	pos, err := b.Publish(context.Background(), room, hub.Publication{Type: typ, Data: []byte(data), Time: time.Now().UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	return pos
}

func history(t *testing.T, b hub.Broker, room string, since *wire.Position) hub.History {
	t.Helper()
	h, err := b.History(context.Background(), room, since)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Run runs the contract.
func Run(t *testing.T, cfg Config) {
	t.Run("NewRoomHasEpochAndOffsetZero", func(t *testing.T) {
		b, _ := start(t, cfg)
		h1 := history(t, b, "f_new", nil)
		h2 := history(t, b, "f_new", nil)
		if h1.Position.Epoch == "" || h1.Position.Offset != 0 || h1.Recovered || len(h1.Publications) != 0 {
			t.Fatalf("new room: %+v", h1)
		}
		if h2.Position != h1.Position {
			t.Fatalf("epoch changed between reads: %+v then %+v", h1.Position, h2.Position)
		}
		if pos := publish(t, b, "f_new", wire.TypeChat, `{}`); pos.Epoch != h1.Position.Epoch || pos.Offset != 1 {
			t.Fatalf("first publication at %+v, want %s/1", pos, h1.Position.Epoch)
		}
	})

	t.Run("OffsetsAreConsecutivePerRoom", func(t *testing.T) {
		b, rec := start(t, cfg)
		subscribe(t, b, "f_a", "f_b")
		for i := 1; i <= 5; i++ {
			if pos := publish(t, b, "f_a", wire.TypeChat, fmt.Sprintf(`{"n":%d}`, i)); pos.Offset != uint64(i) {
				t.Fatalf("publication %d got offset %d", i, pos.Offset)
			}
		}
		if pos := publish(t, b, "f_b", wire.TypeChat, `{}`); pos.Offset != 1 {
			t.Fatalf("other room's first offset %d, want 1", pos.Offset)
		}
		got := rec.Wait(t, "f_a", 5)
		for i, p := range got {
			if p.Offset != uint64(i+1) || string(p.Data) != fmt.Sprintf(`{"n":%d}`, i+1) || p.Type != wire.TypeChat || p.Epoch == "" {
				t.Fatalf("delivered #%d: %+v", i, p)
			}
		}
	})

	t.Run("VolatileHasNoOffsetOrHistory", func(t *testing.T) {
		b, rec := start(t, cfg)
		subscribe(t, b, "f_v")
		publish(t, b, "f_v", wire.TypeChat, `{}`)
		pos := publish(t, b, "f_v", wire.TypeViewers, `{"count":2}`)
		if pos.Offset != 1 {
			t.Fatalf("position after a volatile publication: %d, want 1", pos.Offset)
		}
		got := rec.Wait(t, "f_v", 2)
		if got[1].Offset != 0 || got[1].Type != wire.TypeViewers {
			t.Fatalf("volatile delivered as %+v", got[1])
		}
		h := history(t, b, "f_v", &wire.Position{Epoch: pos.Epoch, Offset: 0})
		if !h.Recovered || len(h.Publications) != 1 || h.Publications[0].Type != wire.TypeChat {
			t.Fatalf("history holds %+v, want only the chat", h.Publications)
		}
	})

	t.Run("HistoryIsWholeGapOrNothing", func(t *testing.T) {
		b, _ := start(t, cfg)
		n := cfg.HistorySize + 3
		var pos wire.Position
		for i := 1; i <= n; i++ {
			pos = publish(t, b, "f_h", wire.TypeShoutout, fmt.Sprintf(`{"n":%d}`, i))
		}
		oldest := uint64(n - cfg.HistorySize) // the last offset not kept
		cases := []struct {
			name      string
			since     wire.Position
			recovered bool
		}{
			{"up to date", pos, true},
			{"one behind", wire.Position{Epoch: pos.Epoch, Offset: pos.Offset - 1}, true},
			{"oldest kept", wire.Position{Epoch: pos.Epoch, Offset: oldest}, true},
			{"older than kept", wire.Position{Epoch: pos.Epoch, Offset: oldest - 1}, false},
			{"from zero", wire.Position{Epoch: pos.Epoch}, false},
			{"other epoch", wire.Position{Epoch: "x" + pos.Epoch, Offset: pos.Offset}, false},
			{"future", wire.Position{Epoch: pos.Epoch, Offset: pos.Offset + 1}, false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				h := history(t, b, "f_h", &tc.since)
				if h.Position != pos || h.Recovered != tc.recovered {
					t.Fatalf("got position %+v recovered %v, want %+v %v", h.Position, h.Recovered, pos, tc.recovered)
				}
				if !tc.recovered {
					if len(h.Publications) != 0 {
						t.Fatalf("%d publications in a refused recovery", len(h.Publications))
					}
					return
				}
				if len(h.Publications) != int(pos.Offset-tc.since.Offset) {
					t.Fatalf("%d publications, want %d", len(h.Publications), pos.Offset-tc.since.Offset)
				}
				for i, p := range h.Publications {
					want := tc.since.Offset + uint64(i) + 1
					if p.Offset != want || string(p.Data) != fmt.Sprintf(`{"n":%d}`, want) || p.Epoch != pos.Epoch {
						t.Fatalf("publication %d: %+v, want offset %d", i, p, want)
					}
				}
			})
		}
	})

	t.Run("ConcurrentPublishersKeepOrder", func(t *testing.T) {
		b, rec := start(t, cfg)
		subscribe(t, b, "f_c")
		const writers, each = 8, 50
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					publish(t, b, "f_c", wire.TypeChat, fmt.Sprintf(`{"w":%d,"i":%d}`, w, i))
				}
			})
		}
		wg.Wait()
		got := rec.Wait(t, "f_c", writers*each)
		for i, p := range got {
			if p.Offset != uint64(i+1) {
				t.Fatalf("delivery %d has offset %d: out of order or a gap", i, p.Offset)
			}
		}
	})

	t.Run("ModeratedContentIsNotReplayed", func(t *testing.T) {
		moderatedContentIsNotReplayed(t, cfg)
	})

	t.Run("UnsubscribedRoomsAreNotDelivered", func(t *testing.T) {
		b, rec := start(t, cfg)
		subscribe(t, b, "f_on")
		publish(t, b, "f_off", wire.TypeChat, `{}`)
		publish(t, b, "f_on", wire.TypeChat, `{}`)
		rec.Wait(t, "f_on", 1)
		// Brokers that deliver everything (a single node) may still hand
		// the hub f_off, which the hub ignores; what matters is f_on.
	})
}

func subscribe(t *testing.T, b hub.Broker, rooms ...string) {
	t.Helper()
	for _, r := range rooms {
		if err := b.Subscribe(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
}

// moderatedContentIsNotReplayed: a viewer resuming from before a hidden
// donation message, a deleted chat line or a banned user's lines gets the
// same offsets, but not the removed words; live delivery is unchanged (it
// happened before the moderation), and what was not moderated is replayed
// byte for byte.
func moderatedContentIsNotReplayed(t *testing.T, cfg Config) {
	if cfg.HistorySize < 8 {
		t.Skip("needs a history of at least 8 publications")
	}
	b, rec := start(t, cfg)
	const room = "f_mod"
	subscribe(t, b, room)
	start := history(t, b, room, nil).Position
	kept := `{"id":"c_3","user":{"id":"u_3","name":"Kind"},"text":"lovely stream"}`
	steps := []struct{ typ, data string }{
		{wire.TypeDonation, `{"id":"d_1","name":"Ann","amount":500,"currency":"USD","message":"SECRET-GIFT-WORDS","total":{"raised":500,"goal":1000,"donors":1,"currency":"USD"}}`},
		{wire.TypeChat, `{"id":"c_1","user":{"id":"u_1","name":"Rude"},"text":"SECRET-DELETED-LINE"}`},
		{wire.TypeChat, `{"id":"c_2","user":{"id":"u_2","name":"Troll"},"text":"SECRET-BANNED-LINE"}`},
		{wire.TypeChat, kept},
		{wire.TypeChat, `{"id":"c_4","user":{"id":"u_2","name":"Troll"},"text":"SECRET-BANNED-AGAIN"}`},
		{wire.TypeDonationHidden, `{"id":"d_1"}`},
		{wire.TypeChatDeleted, `{"id":"c_1"}`},
		{wire.TypeUserBanned, `{"user_id":"u_2"}`},
	}
	for _, s := range steps {
		publish(t, b, room, s.typ, s.data)
	}
	live := rec.Wait(t, room, len(steps))
	for i, p := range live {
		if string(p.Data) != steps[i].data {
			t.Fatalf("live delivery %d changed: %s", i, p.Data)
		}
	}

	for since := uint64(0); since < 5; since++ {
		h := history(t, b, room, &wire.Position{Epoch: start.Epoch, Offset: since})
		if !h.Recovered || len(h.Publications) != len(steps)-int(since) {
			t.Fatalf("since %d: recovered %v with %d publications, want %d", since, h.Recovered, len(h.Publications), len(steps)-int(since))
		}
		for i, p := range h.Publications {
			if p.Offset != since+uint64(i)+1 {
				t.Fatalf("since %d: publication %d at offset %d", since, i, p.Offset)
			}
			if strings.Contains(string(p.Data), "SECRET") {
				t.Fatalf("since %d: replay carries removed content at offset %d: %s %s", since, p.Offset, p.Type, p.Data)
			}
			if !json.Valid(p.Data) {
				t.Fatalf("since %d: offset %d is not JSON: %s", since, p.Offset, p.Data)
			}
		}
		byOffset := func(off uint64) hub.Publication { return h.Publications[off-since-1] }
		if since == 0 {
			var d wire.DonationData
			if p := byOffset(1); p.Type != wire.TypeDonation || json.Unmarshal(p.Data, &d) != nil ||
				d.ID != "d_1" || d.Amount != 500 || d.Total.Raised != 500 || d.Name != "Ann" || d.Message != "" {
				t.Fatalf("hidden donation replayed as %s %s: its amount and total stay, only the message goes", p.Type, p.Data)
			}
		}
		for _, c := range []struct {
			off uint64
			id  string
		}{{2, "c_1"}, {3, "c_2"}, {5, "c_4"}} {
			if c.off <= since {
				continue
			}
			var d wire.ChatDeletedData
			if p := byOffset(c.off); p.Type != wire.TypeChatDeleted || json.Unmarshal(p.Data, &d) != nil || d.ID != c.id {
				t.Fatalf("since %d: removed chat line replayed as %s %s, want %s %s", since, p.Type, p.Data, wire.TypeChatDeleted, c.id)
			}
		}
		if 4 > since {
			if p := byOffset(4); p.Type != wire.TypeChat || string(p.Data) != kept {
				t.Fatalf("since %d: a line nobody removed was replayed as %s %s", since, p.Type, p.Data)
			}
		}
		for off := uint64(6); off <= uint64(len(steps)); off++ {
			if off <= since {
				continue
			}
			if p := byOffset(off); p.Type != steps[off-1].typ || string(p.Data) != steps[off-1].data {
				t.Fatalf("since %d: moderation event at %d replayed as %s %s", since, off, p.Type, p.Data)
			}
		}
	}
}
