package testredis

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Cluster is a Redis Cluster of masters without replicas, on loopback TCP
// ports (a cluster announces its nodes by address, so not on unix
// sockets), with persistence off. Each node can be killed and started
// again; it keeps its identity and slots (nodes.conf) across restarts.
type Cluster struct {
	t     testing.TB
	dir   string
	Ports []int
	cmds  []*exec.Cmd
}

// StartCluster starts a cluster of n masters (at least 3) and waits until
// it serves every slot, or skips the test when redis-server or redis-cli
// is missing (failing instead when CI is set).
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	for _, prog := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(prog); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is required in CI: %v", prog, err)
			}
			t.Skipf("%s not installed (apt-get install redis-server); skipping", prog)
		}
	}
	dir, err := os.MkdirTemp("", "rc")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, dir: dir, cmds: make([]*exec.Cmd, n)}
	t.Cleanup(func() {
		for i := range c.cmds {
			c.Kill(i)
		}
		os.RemoveAll(dir)
	})
	for i := range n {
		c.Ports = append(c.Ports, clusterPort(t))
		if err := os.Mkdir(filepath.Join(dir, strconv.Itoa(i)), 0o755); err != nil {
			t.Fatal(err)
		}
		c.Restart(i)
	}
	args := []string{"--cluster", "create"}
	for _, p := range c.Ports {
		args = append(args, "127.0.0.1:"+strconv.Itoa(p))
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitOK()
	return c
}

// clusterPort finds a free port whose cluster bus port (+10000) is free
// too.
func clusterPort(t testing.TB) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if p+10000 > 65535 {
			continue
		}
		bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+10000))
		if err != nil {
			continue
		}
		bus.Close()
		return p
	}
	t.Fatal("no free port pair for a cluster node")
	return 0
}

// URL lists the nodes for GIVELIVE_REDIS_URL (with cluster mode on).
func (c *Cluster) URL() string {
	urls := make([]string, len(c.Ports))
	for i, p := range c.Ports {
		urls[i] = "redis://127.0.0.1:" + strconv.Itoa(p)
	}
	return strings.Join(urls, ",")
}

// Restart starts node i (again, after Kill) on its port, with its
// nodes.conf, and waits until it answers PING.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	ndir := filepath.Join(c.dir, strconv.Itoa(i))
	logf, err := os.OpenFile(filepath.Join(ndir, "redis.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(c.Ports[i]), "--bind", "127.0.0.1",
		"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
		"--save", "", "--appendonly", "no", "--dir", ndir)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("failed to start redis-server: %v", err)
	}
	c.cmds[i] = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		if conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(c.Ports[i])); err == nil {
			ok := ping(conn)
			conn.Close()
			if ok {
				return
			}
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(filepath.Join(ndir, "redis.log"))
			c.t.Fatalf("cluster node %d did not come up:\n%s", i, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Kill stops node i abruptly (SIGKILL) and waits for it.
func (c *Cluster) Kill(i int) {
	if c.cmds[i] == nil {
		return
	}
	_ = c.cmds[i].Process.Kill()
	_ = c.cmds[i].Wait()
	c.cmds[i] = nil
}

// WaitOK waits until every running node reports cluster_state:ok.
func (c *Cluster) WaitOK() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for i, p := range c.Ports {
		if c.cmds[i] == nil {
			continue
		}
		for {
			state, err := clusterState(p)
			if err == nil && state == "ok" {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("cluster node %d: state %q, %v", i, state, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// clusterState asks one node for its cluster_state.
func clusterState(port int) (string, error) {
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("CLUSTER INFO\r\n")); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	head, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(head, "$") {
		return "", fmt.Errorf("CLUSTER INFO: %q", head)
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "cluster_state:"); ok {
			return v, nil
		}
	}
}
