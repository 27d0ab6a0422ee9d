package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/internal/pgtest"
	"github.com/ledgerform/ledgerform/state"
	"github.com/ledgerform/ledgerform/state/pgstore"
	"github.com/ledgerform/ledgerform/state/storetest"
)

// TestOpen_badInput: a database that cannot be reached, refuses the
// login or takes no writes is a clear error naming the host, of the kind
// the CLI's hint needs, and never quotes the password.
func TestOpen_badInput(t *testing.T) {
	db := pgtest.New(t)
	const secret = "s3cr3t-Pa55word"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	roDB := pgtest.New(t)
	roDB.Admin(t, "ALTER DATABASE "+roDB.Name+" SET default_transaction_read_only = on")
	for _, c := range []struct {
		name, url, password string
		kind                pgstore.Kind
		host                string
	}{
		{"unreachable", fmt.Sprintf("postgres://ledgerform:%s@127.0.0.1:%d/x?sslmode=disable&connect_timeout=5", secret, deadPort), "", pgstore.KindUnreachable, fmt.Sprintf("127.0.0.1:%d", deadPort)},
		{"wrong password in the URL", fmt.Sprintf("postgres://ledgerform:%s@127.0.0.1:%d/%s?sslmode=disable", secret, db.Server.Port, db.Name), "", pgstore.KindLogin, fmt.Sprintf("127.0.0.1:%d", db.Server.Port)},
		{"wrong PGPASSWORD", db.URL(), secret, pgstore.KindLogin, fmt.Sprintf("127.0.0.1:%d", db.Server.Port)},
		{"no such database", strings.Replace(db.URL(), db.Name, "nosuchdb", 1), db.Server.Password, pgstore.KindLogin, fmt.Sprintf("127.0.0.1:%d", db.Server.Port)},
		{"read-only", roDB.URL(), db.Server.Password, pgstore.KindReadOnly, fmt.Sprintf("127.0.0.1:%d", db.Server.Port)},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("PGPASSWORD", c.password)
			t.Setenv("PGPASSFILE", filepath.Join(t.TempDir(), "none"))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s, err := pgstore.Open(ctx, pgstore.Options{URL: c.url, Workspace: "w", Mode: pgstore.Exclusive})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			var pe *pgstore.Error
			if !errors.As(err, &pe) || pe.Kind != c.kind {
				t.Errorf("Open: %v; want a pgstore.Error of kind %s", err, c.kind)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.host) {
				t.Errorf("%q does not name the host %s", msg, c.host)
			}
			for _, pw := range []string{secret, db.Server.Password} {
				if strings.Contains(msg, pw) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), pw) {
					t.Errorf("the error quotes a password: %s", msg)
				}
			}
		})
	}
}

// TestPassword_fromPgpass: the password may come from a pgpass file.
func TestPassword_fromPgpass(t *testing.T) {
	db := pgtest.New(t)
	pass := filepath.Join(t.TempDir(), "pgpass")
	line := fmt.Sprintf("127.0.0.1:%d:%s:%s:%s\n", db.Server.Port, db.Name, pgtest.User, db.Server.Password)
	if err := os.WriteFile(pass, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PGPASSWORD", "")
	t.Setenv("PGPASSFILE", pass)
	open(t, db.URL(), pgstore.Exclusive)
}

// TestPut_databaseGone: a change the database cannot be asked for is an
// UnavailableError (retryable: the report stops, nothing is lost). The
// sessions cut, the workspace's lock went with them: an Exclusive store
// then refuses every change, retryably, rather than write beside a
// second writer, and the state opened again takes changes.
func TestPut_databaseGone(t *testing.T) {
	db := pgtest.New(t)
	db.Env(t)
	s := open(t, db.URL(), pgstore.Exclusive)
	if err := s.Put(storetest.Record(1)); err != nil {
		t.Fatal(err)
	}
	db.Admin(t, "ALTER DATABASE "+db.Name+" SET default_transaction_read_only = on")
	db.Server.Exec(t, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"+db.Name+"' AND application_name = 'ledgerform'")
	var err error
	for range 3 { // the pool may hand out a connection it has not seen die
		if err = s.Put(storetest.Record(2)); err != nil && strings.Contains(err.Error(), "read-only") {
			break
		}
	}
	if !state.Retryable(err) || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("Put on a read-only database: %v; want a retryable error saying so", err)
	}
	db.Server.Exec(t, "ALTER DATABASE "+db.Name+" RESET default_transaction_read_only")
	db.Server.Exec(t, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"+db.Name+"' AND application_name = 'ledgerform' AND state = 'idle'")
	for range 3 {
		if err = s.Put(storetest.Record(2)); errors.Is(err, pgstore.ErrLockLost) {
			break
		}
	}
	if !state.Retryable(err) || !errors.Is(err, pgstore.ErrLockLost) {
		t.Fatalf("Put after the lock's session ended: %v; want ErrLockLost, retryable", err)
	}
	s.Close()
	s = open(t, db.URL(), pgstore.Exclusive)
	if err := s.Put(storetest.Record(2)); err != nil {
		t.Fatalf("Put on the state opened again: %v", err)
	}
	if s.Len() != 2 {
		t.Errorf("Len = %d, want 2", s.Len())
	}
}

// TestShared_relocks: a daemon's store whose lock session is cut takes
// the shared lock again by itself, and its changes go on.
func TestShared_relocks(t *testing.T) {
	db := pgtest.New(t)
	db.Env(t)
	s := open(t, db.URL(), pgstore.Shared)
	r := storetest.Record(1)
	if _, release, err := s.Claim(context.Background(), r.Address); err != nil {
		t.Fatal(err)
	} else {
		defer release()
	}
	db.Admin(t, "SELECT pg_terminate_backend(backend_pid) FROM ledgerform_holders")
	deadline := time.Now().Add(3 * s.LeaseTime())
	refused := false
	for {
		err := s.Put(r)
		if err == nil && refused {
			break
		}
		if errors.Is(err, pgstore.ErrLockLost) {
			refused = true
		} else if err != nil && !state.Retryable(err) {
			t.Fatalf("Put: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Put refused for the lost lock, then accepted once relocked (last: %v, refused %v)", err, refused)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOpen_urlThatDoesNotParse: a postgres URL whose password holds a
// character a URL must percent-encode (%, #, ?, /, a space) does not parse;
// the error says so, and how to fix it, rather than that it is not a
// postgres URL, and never quotes the password.
func TestOpen_urlThatDoesNotParse(t *testing.T) {
	for _, raw := range []string{
		"postgres://lf:ab%zzSECRETpw@127.0.0.1:5432/db",
		"postgres://lf:ab#SECRETpw@127.0.0.1:5432/db",
		"postgres://lf:ab?SECRETpw@127.0.0.1:5432/db",
		"postgres://lf:a/bSECRETpw@127.0.0.1:5432/db",
		"postgres://lf:a bSECRETpw@127.0.0.1:5432/db",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := pgstore.Open(ctx, pgstore.Options{URL: raw, Workspace: "w", Mode: pgstore.Exclusive})
		cancel()
		if err == nil {
			s.Close()
			t.Errorf("%s: Open succeeded", raw)
			continue
		}
		msg := fmt.Sprintf("%v %+v", err, err)
		if strings.Contains(msg, "SECRETpw") {
			t.Errorf("%s: the error quotes the password: %s", raw, msg)
		}
		if strings.Contains(msg, "not a postgres:// URL") || !strings.Contains(msg, "percent-encode") {
			t.Errorf("%s: %v; want it to say the URL does not parse, and to percent-encode the password", raw, err)
		}
	}
}

// TestOpen_preferTLSNoise: with sslmode=prefer (the default), a server
// without TLS is tried again in plain text; a wrong password is then
// reported as the server's refusal alone, without the first attempt's
// "server refused TLS connection", which is not what is wrong.
func TestOpen_preferTLSNoise(t *testing.T) {
	db := pgtest.New(t)
	t.Setenv("PGPASSWORD", "Wr0ng-pa55")
	t.Setenv("PGPASSFILE", filepath.Join(t.TempDir(), "none"))
	url := strings.Replace(db.URL(), "sslmode=disable", "sslmode=prefer", 1)
	if url == db.URL() {
		t.Fatalf("the test database's URL %s has no sslmode=disable to replace", url)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := pgstore.Open(ctx, pgstore.Options{URL: url, Workspace: "w", Mode: pgstore.Exclusive})
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded with a wrong password")
	}
	msg := err.Error()
	if !strings.Contains(msg, "password authentication failed") || strings.Contains(msg, "refused TLS") {
		t.Errorf("Open: %s\nwant the password's refusal, without the TLS attempt", msg)
	}
}
