package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Kind says what is wrong with a database, for the hint of an error.
type Kind string

// The kinds of Error.
const (
	KindUnreachable Kind = "unreachable" // no connection: wrong host or port, down, a network fault
	KindLogin       Kind = "login"       // the server refused the login: user, password, database
	KindReadOnly    Kind = "read-only"   // the server takes no writes
	KindOther       Kind = "other"
)

// Error is a failure of the state database. Its message names the
// database (postgres://user@host:port/database) and never the password.
type Error struct {
	Target string
	Op     string // what was being done: connect, put report.a, …
	Kind   Kind
	Err    error // its message has the password redacted
}

func (e *Error) Error() string {
	return fmt.Sprintf("state database %s: %s: %v", e.Target, e.Op, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// dbError classifies err, with the password redacted from its message.
func (s *Store) dbError(op string, err error) error {
	return &Error{Target: s.target, Op: op, Kind: kindOf(err), Err: errors.New(withoutTLSRefusal(redact(err.Error(), s.pw)))}
}

// withoutTLSRefusal drops, from pgx's list of connection attempts, those
// that a server without TLS refused when sslmode=prefer (the default)
// tried TLS first: the plain attempt after each says what is wrong.
func withoutTLSRefusal(msg string) string {
	lines := strings.Split(msg, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if !strings.HasSuffix(l, "tls error: server refused TLS connection") {
			kept = append(kept, l)
		}
	}
	if len(kept) == len(lines) || len(kept) < 2 {
		return msg // nothing dropped, or nothing else left to say
	}
	return strings.Join(kept, "\n")
}

func kindOf(err error) Kind {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "25006": // read_only_sql_transaction
			return KindReadOnly
		case pe.Code == "28P01", pe.Code == "28000", pe.Code == "3D000", pe.Code == "42501":
			// invalid_password, invalid_authorization_specification
			// (pg_hba), invalid_catalog_name (no such database),
			// insufficient_privilege.
			return KindLogin
		case strings.HasPrefix(pe.Code, "08"), pe.Code == "57P01", pe.Code == "57P03":
			return KindUnreachable
		}
		return KindOther
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	if errors.As(err, &ne) || errors.As(err, &ce) || errors.Is(err, context.DeadlineExceeded) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return KindUnreachable
	}
	return KindOther
}
