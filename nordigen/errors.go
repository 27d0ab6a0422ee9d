package nordigen

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Error codes the reconciler decides on (api/nordigen-report-api.md §6.2).
const (
	CodeNotFound           = "NOT_FOUND"
	CodeGone               = "GONE"
	CodeAlreadyRequested   = "ANALYSIS_ALREADY_REQUESTED"
	CodeTimeoutProcessing  = "TIMEOUT_PROCESSING"
	CodeRateLimit          = "RATE_LIMIT"
	CodeUnknownError       = "UNKNOWN_ERROR"
	CodeServiceUnavailable = "SERVICE_UNAVAILABLE"
)

// An APIError is an error answer of the API: its HTTP status and the first
// element of the documented error array. When the body is not that array,
// Code is empty and Detail holds the start of the body.
type APIError struct {
	Status   int
	Code     string
	Title    string
	Detail   string
	Source   []string
	Op       string        // what the client was doing, like "upload"
	Attempts int           // how many times the request was sent
	Retry    time.Duration // the answer's Retry-After, if any
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("nordigen: ")
	if e.Op != "" {
		b.WriteString(e.Op + ": ")
	}
	fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if len(e.Source) > 0 {
		fmt.Fprintf(&b, " (source: %s)", strings.Join(e.Source, ", "))
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	return b.String()
}

// Permanent reports whether sending the same request again cannot succeed:
// a redirect (the client follows none), every 4xx but 408 and 429, and 501. TIMEOUT_PROCESSING (a 400) is not
// permanent: processing ran out of time, and a new upload may succeed.
func (e *APIError) Permanent() bool {
	switch {
	case e.Code == CodeTimeoutProcessing:
		return false
	case e.Status == http.StatusRequestTimeout, e.Status == http.StatusTooManyRequests:
		return false
	case e.Status == http.StatusNotImplemented:
		return true
	default:
		return e.Status >= 300 && e.Status < 500
	}
}

// A TransportError is a request that never got an answer (a refused or
// reset connection, a timeout) after all its attempts. It is transient,
// except when the server's certificate does not verify.
type TransportError struct {
	Op       string
	Attempts int
	Err      error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("nordigen: %s: no answer after %d attempts: %v", e.Op, e.Attempts, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// An UploadTooLargeError is an upload refused before any request: its files
// total more than the API accepts. It is permanent.
type UploadTooLargeError struct {
	Size, Limit int64
}

func (e *UploadTooLargeError) Error() string {
	return fmt.Sprintf("nordigen: upload: the files total %d bytes; the API accepts at most %d bytes (%d MiB) in one upload",
		e.Size, e.Limit, e.Limit>>20)
}

// A ProtocolError is a success answer the client cannot read. It is
// permanent: the same request would get the same answer.
type ProtocolError struct {
	Op  string
	Err error
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("nordigen: %s: unreadable answer: %v", e.Op, e.Err)
}
func (e *ProtocolError) Unwrap() error { return e.Err }

// IsPermanent reports whether err says that retrying the same request is
// pointless: a permanent APIError, an UploadTooLargeError or a
// ProtocolError. Everything else — transport failures, 429, 5xx, timeouts,
// errors of unknown kind — is transient. A cancelled context is neither:
// callers check ctx.Err first.
func IsPermanent(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Permanent()
	}
	if permanentTransport(err) {
		return true
	}
	var tl *UploadTooLargeError
	var pe *ProtocolError
	return errors.As(err, &tl) || errors.As(err, &pe)
}

// IsTransient reports whether err may go away if the request is sent again
// later.
func IsTransient(err error) bool { return err != nil && !IsPermanent(err) }

func hasCode(err error, code string) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == code
}

// IsNotFound reports whether the API does not know the id (404 NOT_FOUND).
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// IsGone reports whether the id's data has expired (410 GONE): the
// statement must be uploaded again.
func IsGone(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusGone
}

// IsAlreadyRequested reports whether operations were already requested for
// the upload (400 ANALYSIS_ALREADY_REQUESTED). The earlier processing id is
// not recoverable: start again from a new upload.
func IsAlreadyRequested(err error) bool { return hasCode(err, CodeAlreadyRequested) }

// permanentTransport reports whether a failure to get an answer will recur
// however often it is tried: the server's TLS certificate does not verify.
func permanentTransport(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}
