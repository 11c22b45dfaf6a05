// Package testredis runs a real redis-server for tests: on a unix socket
// in a temporary directory, without persistence, killed and restarted at
// will. A test without redis-server installed is skipped, or fails when the
// CI environment variable is set.
package testredis

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Server is a redis-server the test runs on a unix socket in a temp
// dir, with no persistence. It can be killed and started again on the
// same socket.
type Server struct {
	t    testing.TB
	dir  string
	Sock string // the unix socket
	cmd  *exec.Cmd
}

// Start starts a redis-server for the test, or skips the test when
// there is none (failing instead when CI is set).
func Start(t testing.TB) *Server {
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
	s := &Server{t: t, dir: dir, Sock: filepath.Join(dir, "redis.Sock")}
	t.Cleanup(func() {
		s.Kill()
		os.RemoveAll(dir)
	})
	s.Restart()
	return s
}

// URL is the server's address for go-redis and GIVELIVE_REDIS_URL.
func (s *Server) URL() string { return "unix://" + s.Sock }

// Restart starts the server (again, after Kill) on the same socket, empty.
func (s *Server) Restart() {
	s.t.Helper()
	logf, err := os.Create(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		s.t.Fatal(err)
	}
	defer logf.Close()
	s.cmd = exec.Command("redis-server", "--port", "0", "--unixsocket", s.Sock,
		"--save", "", "--appendonly", "no", "--dir", s.dir)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("failed to start redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("unix", s.Sock); err == nil {
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

// Kill stops the server abruptly (SIGKILL) and waits for it.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}
