package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/message"

	"github.com/givelive/givelive/ingest"
)

// connect sends connect for app and waits for its success.
func connect(t *testing.T, mrw *message.ReadWriter, app string) {
	t.Helper()
	if err := mrw.Write(&message.CommandAMF0{ChunkStreamID: 3, Name: "connect", CommandID: 1,
		Arguments: []any{amf0.Object{{Key: "app", Value: app}, {Key: "tcUrl", Value: "rtmp://127.0.0.1/" + app}}}}); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := mrw.Read()
		if err != nil {
			t.Fatalf("waiting for connect's result: %v", err)
		}
		if c, ok := m.(*message.CommandAMF0); ok {
			if c.Name != "_result" {
				t.Fatalf("connect answered %s %v", c.Name, c.Arguments)
			}
			return
		}
	}
}

// gatedEvents records events like events, but the first call of kind gate
// ("live" or "offline") blocks, after closing entered, until release is
// closed: it stands for a Tracker whose op mutex is busy.
type gatedEvents struct {
	*events
	gate     string
	once     sync.Once
	entered  chan struct{}
	release  chan struct{}
	released sync.Once
}

func newGatedEvents(gate string) *gatedEvents {
	return &gatedEvents{events: newEvents(), gate: gate, entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gatedEvents) call(kind, id string) {
	if kind == g.gate {
		first := false
		g.once.Do(func() { first = true })
		if first {
			close(g.entered)
			<-g.release
		}
	}
	g.add(kind + " " + id)
}

func (g *gatedEvents) open() { g.released.Do(func() { close(g.release) }) }

func (g *gatedEvents) StreamLive(_ context.Context, id string)    { g.call("live", id) }
func (g *gatedEvents) StreamOffline(_ context.Context, id string) { g.call("offline", id) }

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitGate(t *testing.T, ch chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("the gated event never came")
	}
}

// TestReplacedPublisherCannotLeaveTheStreamLive: publisher A reports live
// while a slow Events call is in progress; meanwhile B takes over and
// leaves at once. The last word Events hears must be offline, not A's late
// live (which would leave the fundraiser live forever).
func TestReplacedPublisherCannotLeaveTheStreamLive(t *testing.T) {
	ev := newGatedEvents("live")
	r := newRig(t, func(c *ingest.Config) { c.Events = ev })
	t.Cleanup(ev.open)

	a := dialPublisher(t, r.rtmp, "key-1")
	sendAudio(a, 0)
	sendAudio(a, 2100*time.Millisecond)
	waitGate(t, ev.entered) // A is telling Events it is live

	b := dialPublisher(t, r.rtmp, "key-1")
	b.c.Close() // B replaced A, then left before sending media
	select {    // give B's end a chance to reach Events before A's live does
	case <-ev.ch:
	case <-time.After(time.Second):
	}
	ev.open()
	waitFor(t, "both connections to end", 10*time.Second, func() bool {
		return counterGauge(r, "givelive_ingest_connections") == 0 && !r.srv.Publishing("f1")
	})
	got := ev.all()
	if len(got) == 0 || got[len(got)-1] != "offline f1" {
		t.Fatalf("events %q: nobody publishes f1, but Events last heard it live", got)
	}
}

// TestOfflineOfTheOldPublisherComesBeforeTheNewLive: A drops and its
// offline is slow to reach Events; B publishes meanwhile. Events must hear
// A's offline before B's live, so the stream ends up live while B
// publishes.
func TestOfflineOfTheOldPublisherComesBeforeTheNewLive(t *testing.T) {
	ev := newGatedEvents("offline")
	r := newRig(t, func(c *ingest.Config) { c.Events = ev })
	t.Cleanup(ev.open)

	a := dialPublisher(t, r.rtmp, "key-1")
	sendAudio(a, 0)
	sendAudio(a, 2100*time.Millisecond)
	ev.wait(t, "live f1", 10*time.Second)
	a.c.Close()
	waitGate(t, ev.entered) // A's offline is on its way

	b := dialPublisher(t, r.rtmp, "key-1")
	sendAudio(b, 0)
	sendAudio(b, 2100*time.Millisecond)
	select { // give B's live a chance to overtake A's offline
	case <-ev.ch:
	case <-time.After(time.Second):
	}
	ev.open()
	waitFor(t, "three events", 10*time.Second, func() bool { return len(ev.all()) >= 3 })
	if !r.srv.Publishing("f1") {
		t.Fatal("B is not publishing")
	}
	if got := ev.all(); got[len(got)-1] != "live f1" {
		t.Fatalf("events %q: B publishes f1, but Events last heard it offline", got)
	}
}

// TestIdleBeforePublishIsBounded: a connection that never publishes but
// keeps sending small messages (each resets the idle timeout) is closed
// after PublishTimeout, so it cannot hold a connection slot forever. The
// idle timeout is a minute, so nothing else can close it in the test's
// time, however loaded the machine.
func TestIdleBeforePublishIsBounded(t *testing.T) {
	r := newRig(t, func(c *ingest.Config) {
		c.IdleTimeout = time.Minute
		c.PublishTimeout = 700 * time.Millisecond
	})
	conn, mrw := rawClient(t, r.rtmp)
	_ = conn.SetDeadline(time.Time{}) // only the server may end it
	connect(t, mrw, "live")
	closed := make(chan error, 1)
	go func() {
		for {
			if _, err := mrw.Read(); err != nil {
				closed <- err
				return
			}
		}
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	giveUp := time.After(30 * time.Second)
	for {
		select {
		case err := <-closed:
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the read timed out instead of the server closing: %v", err)
			}
			return
		case <-giveUp:
			conn.Close() // ends the reader
			t.Fatal("a connection that never publishes is still open after 30 s of pings (PublishTimeout is 700 ms)")
		case <-tick.C:
			_ = mrw.Write(&message.UserControlPingRequest{ServerTime: 1})
		}
	}
}

// TestUnknownAppDoesNotLogIt: ffmpeg given rtmp://host/STREAM_KEY (the key
// where the application goes) connects with the key as its app. The
// refusal must not write it to the log.
func TestUnknownAppDoesNotLogIt(t *testing.T) {
	var logs syncBuffer
	const secret = "sk_live_0123456789abcdef"
	r := newRig(t, func(c *ingest.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	conn, mrw := rawClient(t, r.rtmp)
	_ = mrw.Write(&message.CommandAMF0{ChunkStreamID: 3, Name: "connect", CommandID: 1,
		Arguments: []any{amf0.Object{{Key: "app", Value: secret}, {Key: "tcUrl", Value: "rtmp://x/" + secret}}}})
	_, _ = io.Copy(io.Discard, conn) // until the server closes
	waitFor(t, "the refusal", 5*time.Second, func() bool { return r.refusals("app") == 1 })
	r.srv.Close()
	if strings.Contains(logs.String(), secret) {
		t.Fatalf("the log shows what the publisher sent as the application (a stream key here):\n%s", logs.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// flakyListener fails its first Accept with err, then accepts from ln.
type flakyListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *flakyListener) Accept() (net.Conn, error) {
	var err error
	l.once.Do(func() { err = l.err })
	if err != nil {
		return nil, err
	}
	return l.Listener.Accept()
}

// TestServeSurvivesFileTableFull: accept failing with ENFILE (the system's
// file table is full) or ENOBUFS is as passing as EMFILE; Serve must go on
// accepting rather than return and leave the node without RTMP.
func TestServeSurvivesFileTableFull(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM} {
		t.Run(errno.Error(), func(t *testing.T) {
			r := newRig(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			fl := &flakyListener{Listener: ln, err: &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}}
			served := make(chan error, 1)
			go func() { served <- r.srv.Serve(fl) }()
			select {
			case err := <-served:
				t.Fatalf("Serve returned %v after one %v", err, errno)
			case <-time.After(300 * time.Millisecond):
			}
			r.srv.Close()
			if err := <-served; !errors.Is(err, ingest.ErrServerClosed) {
				t.Fatalf("Serve returned %v, want ErrServerClosed", err)
			}
		})
	}
}
