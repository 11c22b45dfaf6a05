package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"testing"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
)

// browserClient is an HTTP client with a cookie jar, as a browser is.
func browserClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

// sessionWith signs in as name with client (keeping its cookies).
func sessionWith(t *testing.T, client *http.Client, base, name string) (token, id string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name})
	res, err := client.Post(base+"/api/v1/sessions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var s struct {
		Token string
		User  struct{ ID string }
	}
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("session: %d %v", res.StatusCode, err)
	}
	return s.Token, s.User.ID
}

// chatReply sends one chat message and returns the reply's error code ("" when accepted).
func chatReply(t *testing.T, ws *websocket.Conn, room, text string, id uint64) string {
	t.Helper()
	send(t, ws, map[string]any{"op": "chat", "id": id, "room": room, "text": text})
	code := ""
	readUntil(t, ws, func(_ wire.Event, r wire.Reply) bool {
		if r.Op != "reply" || r.ID != id {
			return false
		}
		if !r.OK && r.Error != nil {
			code = r.Error.Code
		}
		return true
	})
	return code
}

// TestBanHoldsAcrossNewSessions: a banned viewer who signs out and signs
// in again under another name, from the same browser, is still banned
// (found: the new session chatted at once). Another browser is not; and
// lifting the ban frees the browser too.
func TestBanHoldsAcrossNewSessions(t *testing.T) {
	s := startDemo(t, buildBinary(t))
	troll := browserClient(t)
	token, id := sessionWith(t, troll, s.base, "Troll")
	ws := subscribed(t, s.base, token, s.fundraiser)
	if code := chatReply(t, ws, s.fundraiser, "spam", 2); code != "" {
		t.Fatalf("chat before the ban: %s", code)
	}
	if code := getJSON(t, "PUT", s.base+"/api/v1/fundraisers/"+s.fundraiser+"/bans/"+id, s.bToken, nil, nil); code != http.StatusNoContent {
		t.Fatalf("ban: %d", code)
	}
	if code := chatReply(t, ws, s.fundraiser, "more spam", 3); code != wire.ErrBanned {
		t.Fatalf("chat after the ban: %q, want banned", code)
	}

	// Sign out, pick a new name: a new session from the same browser.
	token2, id2 := sessionWith(t, troll, s.base, "Totally Someone Else")
	if id2 == id {
		t.Fatal("a new session kept the old user id")
	}
	ws2 := subscribed(t, s.base, token2, s.fundraiser)
	if code := chatReply(t, ws2, s.fundraiser, "I am new here", 2); code != wire.ErrBanned {
		t.Fatalf("the banned viewer's new session chatted (reply %q): the ban was evaded", code)
	}

	// Someone else, in another browser, chats as usual.
	otherToken, _ := sessionWith(t, browserClient(t), s.base, "Neighbour")
	other := subscribed(t, s.base, otherToken, s.fundraiser)
	if code := chatReply(t, other, s.fundraiser, "hello", 2); code != "" {
		t.Fatalf("another browser's viewer: %q", code)
	}

	// Lifting the ban frees the browser, whichever session it uses.
	if code := getJSON(t, "DELETE", s.base+"/api/v1/fundraisers/"+s.fundraiser+"/bans/"+id, s.bToken, nil, nil); code != http.StatusNoContent {
		t.Fatalf("unban: %d", code)
	}
	waitFor(t, "the unban to reach the chat policy", func() bool {
		return chatReply(t, ws2, s.fundraiser, "sorry", nextID()) == ""
	})
}

var testCommandID uint64 = 100

// nextID is a fresh command id for tests that retry a command.
func nextID() uint64 {
	testCommandID++
	return testCommandID
}
