package redisbroker_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// redisServer is a redis-server the test runs on a unix socket in a temp
// dir, with no persistence. It can be killed and started again on the
// same socket.
type redisServer struct {
	t    testing.TB
	dir  string
	sock string
	cmd  *exec.Cmd
}

// startRedis starts a redis-server for the test, or skips the test when
// there is none (failing instead when CI is set).
func startRedis(t testing.TB) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis-server is required in CI: %v", err)
		}
		t.Skip("redis-server not installed (apt-get install redis-server); skipping")
	}
	// A short path: unix socket paths are limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "rb")
	if err != nil {
		t.Fatal(err)
	}
	s := &redisServer{t: t, dir: dir, sock: filepath.Join(dir, "redis.sock")}
	t.Cleanup(func() {
		s.kill()
		os.RemoveAll(dir)
	})
	s.start()
	return s
}

func (s *redisServer) url() string { return "unix://" + s.sock }

func (s *redisServer) start() {
	s.t.Helper()
	logf, err := os.Create(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		s.t.Fatal(err)
	}
	defer logf.Close()
	s.cmd = exec.Command("redis-server", "--port", "0", "--unixsocket", s.sock,
		"--save", "", "--appendonly", "no", "--dir", s.dir)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("failed to start redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("unix", s.sock); err == nil {
			ok := ping(c)
			c.Close()
			if ok {
				return
			}
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.t.Fatalf("redis-server did not come up:\n%s", out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ping(c net.Conn) bool {
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	buf := make([]byte, 7)
	n, _ := c.Read(buf)
	return string(buf[:n]) == "+PONG\r\n"
}

// kill stops the server abruptly and waits for it.
func (s *redisServer) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// timeout returns a context for one call.
func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
