package reconcile

import (
	"errors"
	"fmt"
	"time"

	"github.com/ledgerform/ledgerform/api"
)

// Local error codes recorded in the state beside the API's own.
const (
	CodeStatement    = "STATEMENT_UNREADABLE" // a statement file could not be read
	CodePollDeadline = "POLL_DEADLINE"        // the result was not ready in time
	CodeOutput       = "OUTPUT_UNWRITABLE"    // the output file could not be written, moved or pruned
	CodeRestarts     = "TOO_MANY_RESTARTS"    // the API kept forgetting the upload
	CodeConnect      = "NO_CONNECTION"        // no client for the API could be made (credentials, the engine)
	CodeLease        = "LEASE_SHORT"          // the processing request outlasted the lease it was sent under
)

// Blocking reports whether a failure blocks its report: only a change to
// the statements or the spec (or --replace) is worth trying again. That is
// the API refusing what the request asks (api.IsRejected: the
// statement's content or size, the operations, the country, the params).
// Everything else is transient, fixed outside the manifests, and the
// report must go on once it is: credentials (401, 403, the token
// endpoint), the network and TLS, outages and rate limits, the API's
// unreadable answers, local files, the poll deadline.
//
// It is the one definition of blocked; the state records it as
// Failure.Permanent, and the plan turns it into the blocked action.
//
// A report whose output can never be written (spec.Report.Problem: a
// dropped file's name too long, say) is blocked too: only renaming the
// file helps, and that makes a new report.
func Blocking(err error) bool {
	var le *localError
	var ce *ConnectError
	var pe *problemError
	switch {
	case err == nil || errors.As(err, &le) || errors.As(err, &ce):
		return false
	case errors.As(err, &pe):
		return true
	}
	return api.IsRejected(err)
}

// problemError is a desired report's spec.Report.Problem.
type problemError struct{ msg string }

func (e *problemError) Error() string { return e.msg }

// errorCode is the code recorded with a failure: the API's, else a local one.
func errorCode(err error) string {
	var ae *api.Error
	var le *localError
	var pd *pollDeadlineError
	var ce *ConnectError
	// Ours first: a local error may wrap the API's answer that caused it.
	switch {
	case errors.As(err, &pd):
		return CodePollDeadline
	case errors.As(err, &le):
		return le.code
	case errors.As(err, &ce):
		return CodeConnect
	case errors.As(err, &ae):
		return ae.Code
	}
	return ""
}

// ConnectError is a failure to get a client for the API (no credentials,
// an engine that would not start), or to use it at all (Reconciler.Reach:
// the endpoint cannot be reached, or refuses the credentials). It is
// transient: it is fixed outside the manifests, and the reports go on once
// it is.
type ConnectError struct{ Err error }

func (e *ConnectError) Error() string { return "connect to the API: " + e.Err.Error() }
func (e *ConnectError) Unwrap() error { return e.Err }

// localError is a failure on this side of the API: a file that cannot be
// read or written, no client. It is transient: the next run tries again.
type localError struct {
	code string
	err  error
}

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// pollDeadlineError is a result still not ready when the poll deadline
// passed. last is set when the API answered nothing but errors the whole
// time (an outage as long as the deadline, or a failure reported as one):
// the last of them. Once it gave a status, last is nil.
type pollDeadlineError struct {
	id     string
	limit  time.Duration
	status string
	last   error
}

func (e *pollDeadlineError) Error() string {
	if e.last != nil {
		return fmt.Sprintf("result %s not ready after %s; the last answer: %v", e.id, e.limit, e.last)
	}
	return fmt.Sprintf("result %s not ready after %s (status %q)", e.id, e.limit, e.status)
}

func (e *pollDeadlineError) Unwrap() error { return e.last }

// brokenResultError is a processing id whose result answered 500
// UNKNOWN_ERROR poll after poll while the API answered the polls of other
// ids: a
// failed processing, reported as the engine reports one. The id is given
// up and the report starts again from a new upload at its next attempt.
type brokenResultError struct {
	id   string
	last error
}

func (e *brokenResultError) Error() string {
	return fmt.Sprintf("result %s failed %d polls in a row while the API answered the polls of other ids; the last answer: %v", e.id, brokenAfter, e.last)
}

func (e *brokenResultError) Unwrap() error { return e.last }
