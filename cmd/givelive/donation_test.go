package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store/sqlite"
)

// kill stops the server with SIGKILL, as a crash would, and waits for it.
func (s *demoServer) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.exited
	s.exited <- nil // for the cleanup
}

// donate posts a donation the way curl would; it returns the status and
// the donation id (empty when the request failed in transit).
func donate(base, fundraiser, key, token string, amount int64, name string) (int, string, error) {
	body, _ := json.Marshal(map[string]any{"amount": amount, "currency": "USD", "name": name})
	req, err := http.NewRequest("POST", base+"/api/v1/fundraisers/"+fundraiser+"/donations", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var d struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return resp.StatusCode, "", err
	}
	return resp.StatusCode, d.ID, nil
}

// subscribed dials the WebSocket and subscribes to room from the start of
// its current epoch, so it sees everything the room's history holds.
func subscribed(t *testing.T, base, token, room string) *websocket.Conn {
	t.Helper()
	var snap struct {
		Position wire.Position `json:"position"`
	}
	if code := getJSON(t, "GET", base+"/api/v1/fundraisers/"+room, "", nil, &snap); code != http.StatusOK {
		t.Fatalf("snapshot: %d", code)
	}
	ws := dialWS(t, base, token)
	send(t, ws, map[string]any{"op": "subscribe", "id": 1, "room": room, "since": wire.Position{Epoch: snap.Position.Epoch}})
	readUntil(t, ws, func(_ wire.Event, r wire.Reply) bool {
		if r.Op == "reply" && r.ID == 1 && (!r.OK || !r.Recovered) {
			t.Fatalf("subscribe: %+v", r)
		}
		return r.Op == "reply" && r.ID == 1
	})
	return ws
}

func session(t *testing.T, base, name string) (token, id string) {
	t.Helper()
	var s struct {
		Token string
		User  struct{ ID string }
	}
	if code := getJSON(t, "POST", base+"/api/v1/sessions", "", map[string]string{"name": name}, &s); code != http.StatusCreated {
		t.Fatalf("session: %d", code)
	}
	return s.Token, s.User.ID
}

// TestDonationReachesEveryViewer is the "done when": a donation
// made with curl reaches every connected viewer with the new total and the
// broadcaster's list, the donor's sticker unlocks and their badge shows,
// and the owner's moderation reaches everyone.
func TestDonationReachesEveryViewer(t *testing.T) {
	s := startDemo(t, buildBinary(t))
	adaToken, adaID := session(t, s.base, "Ada")
	bobToken, bobID := session(t, s.base, "Bob")
	ada := subscribed(t, s.base, adaToken, s.fundraiser)
	bob := subscribed(t, s.base, bobToken, s.fundraiser)
	watcher := subscribed(t, s.base, "", s.fundraiser)
	host := subscribed(t, s.base, s.bToken, s.fundraiser)
	everyone := []*websocket.Conn{ada, bob, watcher, host}

	// Before giving, the donor sticker is locked.
	send(t, ada, map[string]any{"op": "sticker", "id": 2, "room": s.fundraiser, "sticker": wire.StickerIDonated})
	readUntil(t, ada, func(_ wire.Event, r wire.Reply) bool {
		if r.Op == "reply" && r.ID == 2 && (r.OK || r.Error == nil || r.Error.Code != wire.ErrStickerLocked) {
			t.Fatalf("i-donated before giving: %+v", r)
		}
		return r.Op == "reply" && r.ID == 2
	})

	code, id, err := donate(s.base, s.fundraiser, "ada-1", adaToken, 2500, "Ada")
	if err != nil || code != http.StatusCreated {
		t.Fatalf("donate: %d %v", code, err)
	}
	offsets := map[uint64]bool{}
	for _, ws := range everyone {
		readUntil(t, ws, func(ev wire.Event, _ wire.Reply) bool {
			if ev.Type != wire.TypeDonation {
				return false
			}
			var d wire.DonationData
			if err := json.Unmarshal(ev.Data, &d); err != nil {
				t.Fatal(err)
			}
			want := wire.DonationData{ID: id, Name: "Ada", Amount: 2500, Currency: "USD",
				Total: wire.Total{Raised: 2500, Goal: d.Total.Goal, Donors: 1, Currency: "USD"}}
			if d != want || d.Total.Goal <= 0 {
				t.Fatalf("donation event %+v, want %+v", d, want)
			}
			offsets[ev.Offset] = true
			return true
		})
	}
	if len(offsets) != 1 {
		t.Fatalf("viewers saw the donation at different offsets: %v", offsets)
	}
	// The broadcaster's list has it.
	var list struct {
		Items []struct{ ID, Name, Status string }
	}
	if code := getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser+"/donations", s.bToken, nil, &list); code != 200 ||
		len(list.Items) != 1 || list.Items[0].ID != id || list.Items[0].Status != "succeeded" {
		t.Fatalf("broadcaster's list: %d %+v", code, list)
	}

	// The donor's chat carries the donor badge; the sticker is unlocked.
	send(t, ada, map[string]any{"op": "chat", "id": 3, "room": s.fundraiser, "text": "just gave!"})
	send(t, ada, map[string]any{"op": "sticker", "id": 4, "room": s.fundraiser, "sticker": wire.StickerIDonated})
	readUntil(t, watcher, func(ev wire.Event, _ wire.Reply) bool {
		if ev.Type != wire.TypeChat {
			return false
		}
		var c wire.ChatData
		_ = json.Unmarshal(ev.Data, &c)
		if c.User.ID != adaID || fmt.Sprint(c.User.Badges) != "[donor]" {
			t.Fatalf("donor's chat %s", ev.Data)
		}
		return true
	})
	readUntil(t, watcher, func(ev wire.Event, _ wire.Reply) bool {
		return ev.Type == wire.TypeSticker && bytes.Contains(ev.Data, []byte(wire.StickerIDonated))
	})

	// The owner bans Bob: everyone hears of it and Bob may no longer chat.
	if code := getJSON(t, "PUT", s.base+"/api/v1/fundraisers/"+s.fundraiser+"/bans/"+bobID, s.bToken, nil, nil); code != http.StatusNoContent {
		t.Fatalf("ban: %d", code)
	}
	for _, ws := range everyone {
		readUntil(t, ws, func(ev wire.Event, _ wire.Reply) bool {
			return ev.Type == wire.TypeUserBanned && bytes.Contains(ev.Data, []byte(bobID))
		})
	}
	send(t, bob, map[string]any{"op": "chat", "id": 5, "room": s.fundraiser, "text": "let me in"})
	readUntil(t, bob, func(_ wire.Event, r wire.Reply) bool {
		if r.Op == "reply" && r.ID == 5 && (r.OK || r.Error == nil || r.Error.Code != wire.ErrBanned) {
			t.Fatalf("banned chat: %+v", r)
		}
		return r.Op == "reply" && r.ID == 5
	})

	// Ending the fundraiser reaches everyone.
	if code := getJSON(t, "POST", s.base+"/api/v1/fundraisers/"+s.fundraiser+"/end", s.bToken, nil, nil); code != http.StatusOK {
		t.Fatalf("end: %d", code)
	}
	for _, ws := range everyone {
		readUntil(t, ws, func(ev wire.Event, _ wire.Reply) bool {
			return ev.Type == wire.TypeFundraiser && bytes.Contains(ev.Data, []byte(`"ended"`))
		})
	}
}

// eventLog collects the donation ids a viewer receives.
type eventLog struct {
	mu  sync.Mutex
	ids map[string]int
}

func (l *eventLog) follow(ws *websocket.Conn) {
	l.mu.Lock()
	if l.ids == nil {
		l.ids = map[string]int{}
	}
	l.mu.Unlock()
	go func() {
		for {
			_, p, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			for line := range bytes.SplitSeq(p, []byte{'\n'}) {
				var ev wire.Event
				if json.Unmarshal(line, &ev) != nil || ev.Type != wire.TypeDonation {
					continue
				}
				var d wire.DonationData
				_ = json.Unmarshal(ev.Data, &d)
				l.mu.Lock()
				l.ids[d.ID]++
				l.mu.Unlock()
			}
		}
	}()
}

func (l *eventLog) has(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ids[id] > 0
}

// TestKillDuringDonationsLosesAndDuplicatesNothing kills the server with
// SIGKILL in the middle of a burst of donations, restarts it on the same
// ledger, and has the clients retry every donation they got no answer for,
// with the same keys. Then the total is the exact sum of every key, each
// key made exactly one donation, and every donation was announced (before
// the crash, or by the outbox replay after it).
func TestKillDuringDonationsLosesAndDuplicatesNothing(t *testing.T) {
	bin := buildBinary(t)
	dir, addr := t.TempDir(), freeAddr(t)
	noLimit := "GIVELIVE_API_RATE=-1"
	s := startDemoIn(t, bin, dir, addr, noLimit)
	var before eventLog
	before.follow(subscribed(t, s.base, "", s.fundraiser))

	const clients, perClient = 8, 60
	amount := func(c, i int) int64 { return int64(100 + c*1000 + i) }
	type attempt struct {
		key    string
		amount int64
		id     string // set once a response named the donation
	}
	attempts := make([][]attempt, clients)
	var wg sync.WaitGroup
	killAt := make(chan struct{})
	var once sync.Once
	var acks sync.Mutex
	acked := 0
	for c := range clients {
		wg.Go(func() {
			for i := range perClient {
				a := attempt{key: fmt.Sprintf("c%d-%d", c, i), amount: amount(c, i)}
				code, id, err := donate(s.base, s.fundraiser, a.key, "", a.amount, fmt.Sprintf("donor %d", c))
				if err == nil && code == http.StatusCreated {
					a.id = id
				}
				attempts[c] = append(attempts[c], a)
				if err != nil {
					return // the server is gone: this client stops here
				}
				acks.Lock()
				acked++
				if acked == clients*perClient/3 {
					once.Do(func() { close(killAt) })
				}
				acks.Unlock()
			}
		})
	}
	<-killAt
	s.kill(t)
	wg.Wait()

	// Restart on the same ledger; its outbox replay runs at start-up. A
	// viewer comes back as the protocol says: its old epoch is gone, so it
	// reads the snapshot (whose recent donations cover the alerts the dead
	// process accepted but never wrote to it) and subscribes.
	s = startDemoIn(t, bin, dir, addr, noLimit)
	var snapAfter struct {
		RecentDonations []struct{ ID string } `json:"recent_donations"`
	}
	getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser, "", nil, &snapAfter)
	var after eventLog
	after.follow(subscribed(t, s.base, "", s.fundraiser))
	inSnapshot := map[string]bool{}
	for _, d := range snapAfter.RecentDonations {
		inSnapshot[d.ID] = true
	}

	// Every client retries what it got no answer for, then carries on.
	var want int64
	ids := map[string]string{} // key → donation id
	for c := range clients {
		for i := range perClient {
			key := fmt.Sprintf("c%d-%d", c, i)
			code, id, err := donate(s.base, s.fundraiser, key, "", amount(c, i), fmt.Sprintf("donor %d", c))
			if err != nil || (code != http.StatusCreated && code != http.StatusOK) {
				t.Fatalf("retry %s: %d %v", key, code, err)
			}
			if i < len(attempts[c]) && attempts[c][i].id != "" && attempts[c][i].id != id {
				t.Fatalf("key %s made donation %s before the crash and %s after", key, attempts[c][i].id, id)
			}
			ids[key] = id
			want += amount(c, i)
		}
	}

	var snap struct {
		Totals struct{ Raised, Donations int64 }
	}
	getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser, "", nil, &snap)
	if snap.Totals.Raised != want || snap.Totals.Donations != clients*perClient {
		t.Fatalf("after the crash: raised %d in %d donations, want exactly %d in %d",
			snap.Totals.Raised, snap.Totals.Donations, want, clients*perClient)
	}
	rows := map[string]bool{}
	for before := ""; ; {
		var page struct {
			Items []struct{ ID string }
			Next  *string
		}
		path := "/api/v1/fundraisers/" + s.fundraiser + "/donations?limit=200"
		if before != "" {
			path += "&before=" + before
		}
		if code := getJSON(t, "GET", s.base+path, s.bToken, nil, &page); code != http.StatusOK {
			t.Fatalf("list: %d", code)
		}
		for _, d := range page.Items {
			if rows[d.ID] {
				t.Fatalf("donation %s listed twice", d.ID)
			}
			rows[d.ID] = true
		}
		if page.Next == nil {
			break
		}
		before = *page.Next
	}
	if len(rows) != clients*perClient {
		t.Fatalf("the ledger has %d donations for %d keys", len(rows), clients*perClient)
	}
	// Every donation reached the viewer: live before the crash, through the
	// snapshot it read after, or live after it (the outbox replay or the
	// retries' own alerts).
	deadline := time.Now().Add(testTimeout)
	fromSnapshot := 0
	for key, id := range ids {
		if !rows[id] {
			t.Fatalf("key %s answered with donation %s, which is not in the ledger", key, id)
		}
		for !before.has(id) && !after.has(id) && !inSnapshot[id] {
			if time.Now().After(deadline) {
				t.Fatalf("donation %s (key %s) was never announced", id, key)
			}
			time.Sleep(10 * time.Millisecond) // waiting on the viewer's reader goroutine
		}
		if !before.has(id) && !after.has(id) {
			fromSnapshot++
		}
	}
	// And the outbox is empty: every alert was handed to the hub.
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-s.exited; err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	s.exited <- nil
	ledger, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(dir, "givelive.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	if pending, err := ledger.PendingEvents(t.Context(), 10); err != nil || len(pending) != 0 {
		t.Fatalf("outbox after the run: %d events left (err %v)", len(pending), err)
	}
	t.Logf("killed after %d answered donations; %d of %d keys tried before the crash; %d alerts seen only through the snapshot",
		clients*perClient/3, countBefore(attempts), clients*perClient, fromSnapshot)
}

func countBefore[T any](attempts [][]T) int {
	n := 0
	for _, a := range attempts {
		n += len(a)
	}
	return n
}
