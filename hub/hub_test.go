package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/wire"
)

func TestChatReachesEveryViewerInOrder(t *testing.T) {
	const viewers, messages = 300, 20
	s := newServer(t, func(c *hub.Config) { c.ChatBurst = messages; c.ChatRate = 1000; c.MaxConnsPerAddr = -1 })
	room := "f_chat"
	clients := make([]*client, viewers)
	for i := range clients {
		clients[i] = s.dial(t, "")
		clients[i].subscribe(room, nil)
	}
	talker := s.dial(t, "u:u1:Ada")
	talker.subscribe(room, nil)
	for i := range messages {
		if r := talker.cmd(map[string]any{"op": "chat", "room": room, "text": fmt.Sprintf("hello %d", i)}); !r.OK {
			t.Fatalf("chat %d: %+v", i, r.Error)
		}
	}
	for n, c := range append(clients, talker) {
		var last uint64
		for i := range messages {
			m := c.nextOf(isEvent(wire.TypeChat))
			chat := decode[wire.ChatData](t, m.Data)
			if want := fmt.Sprintf("hello %d", i); chat.Text != want || chat.User.Name != "Ada" {
				t.Fatalf("viewer %d message %d: got %q from %q, want %q from Ada", n, i, chat.Text, chat.User.Name, want)
			}
			if m.Offset != last+1 {
				t.Fatalf("viewer %d: offset %d after %d", n, m.Offset, last)
			}
			last = m.Offset
		}
	}
}

func TestResumeWithSinceGetsExactlyTheMissedEvents(t *testing.T) {
	s := newServer(t, nil)
	room := "f_resume"
	c := s.dial(t, "")
	r := c.subscribe(room, nil)
	if r.Recovered || len(r.Events) != 0 || r.Offset != 0 {
		t.Fatalf("fresh subscribe: %+v", r)
	}
	publish(t, s.hub, room, wire.TypeShoutout, wire.ShoutoutData{DonationID: "d1", Text: "one"})
	seen := c.nextOf(isEvent(wire.TypeShoutout))
	since := wire.Position{Epoch: r.Epoch, Offset: seen.Offset}
	c.ws.CloseNow()

	for i := 2; i <= 4; i++ { // missed while away
		publish(t, s.hub, room, wire.TypeShoutout, wire.ShoutoutData{DonationID: fmt.Sprint("d", i)})
	}
	c2 := s.dial(t, "")
	r2 := c2.subscribe(room, &since)
	if !r2.Recovered || r2.Offset != 4 || r2.Epoch != r.Epoch {
		t.Fatalf("resume reply: recovered=%v offset=%d epoch=%q", r2.Recovered, r2.Offset, r2.Epoch)
	}
	var got []string
	for i, raw := range r2.Events {
		m := decode[message](t, raw)
		if m.Offset != uint64(i+2) {
			t.Errorf("recovered event %d has offset %d", i, m.Offset)
		}
		got = append(got, decode[wire.ShoutoutData](t, m.Data).DonationID)
	}
	if diff := cmp.Diff([]string{"d2", "d3", "d4"}, got); diff != "" {
		t.Fatalf("recovered events (-want +got):\n%s", diff)
	}
	publish(t, s.hub, room, wire.TypeShoutout, wire.ShoutoutData{DonationID: "d5"})
	if m := c2.nextOf(isEvent(wire.TypeShoutout)); m.Offset != 5 {
		t.Fatalf("first live event after resume has offset %d, want 5", m.Offset)
	}
}

func TestResumeRefusedForWrongEpochOrLostHistory(t *testing.T) {
	s := newServer(t, func(c *hub.Config) {
		c.Broker = hub.NewMemoryBroker(hub.MemoryConfig{HistorySize: 3})
	})
	room := "f_gap"
	var pos wire.Position
	for range 5 {
		pos = publish(t, s.hub, room, wire.TypeChatDeleted, wire.ChatDeletedData{ID: "c"})
	}
	cases := []struct {
		name  string
		since wire.Position
		want  bool
	}{
		{"wrong epoch", wire.Position{Epoch: "nope", Offset: 4}, false},
		{"gap left the history", wire.Position{Epoch: pos.Epoch, Offset: 1}, false},
		{"oldest kept is the next", wire.Position{Epoch: pos.Epoch, Offset: 2}, true},
		{"future offset", wire.Position{Epoch: pos.Epoch, Offset: 9}, false},
		{"up to date", pos, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := s.dial(t, "")
			r := c.subscribe(room, &tc.since)
			if r.Recovered != tc.want {
				t.Fatalf("recovered = %v, want %v", r.Recovered, tc.want)
			}
			if r.Offset != pos.Offset || r.Epoch != pos.Epoch {
				t.Fatalf("position %s/%d, want %s/%d", r.Epoch, r.Offset, pos.Epoch, pos.Offset)
			}
			wantEvents := 0
			if tc.want {
				wantEvents = int(pos.Offset - tc.since.Offset)
			}
			if len(r.Events) != wantEvents {
				t.Fatalf("%d events, want %d (never a partial replay)", len(r.Events), wantEvents)
			}
		})
	}
}

// While events are published without pause, viewers subscribe with since;
// each must see a gapless, strictly increasing run of offsets from its
// recovered events on through the live stream.
func TestSubscribeDuringPublishingLosesNothing(t *testing.T) {
	s := newServer(t, func(c *hub.Config) {
		c.Broker = hub.NewMemoryBroker(hub.MemoryConfig{HistorySize: 1 << 20})
	})
	room := "f_busy"
	first := publish(t, s.hub, room, wire.TypeShoutout, wire.ShoutoutData{Text: "start"})
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			if _, err := s.hub.Publish(ctx, room, wire.TypeShoutout, wire.ShoutoutData{Text: "x"}); err != nil {
				return
			}
			time.Sleep(100 * time.Microsecond) // pace the publisher; not for ordering
		}
	})
	const viewers = 20
	clients := make([]*client, viewers)
	for i := range clients {
		clients[i] = s.dial(t, "")
		since := first
		if i%2 == 0 {
			since.Offset = 0 // half replay everything
		}
		r := clients[i].subscribe(room, &since)
		if !r.Recovered {
			t.Fatalf("viewer %d not recovered", i)
		}
		last := since.Offset
		for _, raw := range r.Events {
			m := decode[message](t, raw)
			if m.Offset != last+1 {
				t.Fatalf("viewer %d: recovered offset %d after %d", i, m.Offset, last)
			}
			last = m.Offset
		}
		if last != r.Offset {
			t.Fatalf("viewer %d: recovered up to %d, reply says %d", i, last, r.Offset)
		}
		for range 20 {
			m := clients[i].nextOf(isEvent(wire.TypeShoutout))
			if m.Offset != last+1 {
				t.Fatalf("viewer %d: live offset %d after %d", i, m.Offset, last)
			}
			last = m.Offset
		}
	}
	stop()
	wg.Wait()
}

func TestResubscribeNeverDoubles(t *testing.T) {
	s := newServer(t, func(c *hub.Config) { c.ViewerInterval = time.Hour }) // no viewer counts in between
	room := "f_twice"
	c := s.dial(t, "")
	r1 := c.subscribe(room, nil)
	c.subscribe(room, &wire.Position{Epoch: r1.Epoch, Offset: r1.Offset})
	publish(t, s.hub, room, wire.TypeShoutout, wire.ShoutoutData{Text: "once"})
	publish(t, s.hub, room, wire.TypeMilestone, wire.MilestoneData{Amount: 1})
	if m := c.next(); m.Type != wire.TypeShoutout {
		t.Fatalf("got %s, want the shoutout", m.raw)
	}
	if m := c.next(); m.Type != wire.TypeMilestone {
		t.Fatalf("got %s, want the milestone (the shoutout came twice?)", m.raw)
	}
}

func TestChatRulesAndErrors(t *testing.T) {
	d := &donors{}
	s := newServer(t, func(c *hub.Config) { c.Donors = d; c.MaxRoomsPerConn = 2 })
	room := "f_rules"
	anon := s.dial(t, "")
	anon.subscribe(room, nil)
	viewer := s.dial(t, "u:u1:Bea")
	viewer.subscribe(room, nil)

	cases := []struct {
		name string
		c    *client
		cmd  map[string]any
		code string
	}{
		{"anonymous chat", anon, map[string]any{"op": "chat", "room": room, "text": "hi"}, wire.ErrUnauthenticated},
		{"not subscribed", viewer, map[string]any{"op": "chat", "room": "f_other", "text": "hi"}, wire.ErrForbidden},
		{"empty after cleaning", viewer, map[string]any{"op": "chat", "room": room, "text": " \x00\x07 "}, wire.ErrBadRequest},
		{"too long", viewer, map[string]any{"op": "chat", "room": room, "text": strings.Repeat("é", 301)}, wire.ErrTooLong},
		{"locked sticker", viewer, map[string]any{"op": "sticker", "room": room, "sticker": "i-donated"}, wire.ErrStickerLocked},
		{"unknown sticker", viewer, map[string]any{"op": "sticker", "room": room, "sticker": "nope"}, wire.ErrBadRequest},
		{"unknown op", viewer, map[string]any{"op": "dance"}, wire.ErrBadRequest},
		{"bad room", viewer, map[string]any{"op": "subscribe", "room": "a b"}, wire.ErrBadRequest},
		{"unknown room", viewer, map[string]any{"op": "subscribe", "room": "nope"}, wire.ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.t = t
			r := tc.c.cmd(tc.cmd)
			if r.OK || r.Error == nil || r.Error.Code != tc.code {
				t.Fatalf("reply %s, want error %s", r.raw, tc.code)
			}
			if r.Error.Message == "" {
				t.Fatal("error without a message")
			}
		})
	}
	viewer.t = t
	viewer.subscribe("f_second", nil)
	if r := viewer.cmd(map[string]any{"op": "subscribe", "room": "f_third"}); r.Error == nil || r.Error.Code != wire.ErrRoomLimit {
		t.Fatalf("third room: %s, want room_limit", r.raw)
	}

	d.add(room, "u1")
	if r := viewer.cmd(map[string]any{"op": "sticker", "room": room, "sticker": "i-donated"}); !r.OK {
		t.Fatalf("sticker after donating: %s", r.raw)
	}
	st := decode[wire.StickerData](t, anon.nextOf(isEvent(wire.TypeSticker)).Data)
	if st.Sticker != "i-donated" || st.User.ID != "u1" {
		t.Fatalf("sticker event %+v", st)
	}
	if r := viewer.cmd(map[string]any{"op": "chat", "room": room, "text": "  line\none\u202e "}); !r.OK {
		t.Fatalf("chat: %s", r.raw)
	}
	chat := decode[wire.ChatData](t, anon.nextOf(isEvent(wire.TypeChat)).Data)
	if chat.Text != "line one" || !cmp.Equal(chat.User.Badges, []string{wire.BadgeDonor}) {
		t.Fatalf("chat event %+v: want cleaned text and the donor badge", chat)
	}
}

func TestBroadcasterBadge(t *testing.T) {
	s := newServer(t, nil)
	room := "f_owned"
	owner := s.dial(t, "b:b1:Host")
	owner.subscribe(room, nil)
	if r := owner.cmd(map[string]any{"op": "chat", "room": room, "text": "welcome"}); !r.OK {
		t.Fatalf("chat: %s", r.raw)
	}
	chat := decode[wire.ChatData](t, owner.nextOf(isEvent(wire.TypeChat)).Data)
	if !cmp.Equal(chat.User.Badges, []string{wire.BadgeBroadcaster}) {
		t.Fatalf("badges %v, want broadcaster", chat.User.Badges)
	}
}

func TestChatRateLimitedPerUserAcrossConnections(t *testing.T) {
	// Burst 3, and a refill so slow that no token comes back during the test
	// however slow the machine is.
	s := newServer(t, func(c *hub.Config) { c.ChatRate = 0.001 })
	room := "f_rate"
	a := s.dial(t, "u:u1:Cy")
	b := s.dial(t, "u:u1:Cy") // same user, second tab
	a.subscribe(room, nil)
	b.subscribe(room, nil)
	var limited int
	for i := range 6 {
		c := a
		if i%2 == 1 {
			c = b
		}
		r := c.cmd(map[string]any{"op": "chat", "room": room, "text": "spam"})
		if !r.OK {
			if r.Error.Code != wire.ErrRateLimited {
				t.Fatalf("reply %s", r.raw)
			}
			limited++
		}
	}
	if limited != 3 {
		t.Fatalf("%d of 6 messages rate-limited, want 3 (burst of 3 shared by both tabs)", limited)
	}
}

func TestCommandFloodCloses4029(t *testing.T) {
	s := newServer(t, func(c *hub.Config) { c.CommandRate = 1; c.CommandBurst = 20 })
	c := s.dial(t, "")
	for range 21 {
		c.sendRaw([]byte(`{"op":"ping"}`))
	}
	if code := c.closeCode(); code != wire.CloseTooMany {
		t.Fatalf("close code %d, want 4029", code)
	}
}

func TestOversizedFrameCloses1009(t *testing.T) {
	s := newServer(t, nil)
	c := s.dial(t, "")
	c.sendRaw([]byte(`{"op":"ping","pad":"` + strings.Repeat("x", wire.MaxCommandBytes) + `"}`))
	if code := c.closeCode(); code != wire.CloseTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
}

// A text frame that is not UTF-8 closes the connection with 1007 and is
// never run (found: it was accepted, and its chat published with
// replacement characters).
func TestInvalidUTF8TextCloses1007(t *testing.T) {
	s := newServer(t, nil)
	room := "f_utf8"
	watcher := s.dial(t, "")
	watcher.subscribe(room, nil)
	c := s.dial(t, "u:u1:Ada")
	c.subscribe(room, nil)
	c.sendRaw([]byte(`{"op":"chat","room":"` + room + `","text":"fine"}`))
	c.sendRaw(append([]byte(`{"op":"chat","room":"`+room+`","text":"bad `), 0xff, 0xfe, '"', '}'))
	if code := c.closeCode(); code != wire.CloseInvalidData {
		t.Fatalf("close code %d, want 1007", code)
	}
	// The first chat went out; then nothing more.
	if m := watcher.nextOf(isEvent(wire.TypeChat)); !strings.Contains(string(m.Data), `"fine"`) {
		t.Fatalf("first chat: %s", m.Data)
	}
	publish(t, s.hub, room, wire.TypeShoutout, wire.ShoutoutData{Text: "after"})
	for m := watcher.next(); m.Type != wire.TypeShoutout; m = watcher.next() {
		if m.Type != wire.TypeViewers {
			t.Fatalf("after the bad frame the room got %s %s", m.Type, m.Data)
		}
	}
}

func TestInvalidTokenCloses4001(t *testing.T) {
	s := newServer(t, nil)
	for _, tok := range []string{"garbage", "x:u1:Expired"} {
		c := s.dial(t, tok)
		if tok == "garbage" {
			if code := c.closeCode(); code != wire.CloseBadToken {
				t.Fatalf("%s: close code %d, want 4001", tok, code)
			}
			continue
		}
		// An expired token is refused when it tries to act.
		c.subscribe("f_exp", nil)
		c.send(map[string]any{"op": "chat", "room": "f_exp", "text": "hi"})
		if code := c.closeCode(); code != wire.CloseBadToken {
			t.Fatalf("%s: close code %d, want 4001", tok, code)
		}
	}
}

func TestShutdownCloses1001(t *testing.T) {
	s := newServer(t, nil)
	clients := []*client{s.dial(t, ""), s.dial(t, "u:u2:Di")}
	clients[0].subscribe("f_bye", nil)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	go s.hub.Shutdown(ctx) //nolint:errcheck // the cleanup's second Shutdown reports
	for _, c := range clients {
		if code := c.closeCode(); code != wire.CloseGoingAway {
			t.Fatalf("close code %d, want 1001", code)
		}
	}
	if _, err := s.tryDial(""); err == nil {
		t.Fatal("a new connection was accepted during shutdown")
	}
}

func TestHandshakeNeedsSubprotocolAndOrigin(t *testing.T) {
	s := newServer(t, nil)
	httpURL := s.srv.URL + "/ws"
	req, _ := http.NewRequest(http.MethodGet, httpURL, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp := do(t, req)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("no subprotocol: %d %s, want 400 problem+json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_, resp2, err := websocket.Dial(ctx, s.url+"/ws", &websocket.DialOptions{
		Subprotocols: []string{wire.Subprotocol},
		HTTPHeader:   http.Header{"Origin": []string{"https://evil.example"}},
	})
	if err == nil || resp2 == nil || resp2.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: err=%v resp=%v, want 403", err, resp2)
	}
}

func TestViewerCounts(t *testing.T) {
	s := newServer(t, func(c *hub.Config) { c.ViewerInterval = 20 * time.Millisecond })
	room := "f_count"
	first := s.dial(t, "")
	first.subscribe(room, nil)
	for range 2 {
		s.dial(t, "").subscribe(room, nil)
	}
	for {
		v := decode[wire.ViewersData](t, first.nextOf(isEvent(wire.TypeViewers)).Data)
		if v.Count == 3 {
			break
		}
		if v.Count > 3 {
			t.Fatalf("count %d with 3 viewers", v.Count)
		}
	}
}

func TestSlowConsumerClosed4000(t *testing.T) {
	s := newServer(t, func(c *hub.Config) { c.QueueBytes = 64 << 10; c.WriteTimeout = time.Minute })
	room := "f_slow"
	c := s.dial(t, "")
	c.subscribe(room, nil)
	// A second viewer that never reads: the kernel buffers fill, the
	// writer blocks, the queue grows until recoverable events don't fit.
	stuck, err := s.tryDial("")
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.ws.CloseNow()
	if err := stuck.ws.Write(context.Background(), websocket.MessageText, []byte(`{"op":"subscribe","room":"`+room+`"}`)); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 4000)
	// Publish in lock step with the reading viewer, so only the stuck one
	// falls behind.
	var last uint64
	for i := 0; metricValue(t, s, "givelive_hub_slow_consumer_closes_total") < 1; i++ {
		if i == 100000 {
			t.Fatal("the slow consumer was never closed")
		}
		publish(t, s.hub, room, wire.TypeShoutout, wire.ShoutoutData{Text: big})
		m := c.nextOf(isEvent(wire.TypeShoutout))
		if m.Offset != last+1 {
			t.Fatalf("reading viewer: offset %d after %d", m.Offset, last)
		}
		last = m.Offset
	}
	if code := stuck.closeCodeUnread(); code != wire.CloseSlowConsumer {
		t.Fatalf("stuck viewer closed with %d, want 4000", code)
	}
}

func TestFloodWithBusyWriterStillSees4029(t *testing.T) {
	s := newServer(t, func(c *hub.Config) {
		c.CommandRate, c.CommandBurst = 1, 20
		c.QueueBytes = 64 << 20 // no slow-consumer close in this test
		c.WriteTimeout = time.Minute
	})
	room := "f_flood"
	cl, err := s.tryDial("")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.ws.CloseNow()
	ctx := context.Background()
	if err := cl.ws.Write(ctx, websocket.MessageText, []byte(`{"op":"subscribe","room":"`+room+`"}`)); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, s, "givelive_hub_rooms", 1)
	// The client reads nothing while about 16 MB is published: more than the
	// loopback buffers hold, so the server's writer is blocked mid-write
	// when the flood is detected.
	big := strings.Repeat("x", 8000)
	for range 2000 {
		publish(t, s.hub, room, wire.TypeShoutout, wire.ShoutoutData{Text: big})
	}
	for range 30 {
		if err := cl.ws.Write(ctx, websocket.MessageText, []byte(`{"op":"ping"}`)); err != nil {
			t.Fatal(err)
		}
	}
	waitMetric(t, s, "givelive_hub_closes_total", 1)
	if code := cl.closeCodeUnread(); code != wire.CloseTooMany {
		t.Fatalf("peer saw close code %d, want 4029", code)
	}
}

func TestClosesCountedByWhoClosed(t *testing.T) {
	s := newServer(t, nil)
	c, err := s.tryDial("")
	if err != nil {
		t.Fatal(err)
	}
	c.ws.Close(websocket.StatusNormalClosure, "bye")
	waitMetric(t, s, "givelive_hub_peer_closes_total", 1)
	big := s.dial(t, "")
	big.sendRaw([]byte(`{"op":"ping","pad":"` + strings.Repeat("x", 5000) + `"}`))
	if code := big.closeCode(); code != wire.CloseTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
	waitMetric(t, s, "givelive_hub_closes_total", 1) // the 1009 only
	waitMetric(t, s, "givelive_hub_connections", 0)
}

func TestPublishRefusesInvalidJSON(t *testing.T) {
	s := newServer(t, nil)
	room := "f_raw"
	before := publish(t, s.hub, room, wire.TypeShoutout, wire.ShoutoutData{Text: "ok"})
	for _, bad := range []any{[]byte(`{"text":"oops"`), json.RawMessage(`nope`)} {
		if _, err := s.hub.Publish(context.Background(), room, wire.TypeShoutout, bad); err == nil {
			t.Fatalf("published %s", bad)
		}
	}
	c := s.dial(t, "")
	r := c.subscribe(room, &wire.Position{Epoch: before.Epoch})
	if r.Offset != before.Offset || len(r.Events) != 1 {
		t.Fatalf("history holds %d events up to %d; the refused ones must not be there", len(r.Events), r.Offset)
	}
}

// policy is a test ChatPolicy: it refuses what refuse names ("user/op"),
// and fails outright for user "broken".
type policy struct{ refuse map[string]string }

func (p policy) Allow(_ context.Context, _, user, op string) error {
	if user == "broken" {
		return errors.New("policy store down")
	}
	if code, ok := p.refuse[user+"/"+op]; ok {
		return wire.Errorf(code, "refused by policy")
	}
	return nil
}

func TestChatPolicyIsAskedForChatAndStickers(t *testing.T) {
	p := policy{refuse: map[string]string{"u1/chat": wire.ErrBanned, "u1/sticker": wire.ErrBanned, "u2/chat": wire.ErrSlowMode}}
	s := newServer(t, func(c *hub.Config) { c.Policy = p })
	room := "f_policy"
	for _, tc := range []struct {
		token, op, code string
	}{
		{"u:u1:Banned", "chat", wire.ErrBanned},
		{"u:u1:Banned", "sticker", wire.ErrBanned},
		{"u:u2:Slow", "chat", wire.ErrSlowMode},
		{"u:u2:Slow", "sticker", ""},
		{"u:broken:B", "chat", wire.ErrInternal}, // the policy's own failure stays internal
	} {
		c := s.dial(t, tc.token)
		c.subscribe(room, nil)
		cmd := map[string]any{"op": tc.op, "room": room, "text": "hi", "sticker": "heart"}
		if tc.op == "chat" {
			delete(cmd, "sticker")
		} else {
			delete(cmd, "text")
		}
		r := c.cmd(cmd)
		switch {
		case tc.code == "" && !r.OK:
			t.Errorf("%s %s: reply %s, want ok", tc.token, tc.op, r.raw)
		case tc.code != "" && (r.Error == nil || r.Error.Code != tc.code):
			t.Errorf("%s %s: reply %s, want %s", tc.token, tc.op, r.raw, tc.code)
		}
	}
}

// TestHandleGapMakesTheRoomResume: a broker reporting a lost gap closes
// the room's connections with 4000 (so they resume) and no other room's.
func TestHandleGapMakesTheRoomResume(t *testing.T) {
	s := newServer(t, nil)
	inRoom, elsewhere := s.dial(t, ""), s.dial(t, "")
	inRoom.subscribe("f_gap", nil)
	elsewhere.subscribe("f_other", nil)
	s.hub.HandleGap("f_gap")
	if code := inRoom.closeCode(); code != wire.CloseSlowConsumer {
		t.Fatalf("viewer in the room closed with %d, want 4000", code)
	}
	publish(t, s.hub, "f_other", wire.TypeShoutout, wire.ShoutoutData{Text: "still here"})
	if m := elsewhere.nextOf(isEvent(wire.TypeShoutout)); m.Room != "f_other" {
		t.Fatalf("viewer of another room got %+v", m)
	}
}

// A viewer resuming from before a donation's message was hidden and a chat
// line deleted gets neither back in the replay (found: both came back
// verbatim, followed by the hide and delete events); the offsets, the
// donation's amount and everything not moderated are replayed as they were.
func TestResumeNeverReplaysModeratedContent(t *testing.T) {
	s := newServer(t, nil)
	room := "f_moderated"
	talker := s.dial(t, "u:u1:Ada")
	start := talker.subscribe(room, nil)
	publish(t, s.hub, room, wire.TypeDonation, wire.DonationData{ID: "d1", Name: "Bo", Amount: 500, Currency: "USD",
		Message: "words the owner HID", Total: wire.Total{Raised: 500, Goal: 1000, Donors: 1, Currency: "USD"}})
	for _, text := range []string{"words the owner DELETED", "a line that stays"} {
		if r := talker.cmd(map[string]any{"op": "chat", "room": room, "text": text}); !r.OK {
			t.Fatalf("chat: %+v", r.Error)
		}
	}
	deleted := decode[wire.ChatData](t, talker.nextOf(isEvent(wire.TypeChat)).Data)
	publish(t, s.hub, room, wire.TypeDonationHidden, wire.DonationHiddenData{ID: "d1"})
	publish(t, s.hub, room, wire.TypeChatDeleted, wire.ChatDeletedData{ID: deleted.ID})

	c := s.dial(t, "")
	r := c.subscribe(room, &wire.Position{Epoch: start.Epoch, Offset: start.Offset})
	if !r.Recovered || len(r.Events) != 5 {
		t.Fatalf("resume: recovered %v, %d events, want 5", r.Recovered, len(r.Events))
	}
	var types []string
	for i, raw := range r.Events {
		if strings.Contains(string(raw), "HID") || strings.Contains(string(raw), "DELETED") {
			t.Errorf("replayed event %d carries removed content: %s", i, raw)
		}
		m := decode[message](t, raw)
		if m.Offset != start.Offset+uint64(i)+1 {
			t.Errorf("replayed event %d at offset %d", i, m.Offset)
		}
		types = append(types, m.Type)
	}
	want := []string{wire.TypeDonation, wire.TypeChatDeleted, wire.TypeChat, wire.TypeDonationHidden, wire.TypeChatDeleted}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Fatalf("replayed types (-want +got):\n%s", diff)
	}
	if d := decode[wire.DonationData](t, decode[message](t, r.Events[0]).Data); d.Amount != 500 || d.Total.Raised != 500 || d.Message != "" {
		t.Fatalf("hidden donation replayed as %+v", d)
	}
	if ch := decode[wire.ChatData](t, decode[message](t, r.Events[2]).Data); ch.Text != "a line that stays" || ch.User.Name != "Ada" {
		t.Fatalf("kept line replayed as %+v", ch)
	}
}
