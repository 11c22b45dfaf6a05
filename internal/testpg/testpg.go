// Package testpg runs a real PostgreSQL server for tests: a fresh cluster
// in a temporary directory, reached only through a unix socket there, with
// durability turned off for speed, killed and restarted at will.
//
// Entry points: Start, which gives one test its own server; Shared, which
// lets every test of a test binary use one server started on first use;
// and Server.NewDatabase, which gives a test an empty database of its own
// on a server.
//
// When initdb is not installed (Debian: apt-get install postgresql) a test
// that asks for a server is skipped, or fails when the CI environment
// variable is set. initdb refuses to run as root, so as root the server
// runs as the postgres user (through runuser) in a directory that user
// owns.
//
// Concurrency: the methods of a Server and of Shared are safe to call from
// many goroutines, except Kill and Restart, which the test that owns the
// server calls while nothing else changes it.
package testpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// debianBinGlob matches where Debian's postgresql packages put initdb,
// pg_ctl and postgres (not on PATH by default).
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// serverUser runs the server when the test runs as root.
const serverUser = "postgres"

// errNotInstalled means no initdb was found.
var errNotInstalled = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in " + debianBinGlob)

// Server is a PostgreSQL server owned by a test or a test binary. It is
// reached through the unix socket in its directory; there is no TCP
// listener.
type Server struct {
	t       testing.TB // fails Restart; nil for a Shared server
	dir     string     // socket directory; data/ and log inside
	binDir  string     // initdb, pg_ctl
	runAs   []string   // command prefix that runs a program as the server user, or nil
	schemas atomic.Int64

	mu    sync.Mutex
	admin *pgx.Conn // creates schemas; nil until needed or after a failure
}

// Start starts a server for the test and stops it, removing its files,
// when the test ends. It skips the test when PostgreSQL is not installed,
// and fails it instead when the CI environment variable is set. Starting
// takes about a second (initdb and start).
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := start()
	if errors.Is(err, errNotInstalled) {
		skipOrFail(t, err)
	}
	if err != nil {
		t.Fatalf("failed to start PostgreSQL: %v", err)
	}
	s.t = t
	t.Cleanup(s.stop)
	return s
}

func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("PostgreSQL is required in CI: %v", err)
	}
	t.Skipf("%v (apt-get install postgresql); skipping", err)
}

// Shared is one server for every test of a test binary, started by the
// first test that asks for it. Declare one as a package-level variable of
// the test package and call Close from TestMain after m.Run. The zero
// value is ready to use.
type Shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Server returns the shared server, starting it on first use. It skips or
// fails t as Start does when the server cannot start. Tests must not Kill
// or Restart a shared server: use Start for that.
func (sh *Shared) Server(t testing.TB) *Server {
	t.Helper()
	sh.once.Do(func() { sh.srv, sh.err = start() })
	if errors.Is(sh.err, errNotInstalled) {
		skipOrFail(t, sh.err)
	}
	if sh.err != nil {
		t.Fatalf("failed to start shared PostgreSQL: %v", sh.err)
	}
	if sh.srv == nil {
		t.Fatal("shared PostgreSQL asked for after Close")
	}
	return sh.srv
}

// Close stops the shared server, if it was started, and removes its
// files. Call it once, after every test has finished.
func (sh *Shared) Close() {
	sh.once.Do(func() {}) // no server may start after Close
	if sh.srv != nil {
		sh.srv.stop()
	}
}

// start runs initdb in a new temporary directory and starts the server.
func start() (*Server, error) {
	binDir, err := findBinDir()
	if err != nil {
		return nil, err
	}
	s := &Server{binDir: binDir}
	// A short path: unix socket paths are limited to about 100 bytes.
	if s.dir, err = os.MkdirTemp(tempRoot(), "pg"); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		if err := s.giveToServerUser(); err != nil {
			os.RemoveAll(s.dir)
			return nil, err
		}
	}
	out, err := s.run("initdb", "-D", s.dataDir(), "-U", serverUser, "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	if err != nil {
		os.RemoveAll(s.dir)
		return nil, fmt.Errorf("initdb in %s: %w\n%s", s.dir, err, out)
	}
	if err := s.pgStart(); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// findBinDir returns the directory of initdb: the one on PATH, else the
// newest Debian installation.
func findBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob(debianBinGlob)
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errNotInstalled
}

// version is the major version in a Debian bin directory's path.
func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// tempRoot is where the server's directory goes: the usual temporary
// directory, unless running as root with one the server user cannot reach.
func tempRoot() string {
	root := os.TempDir()
	if os.Geteuid() == 0 && !traversable(root) {
		return "/tmp"
	}
	return root
}

// traversable reports whether every user may pass through dir and its
// parents.
func traversable(dir string) bool {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}

// giveToServerUser makes the server user own the directory and run the
// server programs.
func (s *Server) giveToServerUser() error {
	u, err := user.Lookup(serverUser)
	if err != nil {
		return fmt.Errorf("initdb refuses to run as root and there is no %s user: %w", serverUser, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(s.dir, uid, gid); err != nil {
		return fmt.Errorf("failed to give %s to user %s: %w", s.dir, serverUser, err)
	}
	runuser, err := exec.LookPath("runuser")
	if err != nil {
		return fmt.Errorf("initdb refuses to run as root and runuser is missing: %w", err)
	}
	s.runAs = []string{runuser, "-u", serverUser, "--"}
	return nil
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }
func (s *Server) logFile() string { return filepath.Join(s.dir, "log") }

// run runs one of the server programs as the server user and returns its
// combined output.
func (s *Server) run(program string, args ...string) ([]byte, error) {
	argv := append(append(append([]string(nil), s.runAs...), filepath.Join(s.binDir, program)), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// pgStart starts the server on the existing cluster and waits until it
// accepts connections.
func (s *Server) pgStart() error {
	// Fast but crash-safe for a killed process: fsync off (the kernel keeps
	// what was written, so only a machine crash loses it), but commits
	// still write their WAL before answering. With synchronous_commit off,
	// a commit's WAL waits in shared memory for the WAL writer, and Kill
	// (SIGKILL) would lose transactions that had already answered COMMIT.
	opts := strings.Join([]string{
		"-c listen_addresses=''",
		"-k " + s.dir,
		"-c fsync=off",
		"-c full_page_writes=off",
		"-c max_connections=300",
	}, " ")
	out, err := s.run("pg_ctl", "-D", s.dataDir(), "-l", s.logFile(), "-w", "-t", "60", "-s", "-o", opts, "start")
	if err != nil {
		log, _ := os.ReadFile(s.logFile())
		return fmt.Errorf("pg_ctl start in %s: %w\n%s\n%s", s.dir, err, out, log)
	}
	return nil
}

// URL is the server's postgres database, as a URL for pgx (and libpq).
func (s *Server) URL() string { return s.url("postgres", "") }

// url is the URL of a database, with a search_path when schema is set.
func (s *Server) url(db, schema string) string {
	q := url.Values{"host": {s.dir}, "user": {serverUser}}
	if schema != "" {
		q.Set("search_path", schema)
	}
	return "postgres:///" + db + "?" + q.Encode()
}

// NewDatabase returns the URL of a fresh, empty database for one test.
//
// For speed it is a new schema of the postgres database, named in the
// URL's search_path, rather than a database of its own: CREATE DATABASE
// takes about 120 ms, CREATE SCHEMA a millisecond, and a contract suite
// opens a store per subtest. To code that does not qualify names, the
// schema is an empty database; advisory locks are still shared with the
// other schemas of the server.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	schema := fmt.Sprintf("test_%d", s.schemas.Add(1))
	if err := s.exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("failed to create schema %s in PostgreSQL in %s: %v", schema, s.dir, err)
	}
	return s.url("postgres", schema)
}

// exec runs one statement on the server's postgres database through a
// connection kept for the purpose: connecting costs about 50 ms here.
func (s *Server) exec(sql string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if s.admin == nil {
		conn, err := pgx.Connect(ctx, s.URL())
		if err != nil {
			return err
		}
		s.admin = conn
	}
	if _, err := s.admin.Exec(ctx, sql); err != nil {
		s.closeAdmin() // it may be broken (a Kill); the next call reconnects
		return err
	}
	return nil
}

// closeAdmin closes the kept connection; s.mu must be held.
func (s *Server) closeAdmin() {
	if s.admin != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.admin.Close(ctx)
		s.admin = nil
	}
}

// Kill stops the server abruptly (SIGKILL to the postmaster and every
// process it started), as a crash would, and waits until they are gone.
// Data already written stays; Restart recovers it.
func (s *Server) Kill() {
	s.mu.Lock()
	s.closeAdmin()
	s.mu.Unlock()
	pid, err := s.postmasterPID()
	if err != nil {
		return // not running
	}
	procs := append(children(pid), pid)
	for _, p := range procs {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range procs {
		for alive(p) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	// A killed postmaster leaves its lock files (data directory and
	// socket). PostgreSQL ignores stale ones, but not ones naming a zombie (a process nobody has reaped yet
	// still answers kill(pid, 0)), so it goes, as after a reboot.
	_ = os.Remove(filepath.Join(s.dataDir(), "postmaster.pid"))
	locks, _ := filepath.Glob(filepath.Join(s.dir, ".s.PGSQL.*.lock"))
	for _, l := range locks {
		_ = os.Remove(l)
	}
}

// Restart starts the server again after Kill, on the same socket, with
// the data it had (after crash recovery). It fails the test that started
// the server if the server does not come up (a Shared server, which no
// test owns, panics instead).
func (s *Server) Restart() {
	if err := s.pgStart(); err != nil {
		if s.t == nil {
			panic(err)
		}
		s.t.Fatalf("failed to restart PostgreSQL: %v", err)
	}
}

// stop shuts the server down at once (it may already be killed) and
// removes its directory.
func (s *Server) stop() {
	s.mu.Lock()
	s.closeAdmin()
	s.mu.Unlock()
	if _, err := s.postmasterPID(); err == nil {
		if _, err := s.run("pg_ctl", "-D", s.dataDir(), "-m", "immediate", "-w", "-s", "stop"); err != nil {
			s.Kill()
		}
	}
	os.RemoveAll(s.dir)
}

// postmasterPID reads the running postmaster's pid from its lock file.
func (s *Server) postmasterPID() (int, error) {
	b, err := os.ReadFile(filepath.Join(s.dataDir(), "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("bad postmaster.pid %q", line)
	}
	return pid, nil
}

// children returns the pids of the processes whose parent is pid.
func children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ppid, ok := procStat(p); ok && ppid == pid {
			out = append(out, p)
		}
	}
	return out
}

// alive reports whether pid is a process that has not exited (a zombie
// has).
func alive(pid int) bool {
	state, _, ok := procStat(pid)
	return ok && state != 'Z' && state != 'X'
}

// procStat reads a process's state and parent pid from /proc.
func procStat(pid int) (state byte, ppid int, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	// pid (comm) state ppid ...; comm may contain spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 2 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(fields[1])
	return fields[0][0], ppid, err == nil
}
