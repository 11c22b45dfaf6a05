package hub

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
)

// A client that asks for full replays and never reads them holds back only
// its own reader: unwritten replies stay within about ReplyBytes plus one
// reply, however many subscribes it sends.
func TestUnreadRepliesAreBounded(t *testing.T) {
	h, err := New(Config{WriteTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		h.Shutdown(ctx)
		srv.Close()
	}()
	room := "f_amp"
	text := strings.Repeat("y", 1000)
	var pos wire.Position
	for range 1000 { // a full history of ~1 KB events: each replay is ~1.1 MB
		pos, _ = h.Publish(context.Background(), room, wire.TypeShoutout, wire.ShoutoutData{Text: text})
	}
	ctx := context.Background()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws",
		&websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	cmd := fmt.Sprintf(`{"op":"subscribe","room":%q,"since":{"epoch":%q,"offset":0}}`, room, pos.Epoch)
	for range 140 { // within the command burst, so no 4029
		if err := ws.Write(ctx, websocket.MessageText, []byte(cmd)); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until the reader has stopped taking commands: the replies it
	// queued are not being read, so it must be waiting for them.
	var conn *Conn
	for deadline := time.Now().Add(20 * time.Second); conn == nil || conn.replies() <= h.cfg.ReplyBytes; {
		if time.Now().After(deadline) {
			t.Fatal("replies never exceeded the budget: the test sent too little")
		}
		if all := h.allConns(); len(all) == 1 {
			conn = all[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // time for any (wrong) further replays to pile up
	oneReply := 1200 << 10
	if got := conn.replies(); got > h.cfg.ReplyBytes+oneReply {
		t.Fatalf("%d KiB of replies unwritten, want at most %d KiB", got>>10, (h.cfg.ReplyBytes+oneReply)>>10)
	}
}

func (c *Conn) replies() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.replyBytes
}
