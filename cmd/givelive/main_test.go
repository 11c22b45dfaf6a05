package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/config"
)

const (
	testTimeout    = 60 * time.Second
	testAdminToken = "test-admin-token"
)

// buildBinary compiles givelive once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "givelive")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type demoServer struct {
	cmd        *exec.Cmd
	base       string
	rtmp       string // rtmp://127.0.0.1:port/live
	fundraiser string
	bToken     string
	stderr     *lockedBuffer
	exited     chan error
}

// startDemo runs `givelive serve --demo` as a user would and reads the ids
// and token it prints.
func startDemo(t *testing.T, bin string) *demoServer {
	t.Helper()
	return startDemoIn(t, bin, t.TempDir(), freeAddr(t))
}

// startDemoIn is startDemo with the data directory and address chosen by
// the caller (to restart a server on the same ledger), and extra
// environment variables.
func startDemoIn(t *testing.T, bin, dataDir, addr string, env ...string) *demoServer {
	t.Helper()
	rtmpAddr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--demo")
	cmd.Env = append(os.Environ(),
		"GIVELIVE_HTTP_ADDR="+addr,
		"GIVELIVE_DATA_DIR="+dataDir,
		"GIVELIVE_ADMIN_TOKEN="+testAdminToken,
		"GIVELIVE_DRAIN_TIMEOUT=5s",
		"GIVELIVE_RTMP_ADDR="+rtmpAddr,
		"GIVELIVE_WEBRTC_ADDR=127.0.0.1:0",
	)
	cmd.Env = append(cmd.Env, env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &demoServer{cmd: cmd, base: "http://" + addr, rtmp: "rtmp://" + rtmpAddr + "/live", stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.exited
		if t.Failed() {
			t.Logf("server log:\n%s", s.stderr)
		}
	})
	printed := make(chan string, 1)
	go func() {
		var all strings.Builder
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			all.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "/ingest") { // the last line of the demo block
				printed <- all.String()
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		s.exited <- cmd.Wait()
	}()
	select {
	case out := <-printed:
		s.fundraiser = find(t, out, `fundraiser\s+(f_[0-9a-f]{32})`)
		s.bToken = find(t, out, `broadcaster token\s+(glb_\S+)`)
	case <-time.After(testTimeout):
		t.Fatalf("the demo block was never printed; log:\n%s", s.stderr)
	}
	return s
}

func find(t *testing.T, s, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%q not found in:\n%s", pattern, s)
	}
	return m[1]
}

func getJSON(t *testing.T, method, url, token string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
	}
	return resp.StatusCode
}

func dialWS(t *testing.T, base, token string) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	if token != "" {
		u += "?token=" + token
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return ws
}

func send(t *testing.T, ws *websocket.Conn, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := ws.Write(context.Background(), websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

// unread keeps, per connection, the lines of a frame after the one a
// readUntil matched: the server packs several messages into one frame, and
// the next readUntil must see them.
var unread sync.Map // *websocket.Conn → [][]byte

// readUntil reads messages until match returns true.
func readUntil(t *testing.T, ws *websocket.Conn, match func(wire.Event, wire.Reply) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var lines [][]byte
	if v, ok := unread.LoadAndDelete(ws); ok {
		lines = v.([][]byte)
	}
	for {
		for i, line := range lines {
			var ev wire.Event
			var rep wire.Reply
			_ = json.Unmarshal(line, &ev)
			_ = json.Unmarshal(line, &rep)
			if match(ev, rep) {
				if rest := lines[i+1:]; len(rest) > 0 {
					unread.Store(ws, rest)
				}
				return
			}
		}
		_, p, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		lines = bytes.Split(p, []byte{'\n'})
	}
}

func closeCode(t *testing.T, ws *websocket.Conn) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// TestDemoChatAndDrain runs the binary as a newcomer would: the demo's
// fundraiser, a viewer session, chat between two viewers, then SIGTERM.
func TestDemoChatAndDrain(t *testing.T) {
	s := startDemo(t, buildBinary(t))

	var session struct {
		Token string `json:"token"`
		User  struct{ ID, Name string }
	}
	if code := getJSON(t, "POST", s.base+"/api/v1/sessions", "", map[string]string{"name": "Ada"}, &session); code != http.StatusCreated {
		t.Fatalf("create session: %d", code)
	}
	var snap struct {
		Position wire.Position `json:"position"`
	}
	if code := getJSON(t, "GET", s.base+"/api/v1/fundraisers/"+s.fundraiser, "", nil, &snap); code != http.StatusOK || snap.Position.Epoch == "" {
		t.Fatalf("snapshot: %d %+v", code, snap)
	}

	ada := dialWS(t, s.base, session.Token)
	watcher := dialWS(t, s.base, "")
	host := dialWS(t, s.base, s.bToken)
	for i, ws := range []*websocket.Conn{ada, watcher, host} {
		send(t, ws, map[string]any{"op": "subscribe", "id": 1, "room": s.fundraiser, "since": snap.Position})
		readUntil(t, ws, func(_ wire.Event, r wire.Reply) bool {
			if r.Op == "reply" && !r.OK {
				t.Fatalf("client %d subscribe: %+v", i, r.Error)
			}
			return r.Op == "reply" && r.ID == 1 && r.Recovered
		})
	}
	send(t, ada, map[string]any{"op": "chat", "id": 2, "room": s.fundraiser, "text": "hello from Ada"})
	for _, ws := range []*websocket.Conn{watcher, host} {
		readUntil(t, ws, func(ev wire.Event, _ wire.Reply) bool {
			if ev.Type != wire.TypeChat {
				return false
			}
			var chat wire.ChatData
			_ = json.Unmarshal(ev.Data, &chat)
			if chat.Text != "hello from Ada" || chat.User.Name != "Ada" || chat.User.ID != session.User.ID {
				t.Fatalf("chat event %s", ev.Data)
			}
			return true
		})
	}
	send(t, host, map[string]any{"op": "chat", "id": 3, "room": s.fundraiser, "text": "thanks for watching"})
	readUntil(t, watcher, func(ev wire.Event, _ wire.Reply) bool {
		if ev.Type != wire.TypeChat {
			return false
		}
		var chat wire.ChatData
		_ = json.Unmarshal(ev.Data, &chat)
		if fmt.Sprint(chat.User.Badges) != "[broadcaster]" {
			t.Fatalf("the host's chat has badges %v", chat.User.Badges)
		}
		return true
	})

	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for _, ws := range []*websocket.Conn{ada, watcher, host} {
		if code := closeCode(t, ws); code != websocket.StatusGoingAway {
			t.Fatalf("close code %d after SIGTERM, want 1001", code)
		}
	}
	select {
	case err := <-s.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v, want status 0", err)
		}
		s.exited <- nil // for the cleanup
	case <-time.After(testTimeout):
		t.Fatal("the server did not exit after SIGTERM")
	}
	for _, secret := range []string{s.bToken, session.Token} {
		if strings.Contains(s.stderr.String(), secret) {
			t.Fatal("a token appears in the server log")
		}
	}
}

func TestDemoSeedSurvivesRestart(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	var seen []string
	for range 2 {
		addr := freeAddr(t)
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		cmd := exec.CommandContext(ctx, bin, "--demo")
		cmd.Env = append(os.Environ(), "GIVELIVE_HTTP_ADDR="+addr, "GIVELIVE_RTMP_ADDR="+freeAddr(t), "GIVELIVE_WEBRTC_ADDR=127.0.0.1:0", "GIVELIVE_DATA_DIR="+dir, "GIVELIVE_ADMIN_TOKEN=x")
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		var out lockedBuffer
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for !strings.Contains(out.String(), "/ingest") && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond) // polling a pipe the child writes; not ordering
		}
		cancel()
		_ = cmd.Wait()
		seen = append(seen, find(t, out.String(), `fundraiser\s+(f_[0-9a-f]{32})`))
	}
	if seen[0] != seen[1] {
		t.Fatalf("the demo fundraiser changed across restarts: %s then %s", seen[0], seen[1])
	}
}

func TestAPIRateLimitCanBeTurnedOff(t *testing.T) {
	if got := apiRateLimit(config.Config{APIRate: -1, APIBurst: 40}); !got.Disabled || got.PerSecond != 0 {
		t.Fatalf("GIVELIVE_API_RATE=-1 gives %+v, want the limit off", got)
	}
	if got := apiRateLimit(config.Config{APIRate: 20, APIBurst: 40}); got.Disabled || got.PerSecond != 20 || got.Burst != 40 {
		t.Fatalf("GIVELIVE_API_RATE=20 gives %+v", got)
	}
}

func TestUnknownCommandAndBadConfig(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"fly"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Fatalf("unknown command: code %d, stderr %q", code, errb.String())
	}
	t.Setenv("GIVELIVE_PAYMENTS", "cash")
	errb.Reset()
	if code := run(context.Background(), []string{"serve"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "GIVELIVE_PAYMENTS") {
		t.Fatalf("bad config: code %d, stderr %q", code, errb.String())
	}
}

// lockedBuffer is a bytes.Buffer safe to read while a child process writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
