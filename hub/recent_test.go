package hub_test

import (
	"fmt"
	"testing"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/wire"
)

func chatData(i int, user string) wire.ChatData {
	return wire.ChatData{ID: fmt.Sprintf("c_%d", i), User: wire.User{ID: user, Name: user}, Text: fmt.Sprintf("line %d", i)}
}

func texts(lines []hub.ChatLine) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.Text
	}
	return out
}

// TestRecentChat: a new viewer's first lines are the room's latest chat up
// to the snapshot's position, with deleted messages and banned users'
// lines left out; what came after the position is not included.
func TestRecentChat(t *testing.T) {
	s := newServer(t, nil)
	room := "f_recent"
	if got, err := s.hub.RecentChat(t.Context(), room, wire.Position{}, 50); err != nil || len(got) != 0 {
		t.Fatalf("an empty room: %v, %v", got, err)
	}
	for i := range 80 {
		publish(t, s.hub, room, wire.TypeChat, chatData(i, fmt.Sprintf("u_%d", i%4)))
		if i%10 == 0 {
			publish(t, s.hub, room, wire.TypeDonation, map[string]any{"id": fmt.Sprintf("d_%d", i)})
		}
	}
	publish(t, s.hub, room, wire.TypeChatDeleted, wire.ChatDeletedData{ID: "c_78"})
	pos := publish(t, s.hub, room, wire.TypeUserBanned, wire.UserBannedData{UserID: "u_1"})
	publish(t, s.hub, room, wire.TypeChat, chatData(80, "u_0")) // after the snapshot

	got, err := s.hub.RecentChat(t.Context(), room, pos, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"line 72", "line 74", "line 75", "line 76", "line 79"}
	if fmt.Sprint(texts(got)) != fmt.Sprint(want) {
		t.Fatalf("recent chat %q, want %q", texts(got), want)
	}
	if got[0].Time == 0 || got[0].User.ID != "u_0" {
		t.Fatalf("line %+v lacks its time or user", got[0])
	}
	all, _ := s.hub.RecentChat(t.Context(), room, pos, 1000)
	if len(all) != 80-20-1 {
		t.Fatalf("%d lines of 80 written, 20 banned and 1 deleted", len(all))
	}
	if other, _ := s.hub.RecentChat(t.Context(), room, wire.Position{Epoch: "another", Offset: pos.Offset}, 5); len(other) != 0 {
		t.Fatalf("another epoch's position found %d lines", len(other))
	}
}

// TestRecentChatShortHistory: with a history shorter than the usual span,
// the latest lines still come back.
func TestRecentChatShortHistory(t *testing.T) {
	s := newServer(t, func(c *hub.Config) { c.Broker = hub.NewMemoryBroker(hub.MemoryConfig{HistorySize: 100}) })
	room := "f_short"
	var pos wire.Position
	for i := range 400 {
		pos = publish(t, s.hub, room, wire.TypeChat, chatData(i, "u_a"))
	}
	got, err := s.hub.RecentChat(t.Context(), room, pos, 3)
	if err != nil || fmt.Sprint(texts(got)) != "[line 397 line 398 line 399]" {
		t.Fatalf("recent chat %q, %v", texts(got), err)
	}
}

// BenchmarkRecentChat is a snapshot's cost of its recent chat, in a room
// whose history is full of chat (the memory broker).
func BenchmarkRecentChat(b *testing.B) {
	h, err := hub.New(hub.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = h.Shutdown(b.Context()) })
	var pos wire.Position
	for i := range 1000 {
		if pos, err = h.Publish(b.Context(), "f_bench", wire.TypeChat, chatData(i, "u_1")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if lines, err := h.RecentChat(b.Context(), "f_bench", pos, 50); err != nil || len(lines) != 50 {
			b.Fatal(len(lines), err)
		}
	}
}
