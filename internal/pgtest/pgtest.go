// Package pgtest starts a throwaway PostgreSQL server for the tests that
// need a real one: one server per test binary (Main, from TestMain), and a
// fresh database per test (New).
//
// The server is Debian's PostgreSQL (the postgresql package): initdb into a
// temporary directory and postgres listening on a unix socket in it and on
// 127.0.0.1 at a free port, with fsync off (the tests crash processes, not
// the machine). initdb refuses to run as root, so as root the server runs
// as the unprivileged postgres user, which owns the directory. Logins over
// TCP need a password (scram-sha-256), so the tests exercise the same
// authentication a real deployment does; the password is handed to the
// code under test through PGPASSWORD or a pgpass file, never a URL.
//
// Where no server binaries are installed the tests that call New skip,
// saying so; with LEDGERFORM_REQUIRE_PG=1 (CI sets it) they fail instead.
// LEDGERFORM_PG_BIN names the directory of initdb and postgres when it is
// not where Debian puts it (/usr/lib/postgresql/*/bin) or on PATH.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// User and Password are the role each test database belongs to.
const User = "ledgerform"

// Server is a running PostgreSQL.
type Server struct {
	Host     string // 127.0.0.1
	Port     int
	Socket   string // the directory of its unix socket
	Password string // of User
	dir      string
	cmd      *exec.Cmd
	n        atomic.Int64
}

// DB is a fresh database on the server, owned by User.
type DB struct {
	Server *Server
	Name   string
}

// URL is the database's URL over TCP, without the password.
func (d *DB) URL() string {
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", User, d.Server.Host, d.Server.Port, d.Name)
}

// Env sets PGPASSWORD for the rest of the test, so that URL logs in.
func (d *DB) Env(t testing.TB) {
	t.Setenv("PGPASSWORD", d.Server.Password)
}

// Admin runs sql as the superuser on the database, over the unix socket.
func (d *DB) Admin(t testing.TB, sql string) {
	t.Helper()
	if err := d.Server.admin(d.Name, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// Exec runs sql as the superuser in the server's postgres database: for
// what a test cannot do inside its own (ALTER DATABASE on a read-only one).
func (s *Server) Exec(t testing.TB, sql string) {
	t.Helper()
	if err := s.admin("postgres", sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

var (
	current  *Server
	startErr error
)

// Main runs the tests of m with a server started first (if the binaries
// are there) and stopped after. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// m is a *testing.M, or what wraps one (testscript.Main takes it so).
func Main(m interface{ Run() int }) int {
	current, startErr = start()
	code := m.Run()
	if current != nil {
		current.stop()
	}
	return code
}

// New returns a fresh database, or skips (fails, with
// LEDGERFORM_REQUIRE_PG=1) when no server could be started.
func New(t testing.TB) *DB {
	t.Helper()
	if current == nil {
		msg := "no PostgreSQL for this test"
		if startErr != nil {
			msg += ": " + startErr.Error()
		} else {
			msg += ": the test binary's TestMain does not call pgtest.Main"
		}
		if os.Getenv("LEDGERFORM_REQUIRE_PG") == "1" {
			t.Fatal(msg + " (LEDGERFORM_REQUIRE_PG=1)")
		}
		t.Skip(msg + " (apt-get install postgresql; LEDGERFORM_REQUIRE_PG=1 makes this a failure)")
	}
	s := current
	name := fmt.Sprintf("t%d_%d", os.Getpid(), s.n.Add(1))
	if err := s.admin("postgres", fmt.Sprintf("CREATE DATABASE %s OWNER %s TEMPLATE template0", name, User)); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		s.admin("postgres", fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
	})
	return &DB{Server: s, Name: name}
}

// binDir finds initdb and postgres.
func binDir() (string, error) {
	if d := os.Getenv("LEDGERFORM_PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("initdb not found (in LEDGERFORM_PG_BIN, /usr/lib/postgresql/*/bin or PATH)")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// start runs initdb and postgres in a new temporary directory.
func start() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ledgerform-pg-")
	if err != nil {
		return nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root, and no postgres user to run the server as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	s := &Server{Host: "127.0.0.1", Socket: dir, Password: rand.Text(), dir: dir}
	pwfile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwfile, []byte(s.Password+"\n"), 0o600); err != nil {
		return nil, s.fail(err)
	}
	if cred != nil {
		os.Chown(pwfile, int(cred.Uid), int(cred.Gid))
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--pwfile", pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, s.fail(fmt.Errorf("initdb: %v\n%s", err, out))
	}
	os.Remove(pwfile)
	s.Port, err = freePort()
	if err != nil {
		return nil, s.fail(err)
	}
	var log bytes.Buffer
	// In postgresql.conf, not on the command line, so that a benchmark can
	// turn durability back on (ALTER SYSTEM, pg_reload_conf).
	conf, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = conf.WriteString("\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\nshared_buffers = 32MB\nlog_min_messages = fatal\n")
		conf.Close()
	}
	if err != nil {
		return nil, s.fail(err)
	}
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", dir, "-h", s.Host, "-p", strconv.Itoa(s.Port))
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	s.cmd.Stdout, s.cmd.Stderr = &log, &log
	if err := s.cmd.Start(); err != nil {
		return nil, s.fail(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := s.admin("postgres", "SELECT 1")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return nil, s.fail(fmt.Errorf("postgres did not start: %v\n%s", err, log.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.admin("postgres", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", User, s.Password)); err != nil {
		return nil, s.fail(err)
	}
	return s, nil
}

func (s *Server) fail(err error) error {
	s.stop()
	return err
}

// stop shuts the server down (fast shutdown) and removes its directory.
func (s *Server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
	}
	os.RemoveAll(s.dir)
}

// admin runs sql as the superuser on database db.
func (s *Server) admin(db, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + db,
		RawQuery: "host=" + url.QueryEscape(s.Socket) + "&port=" + strconv.Itoa(s.Port) + "&sslmode=disable"}
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// freePort returns a loopback port nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
