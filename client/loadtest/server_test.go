package loadtest

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests run the real server: the givelive binary, built once per test
// binary, started per test on a free loopback port with its own data dir.

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// serverBinary builds cmd/givelive (without -race: the server is the
// subject, not the code under test) and returns its path.
func serverBinary(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the server:", err)
	}
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "givelive-loadtest-"); buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "givelive")
		cmd := exec.Command(gobin, "build", "-o", buildBin, "github.com/givelive/givelive/cmd/givelive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = &buildError{err: err, out: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("failed to build the server: %v", buildErr)
	}
	return buildBin
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// testServer is a running givelive serve.
type testServer struct {
	URL        string
	AdminToken string

	bin, port, dataDir string
	logs               *lockedBuffer
	cmd                *exec.Cmd
	exited             chan error
}

// startServer starts the server and waits for /readyz; cleanup stops it
// with SIGTERM (the drain) and logs its output if the test failed.
func startServer(t *testing.T) *testServer {
	t.Helper()
	srv := &testServer{
		bin:        serverBinary(t),
		dataDir:    t.TempDir(),
		port:       freePort(t),
		AdminToken: "gla_loadtest_" + strconv.FormatInt(time.Now().UnixNano(), 36),
		logs:       &lockedBuffer{},
	}
	srv.URL = "http://127.0.0.1:" + srv.port
	t.Cleanup(func() {
		srv.stop(t)
		if t.Failed() {
			t.Logf("server output:\n%s", srv.logs.String())
		}
	})
	srv.start(t)
	return srv
}

// start runs the server on its port and data dir and waits for /readyz.
func (srv *testServer) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(srv.bin, "serve")
	cmd.Env = append(envWithout("GIVELIVE_"),
		"GIVELIVE_HTTP_ADDR=127.0.0.1:"+srv.port,
		"GIVELIVE_RTMP_ADDR=127.0.0.1:0",
		"GIVELIVE_WEBRTC_ADDR=127.0.0.1:0",
		"GIVELIVE_DATA_DIR="+srv.dataDir,
		"GIVELIVE_ADMIN_TOKEN="+srv.AdminToken,
		// A generous API rate rather than GIVELIVE_API_RATE=-1, which the
		// server refuses at the moment ("negative ... RateLimit").
		"GIVELIVE_API_RATE=1000",
		"GIVELIVE_API_BURST=1000",
		"GIVELIVE_LOG_LEVEL=warn",
	)
	cmd.Stdout, cmd.Stderr = srv.logs, srv.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("failed to start the server: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	srv.cmd, srv.exited = cmd, exited
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(srv.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-exited:
			srv.cmd = nil
			t.Fatalf("server exited before it was ready: %v\n%s", err, srv.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready after 30s\n%s", srv.logs.String())
		}
	}
}

// stop stops the server with SIGTERM, as an operator would.
func (srv *testServer) stop(t *testing.T) {
	t.Helper()
	if srv.cmd == nil {
		return
	}
	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-srv.exited:
		if err != nil {
			t.Logf("server exited after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		_ = srv.cmd.Process.Kill()
		<-srv.exited
		t.Errorf("server did not stop within 20s of SIGTERM")
	}
	srv.cmd = nil
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// envWithout is the environment minus variables with the prefix, so the
// caller's GIVELIVE_* settings cannot leak into the test server.
func envWithout(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			env = append(env, kv)
		}
	}
	return env
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
