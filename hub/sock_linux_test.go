package hub

import (
	"context"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
)

// Each connection's kernel send buffer is capped, so a viewer that stops
// reading cannot park megabytes in the kernel before the hub notices.
func TestSendBufferIsCapped(t *testing.T) {
	h, err := New(Config{SendBuffer: 16 << 10, ViewerInterval: time.Hour, PingInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		h.Shutdown(context.Background())
		srv.Close()
	})
	ws, _, err := websocket.Dial(t.Context(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws",
		&websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	var conns []*Conn
	for len(conns) == 0 { // registered just after the 101
		runtime.Gosched()
		conns = h.allConns()
	}
	var got int
	var gerr error
	conns[0].sock.rc.Control(func(fd uintptr) { got, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF) })
	if gerr != nil || got > 2*16<<10 {
		t.Fatalf("send buffer %d (%v), want at most %d", got, gerr, 2*16<<10)
	}
}
